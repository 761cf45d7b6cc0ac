/**
 * admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration and
 * MutatingWebhookConfiguration: which writes the apiserver sends to which
 * admission webhook. Defaults and validation follow Kubernetes'
 * pkg/apis/admissionregistration (v1 defaults, `ValidateValidatingWebhookConfiguration`
 * with the v1 rules: unique webhook names, sideEffects None or
 * NoneOnDryRun, admissionReviewVersions required). The apiserver's side,
 * matching and calling the webhooks, is apiserver/webhooks/.
 *
 * `matchConditions` (CEL) is not served: a configuration that sets it is
 * refused as an unknown field rather than matched more broadly than asked.
 */
import type { Static } from '@sinclair/typebox';
import { LabelSelector, ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { AtomicList, Int, List, MapList, Str, Struct, T } from '../schema.js';
import type { FieldError } from '../status.js';
import {
  child,
  duplicateError,
  index,
  invalidError,
  isDNS1035Label,
  isDNS1123Subdomain,
  notSupportedError,
  requiredError,
  validateLabelSelector,
} from '../validation.js';

export const admissionRegistrationGroup = 'admissionregistration.k8s.io';

export const operationTypes = ['*', 'CREATE', 'UPDATE', 'DELETE', 'CONNECT'] as const;
export const ruleScopes = ['Cluster', 'Namespaced', '*'] as const;
export const failurePolicies = ['Ignore', 'Fail'] as const;
export const matchPolicies = ['Exact', 'Equivalent'] as const;
/** v1 allows only these two; Some and Unknown were v1beta1's. */
export const sideEffectClasses = ['None', 'NoneOnDryRun'] as const;
export const reinvocationPolicies = ['Never', 'IfNeeded'] as const;
/** The AdmissionReview versions the apiserver speaks, in its order of preference. */
export const admissionReviewVersions = ['v1', 'v1beta1'] as const;

export const ServiceReference = Struct(
  {
    namespace: Str('Namespace of the service.'),
    name: Str('Name of the service.'),
    path: Str('URL path the apiserver posts to.'),
    port: Int('Port of the service (default 443).'),
  },
  'A Service in the cluster that serves the webhook over HTTPS.',
);

export const WebhookClientConfig = Struct(
  {
    url: Str('https URL of a webhook outside the cluster; exactly one of url and service.'),
    service: ServiceReference,
    caBundle: T.String({
      format: 'byte',
      description: 'PEM CA bundle (base64) that signs the serving certificate.',
    }),
  },
  'How the apiserver reaches the webhook.',
);

export const RuleWithOperations = Struct(
  {
    operations: AtomicList(Str(), 'CREATE, UPDATE, DELETE, CONNECT or *.'),
    apiGroups: AtomicList(Str(), 'API groups, * for all.'),
    apiVersions: AtomicList(Str(), 'API versions, * for all.'),
    resources: AtomicList(Str(), 'Resources (pods, pods/status, */*, *).'),
    scope: Str('Cluster, Namespaced or * (default).'),
  },
  'The operations and resources a webhook is called for.',
);
export type RuleWithOperations = Static<typeof RuleWithOperations>;

const webhookFields = {
  name: Str('Fully qualified name of the webhook (at least three dot-separated segments).'),
  clientConfig: WebhookClientConfig,
  rules: List(RuleWithOperations, 'The requests the webhook is called for.'),
  failurePolicy: Str('Fail (default) or Ignore: what a failed call does to the request.'),
  matchPolicy: Str('Exact or Equivalent (default): whether other versions of a matched resource also match.'),
  namespaceSelector: LabelSelector,
  objectSelector: LabelSelector,
  sideEffects: Str('None or NoneOnDryRun: whether dry-run requests may be sent to the webhook.'),
  timeoutSeconds: Int('Seconds before a call is abandoned, 1 to 30 (default 10).'),
  admissionReviewVersions: AtomicList(
    Str(),
    'AdmissionReview versions the webhook accepts, in order of preference.',
  ),
};

export const ValidatingWebhook = Struct(webhookFields, 'One validating admission webhook.');
export type ValidatingWebhook = Static<typeof ValidatingWebhook>;

export const MutatingWebhook = Struct(
  {
    ...webhookFields,
    reinvocationPolicy: Str(
      'Never (default) or IfNeeded: call again when a later webhook changed the object.',
    ),
  },
  'One mutating admission webhook.',
);
export type MutatingWebhook = Static<typeof MutatingWebhook>;

export const ValidatingWebhookConfiguration = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    webhooks: MapList(ValidatingWebhook, ['name'], 'The webhooks, called in parallel.'),
  },
  'Validating admission webhooks and the requests they see.',
);
export type ValidatingWebhookConfiguration = Static<typeof ValidatingWebhookConfiguration>;

