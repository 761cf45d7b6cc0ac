import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import type { AdmissionAttributes } from './admission.js';
import type { UserInfo } from './authn.js';
import { type PolicyRule, RbacAuthorizer } from './authz.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './rbac-bootstrap.js';
import { compactRules, compactString, covers, rbacEscalation } from './rbac-escalation.js';

const rule = (verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]) =>
  ({ verbs, apiGroups, resources, ...(resourceNames ? { resourceNames } : {}) }) as PolicyRule;
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });
const coveredBy = (owner: PolicyRule[], servant: PolicyRule[]) => covers(owner, servant).covered;

describe('covers (Kubernetes policy_comparator Covers)', () => {
  it('lets * on *.* cover every resource rule but no non-resource URL', () => {
    const all = [rule(['*'], ['*'], ['*'])];
    expect(coveredBy(all, [rule(['get', 'delete'], ['', 'apps'], ['pods', 'deployments/scale'])])).toBe(true);
    expect(coveredBy(all, [rule(['*'], ['*'], ['*'], ['x'])])).toBe(true);
    expect(coveredBy(all, [urls(['get'], ['/healthz'])])).toBe(false);
  });

  it('needs each verb, or * itself for a * verb', () => {
    const owner = [rule(['get', 'list'], [''], ['pods'])];
    expect(coveredBy(owner, [rule(['get'], [''], ['pods'])])).toBe(true);
    expect(coveredBy(owner, [rule(['get', 'create'], [''], ['pods'])])).toBe(false);
    expect(coveredBy(owner, [rule(['*'], [''], ['pods'])])).toBe(false);
    expect(covers(owner, [rule(['get', 'create', 'delete'], [''], ['pods'])]).missing).toEqual([
      rule(['create'], [''], ['pods']),
      rule(['delete'], [''], ['pods']),
    ]);
  });

  it('matches API groups exactly unless the owner has *', () => {
    expect(coveredBy([rule(['get'], [''], ['pods'])], [rule(['get'], ['apps'], ['pods'])])).toBe(false);
    expect(coveredBy([rule(['get'], ['*'], ['pods'])], [rule(['get'], ['apps'], ['pods'])])).toBe(true);
    expect(coveredBy([rule(['get'], ['apps'], ['pods'])], [rule(['get'], ['*'], ['pods'])])).toBe(false);
  });

  it('matches resources and subresources, */sub included, and * only by *', () => {
    const pods = [rule(['get'], [''], ['pods', 'services'])];
    expect(coveredBy(pods, [rule(['get'], [''], ['pods/log'])])).toBe(false);
    expect(coveredBy(pods, [rule(['get'], [''], ['*'])])).toBe(false);
    expect(
      coveredBy([rule(['get'], ['apps'], ['*/scale'])], [rule(['get'], ['apps'], ['deployments/scale'])]),
    ).toBe(true);
    expect(coveredBy([rule(['get'], [''], ['pods/log'])], [rule(['get'], [''], ['pods/log'])])).toBe(true);
  });

  it('lets a rule without resourceNames cover named ones, and names cover only those names', () => {
    const named = [rule(['get'], [''], ['secrets'], ['a', 'b'])];
    expect(coveredBy([rule(['get'], [''], ['secrets'])], [rule(['get'], [''], ['secrets'], ['a'])])).toBe(
      true,
    );
    expect(coveredBy(named, [rule(['get'], [''], ['secrets'], ['a', 'b'])])).toBe(true);
    expect(coveredBy(named, [rule(['get'], [''], ['secrets'], ['c'])])).toBe(false);
    expect(coveredBy(named, [rule(['get'], [''], ['secrets'])])).toBe(false);
  });

  it('matches non-resource URLs exactly or by a trailing *', () => {
    const owner = [urls(['get'], ['/healthz/*', '/version'])];
    expect(coveredBy(owner, [urls(['get'], ['/healthz/ready', '/healthz/*', '/version'])])).toBe(true);
    expect(coveredBy(owner, [urls(['get'], ['/metrics'])])).toBe(false);
    expect(coveredBy(owner, [urls(['post'], ['/version'])])).toBe(false);
    expect(coveredBy([urls(['*'], ['*'])], [urls(['get', 'post'], ['/anything'])])).toBe(true);
    expect(coveredBy([rule(['*'], ['*'], ['*'])], [urls(['get'], ['/version'])])).toBe(false);
  });

  it('does not let resource rules and URL rules stand in for each other', () => {
    expect(coveredBy([urls(['*'], ['*'])], [rule(['get'], [''], ['pods'])])).toBe(false);
  });

  it('reads only own properties of a rule', () => {
    const servant = Object.assign(Object.create({ apiGroups: ['*'], resources: ['*'] }), { verbs: ['get'] });
    expect(coveredBy([], [servant])).toBe(true);
  });
});

