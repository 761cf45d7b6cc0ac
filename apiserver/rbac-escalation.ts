/**
 * RBAC escalation prevention, as Kubernetes' policy-based storages of
 * roles, clusterroles, rolebindings and clusterrolebindings do it: RBAC
 * cannot be used to grant what the writer does not hold.
 *
 * - A Role or ClusterRole is written only by a user who already holds every
 *   permission it grants (the user's own RBAC rules in the role's namespace,
 *   cluster-wide ones for a ClusterRole), or who may `escalate` roles or
 *   clusterroles. An aggregationRule gathers anything, so setting, changing
 *   or dropping one needs full authority (`*` on `*.*` and on `*` URLs).
 * - A binding is written only by a user who holds every permission of the
 *   role it refers to (in the binding's namespace), or who may `bind` that
 *   role (resourceNames can name it); the `bind` check comes first, so a role
 *   that does not exist yet can be bound by a user allowed to.
 * - Members of system:masters, deletes, and updates that change only what
 *   the garbage collector needs (ownerReferences, finalizers) are not checked.
 *
 * The refusal is Kubernetes' 403 ("user ... is attempting to grant RBAC
 * permissions not currently held:" and the missing rules, compacted). The
 * covering test breaks each rule into single permissions and asks the
 * authorizer's own rule matcher, `ruleAllows`, about each, so "held" means
 * exactly what the RBAC authorizer would allow; a `*` in the granted rule is
 * covered only by a `*` in a held one (Kubernetes' policy_comparator).
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { newForbidden, newNotFound } from '../api/status.js';
import type { AdmissionAttributes, ValidatingAdmission } from './admission.js';
import { mastersGroup, type UserInfo } from './authn.js';
import { type Attributes, type Authorizer, type PolicyRule, ruleAllows } from './authz.js';

const rbacGroup = 'rbac.authorization.k8s.io';

/** What the checks read of RBAC: the user's rules and a binding's role (the RbacAuthorizer). */
export interface RuleResolver {
  rulesFor(user: UserInfo, namespace: string): PolicyRule[];
  roleRefRules(roleRef: { kind: string; name: string }, namespace: string): PolicyRule[] | undefined;
  fresh?(): Promise<void>;
}

export interface RbacEscalationOptions {
  /** The RBAC rule resolver, or undefined when RBAC is not an authorization mode: then nothing is checked. */
  rbac: () => RuleResolver | undefined;
  /** The whole authorizer, asked about `escalate` and `bind`. */
  authorizer: () => Authorizer;
}

/** A list field of a rule, own properties only: a rule from the wire inherits nothing. */
function field(rule: PolicyRule, key: keyof PolicyRule): string[] {
  const v = Object.hasOwn(rule, key) ? rule[key] : undefined;
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
}

/** One rule as single permissions (one verb, one group and resource or one URL, at most one name), as Kubernetes' BreakdownRule. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  const verbs = field(rule, 'verbs');
  const names = field(rule, 'resourceNames');
  for (const group of field(rule, 'apiGroups'))
    for (const resource of field(rule, 'resources'))
      for (const verb of verbs) {
        if (names.length === 0) out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        else
          for (const name of names)
            out.push({ apiGroups: [group], resources: [resource], resourceNames: [name], verbs: [verb] });
      }
  for (const url of field(rule, 'nonResourceURLs'))
    for (const verb of verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

const nobody: UserInfo = { name: '', groups: [] };

/** Whether `owner` allows the single permission `sub`, asked as a request to the authorizer's matcher. */
function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const a: Attributes = {
    user: nobody,
    verb: sub.verbs[0],
    resourceRequest: !sub.nonResourceURLs,
    apiGroup: sub.apiGroups?.[0] ?? '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: sub.resourceNames?.[0] ?? '',
    path: sub.nonResourceURLs?.[0] ?? '',
  };
  if (sub.resources) {
    const [resource] = sub.resources;
    const slash = resource.indexOf('/');
    a.resource = slash < 0 ? resource : resource.slice(0, slash);
    a.subresource = slash < 0 ? '' : resource.slice(slash + 1);
  }
  return ruleAllows(owner, a);
}

/** Whether `owner` holds every permission of `servant`, and the single permissions it lacks (Kubernetes' Covers). */
export function covers(
  owner: PolicyRule[],
  servant: PolicyRule[],
): { covered: boolean; missing: PolicyRule[] } {
  const missing = servant.flatMap(breakdownRule).filter((sub) => !owner.some((o) => ruleCovers(o, sub)));
  return { covered: missing.length === 0, missing };
}

/** Merges the verbs of single permissions on the same group, resource and name, as Kubernetes' CompactRules. */
export function compactRules(rules: PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const r of rules) {
    const isSimple =
      !r.nonResourceURLs &&
      r.apiGroups?.length === 1 &&
      r.resources?.length === 1 &&
      (r.resourceNames?.length ?? 0) <= 1;
    if (!isSimple) {
      out.push(r);
      continue;
    }
    const key = JSON.stringify([r.apiGroups, r.resources, r.resourceNames ?? null]);
    const seen = simple.get(key);
    if (seen) seen.verbs.push(...r.verbs);
    else simple.set(key, { ...r, verbs: [...r.verbs] });
  }
  return [...out, ...simple.values()];
}

