import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { formatFieldError } from '../validation.js';
import {
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type Role,
  type RoleBinding,
  rbacTypes,
  type Subject,
} from './rbac.js';

const now = new Date('2024-05-01T12:00:00Z');
const rt = (kind: string) => rbacTypes.find((t) => t.kind === kind) as ResourceType;
const apiVersion = 'rbac.authorization.k8s.io/v1';
const created = '2024-05-01T11:00:00Z';

const podReader: PolicyRule = { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] };

const role = (rules: PolicyRule[]): Role & KubeObject => ({
  apiVersion,
  kind: 'Role',
  metadata: { name: 'pod-reader', namespace: 'default', creationTimestamp: created },
  rules,
});

const clusterRole = (fields: Partial<ClusterRole> = {}): ClusterRole & KubeObject => ({
  apiVersion,
  kind: 'ClusterRole',
  metadata: { name: 'monitoring', creationTimestamp: created },
  ...fields,
});

const binding = (subjects: Subject[], roleRef: RoleBinding['roleRef']): RoleBinding & KubeObject => ({
  apiVersion,
  kind: 'RoleBinding',
  metadata: { name: 'read-pods', namespace: 'default', creationTimestamp: created },
  subjects,
  roleRef,
});

const clusterBinding = (
  subjects: Subject[],
  roleRef: ClusterRoleBinding['roleRef'],
): ClusterRoleBinding & KubeObject => ({
  apiVersion,
  kind: 'ClusterRoleBinding',
  metadata: { name: 'read-secrets-global', creationTimestamp: created },
  subjects,
  roleRef,
});

/** Defaults then validates, as the apiserver does. */
function errors(o: KubeObject, old?: KubeObject): string[] {
  const t = rt(o.kind as string);
  t.defaults?.(o);
  if (old) t.defaults?.(old);
  return (t.validate?.(o, old) ?? []).map(formatFieldError);
}

const cells = (o: KubeObject) =>
  Object.fromEntries(rt(o.kind as string).columns.map((c) => [c.name, c.cell(o, now)]));

const user = (name: string): Subject => ({ kind: 'User', name });
const view = { kind: 'ClusterRole', name: 'view' };

