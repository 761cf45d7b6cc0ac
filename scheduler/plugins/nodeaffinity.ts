/**
 * NodeAffinity: spec.nodeSelector and required node affinity (Filter, with
 * every operator: In, NotIn, Exists, DoesNotExist, Gt, Lt, and matchFields
 * on metadata.name), and preferred node affinity (Score, weights summed).
 */

import type { Node, Pod } from '../../api/objects.js';
import {
  type ClusterEvent,
  type CycleState,
  defaultNormalizeScore,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const nodeAffinityName = 'NodeAffinity';
export const errReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector";

interface Requirement {
  key?: string;
  operator?: string;
  values?: string[];
}
interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
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
export function termMatches(term: Term, node: Node): boolean {
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
export function nodeMatchesPod(pod: Pod, node: Node): boolean {
  const sel = pod.spec?.nodeSelector;
  if (sel) {
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) return false;
  }
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => termMatches(t, node));
  return true;
}

/** metadata.name In [...] in every term: only those nodes can fit. */
function nodeNamesOf(pod: Pod): Set<string> | undefined {
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (!terms?.length) return undefined;
  const names = new Set<string>();
  for (const t of terms) {
    const r = (t.matchFields ?? []).find((f) => f.key === 'metadata.name' && f.operator === 'In');
    if (!r) return undefined;
    for (const v of r.values ?? []) names.add(v);
  }
  return names;
}

export class NodeAffinity
  implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions
{
  readonly name = nodeAffinityName;
  readonly weight = 2;

  preFilter(_state: CycleState, pod: PodInfo): Result | PreFilterResult {
    const spec = pod.pod.spec;
    if (!spec?.nodeSelector && !spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution)
      return Status.skip;
    const nodeNames = nodeNamesOf(pod.pod);
    return nodeNames ? { nodeNames } : undefined;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    return nodeMatchesPod(pod.pod, node.node) ? undefined : Status.unresolvable(errReasonNodeAffinity);
  }

  preScore(_state: CycleState, pod: PodInfo): Result {
    const pref = pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
    return pref?.length ? undefined : Status.skip;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    let sum = 0;
    for (const p of pod.pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ??
      []) {
      if (p.weight && p.preference && termMatches(p.preference, node.node)) sum += p.weight;
    }
    return sum;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, false);
  }

  events(): ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate'];
  }
}