describe('compactRules and compactString (the message of the refusal)', () => {
  it('merges verbs of one simple resource and prints rules as Kubernetes does', () => {
    const missing = covers([], [rule(['get', 'list'], [''], ['pods']), urls(['get'], ['/metrics'])]).missing;
    expect(compactRules(missing).map(compactString)).toEqual([
      '{NonResourceURLs:["/metrics"], Verbs:["get"]}',
      '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}',
    ]);
    expect(compactString(rule(['get'], ['apps'], ['deployments'], ['web']))).toBe(
      '{APIGroups:["apps"], Resources:["deployments"], ResourceNames:["web"], Verbs:["get"]}',
    );
  });
});

// --- the admission plugin ------------------------------------------------

const rbacGroup = 'rbac.authorization.k8s.io';
const rtOf = (plural: string) => builtinRegistry.get(rbacGroup, 'v1', plural)!;
const bot: UserInfo = {
  name: 'system:serviceaccount:team:bot',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
};
const admin: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

const role = (name: string, rules: PolicyRule[], namespace?: string, extra: Record<string, unknown> = {}) =>
  ({
    apiVersion: `${rbacGroup}/v1`,
    kind: namespace ? 'Role' : 'ClusterRole',
    metadata: { name, namespace },
    rules,
    ...extra,
  }) as KubeObject;
const binding = (name: string, roleKind: string, roleName: string, namespace?: string) =>
  ({
    apiVersion: `${rbacGroup}/v1`,
    kind: namespace ? 'RoleBinding' : 'ClusterRoleBinding',
    metadata: { name, namespace },
    roleRef: { apiGroup: rbacGroup, kind: roleKind, name: roleName },
    subjects: [{ kind: 'ServiceAccount', name: 'bot', namespace: 'team' }],
  }) as KubeObject;

/** The default policy, plus what `bot` is given through `botRules` (a ClusterRole bound in `team`). */
function pluginWith(botRules: PolicyRule[], extra: KubeObject[] = [], clusterWide = false) {
  const objs: KubeObject[] = [
    ...defaultClusterRoles(),
    ...defaultClusterRoleBindings(),
    role('bot-powers', botRules),
    clusterWide
      ? binding('bot-powers', 'ClusterRole', 'bot-powers')
      : binding('bot-powers', 'ClusterRole', 'bot-powers', 'team'),
    role('pod-reader', [rule(['get', 'list'], [''], ['pods'])], 'team'),
    role('pod-reader', [rule(['get', 'list'], [''], ['pods'])]),
    ...extra,
  ];
  const of = (kind: string) => objs.filter((o) => o.kind === kind);
  const rbac = new RbacAuthorizer({
    clusterRoleBindings: () => of('ClusterRoleBinding'),
    roleBindings: (ns) => of('RoleBinding').filter((o) => o.metadata.namespace === ns),
    clusterRole: (name) => of('ClusterRole').find((o) => o.metadata.name === name),
    role: (ns, name) => of('Role').find((o) => o.metadata.namespace === ns && o.metadata.name === name),
  });
  return rbacEscalation({ rbac: () => rbac, authorizer: () => rbac });
}

