/**
 * rbac.authorization.k8s.io/v1: Role and ClusterRole (what may be done), and
 * RoleBinding and ClusterRoleBinding (who may do it). Validation, defaults
 * and columns follow Kubernetes' pkg/apis/rbac: names are path segments, a
 * rule names verbs and either resources or non-resource URLs, and a
 * binding's roleRef never changes once made.
 */
import type { Static } from '@sinclair/typebox';
import type { KubeObject } from '../meta.js';
import { LabelSelector, ObjectMeta, TypeMeta } from '../meta.js';
import { column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { List, Str, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import { metaTime } from '../time.js';
import {
  child,
  index,
  invalidError,
  isDNS1123Subdomain,
  nameIsPathSegment,
  notSupportedError,
  requiredError,
  validateLabelSelector,
} from '../validation.js';

export const rbacGroup = 'rbac.authorization.k8s.io';

export const PolicyRule = Struct(
  {
    verbs: List(
      Str(),
      'Verbs the rule allows: get, list, watch, create, update, patch, delete, deletecollection, or * for all.',
    ),
    apiGroups: List(Str(), 'API groups of the resources; "" is the core group, * is every group.'),
    resources: List(Str(), 'Resources, subresources as pods/log; * is every resource.'),
    resourceNames: List(Str(), 'Names the rule is limited to; empty for every name.'),
    nonResourceURLs: List(
      Str(),
      'Paths that are not resources, such as /healthz; a final * matches a prefix. ClusterRoles only.',
    ),
  },
  'What a role allows: verbs on resources, or verbs on non-resource URLs.',
);
export type PolicyRule = Static<typeof PolicyRule>;

export const Subject = Struct(
  {
    kind: Str('User, Group or ServiceAccount.'),
    apiGroup: Str('rbac.authorization.k8s.io for User and Group (the default); "" for ServiceAccount.'),
    name: Str('Name of the subject.'),
    namespace: Str('Namespace of a ServiceAccount; required in a ClusterRoleBinding.'),
  },
  'Who a binding grants its role to.',
);
export type Subject = Static<typeof Subject>;

export const RoleRef = Struct(
  {
    apiGroup: Str('Group of the role: rbac.authorization.k8s.io (the default).'),
    kind: Str('Role or ClusterRole.'),
    name: Str('Name of the role.'),
  },
  'The role a binding grants. Cannot be changed.',
);
export type RoleRef = Static<typeof RoleRef>;

export const AggregationRule = Struct(
  {
    clusterRoleSelectors: List(
      LabelSelector,
      'ClusterRoles whose rules are gathered into this one; the controller-manager fills in the rules.',
    ),
  },
  'Makes a ClusterRole the union of the ClusterRoles its selectors match.',
);
export type AggregationRule = Static<typeof AggregationRule>;

export const Role = Struct(
  { ...TypeMeta, metadata: ObjectMeta, rules: List(PolicyRule, 'What the role allows.') },
  'A set of permissions within one namespace.',
);
export type Role = Static<typeof Role>;

export const ClusterRole = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    rules: List(
      PolicyRule,
      'What the role allows; kept by the controller-manager when aggregationRule is set.',
    ),
    aggregationRule: AggregationRule,
  },
  'A set of permissions across the cluster, or in any namespace through a RoleBinding.',
);
export type ClusterRole = Static<typeof ClusterRole>;

export const RoleBinding = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    subjects: List(Subject, 'Who the role is granted to.'),
    roleRef: RoleRef,
  },
  'Grants a Role, or a ClusterRole, to subjects within one namespace.',
);
export type RoleBinding = Static<typeof RoleBinding>;

export const ClusterRoleBinding = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    subjects: List(Subject, 'Who the role is granted to.'),
    roleRef: RoleRef,
  },
  'Grants a ClusterRole to subjects across the cluster.',
);
export type ClusterRoleBinding = Static<typeof ClusterRoleBinding>;

type Binding = RoleBinding | ClusterRoleBinding;

// ---- defaults ---------------------------------------------------------------------