export const MutatingWebhookConfiguration = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    webhooks: MapList(MutatingWebhook, ['name'], 'The webhooks, called in order.'),
  },
  'Mutating admission webhooks and the requests they see.',
);
export type MutatingWebhookConfiguration = Static<typeof MutatingWebhookConfiguration>;

/** v1 defaults (`SetDefaults_ValidatingWebhook`, `..._MutatingWebhook`, `..._Rule`, `..._ServiceReference`). */
export function defaultWebhooks(obj: { webhooks?: MutatingWebhook[] }, mutating: boolean): void {
  for (const w of obj.webhooks ?? []) {
    w.failurePolicy ??= 'Fail';
    w.matchPolicy ??= 'Equivalent';
    w.namespaceSelector ??= {};
    w.objectSelector ??= {};
    w.timeoutSeconds ??= 10;
    if (mutating) w.reinvocationPolicy ??= 'Never';
    for (const r of w.rules ?? []) r.scope ??= '*';
    if (w.clientConfig?.service) w.clientConfig.service.port ??= 443;
  }
}

function oneOf<T extends string>(field: string, v: string | undefined, allowed: readonly T[]): FieldError[] {
  if (v === undefined) return [requiredError(field)];
  return (allowed as readonly string[]).includes(v) ? [] : [notSupportedError(field, v, allowed)];
}

/** `utilvalidation.IsFullyQualifiedName`: a DNS subdomain of at least three segments. */
function validateFullyQualifiedName(field: string, name: string | undefined): FieldError[] {
  if (!name) return [requiredError(field)];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const errs = isDNS1123Subdomain(n);
  if (errs.length > 0) return [invalidError(field, n, errs.join(','))];
  if (n.split('.').length < 3)
    return [invalidError(field, n, 'should be a domain with at least three segments separated by dots')];
  return [];
}

/** A list that holds `*` holds nothing else (operations, apiGroups, apiVersions). */
function validateWildcardList(field: string, values: string[] | undefined, what: string): FieldError[] {
  const list = values ?? [];
  if (list.length === 0) return [requiredError(field)];
  if (list.length > 1 && list.includes('*'))
    return [invalidError(field, list, `if '*' is present, must not specify other ${what}`)];
  return [];
}

/** `validateResources`: resource and subresource wildcards that would overlap are refused. */
function validateResources(field: string, resources: string[] | undefined): FieldError[] {
  const list = resources ?? [];
  if (list.length === 0) return [requiredError(field)];
  const errs: FieldError[] = [];
  const wildSub = new Set<string>();
  const wildRes = new Set<string>();
  let doubleWildcard = false;
  let singleWildcard = false;
  let plain = false;
  list.forEach((r, i) => {
    if (r === '') {
      errs.push(requiredError(index(field, i)));
      return;
    }
    if (r === '*/*') doubleWildcard = true;
    if (r === '*') singleWildcard = true;
    const slash = r.indexOf('/');
    if (slash < 0) {
      if (r !== '*') plain = true;
      return;
    }
    const res = r.slice(0, slash);
    const sub = r.slice(slash + 1);
    if (wildSub.has(res))
      errs.push(invalidError(index(field, i), r, `if '${res}/*' is present, must not specify ${r}`));
    if (wildRes.has(sub))
      errs.push(invalidError(index(field, i), r, `if '*/${sub}' is present, must not specify ${r}`));
    if (sub === '*') wildSub.add(res);
    if (res === '*') wildRes.add(sub);
  });
  if (list.length > 1 && doubleWildcard)
    errs.push(invalidError(field, list, "if '*/*' is present, must not specify other resources"));
  if (singleWildcard && plain)
    errs.push(
      invalidError(field, list, "if '*' is present, must not specify other resources without subresources"),
    );
  return errs;
}

