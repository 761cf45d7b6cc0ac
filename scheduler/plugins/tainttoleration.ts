/**
 * TaintToleration: a node's NoSchedule and NoExecute taints keep off pods
 * that do not tolerate them (Filter); PreferNoSchedule taints make a node
 * less attractive for each one the pod does not tolerate (Score).
 */

import { tolerates, untoleratedTaint } from '../../api/scheduling.js';
import type { Taint } from '../../api/types/node.js';
import {
  type ClusterEvent,
  type CycleState,
  defaultNormalizeScore,
  type EnqueueExtensions,
  type FilterPlugin,
  type Result,
  type ScorePlugin,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const taintTolerationName = 'TaintToleration';

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

export class TaintToleration implements FilterPlugin, ScorePlugin, EnqueueExtensions {
  readonly name = taintTolerationName;
  readonly weight = 3;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    const taints = node.node.spec?.taints;
    if (!taints?.length) return undefined;
    const taint = untoleratedTaint(taints, pod.pod.spec?.tolerations);
    return taint ? Status.unresolvable(untoleratedTaintReason(taint)) : undefined;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const taints = node.node.spec?.taints;
    if (!taints?.length) return 0;
    const tolerations = (pod.pod.spec?.tolerations ?? []).filter(
      (t) => !t.effect || t.effect === 'PreferNoSchedule',
    );
    let n = 0;
    for (const taint of taints) {
      if (taint.effect === 'PreferNoSchedule' && !tolerations.some((t) => tolerates(t, taint))) n++;
    }
    return n;
  }

  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    defaultNormalizeScore(scores, true);
  }

  events(): ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate', 'PodUpdate'];
  }
}
