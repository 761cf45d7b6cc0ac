/**
 * Authorization: may this user do this? The request becomes Kubernetes'
 * attributes (verb, API group, resource, subresource, namespace, name, or
 * a non-resource path), and the RBAC authorizer answers from the Roles,
 * ClusterRoles and their bindings in the watch caches, with no etcd read
 * per request. Members of system:masters may do anything, as in Kubernetes.
 */
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { mastersGroup, type UserInfo } from './authn.js';
import { parseRequestInfo, type RequestInfo } from './request.js';

export interface Attributes {
  user: UserInfo;
  verb: string;
  /** A resource request has a resource; otherwise `path` is set. */
  resourceRequest: boolean;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
}

export interface Decision {
  allowed: boolean;
  reason: string;
}

export interface Authorizer {
  authorize(a: Attributes): Decision;
}

export const alwaysAllow: Authorizer = { authorize: () => ({ allowed: true, reason: '' }) };

/** The attributes of a request for a path that is not a resource (`/healthz`, `/apis`). */
export function pathAttributes(user: UserInfo, verb: string, path: string): Attributes {
  return {
    user,
    verb,
    resourceRequest: false,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path,
  };
}

/** The attributes of a request, from its one RequestInfo. */
export function attributesOf(user: UserInfo, info: RequestInfo): Attributes {
  return {
    user,
    verb: info.verb,
    resourceRequest: info.isResourceRequest,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    resource: info.resource,
    subresource: info.subresource,
    namespace: info.namespace,
    name: info.name,
    path: info.path,
  };
}

/** The attributes of a request target; throws the 400 of one that cannot be parsed. */
export function requestAttributes(user: UserInfo, method: string, url: string): Attributes {
  return attributesOf(user, parseRequestInfo(method, url));
}

/** Kubernetes' 403 for a denied request. */
export function newForbiddenFor(a: Attributes, reason: string): StatusError {
  const who = `User "${a.user.name}"`;
  const why = reason ? `: ${reason}` : '';
  if (!a.resourceRequest)
    return new StatusError(403, 'Forbidden', `forbidden: ${who} cannot ${a.verb} path "${a.path}"${why}`);
  const qualified = a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const target = a.name ? `${qualified} "${a.name}"` : qualified;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return new StatusError(
    403,
    'Forbidden',
    `${target} is forbidden: ${who} cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}${why}`,
    { name: a.name || undefined, group: a.apiGroup || undefined, kind: a.resource },
  );
}

// --- RBAC ---------------------------------------------------------------

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding extends KubeObject {
  subjects?: Subject[];
  roleRef: { kind: string; name: string; apiGroup?: string };
}

interface RoleObject extends KubeObject {
  rules?: PolicyRule[];
}

/** What the RBAC authorizer reads: the objects as the watch caches hold them now. */
export interface RbacSource {
  clusterRoleBindings(): Iterable<KubeObject>;
  roleBindings(namespace: string): Iterable<KubeObject>;
  clusterRole(name: string): KubeObject | undefined;
  role(namespace: string, name: string): KubeObject | undefined;
  /** Resolves once the caches hold every write made before the call (a consistent read). */
  fresh?(): Promise<void>;
}

function subjectMatches(s: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (s.kind) {
    case 'User':
      return s.name === user.name;
    case 'Group':
      return user.groups.includes(s.name);
    case 'ServiceAccount':
      return user.name === `system:serviceaccount:${s.namespace || bindingNamespace}:${s.name}`;
    default:
      return false;
  }
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes('*') || list.includes(v));

/** A list of a rule, read as an own property: a rule without `apiGroups` never inherits one. */
function ruleList(rule: PolicyRule, field: keyof PolicyRule): string[] | undefined {
  const v = Object.hasOwn(rule, field) ? rule[field] : undefined;
  return Array.isArray(v) ? v : undefined;
}

function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const want = subresource ? `${resource}/${subresource}` : resource;
  for (const r of ruleList(rule, 'resources') ?? []) {
    if (r === '*' || r === want) return true;
    if (subresource && r === `*/${subresource}`) return true;
    if (subresource && r === `${resource}/*`) return true;
  }
  return false;
}

function urlMatches(rule: PolicyRule, path: string): boolean {
  return (ruleList(rule, 'nonResourceURLs') ?? []).some(
    (u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))),
  );
}

export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!has(ruleList(rule, 'verbs'), a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  if (!has(ruleList(rule, 'apiGroups'), a.apiGroup)) return false;
  if (!resourceMatches(rule, a.resource, a.subresource)) return false;
  const names = ruleList(rule, 'resourceNames') ?? [];
  return names.length === 0 || (a.name !== '' && names.includes(a.name));
}

export class RbacAuthorizer implements Authorizer {
  constructor(private readonly source: RbacSource) {}