function validateRule(path: string, r: RuleWithOperations): FieldError[] {
  const errs = validateWildcardList(child(path, 'operations'), r.operations, 'operations');
  (r.operations ?? []).forEach((op, i) => {
    if (!(operationTypes as readonly string[]).includes(op))
      errs.push(notSupportedError(index(child(path, 'operations'), i), op, operationTypes));
  });
  errs.push(...validateWildcardList(child(path, 'apiGroups'), r.apiGroups, 'API groups'));
  errs.push(...validateWildcardList(child(path, 'apiVersions'), r.apiVersions, 'API versions'));
  (r.apiVersions ?? []).forEach((v, i) => {
    if (v === '') errs.push(requiredError(index(child(path, 'apiVersions'), i), 'must not be empty'));
  });
  errs.push(...validateResources(child(path, 'resources'), r.resources));
  if (r.scope !== undefined) errs.push(...oneOf(child(path, 'scope'), r.scope, ruleScopes));
  return errs;
}

/** `webhook.ValidateWebhookURL` with https forced. */
function validateURL(field: string, raw: string): FieldError[] {
  let u: URL;
  try {
    u = new URL(raw);
  } catch (e) {
    return [invalidError(field, raw, `url must be a valid URL: ${(e as Error).message}`)];
  }
  const errs: FieldError[] = [];
  if (u.protocol !== 'https:')
    errs.push(invalidError(field, u.protocol.replace(/:$/, ''), "'https' is the only allowed URL scheme"));
  if (u.host === '') errs.push(invalidError(field, u.host, 'host must be specified'));
  if (u.username || u.password)
    errs.push(invalidError(child(field, 'user'), u.username, 'user information is not permitted in the URL'));
  if (u.hash)
    errs.push(
      invalidError(child(field, 'fragment'), u.hash.slice(1), 'fragments are not permitted in the URL'),
    );
  if (u.search)
    errs.push(
      invalidError(child(field, 'query'), u.search.slice(1), 'query parameters are not permitted in the URL'),
    );
  return errs;
}

function validateClientConfig(
  path: string,
  cc: Static<typeof WebhookClientConfig> | undefined,
): FieldError[] {
  const field = child(path, 'clientConfig');
  if ((cc?.url === undefined) === (cc?.service === undefined))
    return [requiredError(field, 'exactly one of url or service is required')];
  if (cc!.url !== undefined) return validateURL(child(field, 'url'), cc!.url);
  const svc = cc!.service!;
  const sp = child(field, 'service');
  const errs: FieldError[] = [];
  if (!svc.name) errs.push(requiredError(child(sp, 'name'), 'service name is required'));
  if (!svc.namespace) errs.push(requiredError(child(sp, 'namespace'), 'service namespace is required'));
  const port = svc.port ?? 443;
  if (port < 1 || port > 65535)
    errs.push(
      invalidError(child(sp, 'port'), port, 'port is not valid: must be between 1 and 65535, inclusive'),
    );
  if (svc.path !== undefined && svc.path !== '') {
    if (!svc.path.startsWith('/'))
      errs.push(invalidError(child(sp, 'path'), svc.path, "must start with a '/'"));
    else
      svc.path
        .slice(1)
        .split('/')
        .forEach((seg, i, all) => {
          if (seg === '' && i < all.length - 1)
            errs.push(invalidError(child(sp, 'path'), svc.path, `segment[${i}] may not be empty`));
        });
  }
  return errs;
}

