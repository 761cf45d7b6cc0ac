/**
 * The CronJob controller (after cronjob_controllerv2): at each scheduled
 * time it creates a Job `<cronjob>-<minutes>` from jobTemplate, honouring
 * concurrencyPolicy (Allow, Forbid: skip while one runs, Replace: delete the
 * running ones first), startingDeadlineSeconds (older missed runs are
 * skipped; more than 100 missed is an Event), suspend and timeZone; keeps
 * status.active, lastScheduleTime and lastSuccessfulTime; deletes finished
 * Jobs beyond the history limits; and comes back with `queue.addAfter` at
 * the next scheduled time. Time comes from the injected Clock only.
 */

import { controllerRefOf } from '../api/meta.js';
import type { CronJob, Job } from '../api/objects.js';
import { stableJson } from '../api/stable-json.js';
import { isAlreadyExists, isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import type { ObjectReference } from '../api/types/core-common.js';
import { timeZoneError } from '../api/types/cron.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import { type CronSchedule, parseCronSchedule } from './cronjob-schedule.js';
import {
  type CronJobStatus,
  dueSchedule,
  isJobFinished,
  jobFromTemplate,
  jobNameFor,
  jobsOverHistoryLimit,
  lastSuccessfulTime,
  maxMissedSchedules,
} from './cronjob-util.js';
import { finishedCondition } from './job-util.js';
import { clientFor } from './podcontrol.js';

/** A little past the scheduled time, so the clock has surely reached it (Kubernetes: 100 ms). */
const requeueSlackMs = 100;

export interface CronJobControllerOptions {
  client?: ResourceClient<CronJob>;
  jobClient?: ResourceClient<Job>;
}

const refOf = (job: Job): ObjectReference => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  name: job.metadata.name,
  namespace: job.metadata.namespace,
  uid: job.metadata.uid,
  resourceVersion: job.metadata.resourceVersion,
});

export class CronJobController extends QueueController {
  readonly cronJobs: SharedInformer<CronJob>;
  readonly jobs: SharedInformer<Job>;
  private readonly client: ResourceClient<CronJob>;
  private readonly jobClient: ResourceClient<Job>;

  constructor(ctx: ControllerContext, opts: CronJobControllerOptions = {}) {
    super('cronjob', ctx);
    this.client = opts.client ?? clientFor<CronJob>(ctx, 'cronjobs');
    this.jobClient = opts.jobClient ?? clientFor<Job>(ctx, 'jobs');
    this.cronJobs = this.informer<CronJob>('cronjobs');
    this.jobs = this.informer<Job>('jobs');
    this.cronJobs.addEventHandler({
      onAdd: (cj) => this.enqueue(cj),
      onUpdate: (_o, cj) => this.enqueue(cj),
    });
    // CronJobs do not adopt orphaned Jobs: only owned ones enqueue their owner.
    this.jobs.addEventHandler(
      childEventHandler<CronJob, Job>({
        ownerKind: 'CronJob',
        owners: this.cronJobs.store,
        enqueue: (k) => this.enqueue(k),
        ownersOf: () => [],
      }),
    );
  }

  private get recorder() {
    return this.ctx.recorder('cronjob-controller');
  }

  async sync(key: string): Promise<void> {
    const cj = this.cronJobs.store.get(key);
    if (!cj) return;
    const jobs = this.jobs.store
      .byIndex('namespace', cj.metadata.namespace ?? '')
      .filter((j) => controllerRefOf(j)?.uid === cj.metadata.uid);
    const status: CronJobStatus = structuredClone(cj.status ?? {});
    status.active = await this.reconcileActive(cj, jobs);
    const lastOk = lastSuccessfulTime(cj, jobs);
    if (lastOk) status.lastSuccessfulTime = lastOk;
    try {
      const sched = this.scheduleOf(cj);
      if (sched) await this.runIfDue(key, cj, jobs, status, sched);
    } finally {
      if (stableJson(cj.status ?? {}) !== stableJson(status))
        await this.client.in(cj.metadata.namespace).updateStatus({ ...structuredClone(cj), status });
    }
    await this.cleanupHistory(cj, jobs);
  }

