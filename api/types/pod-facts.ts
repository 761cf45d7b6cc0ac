/**
 * Pure facts about pods that the workload controllers and nkctl share:
 * active, terminating, ready, available (ready for minReadySeconds), and the
 * ranking ReplicaSets use to pick pods to delete first (which `nkctl attach`
 * reverses).
 * No I/O here.
 */
import type { Pod } from '../objects.js';
import type { PodCondition } from './pod-schema.js';

/** Running or pending, not terminating: what counts towards replicas. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function isPodTerminating(pod: Pod): boolean {
  return !!pod.metadata.deletionTimestamp;
}

export function podCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

export function isPodReady(pod: Pod): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/**
 * Ready for at least minReadySeconds at `nowMs`. A pod that will be
 * available later tells the caller when through `availableAt`.
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const at = availableAt(pod, minReadySeconds);
  return at !== undefined && at <= nowMs;
}

/** When the pod becomes (or became) available, or undefined while not ready. */
export function availableAt(pod: Pod, minReadySeconds: number): number | undefined {
  const ready = podCondition(pod, 'Ready');
  if (ready?.status !== 'True') return undefined;
  if (!minReadySeconds) return 0;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : Number.NaN;
  return Number.isNaN(since) ? 0 : since + minReadySeconds * 1000;
}

/** How long until the first of `pods` that is ready but not yet available becomes available, if any. */
export function nextAvailableIn(pods: Pod[], minReadySeconds: number, nowMs: number): number | undefined {
  if (minReadySeconds <= 0) return undefined;
  let next = Number.POSITIVE_INFINITY;
  for (const p of pods) {
    const at = availableAt(p, minReadySeconds);
    if (at !== undefined && at > nowMs) next = Math.min(next, at);
  }
  return Number.isFinite(next) ? next - nowMs : undefined;
}

const phaseRank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** The most restarts of any of the pod's containers. */
export function podRestarts(pod: Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((n, c) => Math.max(n, c.restartCount ?? 0), 0);
}

function ts(t: string | null | undefined): number {
  const n = t ? Date.parse(t) : Number.NaN;
  return Number.isNaN(n) ? Number.POSITIVE_INFINITY : n;
}

/**
 * Orders pods from most to least deletable, as ActivePods' Less does:
 * unassigned before assigned, pending before unknown before running, not
 * ready before ready, ready for less time before longer, more restarts
 * before fewer, newer before older.
 */
export function compareForDeletion(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 1 : 0);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pa = phaseRank[a.status?.phase ?? 'Pending'] ?? 0;
  const pb = phaseRank[b.status?.phase ?? 'Pending'] ?? 0;
  if (pa !== pb) return pa - pb;
  if (isPodReady(a) !== isPodReady(b)) return isPodReady(a) ? 1 : -1;
  if (isPodReady(a)) {
    const ra = ts(podCondition(a, 'Ready')?.lastTransitionTime);
    const rb = ts(podCondition(b, 'Ready')?.lastTransitionTime);
    if (ra !== rb) return rb - ra; // ready more recently goes first
  }
  if (podRestarts(a) !== podRestarts(b)) return podRestarts(b) - podRestarts(a);
  const ca = ts(a.metadata.creationTimestamp);
  const cb = ts(b.metadata.creationTimestamp);
  if (ca !== cb) return cb - ca; // newer first
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}
