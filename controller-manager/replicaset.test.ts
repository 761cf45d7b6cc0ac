import { describe, expect, it } from 'vitest';
import type { ReplicaSet } from '../api/objects.js';
import { FakeClient, FakePodControl, newTestContext, newUid, testEpoch } from '../testing/workload-fakes.js';
import { ownerRef, pod, template } from '../testing/workload-fixtures.js';
import { slowStartBatch } from './expectations.js';
import { ReplicaSetController } from './replicaset.js';

function rs(
  name: string,
  replicas: number,
  extra: Partial<NonNullable<ReplicaSet['spec']>> = {},
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default', uid: newUid(), generation: 2, resourceVersion: '5' },
    spec: { replicas, selector: { matchLabels: { app: 'web' } }, template: template(), ...extra },
  };
}

function setup() {
  const ctx = newTestContext();
  const podControl = new FakePodControl();
  const client = new FakeClient<ReplicaSet>();
  const podPatcher = new FakeClient<any>();
  const c = new ReplicaSetController(ctx, { podControl, client: client.asClient(), podPatcher });
  return { ctx, podControl, client, podPatcher, c };
}

describe('slowStartBatch', () => {
  it('doubles batches and stops at the first failing batch', async () => {
    const calls: number[] = [];
    const res = await slowStartBatch(20, 1, async (i) => {
      calls.push(i);
      if (i === 5) throw new Error('boom');
    });
    // Batches 1, 2, 4: the third batch (indexes 3..6) holds the failure; nothing after it runs.
    expect(calls.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(res).toMatchObject({ successes: 6, attempted: 7 });
    expect((res.error as Error).message).toBe('boom');
  });
});

describe('ReplicaSetController', () => {
  it('creates the missing pods from the template with a controller ref, and not again while they are in flight', async () => {
    const { ctx, podControl, c } = setup();
    const r = rs('web', 3);
    ctx.seed('replicasets', r);
    await c.sync('default/web');
    expect(podControl.created).toHaveLength(3);
    const p = podControl.created[0];
    expect(p.metadata.generateName).toBe('web-');
    expect(p.metadata.labels).toEqual({ app: 'web' });
    expect(p.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'web',
        uid: r.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    // The cache has not seen them yet: a second sync must not create more.
    await c.sync('default/web');
    expect(podControl.created).toHaveLength(3);
    // Once observed, the counts are trusted again.
    for (const created of podControl.created) ctx.seed('pods', { ...created, status: { phase: 'Pending' } });
    for (let i = 0; i < 3; i++) c.expectations.creationObserved('default/web');
    await c.sync('default/web');
    expect(podControl.created).toHaveLength(3);
  });

  it('stops creating at the first failed batch and reports ReplicaFailure', async () => {
    const { ctx, podControl, client, c } = setup();
    podControl.failCreatesAfter = 3;
    ctx.seed('replicasets', rs('web', 10));
    await expect(c.sync('default/web')).rejects.toThrow(/fake create failure/);
    expect(podControl.created).toHaveLength(3);
    // The three that succeeded are still awaited; the failed and skipped ones are not.
    expect(c.expectations.pending('default/web')).toEqual({ adds: 3, deletes: 0 });
    const status = client.of('updateStatus')[0].body as ReplicaSet;
    expect(status.status?.conditions?.[0]).toMatchObject({ type: 'ReplicaFailure', reason: 'FailedCreate' });
  });

  it('deletes unassigned, then pending, then not-ready, then newer pods first', async () => {
    const { ctx, podControl, c } = setup();
    const r = rs('web', 2);
    const ref = ownerRef('ReplicaSet', r);
    ctx.seed('replicasets', r);
    ctx.seed(
      'pods',
      pod('old-ready', { owner: ref, nodeName: 'n1', created: testEpoch - 10_000 }),
      pod('new-ready', { owner: ref, nodeName: 'n1', created: testEpoch - 5_000 }),
      pod('not-ready', { owner: ref, nodeName: 'n1', ready: false }),
      pod('pending', { owner: ref, nodeName: 'n1', phase: 'Pending', ready: false }),
      pod('unassigned', { owner: ref, phase: 'Pending', ready: false }),
    );
    await c.sync('default/web');
    expect(podControl.deleted).toEqual(['default/unassigned', 'default/pending', 'default/not-ready']);
    expect(c.expectations.pending('default/web')).toEqual({ adds: 0, deletes: 3 });
  });

  it('ignores terminating and finished pods when counting', async () => {
    const { ctx, podControl, c } = setup();
    const r = rs('web', 2);
    const ref = ownerRef('ReplicaSet', r);
    ctx.seed('replicasets', r);
    ctx.seed(
      'pods',
      pod('a', { owner: ref }),
      pod('b', { owner: ref, deleting: true }),
      pod('c', { owner: ref, phase: 'Succeeded' }),
    );
    await c.sync('default/web');
    expect(podControl.created).toHaveLength(1);
  });

  it('adopts matching orphans, releases pods that stop matching, and leaves other controllers alone', async () => {
    const { ctx, podControl, podPatcher, c } = setup();
    const r = rs('web', 2);
    const other = ownerRef('ReplicaSet', { metadata: { name: 'other', uid: 'uid-other' } });
    ctx.seed('replicasets', r);
    const orphan = pod('orphan');
    const strayed = pod('strayed', { owner: ownerRef('ReplicaSet', r), labels: { app: 'db' } });
    const foreign = pod('foreign', { owner: other });
    ctx.seed('pods', orphan, strayed, foreign);
    podPatcher.objects.set('default/orphan', orphan);
    podPatcher.objects.set('default/strayed', strayed);
    await c.sync('default/web');
    const patches = podPatcher.of('patch');
    expect(patches.map((p) => p.key).sort()).toEqual(['default/orphan', 'default/strayed']);
    const adopt = patches.find((p) => p.key === 'default/orphan')!.body as any;
    expect(adopt.metadata.ownerReferences).toEqual([ownerRef('ReplicaSet', r)]);
    expect(adopt.metadata.resourceVersion).toBe('1');
    const release = patches.find((p) => p.key === 'default/strayed')!.body as any;
    expect(release.metadata.ownerReferences).toEqual([]);
    // Adopted one counts: 2 wanted, 1 owned → one create.
    expect(podControl.created).toHaveLength(1);
  });

  it('computes status with minReadySeconds and requeues when a pod will become available', async () => {
    const { ctx, client, c } = setup();
    const r = rs('web', 3, { minReadySeconds: 10, template: template({ app: 'web', tier: 'fe' }) });
    const ref = ownerRef('ReplicaSet', r);
    ctx.seed('replicasets', r);
    ctx.seed(
      'pods',
      pod('long-ready', { owner: ref, labels: { app: 'web', tier: 'fe' }, readySince: testEpoch - 60_000 }),
      pod('just-ready', { owner: ref, labels: { app: 'web', tier: 'fe' }, readySince: testEpoch - 4_000 }),
      pod('not-ready', { owner: ref, ready: false }),
    );
    await c.sync('default/web');
    const status = (client.of('updateStatus')[0].body as ReplicaSet).status;
    expect(status).toEqual({
      replicas: 3,
      fullyLabeledReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 1,
      observedGeneration: 2,
    });
    // just-ready is available 6 s from now: the key comes back then, not before.
    expect(c.queue.len()).toBe(0);
    ctx.clock.step(5_999);
    expect(c.queue.len()).toBe(0);
    ctx.clock.step(1);
    expect(c.queue.len()).toBe(1);
  });

  it('writes no status when nothing changed', async () => {
    const { ctx, client, c } = setup();
    const r = rs('web', 1);
    const p = pod('a', { owner: ownerRef('ReplicaSet', r) });
    r.status = {
      replicas: 1,
      fullyLabeledReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      observedGeneration: 2,
    };
    ctx.seed('replicasets', r);
    ctx.seed('pods', p);
    await c.sync('default/web');
    expect(client.calls).toEqual([]);
  });
});
