/**
 * NodeAffinity: spec.nodeSelector and required node affinity (Filter, with
 * every operator: In, NotIn, Exists, DoesNotExist, Gt, Lt, and matchFields
 * on metadata.name), and preferred node affinity (Score, weights summed).
 */

import type { Pod } from '../../api/objects.js';
import { nodeMatchesPod, termMatches } from '../../api/scheduling.js';
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
