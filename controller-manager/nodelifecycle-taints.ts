/**
 * Pure parts of node lifecycle: which NoExecute/NoSchedule taints a node's
 * Ready condition calls for, when a pod's tolerations let it be evicted,
 * zone disruption states and the eviction rate limiter. No I/O.
 */

import type { Node } from '../api/objects.js';
import { tolerates } from '../api/scheduling.js';
import type { Taint } from '../api/types/node.js';
import type { Toleration } from '../api/types/pod.js';
import { taintNodeNotReady, taintNodeUnreachable } from '../api/types/pod-defaults.js';
import type { Clock } from '../client/clock.js';

export { taintNodeNotReady, taintNodeUnreachable };

export const zoneLabel = 'topology.kubernetes.io/zone';
export const regionLabel = 'topology.kubernetes.io/region';
/** As kube-controller-manager's defaults. */
export const evictionQPS = 0.1;
export const secondaryEvictionQPS = 0.01;
export const largeClusterSizeThreshold = 50;
export const unhealthyZoneThreshold = 0.55;

export function readyStatus(node: Node): 'True' | 'False' | 'Unknown' {
  const s = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return s === 'True' || s === 'False' ? s : 'Unknown';
}

/** The condition-driven taints a node should have, for its Ready status. */
export function conditionTaints(ready: 'True' | 'False' | 'Unknown'): { key: string; effect: string }[] {
  if (ready === 'True') return [];
  const key = ready === 'False' ? taintNodeNotReady : taintNodeUnreachable;
  return [
    { key, effect: 'NoSchedule' },
    { key, effect: 'NoExecute' },
  ];
}

export const isConditionTaint = (t: Taint) => t.key === taintNodeNotReady || t.key === taintNodeUnreachable;

/**
 * How long after its NoExecute taints appeared a pod may stay: 0 when some
 * taint is not tolerated, Infinity when every matching toleration is
 * unbounded, else the shortest tolerationSeconds, in ms.
 */
export function tolerationMs(tolerations: Toleration[], taints: Taint[]): number {
  let min = Number.POSITIVE_INFINITY;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (matching.length === 0) return 0;
    for (const t of matching)
      if (t.tolerationSeconds !== undefined) min = Math.min(min, Math.max(0, t.tolerationSeconds) * 1000);
  }
  return min;
}

export type ZoneState = 'Normal' | 'PartialDisruption' | 'FullDisruption';

export function zoneOf(node: Node): string {
  const l = node.metadata.labels ?? {};
  return `${l[regionLabel] ?? ''}:${l[zoneLabel] ?? ''}`;
}

/** ComputeZoneState: full when none is ready, partial when more than two and at least 55% are not. */
export function zoneStates(nodes: Node[]): Map<string, { state: ZoneState; size: number }> {
  const counts = new Map<string, { ready: number; notReady: number }>();
  for (const n of nodes) {
    const c = counts.get(zoneOf(n)) ?? { ready: 0, notReady: 0 };
    if (readyStatus(n) === 'True') c.ready++;
    else c.notReady++;
    counts.set(zoneOf(n), c);
  }
  const out = new Map<string, { state: ZoneState; size: number }>();
  for (const [zone, c] of counts) {
    const size = c.ready + c.notReady;
    let state: ZoneState = 'Normal';
    if (c.ready === 0 && c.notReady > 0) state = 'FullDisruption';
    else if (c.notReady > 2 && c.notReady / size >= unhealthyZoneThreshold) state = 'PartialDisruption';
    out.set(zone, { state, size });
  }
  return out;
}

/**
 * NoExecute tainting rate for a zone, as Kubernetes' handleDisruption: the
 * normal rate, a much lower one (none in small clusters) in a partially
 * disrupted zone, and none at all when every zone is fully disrupted (the
 * fault is more likely ours than the nodes').
 */
export function zoneQPS(zone: string, states: Map<string, { state: ZoneState; size: number }>): number {
  const all = [...states.values()];
  if (all.length > 0 && all.every((z) => z.state === 'FullDisruption')) return 0;
  const z = states.get(zone);
  if (z?.state === 'PartialDisruption') return z.size > largeClusterSizeThreshold ? secondaryEvictionQPS : 0;
  return evictionQPS;
}

/** A token bucket with a burst of one, whose rate may change; zero never admits. */
export class TokenBucket {
  private tokens = 1;
  private last: number;

  constructor(
    private readonly clock: Clock,
    public qps: number,
  ) {
    this.last = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(1, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }

  tryAccept(): boolean {
    this.refill();
    if (this.qps <= 0 || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is due (10 s when the rate is zero, to look again). */
  waitMs(): number {
    this.refill();
    if (this.qps <= 0) return 10_000;
    return Math.max(1, Math.ceil(((1 - this.tokens) / this.qps) * 1000));
  }
}