/** Kubernetes' v1 defaults: a roleRef, and User and Group subjects, are in the RBAC group. */
export function defaultBinding(obj: Binding): void {
  // roleRef is a struct value in Go, so even a missing one gets its group.
  obj.roleRef ??= {};
  obj.roleRef.apiGroup ||= rbacGroup;
  for (const s of obj.subjects ?? [])
    if (!s.apiGroup && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = rbacGroup;
}

// ---- validation -------------------------------------------------------------------

/** One rule, as `ValidatePolicyRule`: Role rules (namespaced) may not name URLs. */
export function validatePolicyRule(rule: PolicyRule, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!rule.verbs?.length)
    errs.push(requiredError(child(path, 'verbs'), 'verbs must contain at least one value'));
  if (rule.nonResourceURLs?.length) {
    if (namespaced)
      errs.push(
        invalidError(
          child(path, 'nonResourceURLs'),
          rule.nonResourceURLs,
          'namespaced rules cannot apply to non-resource URLs',
        ),
      );
    if (rule.apiGroups?.length || rule.resources?.length || rule.resourceNames?.length)
      errs.push(
        invalidError(
          child(path, 'nonResourceURLs'),
          rule.nonResourceURLs,
          'rules cannot apply to both regular resources and non-resource URLs',
        ),
      );
    return errs;
  }
  if (!rule.apiGroups?.length)
    errs.push(requiredError(child(path, 'apiGroups'), 'resource rules must supply at least one api group'));
  if (!rule.resources?.length)
    errs.push(requiredError(child(path, 'resources'), 'resource rules must supply at least one resource'));
  return errs;
}

const validateRules = (rules: PolicyRule[] | undefined, namespaced: boolean): FieldError[] =>
  (rules ?? []).flatMap((r, i) => validatePolicyRule(r, namespaced, index('rules', i)));

export function validateRole(role: Role): FieldError[] {
  return validateRules(role.rules, true);
}

export function validateClusterRole(role: ClusterRole): FieldError[] {
  const errs = validateRules(role.rules, false);
  const agg = role.aggregationRule;
  if (agg) {
    const path = child('aggregationRule', 'clusterRoleSelectors');
    if (!agg.clusterRoleSelectors?.length)
      errs.push(
        requiredError(path, 'at least one clusterRoleSelector required if aggregationRule is non-nil'),
      );
    (agg.clusterRoleSelectors ?? []).forEach((sel, i) => {
      errs.push(...validateLabelSelector(sel, index(path, i)));
    });
  }
  return errs;
}

const subjectKinds = ['ServiceAccount', 'User', 'Group'] as const;

/** One subject, as `ValidateRoleBindingSubject`. */
export function validateSubject(s: Subject, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!s.name) errs.push(requiredError(child(path, 'name')));
  switch (s.kind) {
    case 'ServiceAccount':
      if (s.name)
        for (const msg of isDNS1123Subdomain(s.name))
          errs.push(invalidError(child(path, 'name'), s.name, msg));
      if (s.apiGroup) errs.push(notSupportedError(child(path, 'apiGroup'), s.apiGroup, ['']));
      if (!namespaced && !s.namespace) errs.push(requiredError(child(path, 'namespace')));
      break;
    case 'User':
    case 'Group':
      if (s.apiGroup !== rbacGroup)
        errs.push(notSupportedError(child(path, 'apiGroup'), s.apiGroup ?? '', [rbacGroup]));
      break;
    default:
      errs.push(notSupportedError(child(path, 'kind'), s.kind ?? '', subjectKinds));
  }
  return errs;
}

/** The roleRef as Go compares it: a struct of three strings, a missing one empty. */
const refOf = (r: RoleRef | undefined) => ({
  apiGroup: r?.apiGroup ?? '',
  kind: r?.kind ?? '',
  name: r?.name ?? '',
});

/**
 * A RoleBinding (namespaced) or ClusterRoleBinding, as `ValidateRoleBinding`
 * and its update: a ClusterRoleBinding may only grant a ClusterRole, and its
 * ServiceAccount subjects must say their namespace.
 */
