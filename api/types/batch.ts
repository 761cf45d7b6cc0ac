/**
 * batch/v1 Job and CronJob: defaults (including the selector the apiserver
 * makes for a job), Table columns and registry entries. Schemas
 * (batch-schema.ts) and validation (batch-validation.ts) are re-exported
 * here; import batch things from here.
 */
import type { KubeObject } from '../meta.js';
import { ageColumn, column, humanDuration } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { CronJob, Job, type JobSpec } from './batch-schema.js';
import {
  controllerUidLabel,
  jobNameLabel,
  legacyControllerUidLabel,
  legacyJobNameLabel,
  validateCronJob,
  validateJob,
} from './batch-validation.js';
import { count, defaultTemplate, selectorColumn, templateColumns } from './workload.js';

export * from './batch-schema.js';
export * from './batch-validation.js';

// ---- defaults ----

const maxInt32 = 2147483647;

/**
 * What the apiserver adds to a job it creates without manualSelector: pod
 * labels naming the job and its UID, and a selector on the UID, so the job
 * owns exactly the pods it makes. Needs metadata.uid (and the final name).
 */
export function generateJobSelector(job: Job): void {
  const uid = job.metadata?.uid;
  const spec = job.spec;
  if (!uid || !spec) return;
  spec.template ??= {};
  spec.template.metadata ??= {};
  spec.template.metadata.labels ??= {};
  const labels = spec.template.metadata.labels;
  const name = job.metadata?.name ?? '';
  // Labels the user already set are kept; a conflicting one fails validation.
  labels[legacyJobNameLabel] ??= name;
  labels[jobNameLabel] ??= name;
  labels[legacyControllerUidLabel] ??= uid;
  labels[controllerUidLabel] ??= uid;
  spec.selector ??= {};
  spec.selector.matchLabels ??= {};
  spec.selector.matchLabels[controllerUidLabel] ??= uid;
}

export function defaultJob(job: Job): void {
  job.spec ??= {};
  const s = job.spec;
  if (s.completions === undefined && s.parallelism === undefined) s.completions = 1;
  s.parallelism ??= 1;
  s.backoffLimit ??= s.backoffLimitPerIndex !== undefined ? maxInt32 : 6;
  s.completionMode ??= 'NonIndexed';
  s.suspend ??= false;
  s.podReplacementPolicy ??= s.podFailurePolicy ? 'Failed' : 'TerminatingOrFailed';
  s.manualSelector ??= false;
  for (const rule of s.podFailurePolicy?.rules ?? [])
    for (const c of rule.onPodConditions ?? []) c.status ||= 'True';
  if (!s.manualSelector) generateJobSelector(job);
  // A job without labels of its own takes its pods' labels.
  const tplLabels = s.template?.metadata?.labels;
  job.metadata ??= {};
  if (tplLabels && !Object.keys(job.metadata.labels ?? {}).length) job.metadata.labels = { ...tplLabels };
  defaultTemplate(s.template);
}

export function defaultCronJob(cj: CronJob): void {
  cj.spec ??= {};
  const s = cj.spec;
  s.concurrencyPolicy ||= 'Allow';
  s.suspend ??= false;
  s.successfulJobsHistoryLimit ??= 3;
  s.failedJobsHistoryLimit ??= 1;
  // Only the pod template is defaulted here; the job fields are when each Job is made.
  defaultTemplate(s.jobTemplate?.spec?.template);
}

// ---- printing ----

function hasCondition(job: Job, type: string): boolean {
  return (job.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');
}

/** The Status column: the first of these that holds, Running otherwise. */
export function jobStatus(job: Job): string {
  if (hasCondition(job, 'Complete')) return 'Complete';
  if (hasCondition(job, 'Failed')) return 'Failed';
  if (job.metadata?.deletionTimestamp) return 'Terminating';
  for (const c of ['Suspended', 'FailureTarget', 'SuccessCriteriaMet']) if (hasCondition(job, c)) return c;
  return 'Running';
}

/** "succeeded/completions", or "n/1 of parallelism" for a work-queue job. */
export function jobCompletions(job: Job): string {
  const done = count(job.status?.succeeded);
  const s = job.spec ?? {};
  if (s.completions !== undefined) return `${done}/${s.completions}`;
  return (s.parallelism ?? 0) > 1 ? `${done}/1 of ${s.parallelism}` : `${done}/1`;
}

export function jobDuration(job: Job, now: Date): string {
  const start = job.status?.startTime;
  if (!start) return '';
  const end = job.status?.completionTime;
  return humanDuration((end ? Date.parse(end) : now.getTime()) - Date.parse(start));
}

const jobSpecOf = (o: KubeObject) => (o as Job).spec;
const cronJobSpecOf = (o: KubeObject): JobSpec | undefined => (o as CronJob).spec?.jobTemplate?.spec;

export const batchTypes: ResourceType[] = [
  {
    group: 'batch',
    version: 'v1',
    kind: 'Job',
    plural: 'jobs',
    singular: 'job',
    shortNames: [],
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    schema: Job,
    defaults: (o) => defaultJob(o as Job),
    zeroStatus: {},
    validate: (o, old) => validateJob(o as Job, old as Job | undefined),
    fieldLabels: (o) => ({ 'status.successful': String(count((o as Job).status?.succeeded)) }),
    columns: [
      column('Status', 'Where the job stands.', (o) => jobStatus(o as Job)),
      column('Completions', 'Pods that succeeded out of those needed.', (o) => jobCompletions(o as Job)),
      column('Duration', 'How long the job ran, or has been running.', (o, now) =>
        jobDuration(o as Job, now),
      ),
      ageColumn,
      ...templateColumns((o) => jobSpecOf(o)?.template?.spec),
      selectorColumn((o) => jobSpecOf(o)?.selector),
    ],
  },
  {
    group: 'batch',
    version: 'v1',
    kind: 'CronJob',
    plural: 'cronjobs',
    singular: 'cronjob',
    shortNames: ['cj'],
    categories: ['all'],
    namespaced: true,
    subresources: ['status'],
    schema: CronJob,
    defaults: (o) => defaultCronJob(o as CronJob),
    zeroStatus: {},
    validate: (o, old) => validateCronJob(o as CronJob, old as CronJob | undefined),
    columns: [
      column('Schedule', 'When jobs are created.', (o) => (o as CronJob).spec?.schedule ?? ''),
      column('Timezone', 'Time zone of the schedule.', (o) => (o as CronJob).spec?.timeZone ?? '<none>'),
      column(
        'Suspend',
        'Whether new runs are held back.',
        (o) => {
          const suspend = (o as CronJob).spec?.suspend;
          return suspend === undefined ? '<unset>' : suspend ? 'True' : 'False';
        },
        { type: 'boolean' },
      ),
      column('Active', 'Jobs running now.', (o) => (o as CronJob).status?.active?.length ?? 0, {
        type: 'integer',
      }),
      column('Last Schedule', 'Time since a job was last scheduled.', (o, now) => {
        const last = (o as CronJob).status?.lastScheduleTime;
        return last ? humanDuration(now.getTime() - Date.parse(last)) : '<none>';
      }),
      ageColumn,
      ...templateColumns((o) => cronJobSpecOf(o)?.template?.spec),
      selectorColumn((o) => cronJobSpecOf(o)?.selector),
    ],
  },
];
