/**
 * Pure pieces of the Job controller: how many pods should run, which
 * indexes an Indexed job still needs, when a failed pod may be replaced
 * (exponential backoff), and the status with Complete/Failed conditions.
 */
import type { Condition, Job, Pod } from '../api/objects.js';
import { metaTime } from '../api/time.js';
import { isPodActive, isPodReady, podCondition } from '../api/types/pod-facts.js';
import { exponentialBackoff } from '../client/backoff.js';

export type JobStatus = NonNullable<Job['status']>;

export const completionIndexAnnotation = 'batch.kubernetes.io/job-completion-index';
/** Backoff after the first failure, doubling per failure, at most maxBackoffMs. */
export const baseBackoffMs = 10_000;
export const maxBackoffMs = 6 * 60_000;

export const isIndexed = (job: Job) => job.spec?.completionMode === 'Indexed';

export function finishedCondition(job: Job): Condition | undefined {
  return job.status?.conditions?.find(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

export function indexOf(pod: Pod): number | undefined {
  const v = pod.metadata.annotations?.[completionIndexAnnotation];
  const n = v === undefined ? Number.NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** "1,3-5" from a sorted set of indexes. */
export function formatIndexes(indexes: number[]): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface PodCounts {
  active: Pod[];
  succeeded: Pod[];
  failed: Pod[];
  /** Indexed jobs: indexes with a succeeded pod. */
  succeededIndexes: Set<number>;
}

export function countPods(job: Job, pods: Pod[]): PodCounts {
  const c: PodCounts = { active: [], succeeded: [], failed: [], succeededIndexes: new Set() };
  const completions = job.spec?.completions ?? 1;
  for (const p of pods) {
    if (p.status?.phase === 'Succeeded') {
      c.succeeded.push(p);
      const i = indexOf(p);
      if (isIndexed(job) && i !== undefined && i < completions) c.succeededIndexes.add(i);
    } else if (p.status?.phase === 'Failed') c.failed.push(p);
    else if (isPodActive(p)) c.active.push(p);
  }
  return c;
}

/** Succeeded count as the job reports it: distinct indexes for Indexed jobs. */
export const succeededCount = (job: Job, c: PodCounts) =>
  isIndexed(job) ? c.succeededIndexes.size : c.succeeded.length;

/** How many pods should be active now (0 once the job is done or suspended). */
export function wantActive(job: Job, c: PodCounts): number {
  if (job.spec?.suspend) return 0;
  const parallelism = job.spec?.parallelism ?? 1;
  const succeeded = succeededCount(job, c);
  if (job.spec?.completions === undefined) return succeeded > 0 ? 0 : parallelism;
  return Math.max(0, Math.min(parallelism, job.spec.completions - succeeded));
}

/** Indexes an Indexed job should start pods for next (lowest first), up to `n`. */
export function missingIndexes(job: Job, c: PodCounts, n: number): number[] {
  const busy = new Set([...c.succeededIndexes, ...c.active.map(indexOf).filter((i) => i !== undefined)]);
  const out: number[] = [];
  for (let i = 0; i < (job.spec?.completions ?? 1) && out.length < n; i++) if (!busy.has(i)) out.push(i);
  return out;
}

function finishedAt(pod: Pod): number {
  let t = 0;
  for (const cs of pod.status?.containerStatuses ?? []) {
    const f = Date.parse(
      (cs.state as { terminated?: { finishedAt?: string } })?.terminated?.finishedAt ?? '',
    );
    if (!Number.isNaN(f)) t = Math.max(t, f);
  }
  if (t) return t;
  const ready = podCondition(pod, 'Ready');
  const r = Date.parse(ready?.lastTransitionTime ?? '');
  return Number.isNaN(r) ? Date.parse(pod.metadata.creationTimestamp ?? '') || 0 : r;
}

/** When a replacement may be created after the failures so far (ms since epoch; 0 = now). */
export function backoffUntil(failed: Pod[]): number {
  if (failed.length === 0) return 0;
  const last = Math.max(...failed.map(finishedAt));
  const delay = exponentialBackoff(baseBackoffMs, failed.length - 1, maxBackoffMs);
  return last + delay;
}

/** Why the job has failed, or undefined. */
export function failure(
  job: Job,
  c: PodCounts,
  nowMs: number,
): { reason: string; message: string } | undefined {
  if (c.failed.length > (job.spec?.backoffLimit ?? 6))
    return { reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
  const ads = job.spec?.activeDeadlineSeconds;
  const start = Date.parse(job.status?.startTime ?? '');
  if (ads !== undefined && !Number.isNaN(start) && nowMs >= start + ads * 1000)
    return { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
  return undefined;
}

export function complete(job: Job, c: PodCounts): boolean {
  const succeeded = succeededCount(job, c);
  if (job.spec?.completions === undefined) return succeeded > 0 && c.active.length === 0;
  return succeeded >= job.spec.completions;
}

function condition(type: string, reason: string, message: string, nowMs: number): Condition {
  const t = metaTime(nowMs);
  return { type, status: 'True', reason, message, lastProbeTime: t, lastTransitionTime: t };
}

/** The status from the pods; `finished` adds the Complete or Failed condition (pure). */
export function jobStatus(
  job: Job,
  c: PodCounts,
  nowMs: number,
  finished?: { type: 'Complete' | 'Failed'; reason: string; message: string },
): JobStatus {
  const s: JobStatus = {
    ...structuredClone(job.status ?? {}),
    active: c.active.length,
    succeeded: succeededCount(job, c),
    failed: c.failed.length,
    ready: c.active.filter(isPodReady).length,
  };
  s.startTime ??= metaTime(nowMs);
  if (isIndexed(job)) s.completedIndexes = formatIndexes([...c.succeededIndexes]);
  if (finished && !finishedCondition(job)) {
    const conds = (s.conditions ?? []).filter((x) => x.type !== finished.type);
    // Kubernetes 1.31+ writes SuccessCriteriaMet / FailureTarget before the final condition.
    const target = finished.type === 'Complete' ? 'SuccessCriteriaMet' : 'FailureTarget';
    if (!conds.some((x) => x.type === target))
      conds.push(condition(target, finished.reason, finished.message, nowMs));
    conds.push(condition(finished.type, finished.reason, finished.message, nowMs));
    s.conditions = conds;
    if (finished.type === 'Complete') s.completionTime = metaTime(nowMs);
  }
  return s;
}