  authorize(a: Attributes): Decision {
    if (a.user.groups.includes(mastersGroup)) return { allowed: true, reason: '' };
    for (const obj of this.source.clusterRoleBindings()) {
      const b = obj as Binding;
      if (!b.subjects?.some((s) => subjectMatches(s, a.user, ''))) continue;
      if (b.roleRef?.kind !== 'ClusterRole') continue;
      const role = this.source.clusterRole(b.roleRef.name) as RoleObject | undefined;
      if (role?.rules?.some((r) => ruleAllows(r, a)))
        return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${b.metadata.name}"` };
    }
    if (a.namespace) {
      for (const obj of this.source.roleBindings(a.namespace)) {
        const b = obj as Binding;
        if (!b.subjects?.some((s) => subjectMatches(s, a.user, a.namespace))) continue;
        const role = (
          b.roleRef?.kind === 'ClusterRole'
            ? this.source.clusterRole(b.roleRef.name)
            : b.roleRef?.kind === 'Role'
              ? this.source.role(a.namespace, b.roleRef.name)
              : undefined
        ) as RoleObject | undefined;
        if (role?.rules?.some((r) => ruleAllows(r, a)))
          return {
            allowed: true,
            reason: `RBAC: allowed by RoleBinding "${b.metadata.name}/${a.namespace}"`,
          };
      }
    }
    return { allowed: false, reason: '' };
  }

  /**
   * The rules of the role a binding in `namespace` ('' for a
   * ClusterRoleBinding) refers to, as Kubernetes' GetRoleReferenceRules;
   * undefined when there is no such role.
   */
  roleRefRules(roleRef: { kind: string; name: string }, namespace: string): PolicyRule[] | undefined {
    const role =
      roleRef.kind === 'ClusterRole'
        ? this.source.clusterRole(roleRef.name)
        : roleRef.kind === 'Role' && namespace
          ? this.source.role(namespace, roleRef.name)
          : undefined;
    return role && ((role as RoleObject).rules ?? []);
  }

  /** Waits until the RBAC objects read next include every write made so far. */
  async fresh(): Promise<void> {
    await this.source.fresh?.();
  }

  /** Every rule that applies to `user` in `namespace` (cluster-wide ones included), for SelfSubjectRulesReview. */
  rulesFor(user: UserInfo, namespace: string): PolicyRule[] {
    if (user.groups.includes(mastersGroup))
      return [
        { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
        { verbs: ['*'], nonResourceURLs: ['*'] },
      ];
    const rules: PolicyRule[] = [];
    for (const obj of this.source.clusterRoleBindings()) {
      const b = obj as Binding;
      if (b.roleRef?.kind !== 'ClusterRole' || !b.subjects?.some((s) => subjectMatches(s, user, '')))
        continue;
      rules.push(...((this.source.clusterRole(b.roleRef.name) as RoleObject | undefined)?.rules ?? []));
    }
    if (namespace)
      for (const obj of this.source.roleBindings(namespace)) {
        const b = obj as Binding;
        if (!b.subjects?.some((s) => subjectMatches(s, user, namespace))) continue;
        const role =
          b.roleRef?.kind === 'ClusterRole'
            ? this.source.clusterRole(b.roleRef.name)
            : this.source.role(namespace, b.roleRef?.name);
        rules.push(...((role as RoleObject | undefined)?.rules ?? []));
      }
    return rules;
  }
}

/**
 * Impersonation (`kubectl --as`, `--as-group`): the Impersonate-User and
 * Impersonate-Group headers turn the request into one from that user, if
 * the real user may `impersonate` each of them (users, groups, or a
 * service account in its namespace). Without the headers, `user` itself.
 */
export function impersonate(
  user: UserInfo,
  headers: Record<string, string | string[] | undefined>,
  authorizer: Authorizer,
): UserInfo {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const asUser = list(headers['impersonate-user'])[0];
  const asGroups = list(headers['impersonate-group']);
  const asUid = list(headers['impersonate-uid'])[0];
  if (asUser === undefined && asGroups.length === 0 && asUid === undefined) return user;
  if (!asUser) throw new StatusError(500, 'InternalError', 'requested impersonation without a user name');
  const check = (resource: string, name: string, namespace = '', apiGroup = '') => {
    const a: Attributes = {
      user,
      verb: 'impersonate',
      resourceRequest: true,
      apiGroup,
      apiVersion: '',
      resource,
      subresource: '',
      namespace,
      name,
      path: '',
    };
    const d = authorizer.authorize(a);
    if (!d.allowed) throw newForbiddenFor(a, d.reason);
  };
  const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(asUser);
  if (sa) check('serviceaccounts', sa[2], sa[1]);
  else check('users', asUser);
  for (const g of asGroups) check('groups', g);
  if (asUid !== undefined) check('uids', asUid, '', 'authentication.k8s.io');
  const groups = [...asGroups];
  if (sa) groups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (asUser !== 'system:anonymous' && !groups.includes('system:authenticated'))
    groups.push('system:authenticated');
  return { name: asUser, uid: asUid, groups };
}
