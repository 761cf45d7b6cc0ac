import { describe, expect, it } from 'vitest';
import type { Job } from '../api/objects.js';
import { FakeClient, FakePodControl, newTestContext, testEpoch } from '../testing/workload-fakes.js';
import { iso, ownerRef, pod } from '../testing/workload-fixtures.js';
import { JobController } from './job.js';
import { formatIndexes } from './job-util.js';
import { TTLAfterFinishedController } from './ttlafterfinished.js';

function job(spec: Partial<NonNullable<Job['spec']>> = {}, status?: Job['status']): Job {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: 'job-uid', resourceVersion: '4' },
    spec: {
      completions: 5,
      parallelism: 2,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'job-uid' } },
      template: {
        metadata: { labels: { 'batch.kubernetes.io/controller-uid': 'job-uid' } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] },
      },
      ...spec,
    },
    status,
  };
}

const labels = { 'batch.kubernetes.io/controller-uid': 'job-uid' };

function setup(j: Job, ...pods: ReturnType<typeof pod>[]) {
  const ctx = newTestContext();
  const podControl = new FakePodControl();
  const client = new FakeClient<Job>();
  const c = new JobController(ctx, { podControl, client: client.asClient(), podPatcher: new FakeClient() });
  ctx.seed('jobs', j);
  ctx.seed('pods', ...pods);
  const owned = (name: string, o: Parameters<typeof pod>[1] = {}) =>
    pod(name, { labels, owner: ownerRef('Job', j), ...o });
  const lastStatus = () => (client.of('updateStatus').at(-1)?.body as Job | undefined)?.status;
  return { ctx, podControl, client, c, owned, lastStatus };
}

describe('JobController', () => {
  it('runs parallelism pods at once and no more than completions still need', async () => {
    const j = job();
    const s = setup(j);
    await s.c.sync('default/pi');
    expect(s.podControl.created).toHaveLength(2);
    expect(s.podControl.created[0].metadata.ownerReferences![0]).toMatchObject({
      kind: 'Job',
      controller: true,
    });
    expect(s.lastStatus()).toMatchObject({ active: 0, succeeded: 0, startTime: iso(testEpoch) });

    const j2 = job();
    const t = setup(j2);
    const done = [0, 1, 2, 3].map((i) => t.owned(`s${i}`, { phase: 'Succeeded', ready: false }));
    t.ctx.seed('pods', ...done);
    await t.c.sync('default/pi');
    // 4 of 5 succeeded: one more pod, not two.
    expect(t.podControl.created).toHaveLength(1);
  });

  it('completes when completions pods succeeded', async () => {
    const s = setup(job());
    s.ctx.seed('pods', ...[0, 1, 2, 3, 4].map((i) => s.owned(`s${i}`, { phase: 'Succeeded', ready: false })));
    await s.c.sync('default/pi');
    expect(s.podControl.created).toEqual([]);
    const st = s.lastStatus()!;
    expect(st).toMatchObject({ succeeded: 5, active: 0, completionTime: iso(testEpoch) });
    expect(st.conditions!.map((x) => [x.type, x.status])).toEqual([
      ['SuccessCriteriaMet', 'True'],
      ['Complete', 'True'],
    ]);
    expect(s.ctx.events.map((e) => e.reason)).toContain('Completed');
  });

  it('fails after backoffLimit failures and stops the active pods', async () => {
    const s = setup(job({ backoffLimit: 1 }));
    s.ctx.seed(
      'pods',
      s.owned('f1', { phase: 'Failed', ready: false }),
      s.owned('f2', { phase: 'Failed', ready: false }),
      s.owned('running'),
    );
    await s.c.sync('default/pi');
    expect(s.podControl.deleted).toEqual(['default/running']);
    expect(s.lastStatus()!.conditions!.at(-1)).toMatchObject({
      type: 'Failed',
      reason: 'BackoffLimitExceeded',
    });
  });

  it('waits out the backoff before replacing a failed pod', async () => {
    const s = setup(job({ completions: 1, parallelism: 1 }));
    s.ctx.seed('pods', s.owned('f1', { phase: 'Failed', ready: false, readySince: testEpoch - 2_000 }));
    await s.c.sync('default/pi');
    expect(s.podControl.created).toEqual([]);
    s.ctx.clock.step(7_999);
    expect(s.c.queue.len()).toBe(0);
    s.ctx.clock.step(1);
    expect(s.c.queue.len()).toBe(1);
    await s.c.sync('default/pi');
    expect(s.podControl.created).toHaveLength(1);
  });

  it('fails a job active longer than activeDeadlineSeconds', async () => {
    const s = setup(job({ activeDeadlineSeconds: 30 }, { startTime: iso(testEpoch - 31_000) }));
    s.ctx.seed('pods', s.owned('a'));
    await s.c.sync('default/pi');
    expect(s.podControl.deleted).toEqual(['default/a']);
    expect(s.lastStatus()!.conditions!.at(-1)).toMatchObject({ type: 'Failed', reason: 'DeadlineExceeded' });
  });

  it('gives Indexed pods the lowest missing indexes, with hostname and JOB_COMPLETION_INDEX', async () => {
    const s = setup(job({ completionMode: 'Indexed', completions: 4, parallelism: 2 }));
    const idx = (i: number) => ({ 'batch.kubernetes.io/job-completion-index': String(i) });
    s.ctx.seed('pods', s.owned('p0', { phase: 'Succeeded', ready: false, annotations: idx(0) }));
    s.ctx.seed('pods', s.owned('p2', { annotations: idx(2) }));
    await s.c.sync('default/pi');
    expect(s.podControl.created).toHaveLength(1);
    const p = s.podControl.created[0];
    expect(p.metadata.annotations!['batch.kubernetes.io/job-completion-index']).toBe('1');
    expect(p.metadata.generateName).toBe('pi-1-');
    expect(p.spec!.hostname).toBe('pi-1');
    expect(p.spec!.containers![0].env).toEqual([{ name: 'JOB_COMPLETION_INDEX', value: '1' }]);
    expect(s.lastStatus()!.completedIndexes).toBe('0');
  });

  it.each([
    { name: 'empty', in: [], want: '' },
    { name: 'ranges', in: [5, 1, 3, 4, 0], want: '0-1,3-5' },
  ])('formatIndexes $name', ({ in: xs, want }) => {
    expect(formatIndexes(xs)).toBe(want);
  });
});

describe('TTLAfterFinishedController', () => {
  it('deletes a finished job once ttlSecondsAfterFinished has passed', async () => {
    const ctx = newTestContext();
    const client = new FakeClient<Job>();
    const c = new TTLAfterFinishedController(ctx, { client: client.asClient() });
    const done = iso(testEpoch - 5_000);
    ctx.seed(
      'jobs',
      job(
        { ttlSecondsAfterFinished: 10 },
        {
          completionTime: done,
          conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: done }],
        },
      ),
    );
    await c.sync('default/pi');
    expect(client.calls).toEqual([]);
    ctx.clock.step(5_000);
    expect(c.queue.len()).toBe(1);
    await c.sync('default/pi');
    expect(client.of('delete').map((x) => x.key)).toEqual(['default/pi']);
  });
});