/** Go's `%q` of a []string: `["a" "b"]`. */
const quoted = (list: readonly string[]) => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

/** A rule as Kubernetes prints it in the refusal (rbacv1helpers.CompactString). */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${quoted(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${quoted(r.resources)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${quoted(r.nonResourceURLs)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${quoted(r.resourceNames)}`);
  if (r.verbs?.length) parts.push(`Verbs:${quoted(r.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** Kubernetes' ConfirmNoEscalation: the reason `user` may not grant `rules` in `namespace`, or undefined. */
export function escalationError(
  resolver: RuleResolver,
  user: UserInfo,
  namespace: string,
  rules: PolicyRule[],
): string | undefined {
  const { covered, missing } = covers(resolver.rulesFor(user, namespace), rules);
  if (covered) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  return (
    `user ${JSON.stringify(user.name)} (groups=${quoted(user.groups)}) is attempting to grant RBAC permissions not currently held:\n` +
    lines.join('\n')
  );
}

const fullAuthority: PolicyRule[] = [
  { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
  { verbs: ['*'], nonResourceURLs: ['*'] },
];

/** True if the write changes nothing but what the garbage collector needs (IsOnlyMutatingGCFields). */
function onlyGcFields(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const meta: Record<string, unknown> = { ...o.metadata };
    for (const k of ['ownerReferences', 'finalizers', 'selfLink', 'managedFields', 'resourceVersion'])
      delete meta[k];
    return { ...o, metadata: meta };
  };
  return isDeepStrictEqual(strip(obj), strip(old));
}

const hasAggregationRule = (o: KubeObject | undefined) => {
  const rule = (o as { aggregationRule?: { clusterRoleSelectors?: unknown[] } } | undefined)?.aggregationRule;
  return (rule?.clusterRoleSelectors?.length ?? 0) > 0;
};

const handled: Record<string, 'role' | 'binding' | undefined> = {
  roles: 'role',
  clusterroles: 'role',
  rolebindings: 'binding',
  clusterrolebindings: 'binding',
};

/** The validating admission plugin; see the file's header. */
export function rbacEscalation(o: RbacEscalationOptions): ValidatingAdmission {
  return async (a) => {
    const kind = a.rt.group === rbacGroup ? handled[a.rt.plural] : undefined;
    if (!kind || a.operation === 'DELETE' || a.subresource !== '' || !a.obj) return;
    const resolver = o.rbac();
    if (!resolver || a.user.groups.includes(mastersGroup)) return;
    if (a.old && onlyGcFields(a.obj, a.old)) return;
    await resolver.fresh?.();
    if (kind === 'role') checkRole(a, a.obj, resolver, o.authorizer());
    else checkBinding(a, a.obj, resolver, o.authorizer());
  };
}

function allowed(
  authorizer: Authorizer,
  a: AdmissionAttributes,
  verb: string,
  resource: string,
  name: string,
) {
  return authorizer.authorize({
    user: a.user,
    verb,
    resourceRequest: true,
    apiGroup: rbacGroup,
    apiVersion: '*',
    resource,
    subresource: '',
    namespace: a.namespace,
    name,
    path: '',
  }).allowed;
}

/** Kubernetes' role and clusterrole policybased Create and Update. */
function checkRole(a: AdmissionAttributes, obj: KubeObject, resolver: RuleResolver, authorizer: Authorizer) {
  // RoleEscalationAuthorized asks about the request's name, which a create (POST) does not have.
  if (allowed(authorizer, a, 'escalate', a.rt.plural, a.operation === 'CREATE' ? '' : a.name)) return;
  const gr = { group: rbacGroup, resource: a.rt.plural };
  const rules = (obj as { rules?: unknown }).rules;
  const why = escalationError(resolver, a.user, a.namespace, Array.isArray(rules) ? rules : []);
  if (why) throw newForbidden(gr, a.name, why);
  if (a.rt.plural !== 'clusterroles' || !(hasAggregationRule(obj) || hasAggregationRule(a.old))) return;
  if (escalationError(resolver, a.user, a.namespace, fullAuthority))
    throw newForbidden(gr, a.name, 'must have cluster-admin privileges to use the aggregationRule');
}

/** Kubernetes' rolebinding and clusterrolebinding policybased Create and Update. */
function checkBinding(
  a: AdmissionAttributes,
  obj: KubeObject,
  resolver: RuleResolver,
  authorizer: Authorizer,
) {
  const ref = (obj as { roleRef?: { kind?: string; name?: string } }).roleRef;
  const kind = ref?.kind ?? '';
  const name = ref?.name ?? '';
  const roleResource = kind === 'Role' ? 'roles' : 'clusterroles';
  // BindingAuthorized: bind, in the binding's namespace, on the role by name.
  if ((kind === 'Role' || kind === 'ClusterRole') && allowed(authorizer, a, 'bind', roleResource, name))
    return;
  const rules = resolver.roleRefRules({ kind, name }, a.namespace);
  if (!rules) throw newNotFound({ group: rbacGroup, resource: roleResource }, name);
  const why = escalationError(resolver, a.user, a.namespace, rules);
  if (why) throw newForbidden({ group: rbacGroup, resource: a.rt.plural }, a.name, why);
}