  /**
   * status.active after looking at the owned Jobs: finished ones leave (with
   * a SawCompletedJob Event), running ones not listed join, and listed ones
   * the cache does not have are kept unless a GET says they are gone (the
   * cache may not have seen a Job this controller just created).
   */
  private async reconcileActive(cj: CronJob, jobs: Job[]): Promise<ObjectReference[]> {
    const byUid = new Map(jobs.map((j) => [j.metadata.uid, j]));
    const active: ObjectReference[] = [];
    for (const ref of cj.status?.active ?? []) {
      const job = byUid.get(ref.uid);
      if (job) {
        if (!isJobFinished(job)) active.push(ref);
        else {
          const type = finishedCondition(job)?.type;
          this.recorder.event(
            cj,
            'Normal',
            'SawCompletedJob',
            `Saw completed job: ${job.metadata.name}, condition: ${type}`,
          );
        }
        continue;
      }
      try {
        const live = await this.jobClient.in(cj.metadata.namespace).get(ref.name ?? '');
        if (live.metadata.uid === ref.uid && !isJobFinished(live)) active.push(ref);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    const listed = new Set(active.map((r) => r.uid));
    for (const j of jobs) if (!isJobFinished(j) && !listed.has(j.metadata.uid)) active.push(refOf(j));
    return active.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''));
  }

  /** The parsed schedule, or undefined (with a Warning Event) when the CronJob cannot run now. */
  private scheduleOf(cj: CronJob): CronSchedule | undefined {
    if (cj.metadata.deletionTimestamp || cj.spec?.suspend) return undefined;
    const tz = cj.spec?.timeZone ?? undefined;
    if (tz !== undefined && timeZoneError(tz)) {
      this.recorder.event(
        cj,
        'Warning',
        'UnknownTimeZone',
        `invalid timeZone: "${tz}": ${timeZoneError(tz)}`,
      );
      return undefined;
    }
    try {
      return parseCronSchedule(cj.spec?.schedule ?? '', tz);
    } catch (err) {
      this.recorder.event(
        cj,
        'Warning',
        'UnparseableSchedule',
        `unparseable schedule: ${(err as Error).message}`,
      );
      return undefined;
    }
  }

  /** Starts the Job of the latest due run, if policy allows, then comes back at the next run. */
  private async runIfDue(
    key: string,
    cj: CronJob,
    jobs: Job[],
    status: CronJobStatus,
    sched: CronSchedule,
  ): Promise<void> {
    const now = this.ctx.clock.now();
    const next = sched.next(now);
    if (next !== undefined) this.queue.addAfter(key, next - now + requeueSlackMs);
    const due = dueSchedule(cj, sched, now);
    if (due.missed > maxMissedSchedules)
      this.recorder.event(
        cj,
        'Warning',
        'TooManyMissedTimes',
        `too many missed start times: ${due.missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew`,
      );
    if (due.scheduled === undefined) return;
    const name = jobNameFor(cj, due.scheduled);
    if (jobs.some((j) => j.metadata.name === name) || status.active?.some((r) => r.name === name)) {
      // That run was started; the sync that started it may have lost its status write to a conflict.
      status.lastScheduleTime = metaTime(due.scheduled);
      return;
    }
    const policy = cj.spec?.concurrencyPolicy ?? 'Allow';
    if (policy === 'Forbid' && status.active?.length) {
      this.log.info(
        { cronjob: key, active: status.active.length },
        'previous run still active; not starting',
      );
      this.recorder.event(
        cj,
        'Normal',
        'JobAlreadyActive',
        'Not starting job because prior execution is running and concurrency policy is Forbid',
      );
      return;
    }
    if (policy === 'Replace') {
      for (const ref of status.active ?? []) await this.deleteJob(cj, ref.name ?? '');
      status.active = [];
    }
    try {
      const job = await this.jobClient.in(cj.metadata.namespace).create(jobFromTemplate(cj, due.scheduled));
      this.log.info(
        { cronjob: key, job: job.metadata.name, scheduled: metaTime(due.scheduled) },
        'created job',
      );
      this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${job.metadata.name}`);
      status.active = [...(status.active ?? []), refOf(job)];
    } catch (err) {
      // Made by an earlier sync whose Job the cache has not seen yet: that run is done.
      if (!isAlreadyExists(err)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${(err as Error).message}`);
        throw err;
      }
    }
    status.lastScheduleTime = metaTime(due.scheduled);
  }

  private async cleanupHistory(cj: CronJob, jobs: Job[]): Promise<void> {
    if (cj.metadata.deletionTimestamp) return;
    for (const job of jobsOverHistoryLimit(cj, jobs)) await this.deleteJob(cj, job.metadata.name ?? '');
  }

  private async deleteJob(cj: CronJob, name: string): Promise<void> {
    try {
      await this.jobClient.in(cj.metadata.namespace).delete(name, { propagationPolicy: 'Background' });
      this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
    } catch (err) {
      if (isNotFound(err)) return;
      this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${(err as Error).message}`);
      throw err;
    }
  }
}