const write = (obj: KubeObject, user: UserInfo = bot, old?: KubeObject): AdmissionAttributes => ({
  operation: old ? 'UPDATE' : 'CREATE',
  rt: rtOf(`${obj.kind!.toLowerCase()}s`),
  namespace: obj.metadata.namespace ?? '',
  name: obj.metadata.name ?? '',
  subresource: '',
  obj,
  old,
  user,
  dryRun: false,
});

async function refusal(p: ReturnType<typeof rbacEscalation>, a: AdmissionAttributes) {
  try {
    await p(a);
  } catch (err) {
    return err as { code: number; message: string; reason: string };
  }
  return undefined;
}

const bindingWriter = rule(['create', 'update'], [rbacGroup], ['rolebindings', 'clusterrolebindings']);
const roleWriter = rule(['create', 'update'], [rbacGroup], ['roles', 'clusterroles']);

describe('rbacEscalation: bindings', () => {
  it('refuses to bind cluster-admin with 403 and Kubernetes wording', async () => {
    const err = await refusal(
      pluginWith([bindingWriter]),
      write(binding('x', 'ClusterRole', 'cluster-admin', 'team')),
    );
    expect(err?.code).toBe(403);
    expect(err?.reason).toBe('Forbidden');
    expect(err?.message).toBe(
      'rolebindings.rbac.authorization.k8s.io "x" is forbidden: user "system:serviceaccount:team:bot" ' +
        '(groups=["system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) ' +
        'is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    );
  });

  it('refuses to bind edit, which it holds only part of', async () => {
    const p = pluginWith([bindingWriter, rule(['get', 'list', 'watch'], ['*'], ['*'])]);
    const err = await refusal(p, write(binding('x', 'ClusterRole', 'edit', 'team')));
    expect(err?.code).toBe(403);
    expect(err?.message).toContain('Resources:["pods"], Verbs:["create"');
  });

  it('lets it bind roles whose permissions it holds, in its namespace', async () => {
    const p = pluginWith([bindingWriter, rule(['get', 'list'], [''], ['pods'])]);
    expect(await refusal(p, write(binding('x', 'Role', 'pod-reader', 'team')))).toBeUndefined();
    expect(await refusal(p, write(binding('x', 'ClusterRole', 'pod-reader', 'team')))).toBeUndefined();
    // Held in team only: a ClusterRoleBinding is checked against cluster-wide rules.
    expect((await refusal(p, write(binding('x', 'ClusterRole', 'pod-reader'))))?.code).toBe(403);
  });

  it('lets the bind verb, on that role name, stand in for holding the permissions', async () => {
    const bindAdmin = rule(['bind'], [rbacGroup], ['clusterroles'], ['cluster-admin']);
    const p = pluginWith([bindingWriter, bindAdmin]);
    expect(await refusal(p, write(binding('x', 'ClusterRole', 'cluster-admin', 'team')))).toBeUndefined();
    expect((await refusal(p, write(binding('x', 'ClusterRole', 'admin', 'team'))))?.code).toBe(403);
    // bind on clusterroles does not cover a Role reference.
    const q = pluginWith(
      [bindingWriter, rule(['bind'], [rbacGroup], ['clusterroles'])],
      [role('secret-admin', [rule(['*'], [''], ['secrets'])], 'team')],
    );
    expect((await refusal(q, write(binding('x', 'Role', 'secret-admin', 'team'))))?.code).toBe(403);
  });

  it('checks updates too (new subjects grant the role to others)', async () => {
    const p = pluginWith([bindingWriter]);
    const old = binding('x', 'ClusterRole', 'cluster-admin', 'team');
    const added = structuredClone(old) as KubeObject & { subjects: unknown[] };
    added.subjects.push({ kind: 'User', name: 'mallory' });
    expect((await refusal(p, write(added, bot, old)))?.code).toBe(403);
    // Only the fields the garbage collector needs: allowed, as in Kubernetes.
    const gc = structuredClone(old);
    gc.metadata.finalizers = ['foregroundDeletion'];
    gc.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'o', uid: 'u' }];
    expect(await refusal(p, write(gc, bot, old))).toBeUndefined();
  });

  it('answers 404 for a role that does not exist, unless the user may bind it', async () => {
    const err = await refusal(
      pluginWith([bindingWriter]),
      write(binding('x', 'ClusterRole', 'nope', 'team')),
    );
    expect(err?.code).toBe(404);
    expect(err?.message).toBe('clusterroles.rbac.authorization.k8s.io "nope" not found');
    const p = pluginWith([bindingWriter, rule(['bind'], [rbacGroup], ['clusterroles'])]);
    expect(await refusal(p, write(binding('x', 'ClusterRole', 'nope', 'team')))).toBeUndefined();
  });
});

