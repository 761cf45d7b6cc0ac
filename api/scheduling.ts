/**
 * Where a pod may run, as facts about a pod and a node (after Kubernetes'
 * component-helpers/scheduling/corev1 and v1.Toleration.ToleratesTaint):
 * spec.nodeSelector and required node affinity (every operator: In, NotIn,
 * Exists, DoesNotExist, Gt, Lt, and matchFields on metadata.name), and
 * whether tolerations cover a node's taints. The scheduler's NodeAffinity
 * and TaintToleration plugins and the DaemonSet and node lifecycle
 * controllers all ask these, so they never disagree about where a pod fits.
 */
import type { Taint } from './types/node.js';
import type { Pod, Toleration } from './types/pod.js';

interface Requirement {
  key?: string;
  operator?: string;
  values?: string[];
}

/** One NodeSelectorTerm. */
export interface NodeSelectorTerm {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

/** What of a node the matching reads: its name and labels. */
export interface NodeMeta {
  metadata: { name?: string; labels?: Record<string, string> };
}

function parseInt64(s: string | undefined): number | undefined {
  if (s === undefined || !/^[+-]?\d+$/.test(s)) return undefined;
  return Number(s);
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = parseInt64(value);
      const want = values.length === 1 ? parseInt64(values[0]) : undefined;
      if (have === undefined || want === undefined) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: all its requirements hold; an empty term matches nothing. */
export function termMatches(term: NodeSelectorTerm, node: NodeMeta): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata.labels ?? {};
  for (const r of exprs) {
    const v = Object.hasOwn(labels, r.key ?? '') ? labels[r.key ?? ''] : undefined;
    if (!requirementMatches(r, v)) return false;
  }
  for (const r of fields) {
    if (r.key !== 'metadata.name' || !requirementMatches(r, node.metadata.name)) return false;
  }
  return true;
}

/** True when the node satisfies the pod's nodeSelector and required node affinity. */
export function nodeMatchesPod(pod: Pick<Pod, 'spec'>, node: NodeMeta): boolean {
  const sel = pod.spec?.nodeSelector;
  if (sel) {
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
  return true;
}

/** v1.Toleration.ToleratesTaint: effect (empty matches all), key (empty with Exists matches all), value for Equal. */
export function tolerates(t: Toleration, taint: Pick<Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  // Equal (the default): an empty key only makes sense with Exists.
  if (!t.key) return false;
  return (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint no toleration covers, if any. */
export function untoleratedTaint(
  taints: Taint[] | undefined,
  tolerations: Toleration[] | undefined,
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
    if (!(tolerations ?? []).some((t) => tolerates(t, taint))) return taint;
  }
  return undefined;
}