describe('Role and ClusterRole', () => {
  it('accept resource rules, and URL rules in a ClusterRole', () => {
    const r = role([podReader, { ...podReader, resourceNames: ['web-0'] }]);
    const cr = clusterRole({
      rules: [podReader, { nonResourceURLs: ['/healthz', '/metrics/*'], verbs: ['get'] }],
    });
    expect(Value.Check(rt('Role').schema, r)).toBe(true);
    expect(Value.Check(rt('ClusterRole').schema, cr)).toBe(true);
    expect(errors(r)).toEqual([]);
    expect(errors(cr)).toEqual([]);
  });

  it.each([
    {
      name: 'a rule without verbs',
      rules: [{ apiGroups: [''], resources: ['pods'] }],
      want: ['rules[0].verbs: Required value: verbs must contain at least one value'],
    },
    {
      name: 'a resource rule without groups or resources',
      rules: [{ verbs: ['get'] }],
      want: [
        'rules[0].apiGroups: Required value: resource rules must supply at least one api group',
        'rules[0].resources: Required value: resource rules must supply at least one resource',
      ],
    },
    {
      name: 'non-resource URLs in a namespaced rule',
      rules: [podReader, { nonResourceURLs: ['/healthz'], verbs: ['get'] }],
      want: [
        'rules[1].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs',
      ],
    },
  ])('a Role rejects $name', ({ rules, want }) => {
    expect(errors(role(rules))).toEqual(want);
  });

  it.each([
    { name: 'apiGroups', extra: { apiGroups: [''] } },
    { name: 'resources', extra: { resources: ['pods'] } },
    { name: 'resourceNames', extra: { resourceNames: ['x'] } },
  ])('a ClusterRole rule may not mix non-resource URLs with $name', ({ extra }) => {
    expect(
      errors(clusterRole({ rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'], ...extra }] })),
    ).toEqual([
      'rules[0].nonResourceURLs: Invalid value: ["/healthz"]: rules cannot apply to both regular resources and non-resource URLs',
    ]);
  });

  it('checks an aggregation rule: at least one selector, each well formed', () => {
    const sel = { matchLabels: { 'rbac.example.com/aggregate-to-monitoring': 'true' } };
    expect(errors(clusterRole({ aggregationRule: { clusterRoleSelectors: [sel] } }))).toEqual([]);
    expect(errors(clusterRole({ aggregationRule: {} }))).toEqual([
      'aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil',
    ]);
    expect(
      errors(
        clusterRole({
          aggregationRule: { clusterRoleSelectors: [{ matchExpressions: [{ key: 'a', operator: 'Near' }] }] },
        }),
      ),
    ).toEqual([
      'aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator',
    ]);
  });

  it('names a role by path segment rules, so colons are fine', () => {
    expect(rt('ClusterRole').validateName?.('system:controller:job-controller', false)).toEqual([]);
    expect(rt('Role').validateName?.('..', false)).toEqual(["may not be '..'"]);
    expect(rt('Role').validateName?.('a/b%', true)).toEqual(["may not contain '/'", "may not contain '%'"]);
  });

  it('prints NAME and CREATED AT, with no AGE column', () => {
    const cr = clusterRole({ metadata: { name: 'view', creationTimestamp: '2024-05-01T11:00:00.5+02:00' } });
    expect(rt('ClusterRole').columns.map((c) => [c.name, c.type, c.priority])).toEqual([
      ['Name', 'string', 0],
      ['Created At', 'date', 0],
    ]);
    expect(cells(cr)).toEqual({ Name: 'view', 'Created At': '2024-05-01T09:00:00Z' });
    expect(cells(role([podReader]))).toEqual({ Name: 'pod-reader', 'Created At': '2024-05-01T11:00:00Z' });
  });
});

describe('RoleBinding and ClusterRoleBinding', () => {
  it('default the RBAC group on the roleRef and on User and Group subjects', () => {
    const o = binding(
      [user('jane'), { kind: 'Group', name: 'devs' }, { kind: 'ServiceAccount', name: 'ci' }],
      {
        kind: 'Role',
        name: 'pod-reader',
      },
    );
    expect(errors(o)).toEqual([]);
    expect(o.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' });
    expect(o.subjects?.map((s) => s.apiGroup)).toEqual([
      'rbac.authorization.k8s.io',
      'rbac.authorization.k8s.io',
      undefined,
    ]);
    expect(Value.Check(rt('RoleBinding').schema, o)).toBe(true);
  });

  it.each([
    {
      name: 'no roleRef at all',
      o: () => binding([user('jane')], undefined),
      want: [
        'roleRef.kind: Unsupported value: "": supported values: "Role", "ClusterRole"',
        'roleRef.name: Required value',
      ],
    },
    {
      name: 'a roleRef in another group',
      o: () => binding([user('jane')], { apiGroup: 'example.com', kind: 'Role', name: 'x' }),
      want: [
        'roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"',
      ],
    },
    {
      name: 'a roleRef name with a slash',
      o: () => binding([user('jane')], { kind: 'Role', name: 'a/b' }),
      want: ['roleRef.name: Invalid value: "a/b": may not contain \'/\''],
    },
    {
      name: 'an unknown subject kind',
      o: () => binding([{ kind: 'Robot', name: 'r2' }], view),
      want: [
        'subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"',
      ],
    },
    {
      name: 'a subject without a name',
      o: () => binding([{ kind: 'User' }], view),
      want: ['subjects[0].name: Required value'],
    },
    {
      name: 'a User in another group',
      o: () => binding([{ kind: 'User', name: 'jane', apiGroup: 'example.com' }], view),
      want: [
        'subjects[0].apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"',
      ],
    },
    {
      name: 'a ServiceAccount in the RBAC group',
      o: () => binding([{ kind: 'ServiceAccount', name: 'ci', apiGroup: 'rbac.authorization.k8s.io' }], view),
      want: ['subjects[0].apiGroup: Unsupported value: "rbac.authorization.k8s.io": supported values: ""'],
    },
    {
      name: 'a ServiceAccount name that is not a DNS subdomain',
      o: () => binding([{ kind: 'ServiceAccount', name: 'CI' }], view),
      want: [
        expect.stringMatching(/^subjects\[0\]\.name: Invalid value: "CI": a lowercase RFC 1123 subdomain/),
      ],
    },
  ])('a RoleBinding rejects $name', ({ o, want }) => {
    expect(errors(o())).toEqual(want);
  });

  it('a ClusterRoleBinding grants only ClusterRoles, to namespaced service accounts', () => {
    expect(
      errors(
        clusterBinding(
          [
            { kind: 'Group', name: 'managers' },
            { kind: 'ServiceAccount', name: 'ci', namespace: 'ci' },
          ],
          view,
        ),
      ),
    ).toEqual([]);
    expect(
      errors(clusterBinding([{ kind: 'ServiceAccount', name: 'ci' }], { kind: 'Role', name: 'x' })),
    ).toEqual([
      'roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"',
      'subjects[0].namespace: Required value',
    ]);
  });

  it('may not change its roleRef, but may change its subjects', () => {
    const old = binding([user('jane')], view);
    expect(errors(binding([user('jane'), user('joe')], { ...view }), old)).toEqual([]);
    expect(errors(binding([user('jane')], { kind: 'ClusterRole', name: 'edit' }), old)).toEqual([
      'roleRef: Invalid value: {"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"}: cannot change roleRef',
    ]);
    const oldCrb = clusterBinding([user('jane')], view);
    expect(
      errors(clusterBinding([user('jane')], { kind: 'ClusterRole', name: 'admin' }), oldCrb),
    ).toHaveLength(1);
  });

  it.each(['RoleBinding', 'ClusterRoleBinding'])(
    '%s prints ROLE then (wide) USERS, GROUPS and SERVICEACCOUNTS, leaving NAME and AGE to the table',
    (kind) => {
      const subjects: Subject[] = [
        user('jane'),
        user('joe'),
        { kind: 'Group', name: 'devs' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'build' },
        { kind: 'ServiceAccount', name: 'bare' },
      ];
      const o = kind === 'RoleBinding' ? binding(subjects, view) : clusterBinding(subjects, view);
      expect(rt(kind).columns.map((c) => [c.name, c.priority])).toEqual([
        ['Role', 0],
        ['Users', 1],
        ['Groups', 1],
        ['ServiceAccounts', 1],
      ]);
      expect(cells(o)).toEqual({
        Role: 'ClusterRole/view',
        Users: 'jane, joe',
        Groups: 'devs',
        ServiceAccounts: 'build/ci, /bare',
      });
    },
  );
});