function validateReviewVersions(field: string, versions: string[] | undefined): FieldError[] {
  const list = versions ?? [];
  const supported = admissionReviewVersions.join(', ');
  if (list.length === 0) return [requiredError(field, `must specify one of ${supported}`)];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  list.forEach((v, i) => {
    if (seen.has(v)) {
      errs.push(invalidError(index(field, i), v, 'duplicate version'));
      return;
    }
    seen.add(v);
    for (const m of isDNS1035Label(v)) errs.push(invalidError(index(field, i), v, m));
  });
  if (!list.some((v) => (admissionReviewVersions as readonly string[]).includes(v)))
    errs.push(invalidError(field, list, `must include at least one of ${supported}`));
  return errs;
}

function validateWebhook(path: string, w: MutatingWebhook, mutating: boolean): FieldError[] {
  const errs = validateFullyQualifiedName(child(path, 'name'), w.name);
  (w.rules ?? []).forEach((r, i) => {
    errs.push(...validateRule(index(child(path, 'rules'), i), r));
  });
  errs.push(...oneOf(child(path, 'failurePolicy'), w.failurePolicy, failurePolicies));
  errs.push(...oneOf(child(path, 'matchPolicy'), w.matchPolicy, matchPolicies));
  errs.push(...oneOf(child(path, 'sideEffects'), w.sideEffects, sideEffectClasses));
  const t = w.timeoutSeconds;
  if (t !== undefined && (t < 1 || t > 30))
    errs.push(
      invalidError(child(path, 'timeoutSeconds'), t, 'the timeout value must be between 1 and 30 seconds'),
    );
  errs.push(...validateReviewVersions(child(path, 'admissionReviewVersions'), w.admissionReviewVersions));
  errs.push(...validateLabelSelector(w.namespaceSelector, child(path, 'namespaceSelector')));
  errs.push(...validateLabelSelector(w.objectSelector, child(path, 'objectSelector')));
  errs.push(...validateClientConfig(path, w.clientConfig));
  if (mutating)
    errs.push(...oneOf(child(path, 'reinvocationPolicy'), w.reinvocationPolicy, reinvocationPolicies));
  return errs;
}

export function validateWebhookConfiguration(
  obj: { webhooks?: MutatingWebhook[] },
  mutating: boolean,
): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (obj.webhooks ?? []).forEach((w, i) => {
    const path = index('webhooks', i);
    errs.push(...validateWebhook(path, w, mutating));
    if (w.name && names.has(w.name)) errs.push(duplicateError(child(path, 'name'), w.name));
    if (w.name) names.add(w.name);
  });
  return errs;
}

const webhookCount = column(
  'Webhooks',
  'Number of webhooks.',
  (o) => ((o as { webhooks?: unknown[] }).webhooks ?? []).length,
  {
    type: 'integer',
  },
);

function webhookConfigurationType(kind: string, mutating: boolean): ResourceType {
  const plural = `${kind.toLowerCase()}s`;
  return {
    group: admissionRegistrationGroup,
    version: 'v1',
    kind,
    plural,
    singular: kind.toLowerCase(),
    shortNames: [],
    categories: ['api-extensions'],
    namespaced: false,
    subresources: [],
    schema: mutating ? MutatingWebhookConfiguration : ValidatingWebhookConfiguration,
    defaults: (obj) => defaultWebhooks(obj as { webhooks?: MutatingWebhook[] }, mutating),
    validate: (obj) => validateWebhookConfiguration(obj as { webhooks?: MutatingWebhook[] }, mutating),
    columns: [webhookCount, ageColumn],
  };
}

export const admissionRegistrationTypes: ResourceType[] = [
  webhookConfigurationType('ValidatingWebhookConfiguration', false),
  webhookConfigurationType('MutatingWebhookConfiguration', true),
];
