import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { batchTypes, type CronJob, type Job } from './batch.js';

const now = new Date('2024-05-01T12:00:00Z');
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

describe('Job defaults', () => {
  it('fills the spec and makes a selector from the uid', () => {
    const j = defaulted(job());
    expect(j.spec).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      manualSelector: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    });
    const labels = {
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'pi',
      'controller-uid': uid,
      'job-name': 'pi',
    };
    expect(j.spec?.template?.metadata?.labels).toEqual(labels);
    expect(j.metadata.labels).toEqual(labels);
    expect(j.spec?.template?.spec).toMatchObject({ restartPolicy: 'Never', dnsPolicy: 'ClusterFirst' });
  });

  it.each([
    {
      name: 'parallelism alone leaves completions unset',
      spec: { parallelism: 3 },
      want: { parallelism: 3 },
    },
    {
      name: 'completions alone gets parallelism 1',
      spec: { completions: 5 },
      want: { completions: 5, parallelism: 1 },
    },
    {
      name: 'backoffLimitPerIndex makes backoffLimit unlimited',
      spec: { completionMode: 'Indexed', completions: 2, backoffLimitPerIndex: 1 },
      want: { backoffLimit: 2147483647 },
    },
    {
      name: 'a pod failure policy makes replacement wait for Failed',
      spec: {
        podFailurePolicy: { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] },
      },
      want: {
        podReplacementPolicy: 'Failed',
        podFailurePolicy: { rules: [{ onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
      },
    },
  ])('$name', ({ spec, want }) => {
    const j = defaulted(job(spec));
    expect(j.spec).toMatchObject(want);
    if ('parallelism' in spec && !('completions' in spec)) expect(j.spec?.completions).toBeUndefined();
  });

  it('keeps the job labels and a manual selector as given', () => {
    const j = job({ manualSelector: true, selector: { matchLabels: { app: 'pi' } } });
    j.metadata.labels = { team: 'a' };
    (j.spec?.template as { metadata?: object }).metadata = { labels: { app: 'pi' } };
    defaulted(j);
    expect(j.spec?.selector).toEqual({ matchLabels: { app: 'pi' } });
    expect(j.spec?.template?.metadata?.labels).toEqual({ app: 'pi' });
    expect(j.metadata.labels).toEqual({ team: 'a' });
  });

  it('makes no selector before the object has a uid', () => {
    const j = job();
    delete j.metadata.uid;
    expect(defaulted(j).spec?.selector).toBeUndefined();
  });
});

describe('CronJob defaults', () => {
  it('fills the spec and the pod template, not the job fields', () => {
    const cj = defaulted(cronJob());
    expect(cj.spec).toMatchObject({
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cj.spec?.jobTemplate?.spec?.template?.spec?.dnsPolicy).toBe('ClusterFirst');
    expect(cj.spec?.jobTemplate?.spec?.backoffLimit).toBeUndefined();
  });
});

describe('batch schemas', () => {
  it.each([
    {
      name: 'a finished Job',
      o: defaulted(
        job(
          { ttlSecondsAfterFinished: 100, activeDeadlineSeconds: 60 },
          {
            status: {
              startTime: '2024-05-01T11:00:00Z',
              completionTime: '2024-05-01T11:00:09Z',
              succeeded: 1,
              ready: 0,
              terminating: 0,
              uncountedTerminatedPods: {},
              conditions: [
                {
                  type: 'Complete',
                  status: 'True',
                  lastProbeTime: '2024-05-01T11:00:09Z',
                  lastTransitionTime: '2024-05-01T11:00:09Z',
                },
              ],
            },
          },
        ),
      ),
    },
    {
      name: 'a CronJob with status',
      o: {
        ...defaulted(cronJob({ timeZone: 'Etc/UTC', startingDeadlineSeconds: 30 })),
        status: {
          active: [{ kind: 'Job', name: 'hello-1', namespace: 'default', uid, apiVersion: 'batch/v1' }],
          lastScheduleTime: '2024-05-01T11:55:00Z',
        },
      },
    },
  ])('accepts $name', ({ o }) => {
    expect(Value.Check(rt(o.kind as string).schema, o)).toBe(true);
  });
});

describe('batch columns', () => {
  const cells = (o: Job | CronJob) =>
    Object.fromEntries(rt(o.kind as string).columns.map((c) => [c.name, c.cell(kube(o), now)]));
  const cond = (type: string) => ({ conditions: [{ type, status: 'True' }] });

  it.each([
    {
      name: 'a complete job',
      o: defaulted(
        job(
          {},
          {
            status: {
              ...cond('Complete'),
              succeeded: 1,
              startTime: '2024-05-01T11:00:00Z',
              completionTime: '2024-05-01T11:00:42Z',
            },
          },
        ),
      ),
      want: {
        Status: 'Complete',
        Completions: '1/1',
        Duration: '42s',
        Age: '60m',
        Containers: 'pi',
        Images: 'perl:5.34',
        Selector: `batch.kubernetes.io/controller-uid=${uid}`,
      },
    },
    {
      name: 'a running job',
      o: job(
        { completions: 5, parallelism: 2 },
        { status: { succeeded: 2, startTime: '2024-05-01T11:55:00Z' } },
      ),
      want: { Status: 'Running', Completions: '2/5', Duration: '5m' },
    },
    { name: 'a work queue', o: job({ parallelism: 3 }), want: { Completions: '0/1 of 3', Duration: '' } },
    { name: 'a failed job', o: job({}, { status: cond('Failed') }), want: { Status: 'Failed' } },
    { name: 'a suspended job', o: job({}, { status: cond('Suspended') }), want: { Status: 'Suspended' } },
    {
      name: 'a job being deleted',
      o: job(
        {},
        { metadata: { name: 'pi', deletionTimestamp: '2024-05-01T11:59:00Z' }, status: cond('Suspended') },
      ),
      want: { Status: 'Terminating' },
    },
    {
      name: 'a cron job',
      o: {
        ...defaulted(cronJob({ timeZone: 'Etc/UTC' })),
        status: { active: [{ name: 'hello-1' }], lastScheduleTime: '2024-05-01T11:58:00Z' },
      },
      want: {
        Schedule: '*/5 * * * *',
        Timezone: 'Etc/UTC',
        Suspend: 'False',
        Active: 1,
        'Last Schedule': '2m',
        Age: '60m',
        Containers: 'pi',
        Selector: '<none>',
      },
    },
    {
      name: 'a new cron job',
      o: cronJob(),
      want: { Timezone: '<none>', Suspend: '<unset>', Active: 0, 'Last Schedule': '<none>' },
    },
  ])('$name', ({ o, want }) => {
    expect(cells(o)).toMatchObject(want);
  });

  it('gives the Job status.successful field label', () => {
    expect(rt('Job').fieldLabels?.(kube(job({}, { status: { succeeded: 3 } })))).toEqual({
      'status.successful': '3',
    });
  });
});
