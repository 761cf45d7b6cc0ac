/**
 * batch/v1 schemas: Job and CronJob. Re-exported from `batch.ts`; import
 * from there.
 */
import type { Static } from '@sinclair/typebox';
import { Condition, LabelSelector, ObjectMeta, TypeMeta } from '../meta.js';
import { Bool, Int, Int64, List, MapList, Str, Struct, Time } from '../schema.js';
import { ObjectReference } from './core-common.js';
import { PodTemplateSpec } from './pod.js';

export const PodFailurePolicyRule = Struct(
  {
    action: Str('FailJob, FailIndex, Ignore or Count: what to do when the rule matches a failed pod.'),
    onExitCodes: Struct(
      {
        containerName: Str('Only this container is checked; all containers when unset.'),
        operator: Str('In or NotIn.'),
        values: List(Int(), 'Exit codes, at most 255.'),
      },
      'Matches a pod by the exit codes of its containers.',
    ),
    onPodConditions: List(
      Struct({ type: Str('Pod condition type.'), status: Str('True (default), False or Unknown.') }),
      'Matches a pod that has any of these conditions.',
    ),
  },
  'One rule of a pod failure policy; exactly one of onExitCodes and onPodConditions.',
);

export const JobSpec = Struct(
  {
    parallelism: Int('Most pods that may run at once; 1 by default.'),
    completions: Int('Successful pods needed for the job to complete; unset means any one success.'),
    activeDeadlineSeconds: Int64('Seconds the job may be active before it is failed.'),
    podFailurePolicy: Struct(
      { rules: List(PodFailurePolicyRule, 'Rules checked in order; the first that matches applies.') },
      'How failed pods count towards failing the job.',
    ),
    successPolicy: Struct(
      {
        rules: List(
          Struct({
            succeededIndexes: Str('Indexes that must succeed, as "1,3-5".'),
            succeededCount: Int('How many of those indexes must succeed.'),
          }),
        ),
      },
      'When an Indexed job counts as succeeded before all indexes have.',
    ),
    backoffLimit: Int('Retries before the job is failed; 6 by default.'),
    backoffLimitPerIndex: Int('Retries of each index of an Indexed job.'),
    maxFailedIndexes: Int('Failed indexes allowed before the job is failed.'),
    selector: LabelSelector,
    manualSelector: Bool(
      "If true, the selector is the user's; otherwise the server makes one from the job UID.",
    ),
    template: PodTemplateSpec,
    ttlSecondsAfterFinished: Int('Seconds after the job finishes before it is deleted.'),
    completionMode: Str('NonIndexed (default) or Indexed (each pod gets an index 0..completions-1).'),
    suspend: Bool('While true, no pods are created and running ones are stopped.'),
    podReplacementPolicy: Str('TerminatingOrFailed or Failed: when a replacement pod may be made.'),
    managedBy: Str('Controller that syncs the job, when it is not the built-in one.'),
  },
  'The desired state of a job: the pod template and how many pods must succeed.',
);
export type JobSpec = Static<typeof JobSpec>;

export const JobStatus = Struct(
  {
    conditions: MapList(
      Condition,
      ['type'],
      'Complete, Failed, Suspended, FailureTarget, SuccessCriteriaMet...',
    ),
    startTime: Time('When the controller began working on the job.'),
    completionTime: Time('When the job completed.'),
    active: Int('Pods still running.'),
    succeeded: Int('Pods that succeeded.'),
    failed: Int('Pods that failed.'),
    terminating: Int('Pods that are being deleted.'),
    completedIndexes: Str('Indexes that succeeded, as "1,3-5" (Indexed jobs).'),
    failedIndexes: Str('Indexes that failed (with backoffLimitPerIndex).'),
    uncountedTerminatedPods: Struct(
      { succeeded: List(Str(), 'UIDs.'), failed: List(Str(), 'UIDs.') },
      'Finished pods whose finalizers are removed but that are not counted in status yet.',
    ),
    ready: Int('Pods that are ready.'),
  },
  'The observed state of a job, written by its controller.',
);

export const Job = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: JobSpec, status: JobStatus },
  'A job: runs pods until a number of them succeed.',
);
export type Job = Static<typeof Job>;

export const JobTemplateSpec = Struct(
  { metadata: ObjectMeta, spec: JobSpec },
  'The job a CronJob creates on each run.',
);

export const CronJob = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        schedule: Str('When to run, in cron format ("*/5 * * * *") or a macro ("@hourly").'),
        timeZone: Str(
          'Time zone the schedule is read in, e.g. "Europe/Berlin"; the controller\'s by default.',
        ),
        startingDeadlineSeconds: Int64('Seconds after a missed run during which it may still start.'),
        concurrencyPolicy: Str(
          'Allow (default), Forbid or Replace: what to do when a run is due and one is active.',
        ),
        suspend: Bool('While true, no new runs start.'),
        jobTemplate: JobTemplateSpec,
        successfulJobsHistoryLimit: Int('Finished successful jobs to keep; 3 by default.'),
        failedJobsHistoryLimit: Int('Failed jobs to keep; 1 by default.'),
      },
      'The desired state of a cron job: the schedule and the job template.',
    ),
    status: Struct(
      {
        active: List(ObjectReference, 'Jobs that are running.'),
        lastScheduleTime: Time('When a job was last scheduled.'),
        lastSuccessfulTime: Time('When a job last completed successfully.'),
      },
      'The observed state of a cron job: its running jobs and last schedule.',
    ),
  },
  'A cron job: creates a Job on a repeating schedule.',
);
export type CronJob = Static<typeof CronJob>;
