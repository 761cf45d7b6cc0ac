import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import type { RuleWithOperations } from '../../api/types/admissionregistration.js';
import {
  isExempt,
  type MatchRequest,
  matchingResource,
  namespaceSelectorMatches,
  type Operation,
  objectSelectorMatches,
  ruleMatches,
} from './matching.js';

const pods = { group: '', version: 'v1', resource: 'pods' };
const deployments = { group: 'apps', version: 'v1', resource: 'deployments' };
const namespaces = { group: '', version: 'v1', resource: 'namespaces' };
const nodes = { group: '', version: 'v1', resource: 'nodes' };

const rule = (r: Partial<RuleWithOperations>): RuleWithOperations => ({
  operations: ['*'],
  apiGroups: ['*'],
  apiVersions: ['*'],
  resources: ['*'],
  scope: '*',
  ...r,
});

describe('a rule', () => {
  it.each([
    { name: 'exact resource', r: rule({ resources: ['pods'] }), res: pods, sub: '', ns: 'a', want: true },
    {
      name: 'other resource',
      r: rule({ resources: ['services'] }),
      res: pods,
      sub: '',
      ns: 'a',
      want: false,
    },
    {
      name: '* skips subresources',
      r: rule({ resources: ['*'] }),
      res: pods,
      sub: 'status',
      ns: 'a',
      want: false,
    },
    {
      name: '*/* takes subresources',
      r: rule({ resources: ['*/*'] }),
      res: pods,
      sub: 'status',
      ns: 'a',
      want: true,
    },
    {
      name: '*/* takes main resources',
      r: rule({ resources: ['*/*'] }),
      res: pods,
      sub: '',
      ns: 'a',
      want: true,
    },
    {
      name: 'pods/status',
      r: rule({ resources: ['pods/status'] }),
      res: pods,
      sub: 'status',
      ns: 'a',
      want: true,
    },
    {
      name: 'pods/status not pods',
      r: rule({ resources: ['pods/status'] }),
      res: pods,
      sub: '',
      ns: 'a',
      want: false,
    },
    {
      name: '*/status',
      r: rule({ resources: ['*/status'] }),
      res: deployments,
      sub: 'status',
      ns: 'a',
      want: true,
    },
    {
      name: 'pods/* on pods/exec',
      r: rule({ resources: ['pods/*'] }),
      res: pods,
      sub: 'exec',
      ns: 'a',
      want: true,
    },
    { name: 'group mismatch', r: rule({ apiGroups: ['apps'] }), res: pods, sub: '', ns: 'a', want: false },
    { name: 'core group', r: rule({ apiGroups: [''] }), res: pods, sub: '', ns: 'a', want: true },
    { name: 'version mismatch', r: rule({ apiVersions: ['v2'] }), res: pods, sub: '', ns: 'a', want: false },
    {
      name: 'Namespaced on a pod',
      r: rule({ scope: 'Namespaced' }),
      res: pods,
      sub: '',
      ns: 'a',
      want: true,
    },
    {
      name: 'Namespaced on a node',
      r: rule({ scope: 'Namespaced' }),
      res: nodes,
      sub: '',
      ns: '',
      want: false,
    },
    {
      name: 'Namespaced on a namespace',
      r: rule({ scope: 'Namespaced' }),
      res: namespaces,
      sub: '',
      ns: '',
      want: false,
    },
    {
      name: 'Cluster on a namespace',
      r: rule({ scope: 'Cluster' }),
      res: namespaces,
      sub: '',
      ns: '',
      want: true,
    },
    { name: 'Cluster on a pod', r: rule({ scope: 'Cluster' }), res: pods, sub: '', ns: 'a', want: false },
  ])('$name', ({ r, res, sub, ns, want }) => {
    expect(ruleMatches(r, 'CREATE', res, sub, ns)).toBe(want);
  });

  it.each<[Operation, string[], boolean]>([
    ['CREATE', ['CREATE'], true],
    ['UPDATE', ['CREATE'], false],
    ['DELETE', ['CREATE', 'DELETE'], true],
    ['UPDATE', ['*'], true],
  ])('operation %s against %j: %s', (op, operations, want) => {
    expect(ruleMatches(rule({ operations }), op, pods, '', 'a')).toBe(want);
  });
});

