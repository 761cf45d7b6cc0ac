import { describe, expect, it } from 'vitest';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from '../api/objects.js';
import { controllerRevisionHashLabel, revisionData } from '../api/rollout.js';
import { newAlreadyExists } from '../api/status.js';
import { FakeClient, FakePodControl, newTestContext, newUid, testEpoch } from '../testing/workload-fakes.js';
import { ownerRef, pod, template } from '../testing/workload-fixtures.js';
import { StatefulSetController } from './statefulset.js';
import { podIndexLabel, podNameLabel, updateRevisionOf } from './statefulset-util.js';

function sts(replicas: number, extra: Partial<NonNullable<StatefulSet['spec']>> = {}): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: newUid(), generation: 3, resourceVersion: '8' },
    spec: {
      replicas,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'web' } },
      template: template(),
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...extra,
    },
  };
}

/** Pod `web-<ordinal>` of `s`: Running and Ready at the current revision unless told otherwise. */
function member(
  s: StatefulSet,
  ordinal: number,
  o: Parameters<typeof pod>[1] & { revision?: string } = {},
): Pod {
  return pod(`web-${ordinal}`, {
    owner: ownerRef('StatefulSet', s),
    nodeName: 'n1',
    labels: { app: 'web', [controllerRevisionHashLabel]: o.revision ?? updateRevisionOf(s) },
    ...o,
  });
}

class FakeClaimClient extends FakeClient<PersistentVolumeClaim> {
  taken = new Set<string>();
  override in(ns?: string): FakeClaimClient {
    const v = new FakeClaimClient(ns);
    v.calls = this.calls;
    v.taken = this.taken;
    return v;
  }
  override async create(obj: PersistentVolumeClaim): Promise<PersistentVolumeClaim> {
    if (this.taken.has(obj.metadata.name!))
      throw newAlreadyExists({ group: '', resource: 'persistentvolumeclaims' }, obj.metadata.name!);
    return super.create(obj);
  }
}

/** A pod control whose creates of names in `taken` fail with AlreadyExists. */
class NamedPodControl extends FakePodControl {
  taken = new Set<string>();
  order: string[] = [];
  constructor(private readonly claimCalls: { key: string }[]) {
    super();
  }
  override async createPod(p: Pod, owner: any): Promise<Pod> {
    // Records how many claims existed when each pod was made.
    this.order.push(`${p.metadata.name}@${this.claimCalls.length}`);
    if (this.taken.has(p.metadata.name!))
      throw newAlreadyExists({ group: '', resource: 'pods' }, p.metadata.name!);
    return super.createPod(p, owner);
  }
}

function revision(s: StatefulSet, name: string, number: number, image = 'busybox'): ControllerRevision {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: { name, namespace: 'default', uid: newUid(), ownerReferences: [ownerRef('StatefulSet', s)] },
    data: revisionData(template({ app: 'web' }, image)),
    revision: number,
  };
}

function setup(
  s: StatefulSet,
  pods: Pod[] = [],
  claims: PersistentVolumeClaim[] = [],
  revisions: ControllerRevision[] = [],
) {
  const ctx = newTestContext();
  const client = new FakeClient<StatefulSet>();
  const claimClient = new FakeClaimClient();
  const podControl = new NamedPodControl(claimClient.calls);
  const revisionClient = new FakeClient<ControllerRevision>();
  const podPatcher = new FakeClient<any>();
  const c = new StatefulSetController(ctx, {
    podControl,
    client: client.asClient(),
    claimClient: claimClient.asClient(),
    revisionClient: revisionClient.asClient(),
    podPatcher,
  });
  ctx.seed('statefulsets', s);
  ctx.seed('pods', ...pods);
  ctx.seed('persistentvolumeclaims', ...claims);
  ctx.seed('controllerrevisions', ...revisions);
  const status = () => (client.of('updateStatus').at(-1)?.body as StatefulSet | undefined)?.status;
  const names = () => podControl.created.map((p) => p.metadata.name);
  return { ctx, client, claimClient, revisionClient, podControl, podPatcher, c, status, names };
}

