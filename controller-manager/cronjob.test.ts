import { describe, expect, it } from 'vitest';
import type { CronJob, Job } from '../api/objects.js';
import { newAlreadyExists, newNotFound } from '../api/status.js';
import { FakeClient, newTestContext, newUid, testEpoch } from '../testing/workload-fakes.js';
import { iso, ownerRef } from '../testing/workload-fixtures.js';
import { CronJobController } from './cronjob.js';
import { scheduledTimestampAnnotation } from './cronjob-util.js';

const minute = 60_000;

/** A job client that also answers GET from `objects` and can refuse creates as AlreadyExists. */
class FakeJobClient extends FakeClient<Job> {
  existing = new Set<string>();
  override in(ns?: string): FakeJobClient {
    const view = new FakeJobClient(ns);
    view.calls = this.calls;
    view.objects = this.objects;
    view.existing = this.existing;
    return view;
  }
  override async create(obj: Job): Promise<Job> {
    if (this.existing.has(obj.metadata.name ?? ''))
      throw newAlreadyExists({ group: 'batch', resource: 'jobs' }, obj.metadata.name ?? '');
    return super.create(obj);
  }
  async get(name: string): Promise<Job> {
    const j = this.objects.get(`default/${name}`);
    if (!j) throw newNotFound({ group: 'batch', resource: 'jobs' }, name);
    return j;
  }
}

function cronJob(spec: Partial<NonNullable<CronJob['spec']>> = {}, status?: CronJob['status']): CronJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: {
      name: 'tick',
      namespace: 'default',
      uid: newUid(),
      resourceVersion: '3',
      creationTimestamp: iso(testEpoch),
    },
    spec: {
      schedule: '* * * * *',
      timeZone: 'UTC',
      concurrencyPolicy: 'Allow',
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { team: 'a' } },
        spec: {
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
      ...spec,
    },
    status,
  };
}

function job(cj: CronJob, name: string, o: { finished?: 'Complete' | 'Failed'; at?: number } = {}): Job {
  const at = o.at ?? testEpoch;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: 'default',
      uid: newUid(),
      resourceVersion: '7',
      creationTimestamp: iso(at),
      ownerReferences: [{ ...ownerRef('CronJob', cj), apiVersion: 'batch/v1' }],
    },
    spec: {},
    status: {
      startTime: iso(at),
      ...(o.finished
        ? {
            completionTime: o.finished === 'Complete' ? iso(at + 5_000) : undefined,
            conditions: [{ type: o.finished, status: 'True', lastTransitionTime: iso(at + 5_000) }],
          }
        : {}),
    },
  };
}

function setup(cj: CronJob, ...jobs: Job[]) {
  const ctx = newTestContext();
  const client = new FakeClient<CronJob>();
  const jobClient = new FakeJobClient();
  const c = new CronJobController(ctx, { client: client.asClient(), jobClient: jobClient as any });
  ctx.seed('cronjobs', cj);
  ctx.seed('jobs', ...jobs);
  const status = () => (client.of('updateStatus').at(-1)?.body as CronJob | undefined)?.status;
  const reasons = () => ctx.events.map((e) => e.reason);
  return { ctx, client, jobClient, c, status, reasons };
}

