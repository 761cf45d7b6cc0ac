/**
 * InterPodAffinity: required pod affinity and anti-affinity of the incoming
 * pod, and required anti-affinity of the pods already placed (Filter), and
 * preferred terms of both (Score). A topology domain is a value of the
 * term's topologyKey; "in the same domain" means on a node with the same
 * value. As in Kubernetes, a pod whose affinity terms match no pod anywhere
 * but that matches its own terms may go anywhere (the first of its group).
 */

import { own } from '../../api/plain.js';
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
import type { AffinityTerm, NodeInfo, PodInfo } from '../nodeinfo.js';
import { termMatches } from '../nodeinfo.js';

export const interPodAffinityName = 'InterPodAffinity';
export const errReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const errReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";
export const errReasonExistingAntiAffinityRulesNotMatch =
  "node(s) didn't satisfy existing pods anti-affinity rules";

/** "key=value" → count. */
type TopologyCounts = Map<string, number>;

interface FilterState {
  existingAnti: TopologyCounts;
  affinity: TopologyCounts;
  anti: TopologyCounts;
  /** True when no pod matches all the affinity terms but the pod matches them itself. */
  firstOfGroup: boolean;
}

const filterKey = 'PreFilter' + interPodAffinityName;
const scoreKey = 'PreScore' + interPodAffinityName;

const pair = (key: string, value: string) => `${key}=${value}`;

function bump(m: TopologyCounts, node: NodeInfo, key: string, by: number): void {
  const v = own<string>(node.node.metadata.labels ?? {}, key);
  if (v === undefined) return;
  const k = pair(key, v);
  m.set(k, (m.get(k) ?? 0) + by);
}

function has(m: TopologyCounts, node: NodeInfo, key: string): boolean {
  const v = own<string>(node.node.metadata.labels ?? {}, key);
  return v !== undefined && (m.get(pair(key, v)) ?? 0) > 0;
}

export class InterPodAffinity
  implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, EnqueueExtensions
{
  readonly name = interPodAffinityName;
  readonly weight = 2;

  preFilter(state: CycleState, pod: PodInfo, h: Handle): Result {
    const ns = (n: string) => h.namespaceLabels(n);
    const s: FilterState = {
      existingAnti: new Map(),
      affinity: new Map(),
      anti: new Map(),
      firstOfGroup: false,
    };
    const wantsAffinity = pod.requiredAffinity.length > 0;
    const wantsAnti = pod.requiredAntiAffinity.length > 0;
    let anyMatch = false;
    for (const node of h.nodes()) {
      if (!wantsAffinity && !wantsAnti && node.podsWithRequiredAntiAffinity === 0) continue;
      for (const other of node.pods.values()) {
        for (const t of other.requiredAntiAffinity)
          if (termMatches(t, pod.pod, ns)) bump(s.existingAnti, node, t.topologyKey, 1);
        if (wantsAffinity && pod.requiredAffinity.every((t) => termMatches(t, other.pod, ns))) {
          anyMatch = true;
          for (const t of pod.requiredAffinity) bump(s.affinity, node, t.topologyKey, 1);
        }
        for (const t of pod.requiredAntiAffinity)
          if (termMatches(t, other.pod, ns)) bump(s.anti, node, t.topologyKey, 1);
      }
    }
    if (wantsAffinity && !anyMatch)
      s.firstOfGroup = pod.requiredAffinity.every((t) => termMatches(t, pod.pod, ns));
    if (!wantsAffinity && !wantsAnti && s.existingAnti.size === 0) return Status.skip;
    state.write(filterKey, s);
    return undefined;
  }

  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    const s = state.read<FilterState>(filterKey);
    if (!s) return undefined;
    if (pod.requiredAffinity.length && !s.firstOfGroup) {
      for (const t of pod.requiredAffinity)
        if (!has(s.affinity, node, t.topologyKey)) return Status.unresolvable(errReasonAffinityRulesNotMatch);
    } else if (pod.requiredAffinity.length) {
      // First of its group: any node that has the topology labels will do.
      for (const t of pod.requiredAffinity)
        if (own(node.node.metadata.labels ?? {}, t.topologyKey) === undefined)
          return Status.unresolvable(errReasonAffinityRulesNotMatch);
    }
    for (const t of pod.requiredAntiAffinity)
      if (has(s.anti, node, t.topologyKey)) return Status.unschedulable(errReasonAntiAffinityRulesNotMatch);
    for (const [k] of s.existingAnti) {
      const key = k.slice(0, k.indexOf('='));
      if (has(s.existingAnti, node, key))
        return Status.unschedulable(errReasonExistingAntiAffinityRulesNotMatch);
    }
    return undefined;
  }

  preScore(state: CycleState, pod: PodInfo, _nodes: NodeInfo[], h: Handle): Result {
    const ns = (n: string) => h.namespaceLabels(n);
    const scores: TopologyCounts = new Map();
    const mine = pod.preferredAffinity.length + pod.preferredAntiAffinity.length > 0;
    const add = (node: NodeInfo, t: AffinityTerm, towards: PodInfo, w: number) => {
      if (termMatches(t, towards.pod, ns)) bump(scores, node, t.topologyKey, w);
    };
    for (const node of h.nodes()) {
      if (!mine && node.podsWithAffinity === 0) continue;
      for (const other of node.pods.values()) {
        for (const t of pod.preferredAffinity) add(node, t, other, t.weight);
        for (const t of pod.preferredAntiAffinity) add(node, t, other, -t.weight);
        // Existing pods' preferences towards the incoming pod count too.
        for (const t of other.preferredAffinity) add(node, t, pod, t.weight);
        for (const t of other.preferredAntiAffinity) add(node, t, pod, -t.weight);
      }
    }
    if (scores.size === 0) return Status.skip;
    state.write(scoreKey, scores);
    return undefined;
  }

  score(state: CycleState, _pod: PodInfo, node: NodeInfo): number {
    const scores = state.read<TopologyCounts>(scoreKey);
    if (!scores) return 0;
    let total = 0;
    for (const [k, v] of scores) {
      const eq = k.indexOf('=');
      if (own(node.node.metadata.labels ?? {}, k.slice(0, eq)) === k.slice(eq + 1)) total += v;
    }
    return total;
  }

  /** Min-max scaling to 0..100 (scores may be negative). */
  normalizeScore(_state: CycleState, _pod: PodInfo, scores: number[]): void {
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const s of scores) {
      max = Math.max(max, s);
      min = Math.min(min, s);
    }
    const span = max - min;
    for (let i = 0; i < scores.length; i++)
      scores[i] = span > 0 ? Math.floor((maxNodeScore * (scores[i] - min)) / span) : 0;
  }

  events(): ClusterEvent[] {
    return ['PodAdd', 'PodUpdate', 'PodDelete', 'NodeAdd', 'NodeUpdate', 'NamespaceChange'];
  }
}
