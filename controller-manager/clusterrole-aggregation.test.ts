import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import type { ClusterRole, PolicyRule } from '../api/types/rbac.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { aggregationFieldManager, ClusterRoleAggregationController } from './clusterrole-aggregation.js';

const role = (
  name: string,
  fields: { labels?: Record<string, string>; rules?: PolicyRule[]; selects?: string[] } = {},
): ClusterRole & KubeObject => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'ClusterRole',
  metadata: { name, labels: fields.labels },
  rules: fields.rules,
  ...(fields.selects
    ? {
        aggregationRule: {
          clusterRoleSelectors: fields.selects.map((l) => ({ matchLabels: { [l]: 'true' } })),
        },
      }
    : {}),
});

const get = { verbs: ['get'], apiGroups: [''], resources: ['pods'] };
const list = { verbs: ['list'], apiGroups: [''], resources: ['pods'] };
const logs = { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] };
const all = { verbs: ['*'], apiGroups: ['*'], resources: ['*'] };
const toView = { 'to-view': 'true' };

function setup(...roles: (ClusterRole & KubeObject)[]) {
  const c = testCluster();
  const ctrl = new ClusterRoleAggregationController(c.ctx);
  c.seed('clusterroles', ...roles);
  const rulesOf = (name: string) => (c.api.get('clusterroles', name) as ClusterRole).rules;
  return { c, ctrl, rulesOf };
}

describe('ClusterRoleAggregationController', () => {
  it('applies the rules of the roles it selects, in name order, once each, not its own', async () => {
    const { c, ctrl, rulesOf } = setup(
      role('view', { labels: toView, rules: [all], selects: ['to-view'] }),
      role('b-part', { labels: toView, rules: [list, get] }),
      role('a-part', { labels: toView, rules: [get] }),
      role('other', { rules: [logs] }),
    );
    await ctrl.sync('view');
    expect(c.api.writes()).toEqual(['patch clusterroles view']);
    const action = c.api.actions.at(-1)!;
    expect(action.query).toMatchObject({ fieldManager: aggregationFieldManager, force: 'true' });
    expect(action.body).toEqual({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'view' },
      rules: [get, list],
    });
    expect(rulesOf('view')).toEqual([get, list]);
  });

  it('goes selector by selector, as Kubernetes does', async () => {
    const { ctrl, rulesOf } = setup(
      role('edit', { selects: ['to-edit', 'to-view'] }),
      role('a-view', { labels: toView, rules: [get] }),
      role('z-edit', { labels: { 'to-edit': 'true' }, rules: [all] }),
      role('both', { labels: { ...toView, 'to-edit': 'true' }, rules: [list] }),
    );
    await ctrl.sync('edit');
    expect(rulesOf('edit')).toEqual([list, all, get]);
  });

  it('writes nothing when the rules already agree, a missing list counting as empty', async () => {
    const bare = { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: [] };
    const { c, ctrl } = setup(
      role('view', { rules: [get], selects: ['to-view'] }),
      role('part', { labels: toView, rules: [bare] }),
      role('empty', { selects: ['to-nothing'] }),
      role('plain', { rules: [get] }),
    );
    await ctrl.sync('view');
    await ctrl.sync('empty');
    await ctrl.sync('plain');
    await ctrl.sync('missing');
    expect(c.api.writes()).toEqual([]);
  });

  it('empties an aggregated role whose sources are gone', async () => {
    const { c, ctrl, rulesOf } = setup(role('view', { rules: [get], selects: ['to-view'] }));
    await ctrl.sync('view');
    expect(c.api.writes()).toEqual(['patch clusterroles view']);
    expect(rulesOf('view')).toEqual([]);
  });

  it('fails the sync on a selector it cannot parse, to be retried', async () => {
    const bad = role('view');
    bad.aggregationRule = { clusterRoleSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Near' }] }] };
    const { ctrl } = setup(bad);
    await expect(ctrl.sync('view')).rejects.toThrow(/not a valid label selector operator/);
  });

  it('wakes every aggregated role on any change', () => {
    const { ctrl } = setup(
      role('view', { selects: ['to-view'] }),
      role('edit', { selects: ['to-edit'] }),
      role('part', { labels: toView, rules: [get] }),
    );
    ctrl.enqueueAggregated();
    expect(ctrl.queue.len()).toBe(2);
  });
});