describe('CronJobController', () => {
  it('creates the Job of a due run, named by its minute, owned and annotated, and comes back at the next run', async () => {
    const cj = cronJob();
    const { ctx, jobClient, c, status, reasons } = setup(cj);
    ctx.clock.step(61_000); // 00:01:01: the 00:01 run is due
    await c.sync('default/tick');
    const created = jobClient.of('create');
    expect(created.map((x) => x.key)).toEqual([`default/tick-${testEpoch / minute + 1}`]);
    const j = created[0].body as Job;
    expect(j.metadata.labels).toEqual({ team: 'a' });
    expect(j.metadata.annotations).toEqual({ [scheduledTimestampAnnotation]: '2024-01-01T00:01:00Z' });
    expect(j.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'tick',
        uid: cj.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(j.spec?.template?.spec?.containers?.[0].image).toBe('busybox');
    expect(status()).toMatchObject({
      lastScheduleTime: '2024-01-01T00:01:00Z',
      active: [{ kind: 'Job', name: j.metadata.name, uid: j.metadata.uid }],
    });
    expect(reasons()).toEqual(['SuccessfulCreate']);
    // Next run 00:02:00 is 59 s away (+100 ms slack): not queued before then.
    ctx.clock.step(59_000);
    expect(c.queue.len()).toBe(0);
    ctx.clock.step(100);
    expect(c.queue.len()).toBe(1);
  });

  it('does nothing before the first run and does not run the same minute twice', async () => {
    const cj = cronJob();
    const { ctx, jobClient, c } = setup(cj);
    ctx.clock.step(30_000);
    await c.sync('default/tick');
    expect(jobClient.of('create')).toEqual([]);
    // The Job made for 00:01 is in the cache: a sync in the same minute makes no other.
    ctx.clock.step(35_000);
    ctx.seed('jobs', job(cj, `tick-${testEpoch / minute + 1}`, { at: testEpoch + minute }));
    await c.sync('default/tick');
    expect(jobClient.of('create')).toEqual([]);
  });

  it('with Forbid skips a run while one is active, and runs it once the active one finished', async () => {
    const cj = cronJob({ concurrencyPolicy: 'Forbid' });
    const running = job(cj, 'tick-old');
    cj.status = {
      active: [{ kind: 'Job', name: 'tick-old', namespace: 'default', uid: running.metadata.uid }],
    };
    const { ctx, jobClient, c, reasons } = setup(cj, running);
    ctx.clock.step(61_000);
    await c.sync('default/tick');
    expect(jobClient.of('create')).toEqual([]);
    expect(reasons()).toContain('JobAlreadyActive');
    ctx.seed('jobs', job(cj, 'tick-old', { finished: 'Complete' }));
    ctx.seed('jobs', { ...running, status: { conditions: [{ type: 'Complete', status: 'True' }] } });
    await c.sync('default/tick');
    expect(jobClient.of('create')).toHaveLength(1);
  });

  it('with Allow runs beside an active job; with Replace deletes the active job first', async () => {
    for (const policy of ['Allow', 'Replace'] as const) {
      const cj = cronJob({ concurrencyPolicy: policy });
      const running = job(cj, 'tick-old');
      cj.status = {
        active: [{ kind: 'Job', name: 'tick-old', namespace: 'default', uid: running.metadata.uid }],
      };
      const { ctx, jobClient, c, status } = setup(cj, running);
      ctx.clock.step(61_000);
      await c.sync('default/tick');
      expect(jobClient.of('create')).toHaveLength(1);
      const newName = (jobClient.of('create')[0].body as Job).metadata.name;
      if (policy === 'Allow') {
        expect(jobClient.of('delete')).toEqual([]);
        expect(
          status()
            ?.active?.map((r) => r.name)
            .sort(),
        ).toEqual([newName, 'tick-old'].sort());
      } else {
        expect(jobClient.of('delete').map((x) => x.key)).toEqual(['default/tick-old']);
        expect(status()?.active?.map((r) => r.name)).toEqual([newName]);
      }
    }
  });

  it('skips runs missed beyond startingDeadlineSeconds', async () => {
    const cj = cronJob({ startingDeadlineSeconds: 10 });
    const { ctx, jobClient, c } = setup(cj);
    // 00:05:30: the 00:05 run is 30 s late, beyond the 10 s deadline.
    ctx.clock.step(5 * minute + 30_000);
    await c.sync('default/tick');
    expect(jobClient.of('create')).toEqual([]);
    // 00:06:05: the 00:06 run is 5 s late, within the deadline.
    ctx.clock.step(35_000);
    await c.sync('default/tick');
    expect(jobClient.of('create').map((x) => x.key)).toEqual([`default/tick-${testEpoch / minute + 6}`]);
  });

  it('records TooManyMissedTimes after more than 100 missed runs and starts only the latest', async () => {
    const cj = cronJob();
    const { ctx, jobClient, c, status, reasons } = setup(cj);
    ctx.clock.step(3 * 24 * 60 * minute + 10_000); // three days of every-minute runs
    await c.sync('default/tick');
    expect(reasons()).toContain('TooManyMissedTimes');
    const latest = testEpoch / minute + 3 * 24 * 60;
    expect(jobClient.of('create').map((x) => x.key)).toEqual([`default/tick-${latest}`]);
    expect(status()?.lastScheduleTime).toBe(iso(latest * minute));
  });

  it('does nothing while suspended', async () => {
    const cj = cronJob({ suspend: true });
    const { ctx, jobClient, c } = setup(cj);
    ctx.clock.step(10 * minute);
    await c.sync('default/tick');
    expect(jobClient.calls).toEqual([]);
    ctx.clock.step(10 * minute);
    expect(c.queue.len()).toBe(0);
  });

  it('reads the schedule in its timeZone', async () => {
    const cj = cronJob({ schedule: '0 9 * * *', timeZone: 'Europe/Berlin' });
    const { ctx, jobClient, c } = setup(cj);
    ctx.clock.step(8 * 60 * minute + 1_000); // 08:00:01 UTC = 09:00:01 in Berlin
    await c.sync('default/tick');
    expect(jobClient.of('create').map((x) => x.key)).toEqual([`default/tick-${testEpoch / minute + 8 * 60}`]);
  });

  it('warns about an unparseable schedule and does nothing', async () => {
    const cj = cronJob({ schedule: 'every day' });
    const { ctx, jobClient, c, reasons } = setup(cj);
    ctx.clock.step(10 * minute);
    await c.sync('default/tick');
    expect(jobClient.calls).toEqual([]);
    expect(reasons()).toEqual(['UnparseableSchedule']);
  });

  it('takes finished jobs off the active list, sets lastSuccessfulTime and deletes history beyond the limits', async () => {
    const cj = cronJob();
    const ok = [1, 2, 3, 4, 5].map((i) =>
      job(cj, `tick-ok${i}`, { finished: 'Complete', at: testEpoch + i * minute }),
    );
    const bad = [1, 2].map((i) =>
      job(cj, `tick-bad${i}`, { finished: 'Failed', at: testEpoch + i * minute }),
    );
    cj.status = {
      active: [{ kind: 'Job', name: 'tick-ok5', namespace: 'default', uid: ok[4].metadata.uid }],
    };
    const { ctx, jobClient, c, status, reasons } = setup(cj, ...ok, ...bad);
    ctx.clock.step(30_000);
    await c.sync('default/tick');
    expect(status()).toEqual({ active: [], lastSuccessfulTime: iso(testEpoch + 5 * minute + 5_000) });
    expect(reasons()).toContain('SawCompletedJob');
    expect(jobClient.of('delete').map((x) => x.key)).toEqual([
      'default/tick-ok1',
      'default/tick-ok2',
      'default/tick-bad1',
    ]);
  });

  it('keeps an active job the cache has not seen yet while a GET finds it, and drops it once gone', async () => {
    const cj = cronJob();
    const uid = newUid();
    cj.status = { active: [{ kind: 'Job', name: 'tick-new', namespace: 'default', uid }] };
    const { ctx, jobClient, c, status } = setup(cj);
    jobClient.objects.set('default/tick-new', {
      ...job(cj, 'tick-new'),
      metadata: { ...job(cj, 'tick-new').metadata, uid },
    });
    ctx.clock.step(30_000);
    await c.sync('default/tick');
    expect(status()).toBeUndefined(); // unchanged: nothing written
    jobClient.objects.clear();
    await c.sync('default/tick');
    expect(status()?.active).toEqual([]);
  });

  it('records the run of a Job it finds made already, when the sync that made it could not write the status', async () => {
    // The CronJob still lacks lastScheduleTime (that status write was lost to a conflict), yet
    // the informer has the Job of the 00:01 run: that run is done, and its time is recorded.
    const cj = cronJob();
    const made = job(cj, `tick-${testEpoch / minute + 1}`, { at: testEpoch + 61_000 });
    const { ctx, jobClient, c, status } = setup(cj, made);
    ctx.clock.step(62_000);
    await c.sync('default/tick');
    expect(jobClient.of('create')).toEqual([]);
    expect(status()?.lastScheduleTime).toBe('2024-01-01T00:01:00Z');
    expect(status()?.active?.map((r) => r.name)).toEqual([made.metadata.name]);
  });

  it('treats AlreadyExists as the run being made already', async () => {
    const cj = cronJob();
    const { ctx, jobClient, c, status } = setup(cj);
    jobClient.existing.add(`tick-${testEpoch / minute + 1}`);
    ctx.clock.step(61_000);
    await c.sync('default/tick');
    expect(status()?.lastScheduleTime).toBe('2024-01-01T00:01:00Z');
  });
});
