/**
 * PodTopologySpread: spec.topologySpreadConstraints. For DoNotSchedule
 * constraints a node is rejected when placing the pod there would make its
 * domain hold more than maxSkew matching pods beyond the emptiest eligible
 * domain (Filter); ScheduleAnyway constraints prefer the emptier domains
 * (Score). Domains are the values of topologyKey on eligible nodes (those
 * passing the pod's node affinity when nodeAffinityPolicy is Honor, and its
 * tolerations when nodeTaintsPolicy is Honor). With fewer eligible domains
 * than minDomains, the global minimum counts as 0.
 */

import type { LabelSelector } from '../../api/meta.js';
import type { Pod } from '../../api/objects.js';
import { own } from '../../api/plain.js';
import { nodeMatchesPod, untoleratedTaint } from '../../api/scheduling.js';
import { labelSelectorFromObject, type ParsedLabelSelector } from '../../api/selectors.js';
import {
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  maxNodeScore,
  type PreFilterPlugin,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const podTopologySpreadName = 'PodTopologySpread';
export const errReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const errReasonNodeLabelNotMatch = `${errReasonConstraintsNotMatch} (missing required label)`;

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: ParsedLabelSelector;
  minDomains: number;
  honorAffinity: boolean;
  honorTaints: boolean;
}

interface SpreadState {
  constraints: Constraint[];
  /** Per constraint: domain value → matching pods there. */
  counts: Map<string, number>[];
  /** Per constraint: whether the pod matches its own selector (it counts itself). */
  selfMatch: number[];
}

const filterKey = 'PreFilter' + podTopologySpreadName;
const scoreKey = 'PreScore' + podTopologySpreadName;

function constraintsOf(pod: Pod, when: 'DoNotSchedule' | 'ScheduleAnyway'): Constraint[] {
  const labels = pod.metadata.labels ?? {};
  return (pod.spec?.topologySpreadConstraints ?? [])
    .filter((c) => (c.whenUnsatisfiable ?? 'DoNotSchedule') === when)
    .map((c) => {
      const sel: LabelSelector = {
        matchLabels: { ...(c.labelSelector?.matchLabels ?? {}) },
        matchExpressions: [...(c.labelSelector?.matchExpressions ?? [])],
      };
      for (const k of c.matchLabelKeys ?? []) {
        const v = own<string>(labels, k);
        if (v !== undefined) sel.matchExpressions!.push({ key: k, operator: 'In', values: [v] });
      }
      return {
        maxSkew: c.maxSkew ?? 1,
        topologyKey: c.topologyKey ?? '',
        selector: c.labelSelector ? labelSelectorFromObject(sel) : labelSelectorFromObject(undefined),
        minDomains: c.minDomains ?? 1,
        honorAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
        honorTaints: c.nodeTaintsPolicy === 'Honor',
      };
    });
}

function eligible(pod: Pod, node: NodeInfo, c: Constraint): boolean {
  if (c.honorAffinity && !nodeMatchesPod(pod, node.node)) return false;
  if (c.honorTaints && untoleratedTaint(node.node.spec?.taints, pod.spec?.tolerations)) return false;
  return own(node.node.metadata.labels ?? {}, c.topologyKey) !== undefined;
}

function countMatching(pod: Pod, node: NodeInfo, c: Constraint): number {
  let n = 0;
  for (const pi of node.pods.values()) {
    const p = pi.pod;
    if (p.metadata.namespace !== pod.metadata.namespace || p.metadata.deletionTimestamp) continue;
    if (c.selector.matches(p.metadata.labels ?? {})) n++;
  }
  return n;
}

function buildState(pod: Pod, constraints: Constraint[], nodes: readonly NodeInfo[]): SpreadState {
  const counts = constraints.map(() => new Map<string, number>());
  for (const node of nodes) {
    constraints.forEach((c, i) => {
      if (!eligible(pod, node, c)) return;
      // eligible: the node has the topology label
      const v = own<string>(node.node.metadata.labels!, c.topologyKey)!;
      counts[i].set(v, (counts[i].get(v) ?? 0) + countMatching(pod, node, c));
    });
  }
  const selfMatch = constraints.map((c) => (c.selector.matches(pod.metadata.labels ?? {}) ? 1 : 0));
  return { constraints, counts, selfMatch };
}

export class PodTopologySpread
  implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions
{
  readonly name = podTopologySpreadName;
  readonly weight = 2;

  preFilter(state: CycleState, pod: PodInfo, h: Handle): Result {
    const constraints = constraintsOf(pod.pod, 'DoNotSchedule');
    if (!constraints.length) return Status.skip;
    state.write(filterKey, buildState(pod.pod, constraints, h.nodes()));
    return undefined;
  }

  filter(state: CycleState, _pod: PodInfo, node: NodeInfo): Result {
    const s = state.read<SpreadState>(filterKey);
    if (!s) return undefined;
    const labels = node.node.metadata.labels ?? {};
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i];
      const v = own<string>(labels, c.topologyKey);
      if (v === undefined) return Status.unresolvable(errReasonNodeLabelNotMatch);
      const counts = s.counts[i];
      let min = counts.size < c.minDomains ? 0 : Number.POSITIVE_INFINITY;
      for (const n of counts.values()) min = Math.min(min, n);
      if (!Number.isFinite(min)) min = 0;
      const skew = (counts.get(v) ?? 0) + s.selfMatch[i] - min;
      if (skew > c.maxSkew) return Status.unschedulable(errReasonConstraintsNotMatch);
    }
    return undefined;
  }

  preScore(state: CycleState, pod: PodInfo, _nodes: NodeInfo[], h: Handle): Result {
    const constraints = constraintsOf(pod.pod, 'ScheduleAnyway');
    if (!constraints.length) return Status.skip;
    state.write(scoreKey, buildState(pod.pod, constraints, h.nodes()));
    return undefined;
  }

  /** Matching pods in the node's domains, each constraint weighted by log(domains + 2). */
  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const s = state.read<SpreadState>(scoreKey);
    if (!s) return 0;
    let total = 0;
    s.constraints.forEach((c, i) => {
      const v = own<string>(node.node.metadata.labels ?? {}, c.topologyKey);
      if (v === undefined) return;
      const w = Math.log(s.counts[i].size + 2);
      total += ((s.counts[i].get(v) ?? 0) + c.maxSkew - 1) * w;
    });
    return Math.round(total);
  }

  /** Fewer matching pods score higher: (max + min - score) / max, scaled. */
  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    let max = 0;
    let min = Number.POSITIVE_INFINITY;
    for (const s of scores) {
      max = Math.max(max, s);
      min = Math.min(min, s);
    }
    for (let i = 0; i < scores.length; i++) {
      scores[i] = max === 0 ? maxNodeScore : Math.floor((maxNodeScore * (max + min - scores[i])) / max);
    }
  }

  events(): ClusterEvent[] {
    return ['PodAdd', 'PodUpdate', 'PodDelete', 'NodeAdd', 'NodeUpdate', 'NodeDelete'];
  }
}