describe('rbacEscalation: roles', () => {
  it('refuses a role granting * that the user does not hold', async () => {
    const p = pluginWith([roleWriter, rule(['get'], [''], ['pods'])]);
    const err = await refusal(p, write(role('all', [rule(['*'], ['*'], ['*'])], 'team')));
    expect(err?.code).toBe(403);
    expect(err?.message).toMatch(
      /^roles.rbac.authorization.k8s.io "all" is forbidden: user .* not currently held:\n/,
    );
    expect(await refusal(p, write(role('ok', [rule(['get'], [''], ['pods'])], 'team')))).toBeUndefined();
  });

  it('checks a Role against the rules in its namespace, a ClusterRole against cluster-wide ones', async () => {
    const p = pluginWith([roleWriter, rule(['get'], [''], ['pods'])]);
    expect((await refusal(p, write(role('ok', [rule(['get'], [''], ['pods'])], 'other'))))?.code).toBe(403);
    expect((await refusal(p, write(role('ok', [rule(['get'], [''], ['pods'])]))))?.code).toBe(403);
    const c = pluginWith([roleWriter, rule(['get'], [''], ['pods'])], [], true);
    expect(await refusal(c, write(role('ok', [rule(['get'], [''], ['pods'])])))).toBeUndefined();
  });

  it('lets the escalate verb stand in for holding the permissions', async () => {
    const p = pluginWith([roleWriter, rule(['escalate'], [rbacGroup], ['roles'])]);
    expect(await refusal(p, write(role('all', [rule(['*'], ['*'], ['*'])], 'team')))).toBeUndefined();
    expect((await refusal(p, write(role('all', [rule(['*'], ['*'], ['*'])]))))?.code).toBe(403);
  });

  it('needs full authority for an aggregationRule, as Kubernetes does', async () => {
    const agg = { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }] } };
    const p = pluginWith([roleWriter, rule(['get'], [''], ['pods'])], [], true);
    expect(await refusal(p, write(role('plain', [rule(['get'], [''], ['pods'])])))).toBeUndefined();
    const err = await refusal(p, write(role('agg', [], undefined, agg)));
    expect(err?.code).toBe(403);
    expect(err?.message).toBe(
      'clusterroles.rbac.authorization.k8s.io "agg" is forbidden: must have cluster-admin privileges to use the aggregationRule',
    );
    // Removing one is a change of the aggregationRule too.
    expect((await refusal(p, write(role('agg', []), bot, role('agg', [], undefined, agg))))?.code).toBe(403);
    // Holding * on *.* includes escalate, which skips the check (the aggregation controller's case).
    const all = pluginWith([rule(['*'], ['*'], ['*'])], [], true);
    expect(await refusal(all, write(role('agg', [], undefined, agg)))).toBeUndefined();
  });
});

describe('rbacEscalation: who is not checked', () => {
  it('skips system:masters, deletes, and servers without RBAC', async () => {
    const p = pluginWith([]);
    const crb = binding('x', 'ClusterRole', 'cluster-admin');
    expect(await refusal(p, write(crb, admin))).toBeUndefined();
    expect(
      await refusal(p, { ...write(crb), operation: 'DELETE', obj: undefined, old: crb }),
    ).toBeUndefined();
    const off = rbacEscalation({
      rbac: () => undefined,
      authorizer: () => ({ authorize: () => ({ allowed: true, reason: '' }) }),
    });
    expect(await refusal(off, write(crb))).toBeUndefined();
  });
});