describe('matchPolicy', () => {
  const req = { operation: 'CREATE' as const, resource: deployments, subresource: '', namespace: 'a' };
  const onlyBeta = [rule({ apiGroups: ['apps'], apiVersions: ['v1beta1'], resources: ['deployments'] })];

  it('Equivalent matches a rule naming another served version, as that version', () => {
    expect(matchingResource({ rules: onlyBeta, matchPolicy: 'Equivalent' }, req, ['v1', 'v1beta1'])).toEqual({
      ...deployments,
      version: 'v1beta1',
    });
  });

  it('Exact does not', () => {
    expect(
      matchingResource({ rules: onlyBeta, matchPolicy: 'Exact' }, req, ['v1', 'v1beta1']),
    ).toBeUndefined();
  });

  it('Equivalent still needs the version to be served', () => {
    expect(matchingResource({ rules: onlyBeta, matchPolicy: 'Equivalent' }, req, ['v1'])).toBeUndefined();
  });
});

const obj = (labels?: Record<string, string>): KubeObject => ({ metadata: { name: 'x', labels } });

describe('namespaceSelector', () => {
  const sel = { namespaceSelector: { matchLabels: { env: 'prod' } } };
  const req = (r: Partial<MatchRequest>): MatchRequest => ({
    operation: 'CREATE',
    resource: pods,
    subresource: '',
    namespace: 'a',
    ...r,
  });

  it('matches on the labels of the request namespace', () => {
    expect(namespaceSelectorMatches(sel, req({}), () => ({ env: 'prod' }))).toBe(true);
    expect(namespaceSelectorMatches(sel, req({}), () => ({ env: 'dev' }))).toBe(false);
  });

  it('never exempts cluster-scoped objects other than namespaces', () => {
    expect(namespaceSelectorMatches(sel, req({ resource: nodes, namespace: '' }), () => ({}))).toBe(true);
  });

  it('uses a Namespace object own labels, the old ones on delete', () => {
    const ns = req({ resource: namespaces, namespace: '' });
    expect(namespaceSelectorMatches(sel, { ...ns, obj: obj({ env: 'prod' }) }, () => undefined)).toBe(true);
    expect(namespaceSelectorMatches(sel, { ...ns, obj: obj({ env: 'dev' }) }, () => undefined)).toBe(false);
    expect(namespaceSelectorMatches(sel, { ...ns, old: obj({ env: 'prod' }) }, () => undefined)).toBe(true);
  });

  it('does not read the namespace for an empty selector', () => {
    const read = () => {
      throw new Error('read');
    };
    expect(namespaceSelectorMatches({ namespaceSelector: {} }, req({}), read)).toBe(true);
  });
});

describe('objectSelector', () => {
  const sel = { objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] } };
  const base = { operation: 'UPDATE' as const, resource: pods, subresource: '', namespace: 'a' };

  it('matches when the new or the old object matches', () => {
    expect(objectSelectorMatches(sel, { ...base, obj: obj({ skip: '1' }), old: obj() })).toBe(true);
    expect(objectSelectorMatches(sel, { ...base, obj: obj({ skip: '1' }), old: obj({ skip: '1' }) })).toBe(
      false,
    );
  });

  it('an empty selector matches everything', () => {
    expect(objectSelectorMatches({ objectSelector: {} }, { ...base, obj: obj({ skip: '1' }) })).toBe(true);
  });
});

describe('exemptions', () => {
  it('exempts the webhook configurations themselves', () => {
    const g = 'admissionregistration.k8s.io';
    expect(isExempt({ group: g, version: 'v1', resource: 'validatingwebhookconfigurations' })).toBe(true);
    expect(isExempt({ group: g, version: 'v1', resource: 'mutatingwebhookconfigurations' })).toBe(true);
    expect(isExempt(pods)).toBe(false);
  });
});
