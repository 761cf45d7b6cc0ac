/**
 * Validation of Job and CronJob, with the field paths and messages of
 * Kubernetes' pkg/apis/batch/validation. Re-exported from `batch.ts`.
 */
import type { FieldError } from '../status.js';
import {
  child,
  forbiddenError,
  index,
  invalidError,
  notSupportedError,
  requiredError,
} from '../validation.js';
import type { CronJob, Job, JobSpec } from './batch-schema.js';
import { cronScheduleError, timeZoneError } from './cron.js';
import { validatePodTemplateSpec } from './pod.js';
import { immutable, nonNegative, validateSelector } from './workload.js';

export const controllerUidLabel = 'batch.kubernetes.io/controller-uid';
export const jobNameLabel = 'batch.kubernetes.io/job-name';
/** The labels Kubernetes wrote before the batch.kubernetes.io prefix; still written for old clients. */
export const legacyControllerUidLabel = 'controller-uid';
export const legacyJobNameLabel = 'job-name';

const maxParallelismForIndexedJob = 100000;
const oneOf = (field: string, v: string | undefined, allowed: string[]): FieldError[] =>
  v === undefined || allowed.includes(v) ? [] : [notSupportedError(field, v, allowed)];

function validatePodFailurePolicy(spec: JobSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (spec.podFailurePolicy?.rules ?? []).forEach((rule, i) => {
    const p = index(child(path, 'rules'), i);
    if (!rule.action) errs.push(requiredError(child(p, 'action')));
    else errs.push(...oneOf(child(p, 'action'), rule.action, ['Count', 'FailIndex', 'FailJob', 'Ignore']));
    if (rule.action === 'FailIndex' && spec.backoffLimitPerIndex === undefined)
      errs.push(invalidError(child(p, 'action'), rule.action, 'requires the backoffLimitPerIndex to be set'));
    if (rule.onExitCodes && rule.onPodConditions)
      errs.push(invalidError(p, '', 'specifying both OnExitCodes and OnPodConditions is not supported'));
    else if (!rule.onExitCodes && !rule.onPodConditions)
      errs.push(invalidError(p, '', 'specifying one of OnExitCodes and OnPodConditions is required'));
    const codes = rule.onExitCodes;
    if (codes) {
      const cp = child(p, 'onExitCodes');
      errs.push(...oneOf(child(cp, 'operator'), codes.operator ?? '', ['In', 'NotIn']));
      const values = codes.values ?? [];
      if (values.length === 0)
        errs.push(requiredError(child(cp, 'values'), 'at least one value is required'));
      if (values.length > 255)
        errs.push(invalidError(child(cp, 'values'), values.length, 'must have at most 255 elements'));
      values.forEach((v, j) => {
        if (v === 0 && codes.operator === 'In')
          errs.push(invalidError(index(child(cp, 'values'), j), v, 'must not be 0 for the In operator'));
        if (j > 0 && v <= values[j - 1])
          errs.push(invalidError(index(child(cp, 'values'), j), v, 'must be ordered and unique'));
      });
    }
    (rule.onPodConditions ?? []).forEach((c, j) => {
      const cp = index(child(p, 'onPodConditions'), j);
      if (!c.type) errs.push(requiredError(child(cp, 'type')));
      errs.push(...oneOf(child(cp, 'status'), c.status, ['True', 'False', 'Unknown']));
    });
  });
  return errs;
}

/** Checks a JobSpec at `path`: `spec` of a Job, or `spec.jobTemplate.spec` of a CronJob (no selector there). */
export function validateJobSpec(spec: JobSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of [
    'parallelism',
    'completions',
    'activeDeadlineSeconds',
    'backoffLimit',
    'ttlSecondsAfterFinished',
    'backoffLimitPerIndex',
    'maxFailedIndexes',
  ] as const)
    errs.push(...nonNegative(child(path, f), spec[f]));
  if (spec.maxFailedIndexes !== undefined && spec.backoffLimitPerIndex === undefined)
    errs.push(requiredError(child(path, 'backoffLimitPerIndex'), 'when maxFailedIndexes is specified'));
  errs.push(...oneOf(child(path, 'completionMode'), spec.completionMode, ['NonIndexed', 'Indexed']));
  const indexed = spec.completionMode === 'Indexed';
  if (indexed && spec.completions === undefined)
    errs.push(requiredError(child(path, 'completions'), 'when completion mode is Indexed'));
  if (indexed && (spec.parallelism ?? 0) > maxParallelismForIndexedJob)
    errs.push(
      invalidError(
        child(path, 'parallelism'),
        spec.parallelism,
        `must be less than or equal to ${maxParallelismForIndexedJob} when completion mode is Indexed`,
      ),
    );
  if (!indexed && spec.backoffLimitPerIndex !== undefined)
    errs.push(forbiddenError(child(path, 'backoffLimitPerIndex'), 'requires indexed completion mode'));
  if (!indexed && spec.successPolicy)
    errs.push(
      invalidError(child(path, 'successPolicy'), spec.successPolicy, 'requires indexed completion mode'),
    );
  (spec.successPolicy?.rules ?? []).forEach((r, i) => {
    if (r.succeededIndexes === undefined && r.succeededCount === undefined)
      errs.push(
        requiredError(
          index(child(path, 'successPolicy', 'rules'), i),
          'at least one of succeededCount or succeededIndexes must be specified',
        ),
      );
  });
  if (spec.podFailurePolicy) errs.push(...validatePodFailurePolicy(spec, child(path, 'podFailurePolicy')));
  const replacement = child(path, 'podReplacementPolicy');
  if (spec.podFailurePolicy) errs.push(...oneOf(replacement, spec.podReplacementPolicy, ['Failed']));
  else errs.push(...oneOf(replacement, spec.podReplacementPolicy, ['Failed', 'TerminatingOrFailed']));
  const tplPath = child(path, 'template');
  errs.push(...validatePodTemplateSpec(spec.template, tplPath));
  // The pod defaults turn an unset restartPolicy into Always, so both read as "not set for a job".
  const restart = spec.template?.spec?.restartPolicy;
  const restartPath = child(tplPath, 'spec', 'restartPolicy');
  if (restart === undefined || restart === 'Always')
    errs.push(requiredError(restartPath, 'valid values: "OnFailure", "Never"'));
  else if (restart !== 'OnFailure' && restart !== 'Never')
    errs.push(notSupportedError(restartPath, restart, ['OnFailure', 'Never']));
  else if (spec.podFailurePolicy && restart !== 'Never')
    errs.push(
      invalidError(restartPath, restart, 'only "Never" is supported when podFailurePolicy is specified'),
    );
  return errs;
}

