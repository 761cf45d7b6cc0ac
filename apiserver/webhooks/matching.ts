/**
 * Which webhooks a request goes to, as Kubernetes' webhook `rules.Matcher`,
 * `namespace.Matcher` and `object.Matcher` decide it: a rule matches on
 * operation, group, version, resource (with `*`, `*\/*`, `pods/status`,
 * `*\/status`) and scope; the namespaceSelector is checked against the
 * labels of the request's namespace (of the Namespace itself when the
 * request is about one; cluster-scoped objects are never exempted); the
 * objectSelector against the new or the old object's labels. With
 * matchPolicy Equivalent a rule that names another served version of the
 * same group and resource matches too. Pure functions.
 */
import type { KubeObject } from '../../api/meta.js';
import {
  type LabelSelectorObject,
  labelSelectorFromObject,
  type ParsedLabelSelector,
} from '../../api/selectors.js';
import type { MutatingWebhook, RuleWithOperations } from '../../api/types/admissionregistration.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** A group, version and resource, as the AdmissionReview's `resource`. */
export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

/** What matching needs of a request. */
export interface MatchRequest {
  operation: Operation;
  resource: GroupVersionResource;
  subresource: string;
  /** Empty for cluster-scoped objects (and for a Namespace itself). */
  namespace: string;
  obj?: KubeObject;
  old?: KubeObject;
}

/** The resources webhooks are never called for: their own configurations (Kubernetes' IsExemptAdmissionConfigurationResource). */
export function isExempt(r: GroupVersionResource): boolean {
  return (
    r.group === 'admissionregistration.k8s.io' &&
    (r.resource === 'validatingwebhookconfigurations' || r.resource === 'mutatingwebhookconfigurations')
  );
}

const namespaces = 'namespaces';
const isNamespaceObject = (r: GroupVersionResource) => r.group === '' && r.resource === namespaces;

function splitResource(s: string): [string, string] {
  const slash = s.indexOf('/');
  return slash < 0 ? [s, ''] : [s.slice(0, slash), s.slice(slash + 1)];
}

const listMatches = (list: readonly string[] | undefined, v: string) =>
  (list ?? []).some((x) => x === '*' || x === v);

/** One rule against one operation on one resource and subresource. */
export function ruleMatches(
  rule: RuleWithOperations,
  op: Operation,
  r: GroupVersionResource,
  subresource: string,
  namespace: string,
): boolean {
  const scope = rule.scope ?? '*';
  if (scope === 'Namespaced' && (isNamespaceObject(r) || namespace === '')) return false;
  if (scope === 'Cluster' && !(isNamespaceObject(r) || namespace === '')) return false;
  if (!listMatches(rule.operations, op)) return false;
  if (!listMatches(rule.apiGroups, r.group)) return false;
  if (!listMatches(rule.apiVersions, r.version)) return false;
  return (rule.resources ?? []).some((entry) => {
    const [res, sub] = splitResource(entry);
    return (res === '*' || res === r.resource) && (sub === '*' || sub === subresource);
  });
}

/**
 * The resource a webhook is called as, or undefined when none of its rules
 * match: the request's own, or with matchPolicy Equivalent the first other
 * version of it (`versions`: the served versions of the request's group and
 * resource) that a rule names.
 */
export function matchingResource(
  w: Pick<MutatingWebhook, 'rules' | 'matchPolicy'>,
  req: Pick<MatchRequest, 'operation' | 'resource' | 'subresource' | 'namespace'>,
  versions: readonly string[] = [],
): GroupVersionResource | undefined {
  const rules = w.rules ?? [];
  const hit = (r: GroupVersionResource) =>
    rules.some((rule) => ruleMatches(rule, req.operation, r, req.subresource, req.namespace));
  if (hit(req.resource)) return req.resource;
  if ((w.matchPolicy ?? 'Equivalent') !== 'Equivalent') return undefined;
  for (const version of versions) {
    if (version === req.resource.version) continue;
    const r = { ...req.resource, version };
    if (hit(r)) return r;
  }
  return undefined;
}

const compiled = new WeakMap<object, ParsedLabelSelector>();

/** A webhook's selector compiled once per stored object (cache objects are never changed in place). */
export function compiledSelector(sel: LabelSelectorObject | undefined): ParsedLabelSelector {
  // A missing selector is `{}` once defaulted: it matches everything.
  if (!sel) return labelSelectorFromObject({});
  let c = compiled.get(sel);
  if (!c) {
    c = labelSelectorFromObject(sel);
    compiled.set(sel, c);
  }
  return c;
}

/**
 * Whether the namespaceSelector lets the request through. `namespaceLabels`
 * are the labels of the request's namespace (read only when the selector
 * restricts something); a request about a Namespace (or its status) uses
 * that Namespace's own labels.
 */
export function namespaceSelectorMatches(
  w: Pick<MutatingWebhook, 'namespaceSelector'>,
  req: MatchRequest,
  namespaceLabels: () => Record<string, string> | undefined,
): boolean {
  const ownNamespace = isNamespaceObject(req.resource);
  if (req.namespace === '' && !ownNamespace) return true;
  const sel = compiledSelector(w.namespaceSelector);
  if (sel.empty()) return true;
  const labels = ownNamespace ? (req.obj ?? req.old)?.metadata.labels : namespaceLabels();
  return sel.matches(labels ?? {});
}

/** Whether the objectSelector matches the new or the old object. */
export function objectSelectorMatches(
  w: Pick<MutatingWebhook, 'objectSelector'>,
  req: MatchRequest,
): boolean {
  const sel = compiledSelector(w.objectSelector);
  if (sel.empty()) return true;
  // An object without metadata (a CONNECT's options) has no labels to match, as Kubernetes' matchObject.
  return [req.obj, req.old].some((o) => o?.metadata !== undefined && sel.matches(o.metadata.labels ?? {}));
}
