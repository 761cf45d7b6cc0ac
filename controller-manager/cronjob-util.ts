/**
 * Pure pieces of the CronJob controller (after cronjob_controllerv2's
 * utils): which scheduled time is due, the Job made for it, and which
 * finished Jobs fall outside the history limits. No I/O here.
 */
import { newControllerRef } from '../api/meta.js';
import type { CronJob, Job } from '../api/objects.js';
import { metaTime } from '../api/time.js';
import type { CronSchedule } from './cronjob-schedule.js';
import { finishedCondition } from './job-util.js';

export type CronJobStatus = NonNullable<CronJob['status']>;

/** Kubernetes' cap on missed start times before it complains with an Event. */
export const maxMissedSchedules = 100;
export const scheduledTimestampAnnotation = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

export interface DueSchedule {
  /** The most recent scheduled time at or before now that has not run yet. */
  scheduled?: number;
  /** How many scheduled times were missed (including `scheduled`), capped a little above the limit. */
  missed: number;
}

/**
 * The most recent unrun schedule (mostRecentScheduleTime): runs after the
 * last scheduled time (or the creation time), no earlier than
 * startingDeadlineSeconds before now. Walks forward at most
 * `maxMissedSchedules + 1` runs; past that, looks back from now in
 * doubling windows for the latest run, so a long-idle CronJob costs little.
 */
export function dueSchedule(cj: CronJob, sched: CronSchedule, nowMs: number): DueSchedule {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata.creationTimestamp ?? '');
  if (Number.isNaN(earliest)) earliest = nowMs;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (sds !== undefined && sds !== null) earliest = Math.max(earliest, nowMs - sds * 1000);
  let scheduled: number | undefined;
  let missed = 0;
  for (let t = sched.next(earliest); t !== undefined && t <= nowMs; t = sched.next(t)) {
    scheduled = t;
    if (++missed > maxMissedSchedules) break;
  }
  if (missed <= maxMissedSchedules) return { scheduled, missed };
  for (let window = 60_000; window < nowMs - earliest; window *= 2) {
    let latest: number | undefined;
    for (let t = sched.next(nowMs - window); t !== undefined && t <= nowMs; t = sched.next(t)) latest = t;
    if (latest !== undefined) return { scheduled: latest, missed };
  }
  return { scheduled, missed };
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`, as Kubernetes names them. */
export function jobNameFor(cj: CronJob, scheduledMs: number): string {
  return `${cj.metadata.name}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The Job for one run: the template's metadata and spec, owned by the CronJob. */
export function jobFromTemplate(cj: CronJob, scheduledMs: number): Job {
  const t = structuredClone(cj.spec?.jobTemplate ?? {});
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: jobNameFor(cj, scheduledMs),
      namespace: cj.metadata.namespace,
      labels: t.metadata?.labels ?? {},
      annotations: {
        ...(t.metadata?.annotations ?? {}),
        [scheduledTimestampAnnotation]: metaTime(scheduledMs),
      },
      ownerReferences: [newControllerRef(cj, 'batch/v1', 'CronJob')],
    },
    spec: t.spec ?? {},
  };
}

export const isJobFinished = (job: Job) => finishedCondition(job) !== undefined;
export const jobSucceeded = (job: Job) => finishedCondition(job)?.type === 'Complete';

/** When a job started, for ordering history: status.startTime, else creation. */
function startedAt(job: Job): number {
  return Date.parse(job.status?.startTime ?? job.metadata.creationTimestamp ?? '') || 0;
}

/** Finished jobs beyond the success and failure history limits, oldest first. */
export function jobsOverHistoryLimit(cj: CronJob, jobs: Job[]): Job[] {
  const pick = (ok: boolean, limit: number | undefined) => {
    if (limit === undefined || limit === null) return [];
    const done = jobs
      .filter((j) => isJobFinished(j) && jobSucceeded(j) === ok)
      .sort((a, b) => startedAt(a) - startedAt(b));
    return done.slice(0, Math.max(0, done.length - limit));
  };
  return [
    ...pick(true, cj.spec?.successfulJobsHistoryLimit),
    ...pick(false, cj.spec?.failedJobsHistoryLimit),
  ];
}

/** When the latest successful job completed, if later than what status says. */
export function lastSuccessfulTime(cj: CronJob, jobs: Job[]): string | undefined {
  let best = cj.status?.lastSuccessfulTime ?? undefined;
  for (const j of jobs) {
    if (!jobSucceeded(j)) continue;
    const t = j.status?.completionTime ?? finishedCondition(j)?.lastTransitionTime;
    if (t && (!best || Date.parse(t) > Date.parse(best))) best = t;
  }
  return best;
}