/** Template fields a suspended job that never started may change: where its pods will run. */
const schedulingDirectives = ['nodeSelector', 'affinity', 'tolerations', 'schedulingGates'] as const;

function templateWithoutScheduling(job: Job): unknown {
  const tpl = job.spec?.template ?? {};
  const spec: Record<string, unknown> = { ...tpl.spec };
  for (const f of schedulingDirectives) delete spec[f];
  return { ...tpl, metadata: { ...tpl.metadata, labels: undefined, annotations: undefined }, spec };
}

function validateJobUpdate(job: Job, old: Job): FieldError[] {
  const s = job.spec ?? {};
  const o = old.spec ?? {};
  const errs = [
    ...immutable('spec.selector', s.selector, o.selector),
    ...immutable('spec.completionMode', s.completionMode, o.completionMode),
    ...immutable('spec.podFailurePolicy', s.podFailurePolicy, o.podFailurePolicy),
    ...immutable('spec.backoffLimitPerIndex', s.backoffLimitPerIndex, o.backoffLimitPerIndex),
  ];
  // Elastic Indexed jobs may scale, keeping completions equal to parallelism.
  const elastic = s.completionMode === 'Indexed' && s.completions === s.parallelism;
  if (!elastic) errs.push(...immutable('spec.completions', s.completions, o.completions));
  const notStarted = o.suspend === true && !old.status?.startTime;
  if (notStarted)
    errs.push(...immutable('spec.template', templateWithoutScheduling(job), templateWithoutScheduling(old)));
  else errs.push(...immutable('spec.template', s.template, o.template));
  return errs;
}

export function validateJob(job: Job, old?: Job): FieldError[] {
  const s = job.spec ?? {};
  const errs = [...validateJobSpec(s, 'spec'), ...validateSelector(s.selector, s.template, 'spec')];
  const uid = job.metadata?.uid;
  if (s.manualSelector !== true && uid && s.selector && s.selector.matchLabels?.[controllerUidLabel] !== uid)
    errs.push(invalidError('spec.selector', s.selector, '`selector` not auto-generated'));
  if (old) errs.push(...validateJobUpdate(job, old));
  return errs;
}

/** CronJob names leave room for the 11-character suffix of the jobs it creates. */
const maxCronJobNameLength = 52;

export function validateCronJob(cj: CronJob, old?: CronJob): FieldError[] {
  const s = cj.spec ?? {};
  const errs: FieldError[] = [];
  const name = cj.metadata?.name ?? '';
  if (!old && name.length > maxCronJobNameLength)
    errs.push(invalidError('metadata.name', name, `must be no more than ${maxCronJobNameLength} characters`));
  if (!s.schedule) errs.push(requiredError('spec.schedule'));
  else {
    const err = cronScheduleError(s.schedule);
    if (err) errs.push(invalidError('spec.schedule', s.schedule, err));
    // Time zones belong in the timeZone field; only objects that already had one in the schedule keep it.
    const hadTZ = old?.spec?.schedule?.includes('TZ') ?? false;
    if (s.schedule.includes('TZ') && !hadTZ)
      errs.push(
        invalidError(
          'spec.schedule',
          s.schedule,
          'cannot use TZ or CRON_TZ in schedule, use timeZone field instead',
        ),
      );
    else if (s.schedule.includes('TZ') && s.timeZone !== undefined)
      errs.push(
        invalidError(
          'spec.schedule',
          s.schedule,
          'cannot use both timeZone field and TZ or CRON_TZ in schedule',
        ),
      );
  }
  if (s.timeZone !== undefined && s.timeZone !== old?.spec?.timeZone) {
    const err = timeZoneError(s.timeZone);
    if (err) errs.push(invalidError('spec.timeZone', s.timeZone, err));
  }
  if (!s.concurrencyPolicy) errs.push(requiredError('spec.concurrencyPolicy'));
  else errs.push(...oneOf('spec.concurrencyPolicy', s.concurrencyPolicy, ['Allow', 'Forbid', 'Replace']));
  errs.push(
    ...nonNegative('spec.startingDeadlineSeconds', s.startingDeadlineSeconds),
    ...nonNegative('spec.successfulJobsHistoryLimit', s.successfulJobsHistoryLimit),
    ...nonNegative('spec.failedJobsHistoryLimit', s.failedJobsHistoryLimit),
  );
  const jobSpec = s.jobTemplate?.spec ?? {};
  errs.push(...validateJobSpec(jobSpec, 'spec.jobTemplate.spec'));
  if (jobSpec.selector)
    errs.push(
      invalidError('spec.jobTemplate.spec.selector', jobSpec.selector, '`selector` will be auto-generated'),
    );
  if (jobSpec.manualSelector === true)
    errs.push(notSupportedError('spec.jobTemplate.spec.manualSelector', true, ['nil', 'false']));
  return errs;
}
