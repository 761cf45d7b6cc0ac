import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { batchTypes, type CronJob, type Job } from './batch.js';

const uid = '6f1c8a52-0000-4000-8000-000000000001';
const rt = (kind: string) => batchTypes.find((t) => t.kind === kind) as ResourceType;

const podTemplate = () => ({
  spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl:5.34' }] },
});

function job(spec: Record<string, unknown> = {}, extra: Partial<Job> = {}): Job & KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid, creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { template: podTemplate(), ...spec },
    ...extra,
  };
}

function cronJob(spec: Record<string, unknown> = {}): CronJob & KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'hello', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate() } }, ...spec },
  };
}

/** Jobs and cron jobs built here always have metadata, so they are KubeObjects. */
const kube = (o: object) => o as KubeObject;

function defaulted<T extends Job | CronJob>(o: T): T {
  rt(o.kind as string).defaults?.(kube(o));
  return o;
}

const errors = (o: Job | CronJob, old?: Job | CronJob) =>
  (rt(o.kind as string).validate?.(kube(o), old && kube(old)) ?? []).map((e) => `${e.type} ${e.field}`);

describe('Job validation', () => {
  it('accepts a defaulted job', () => {
    expect(errors(defaulted(job()))).toEqual([]);
  });

  it.each([
    {
      name: 'restartPolicy Always',
      tpl: { restartPolicy: 'Always' },
      want: 'FieldValueRequired spec.template.spec.restartPolicy',
    },
    {
      name: 'restartPolicy unset',
      tpl: { restartPolicy: undefined },
      want: 'FieldValueRequired spec.template.spec.restartPolicy',
    },
    {
      name: 'restartPolicy unknown',
      tpl: { restartPolicy: 'Sometimes' },
      want: 'FieldValueNotSupported spec.template.spec.restartPolicy',
    },
  ])('rejects $name', ({ tpl, want }) => {
    const j = job();
    Object.assign(j.spec?.template?.spec as object, tpl);
    expect(errors(j.spec?.template?.spec?.restartPolicy ? defaulted(j) : j)).toContain(want);
  });

  it.each([
    { name: 'negative parallelism', spec: { parallelism: -1 }, want: 'FieldValueInvalid spec.parallelism' },
    {
      name: 'negative backoffLimit',
      spec: { backoffLimit: -1 },
      want: 'FieldValueInvalid spec.backoffLimit',
    },
    {
      name: 'unknown completionMode',
      spec: { completionMode: 'Sometimes' },
      want: 'FieldValueNotSupported spec.completionMode',
    },
    {
      name: 'Indexed without completions',
      spec: { completionMode: 'Indexed', parallelism: 2 },
      want: 'FieldValueRequired spec.completions',
    },
    {
      name: 'backoffLimitPerIndex when NonIndexed',
      spec: { backoffLimitPerIndex: 1 },
      want: 'FieldValueForbidden spec.backoffLimitPerIndex',
    },
    {
      name: 'a selector the server did not make',
      spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'other' } } },
      want: 'FieldValueInvalid spec.selector',
    },
    {
      name: 'a manual selector that misses the pods',
      spec: { manualSelector: true, selector: { matchLabels: { app: 'x' } } },
      want: 'FieldValueInvalid spec.template.metadata.labels',
    },
    {
      name: 'a pod failure policy rule with both matchers',
      spec: {
        podFailurePolicy: {
          rules: [
            {
              action: 'FailJob',
              onExitCodes: { operator: 'In', values: [1] },
              onPodConditions: [{ type: 'X' }],
            },
          ],
        },
      },
      want: 'FieldValueInvalid spec.podFailurePolicy.rules[0]',
    },
    {
      name: 'exit code 0 with In',
      spec: {
        podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [0] } }] },
      },
      want: 'FieldValueInvalid spec.podFailurePolicy.rules[0].onExitCodes.values[0]',
    },
  ])('rejects $name', ({ spec, want }) => {
    expect(errors(defaulted(job(spec)))).toContain(want);
  });

  it('requires a selector when none could be made', () => {
    const j = job();
    delete j.metadata.uid;
    expect(errors(defaulted(j))).toContain('FieldValueRequired spec.selector');
  });

  it.each([
    {
      name: 'the template of a started job',
      change: (j: Job) => {
        j.spec!.template!.spec!.containers![0].image = 'perl:5.36';
      },
      suspended: false,
      want: ['FieldValueInvalid spec.template'],
    },
    {
      name: 'the node selector of a suspended job that never started',
      change: (j: Job) => {
        j.spec!.template!.spec!.nodeSelector = { zone: 'a' };
      },
      suspended: true,
      want: [],
    },
    {
      name: 'the completions of a NonIndexed job',
      change: (j: Job) => {
        j.spec!.completions = 3;
      },
      suspended: false,
      want: ['FieldValueInvalid spec.completions'],
    },
    {
      name: 'parallelism',
      change: (j: Job) => {
        j.spec!.parallelism = 4;
      },
      suspended: false,
      want: [],
    },
  ])('on update checks $name', ({ change, suspended, want }) => {
    const old = defaulted(job({ suspend: suspended }));
    const next = structuredClone(old);
    change(next);
    expect(errors(next, old)).toEqual(want);
  });
});

describe('CronJob validation', () => {
  it('accepts a defaulted cron job', () => {
    expect(errors(defaulted(cronJob({ timeZone: 'Europe/Berlin' })))).toEqual([]);
  });

  it.each([
    { name: 'a missing schedule', spec: { schedule: '' }, want: 'FieldValueRequired spec.schedule' },
    { name: 'a bad schedule', spec: { schedule: '61 * * * *' }, want: 'FieldValueInvalid spec.schedule' },
    {
      name: 'TZ in the schedule',
      spec: { schedule: 'TZ=UTC 0 * * * *' },
      want: 'FieldValueInvalid spec.schedule',
    },
    {
      name: 'an unknown time zone',
      spec: { timeZone: 'Mars/Olympus' },
      want: 'FieldValueInvalid spec.timeZone',
    },
    { name: 'Local as time zone', spec: { timeZone: 'Local' }, want: 'FieldValueInvalid spec.timeZone' },
    {
      name: 'a bad concurrencyPolicy',
      spec: { concurrencyPolicy: 'Sometimes' },
      want: 'FieldValueNotSupported spec.concurrencyPolicy',
    },
    {
      name: 'a negative history limit',
      spec: { failedJobsHistoryLimit: -1 },
      want: 'FieldValueInvalid spec.failedJobsHistoryLimit',
    },
    {
      name: 'a job template selector',
      spec: { jobTemplate: { spec: { selector: { matchLabels: { a: 'b' } }, template: podTemplate() } } },
      want: 'FieldValueInvalid spec.jobTemplate.spec.selector',
    },
    {
      name: 'a job template that restarts always',
      spec: {
        jobTemplate: { spec: { template: { spec: { ...podTemplate().spec, restartPolicy: 'Always' } } } },
      },
      want: 'FieldValueRequired spec.jobTemplate.spec.template.spec.restartPolicy',
    },
  ])('rejects $name', ({ spec, want }) => {
    expect(errors(defaulted(cronJob(spec)))).toContain(want);
  });

  it('rejects a name too long for its jobs on create only', () => {
    const cj = defaulted(cronJob());
    cj.metadata.name = 'x'.repeat(53);
    expect(errors(cj)).toContain('FieldValueInvalid metadata.name');
    expect(errors(cj, structuredClone(cj))).toEqual([]);
  });
});