describe('StatefulSetController', () => {
  it('OrderedReady makes web-0 first, with its claim before it, and its stable identity', async () => {
    const s = sts(3);
    const { podControl, claimClient, c, names, ctx } = setup(s);
    await c.sync('default/web');
    expect(names()).toEqual(['web-0']);
    expect(podControl.order).toEqual(['web-0@1']);
    const claim = claimClient.of('create')[0].body as PersistentVolumeClaim;
    expect(claim.metadata).toMatchObject({
      name: 'data-web-0',
      namespace: 'default',
      labels: { app: 'web' },
    });
    expect(claim.metadata.ownerReferences).toBeUndefined();
    expect(claim.spec?.resources?.requests).toEqual({ storage: '1Gi' });
    const p = podControl.created[0];
    expect(p.metadata.generateName).toBeUndefined();
    expect(p.metadata.labels).toEqual({
      app: 'web',
      [podNameLabel]: 'web-0',
      [podIndexLabel]: '0',
      [controllerRevisionHashLabel]: updateRevisionOf(s),
    });
    expect(p.spec).toMatchObject({ hostname: 'web-0', subdomain: 'nginx' });
    expect(p.spec?.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-web-0' } }]);
    expect(ctx.events.map((e) => e.reason)).toEqual(['SuccessfulCreate']);
  });

  it.each([
    { name: 'pending', o: { phase: 'Pending', ready: false } },
    { name: 'running but not ready', o: { ready: false } },
    { name: 'terminating', o: { deleting: true } },
  ])('OrderedReady waits while web-0 is $name', async ({ o }) => {
    const s = sts(3);
    const { c, names } = setup(s, [member(s, 0, o)]);
    await c.sync('default/web');
    expect(names()).toEqual([]);
  });

  it('OrderedReady makes web-1 once web-0 is Running and Ready, reusing a claim that exists', async () => {
    const s = sts(3);
    const kept: PersistentVolumeClaim = {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data-web-1', namespace: 'default', uid: newUid(), resourceVersion: '1' },
    };
    const { c, names, claimClient, podControl } = setup(s, [member(s, 0)], [kept]);
    await c.sync('default/web');
    expect(names()).toEqual(['web-1']);
    expect(claimClient.calls).toEqual([]);
    expect(podControl.created[0].spec?.volumes?.[0].persistentVolumeClaim?.claimName).toBe('data-web-1');
  });

  it('Parallel makes every missing pod at once', async () => {
    const s = sts(3, { podManagementPolicy: 'Parallel' });
    const { c, names } = setup(s, [member(s, 1, { phase: 'Pending', ready: false })]);
    await c.sync('default/web');
    expect(names().sort()).toEqual(['web-0', 'web-2']);
  });

  it('treats AlreadyExists from a claim or a pod as made already', async () => {
    const s = sts(1);
    const { c, claimClient, podControl } = setup(s);
    claimClient.taken.add('data-web-0');
    podControl.taken.add('web-0');
    await c.sync('default/web');
    expect(c.expectations.pending('default/web')).toEqual({ adds: 0, deletes: 0 });
  });

  it('OrderedReady scales down from the highest ordinal, one at a time', async () => {
    const s = sts(1);
    const { c, podControl } = setup(s, [member(s, 0), member(s, 1), member(s, 2)]);
    await c.sync('default/web');
    expect(podControl.deleted).toEqual(['default/web-2']);
  });

  it('OrderedReady does not scale down while another pod is unhealthy; Parallel does', async () => {
    for (const policy of ['OrderedReady', 'Parallel']) {
      const s = sts(1, { podManagementPolicy: policy });
      const { c, podControl } = setup(s, [member(s, 0, { ready: false }), member(s, 1), member(s, 2)]);
      await c.sync('default/web');
      expect(podControl.deleted.sort()).toEqual(
        policy === 'Parallel' ? ['default/web-1', 'default/web-2'] : [],
      );
    }
  });

  it('deletes a failed pod so that it is made again', async () => {
    const s = sts(2);
    const { c, podControl, names } = setup(s, [member(s, 0, { phase: 'Failed' }), member(s, 1)]);
    await c.sync('default/web');
    expect(podControl.deleted).toEqual(['default/web-0']);
    expect(names()).toEqual([]);
  });

  it('rolls out from the highest ordinal, waiting for each replacement to be healthy', async () => {
    const s = sts(3);
    const old = 'web-old';
    const start = [
      member(s, 0, { revision: old }),
      member(s, 1, { revision: old }),
      member(s, 2, { revision: old }),
    ];
    const first = setup(s, start);
    await first.c.sync('default/web');
    expect(first.podControl.deleted).toEqual(['default/web-2']);
    // web-2 was remade at the new revision but is not ready yet: wait.
    const waiting = setup(s, [start[0], start[1], member(s, 2, { ready: false })]);
    await waiting.c.sync('default/web');
    expect(waiting.podControl.deleted).toEqual([]);
    // web-2 is healthy: web-1 is next.
    const next = setup(s, [start[0], start[1], member(s, 2)]);
    await next.c.sync('default/web');
    expect(next.podControl.deleted).toEqual(['default/web-1']);
  });

  it('leaves pods below the partition at the old revision', async () => {
    const s = sts(3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    s.status = { currentRevision: 'web-old' };
    const { c, podControl, status } = setup(s, [
      member(s, 0, { revision: 'web-old' }),
      member(s, 1, { revision: 'web-old' }),
      member(s, 2),
    ]);
    await c.sync('default/web');
    expect(podControl.deleted).toEqual([]);
    expect(status()).toMatchObject({ currentReplicas: 2, updatedReplicas: 1, currentRevision: 'web-old' });
  });

  it('OnDelete never deletes old pods', async () => {
    const s = sts(2, { updateStrategy: { type: 'OnDelete' } });
    const { c, podControl } = setup(s, [
      member(s, 0, { revision: 'web-old' }),
      member(s, 1, { revision: 'web-old' }),
    ]);
    await c.sync('default/web');
    expect(podControl.deleted).toEqual([]);
  });

  it('writes status, and moves currentRevision to updateRevision when every pod runs it and is ready', async () => {
    const s = sts(3, { minReadySeconds: 10 });
    s.status = { currentRevision: 'web-old' };
    const pods = [
      member(s, 0, { readySince: testEpoch - 60_000 }),
      member(s, 1, { readySince: testEpoch - 1_000 }),
      member(s, 2, { revision: 'web-old', ready: false }),
    ];
    const { c, status, ctx } = setup(s, pods);
    await c.sync('default/web');
    expect(status()).toEqual({
      observedGeneration: 3,
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 1,
      currentReplicas: 1,
      updatedReplicas: 2,
      currentRevision: 'web-old',
      updateRevision: updateRevisionOf(s),
    });
    ctx.unseed('pods', pods[2]);
    ctx.seed('pods', member(s, 2));
    c.expectations.delete('default/web');
    await c.sync('default/web');
    expect(status()).toMatchObject({
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: updateRevisionOf(s),
    });
  });

  it('ignores pods that are not <set>-<ordinal>, and adopts an orphan that is one', async () => {
    const s = sts(2);
    const stray = pod('web-x', { owner: ownerRef('StatefulSet', s) });
    const orphanStray = pod('web-extra');
    const orphan = pod('web-1', {
      labels: { app: 'web', [controllerRevisionHashLabel]: updateRevisionOf(s) },
      nodeName: 'n1',
    });
    const { c, podControl, names, podPatcher } = setup(s, [member(s, 0), stray, orphanStray, orphan]);
    await c.sync('default/web');
    expect(podPatcher.of('patch').map((x) => x.key)).toEqual(['default/web-1']);
    expect(podControl.deleted).toEqual([]);
    expect(names()).toEqual([]);
  });

  it('records its template as ControllerRevision 1, a patch kubectl rollout undo can apply', async () => {
    const s = sts(1);
    const { c, revisionClient } = setup(s);
    await c.sync('default/web');
    const made = revisionClient.of('create').map((x) => x.body as ControllerRevision);
    expect(made).toHaveLength(1);
    expect(made[0].metadata).toMatchObject({
      name: updateRevisionOf(s),
      labels: { app: 'web' },
      ownerReferences: [ownerRef('StatefulSet', s)],
    });
    expect(made[0].revision).toBe(1);
    expect(made[0].data).toEqual({ spec: { template: { ...template(), $patch: 'replace' } } });
  });

  it('remakes a pod below the partition from the current revision, and one above from the update revision', async () => {
    const s = sts(3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
    s.status = { currentRevision: 'web-old' };
    const old = revision(s, 'web-old', 1, 'nginx:1');
    const upd = revision(s, updateRevisionOf(s), 2);
    const below = setup(s, [member(s, 1, { revision: 'web-old' }), member(s, 2)], [], [old, upd]);
    await below.c.sync('default/web');
    expect(below.names()).toEqual(['web-0']);
    const p = below.podControl.created[0];
    expect(p.spec?.containers?.[0].image).toBe('nginx:1');
    expect(p.metadata.labels?.[controllerRevisionHashLabel]).toBe('web-old');
    const above = setup(
      s,
      [member(s, 0, { revision: 'web-old' }), member(s, 1, { revision: 'web-old' })],
      [],
      [old, upd],
    );
    await above.c.sync('default/web');
    expect(above.podControl.created[0].spec?.containers?.[0].image).toBe('busybox');
    expect(above.podControl.created[0].metadata.labels?.[controllerRevisionHashLabel]).toBe(
      updateRevisionOf(s),
    );
    expect(above.revisionClient.calls.filter((x) => x.verb !== 'delete')).toEqual([]);
  });

  it('renumbers an older revision equal to the template as the newest (a rollback)', async () => {
    const s = sts(1);
    const { c, revisionClient } = setup(
      s,
      [member(s, 0)],
      [],
      [revision(s, updateRevisionOf(s), 1), revision(s, 'web-b', 2)],
    );
    await c.sync('default/web');
    expect(revisionClient.of('create')).toEqual([]);
    expect(revisionClient.of('patch')).toEqual([
      { verb: 'patch', key: `default/${updateRevisionOf(s)}`, body: { revision: 3 } },
    ]);
  });

  it('deletes the oldest unused revisions beyond revisionHistoryLimit', async () => {
    const s = sts(1, { revisionHistoryLimit: 1 });
    const history = [
      revision(s, 'web-a', 1),
      revision(s, 'web-b', 2),
      revision(s, 'web-c', 3),
      revision(s, updateRevisionOf(s), 4),
    ];
    const { c, revisionClient } = setup(s, [member(s, 0)], [], history);
    await c.sync('default/web');
    expect(revisionClient.of('delete').map((x) => x.key)).toEqual(['default/web-a', 'default/web-b']);
  });
});
