/**
 * SelectorSpread: replicas of one controller (the same controlling owner)
 * spread over nodes and, where nodes carry topology.kubernetes.io/zone, over
 * zones: fewer siblings on a node (and in its zone) scores higher.
 */

import {
  type CycleState,
  type Handle,
  maxNodeScore,
  type PreScorePlugin,
  type Result,
  type ScorePlugin,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const selectorSpreadName = 'SelectorSpread';
const zoneLabel = 'topology.kubernetes.io/zone';
/** Zone spreading counts twice as much as node spreading, as in Kubernetes. */
const zoneWeighting = 2 / 3;
const stateKey = 'PreScore' + selectorSpreadName;

export class SelectorSpread implements PreScorePlugin, ScorePlugin {
  readonly name = selectorSpreadName;
  readonly weight = 1;

  preScore(state: CycleState, pod: PodInfo, _nodes: NodeInfo[], h: Handle): Result {
    if (!pod.owner) return Status.skip;
    const zones = new Map<string, number>();
    for (const n of h.nodes()) {
      const z = n.node.metadata.labels?.[zoneLabel];
      if (z !== undefined) zones.set(z, (zones.get(z) ?? 0) + (n.ownerCounts.get(pod.owner) ?? 0));
    }
    state.write(stateKey, zones);
    return undefined;
  }

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    return node.ownerCounts.get(pod.owner ?? '') ?? 0;
  }

  normalizeScore(state: CycleState, _pod: PodInfo, scores: number[], nodes: NodeInfo[]): void {
    const zones = state.read<Map<string, number>>(stateKey) ?? new Map<string, number>();
    let maxNode = 0;
    for (const s of scores) maxNode = Math.max(maxNode, s);
    let maxZone = 0;
    for (const v of zones.values()) maxZone = Math.max(maxZone, v);
    for (let i = 0; i < scores.length; i++) {
      let f = maxNode > 0 ? (maxNodeScore * (maxNode - scores[i])) / maxNode : maxNodeScore;
      const z = nodes[i].node.metadata.labels?.[zoneLabel];
      if (z !== undefined && zones.size > 0) {
        const zf = maxZone > 0 ? (maxNodeScore * (maxZone - (zones.get(z) ?? 0))) / maxZone : maxNodeScore;
        f = f * (1 - zoneWeighting) + zoneWeighting * zf;
      }
      scores[i] = Math.floor(f);
    }
  }
}
