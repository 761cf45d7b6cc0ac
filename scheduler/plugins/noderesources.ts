/**
 * NodeResourcesFit (Filter: cpu, memory, ephemeral-storage, extended
 * resources and the pod count against allocatable; Score: LeastAllocated)
 * and NodeResourcesBalancedAllocation (Score: nodes whose cpu and memory use
 * stay in proportion win).
 */

import {
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  maxNodeScore,
  type Result,
  type ScorePlugin,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const nodeResourcesFitName = 'NodeResourcesFit';
export const balancedAllocationName = 'NodeResourcesBalancedAllocation';
export const errReasonTooManyPods = 'Too many pods';
export const insufficient = (resource: string) => `Insufficient ${resource}`;

/** Every reason the pod does not fit the node's free resources; empty when it fits. */
export function insufficientResources(pod: PodInfo, node: NodeInfo): string[] {
  const out: string[] = [];
  if (node.pods.size + 1 > node.allowedPodNumber) out.push(errReasonTooManyPods);
  const r = pod.requests;
  const used = node.requested;
  const alloc = node.allocatable;
  if (r.milliCPU > 0 && r.milliCPU > alloc.milliCPU - used.milliCPU) out.push(insufficient('cpu'));
  if (r.memory > 0 && r.memory > alloc.memory - used.memory) out.push(insufficient('memory'));
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage)
    out.push(insufficient('ephemeral-storage'));
  for (const [name, want] of Object.entries(r.scalar)) {
    if (want > 0 && want > (alloc.scalar[name] ?? 0) - (used.scalar[name] ?? 0)) out.push(insufficient(name));
  }
  return out;
}

/** (capacity - requested) / capacity, scaled to 0..100; 0 when over capacity. */
function leastRequested(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * maxNodeScore) / capacity);
}

export class NodeResourcesFit implements FilterPlugin, ScorePlugin, EnqueueExtensions {
  readonly name = nodeResourcesFitName;
  readonly weight = 1;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    const reasons = insufficientResources(pod, node);
    return reasons.length ? Status.unschedulable(...reasons) : undefined;
  }

  /** LeastAllocated over cpu and memory (weight 1 each), counting pods without requests as 100m/200Mi. */
  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const cpu = leastRequested(
      node.nonZeroRequested.milliCPU + pod.nonZeroRequests.milliCPU,
      node.allocatable.milliCPU,
    );
    const mem = leastRequested(
      node.nonZeroRequested.memory + pod.nonZeroRequests.memory,
      node.allocatable.memory,
    );
    return Math.floor((cpu + mem) / 2);
  }

  events(): ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate', 'PodDelete', 'PodUpdate'];
  }
}

export class BalancedAllocation implements ScorePlugin {
  readonly name = balancedAllocationName;
  readonly weight = 1;

  score(_state: CycleState, pod: PodInfo, node: NodeInfo): number {
    const frac = (req: number, cap: number) => (cap === 0 ? 0 : Math.min(1, req / cap));
    const cpu = frac(node.requested.milliCPU + pod.requests.milliCPU, node.allocatable.milliCPU);
    const mem = frac(node.requested.memory + pod.requests.memory, node.allocatable.memory);
    // The standard deviation of two fractions is half their distance.
    const std = Math.abs(cpu - mem) / 2;
    return Math.floor((1 - std) * maxNodeScore);
  }
}