export function validateBinding(obj: Binding, old: Binding | undefined, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = refOf(obj.roleRef);
  if (ref.apiGroup !== rbacGroup)
    errs.push(notSupportedError(child('roleRef', 'apiGroup'), ref.apiGroup, [rbacGroup]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(ref.kind)) errs.push(notSupportedError(child('roleRef', 'kind'), ref.kind, kinds));
  if (!ref.name) errs.push(requiredError(child('roleRef', 'name')));
  else
    for (const msg of nameIsPathSegment(ref.name, false))
      errs.push(invalidError(child('roleRef', 'name'), ref.name, msg));
  (obj.subjects ?? []).forEach((s, i) => {
    errs.push(...validateSubject(s, namespaced, index('subjects', i)));
  });
  if (old) {
    const was = refOf(old.roleRef);
    if (was.apiGroup !== ref.apiGroup || was.kind !== ref.kind || was.name !== ref.name)
      errs.push(invalidError('roleRef', ref, 'cannot change roleRef'));
  }
  return errs;
}

// ---- columns ----------------------------------------------------------------------

/** `time.RFC3339` of the creation time in UTC, as kubectl's CREATED AT shows it. */
function createdAt(ts: string | null | undefined): string {
  const ms = ts ? Date.parse(ts) : Number.NaN;
  if (Number.isNaN(ms)) return '0001-01-01T00:00:00Z';
  return metaTime(ms);
}

/** Roles list only Name and Created At: no Age column, as Kubernetes prints them. */
const roleColumns = [
  column('Name', 'Name must be unique within a namespace. Cannot be updated.', (o) => o.metadata.name ?? '', {
    format: 'name',
  }),
  column('Created At', 'When the role was created.', (o) => createdAt(o.metadata.creationTimestamp), {
    type: 'date',
  }),
];

/** Names of the subjects of one kind, as rbac.SubjectsStrings lists them; service accounts as ns/name. */
function subjectNames(o: KubeObject, kind: Subject['kind']): string {
  return ((o as Binding).subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${s.namespace ?? ''}/${s.name ?? ''}` : (s.name ?? '')))
    .join(', ');
}

/** Name and Age come from the table itself: NAME, ROLE, AGE, and USERS, GROUPS, SERVICEACCOUNTS with -o wide. */
const bindingColumns = (what: string) => [
  column('Role', 'The role granted, as Kind/name.', (o) => {
    const r = refOf((o as Binding).roleRef);
    return `${r.kind}/${r.name}`;
  }),
  column('Users', `Users in the ${what}`, (o) => subjectNames(o, 'User'), { priority: 1 }),
  column('Groups', `Groups in the ${what}`, (o) => subjectNames(o, 'Group'), { priority: 1 }),
  column('ServiceAccounts', `ServiceAccounts in the ${what}`, (o) => subjectNames(o, 'ServiceAccount'), {
    priority: 1,
  }),
];

const base = {
  group: rbacGroup,
  version: 'v1',
  shortNames: [],
  categories: [],
  subresources: [],
  validateName: nameIsPathSegment,
};

export const rbacTypes: ResourceType[] = [
  {
    ...base,
    kind: 'Role',
    plural: 'roles',
    singular: 'role',
    namespaced: true,
    schema: Role,
    validate: (obj) => validateRole(obj as Role),
    columns: roleColumns,
  },
  {
    ...base,
    kind: 'ClusterRole',
    plural: 'clusterroles',
    singular: 'clusterrole',
    namespaced: false,
    schema: ClusterRole,
    validate: (obj) => validateClusterRole(obj as ClusterRole),
    columns: roleColumns,
  },
  {
    ...base,
    kind: 'RoleBinding',
    plural: 'rolebindings',
    singular: 'rolebinding',
    namespaced: true,
    schema: RoleBinding,
    defaults: (obj) => defaultBinding(obj as RoleBinding),
    validate: (obj, old) => validateBinding(obj as RoleBinding, old as RoleBinding | undefined, true),
    columns: bindingColumns('roleBinding'),
  },
  {
    ...base,
    kind: 'ClusterRoleBinding',
    plural: 'clusterrolebindings',
    singular: 'clusterrolebinding',
    namespaced: false,
    schema: ClusterRoleBinding,
    defaults: (obj) => defaultBinding(obj as ClusterRoleBinding),
    validate: (obj, old) =>
      validateBinding(obj as ClusterRoleBinding, old as ClusterRoleBinding | undefined, false),
    columns: bindingColumns('clusterRoleBinding'),
  },
];
