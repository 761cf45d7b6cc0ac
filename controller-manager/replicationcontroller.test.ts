import { describe, expect, it } from 'vitest';
import type { OwnerReference } from '../api/meta.js';
import type { ReplicaSet, ReplicationController } from '../api/objects.js';
import { FakeClient, FakePodControl, newTestContext, newUid } from '../testing/workload-fakes.js';
import { pod, template } from '../testing/workload-fixtures.js';
import { newReplicationManager } from './replicationcontroller.js';
import { workloadControllers } from './workload-controllers.js';

function rc(
  name: string,
  replicas: number,
  selector: Record<string, string> = { app: 'web' },
): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name, namespace: 'default', uid: newUid(), generation: 1, resourceVersion: '5' },
    spec: { replicas, selector, template: template() },
  };
}

const refTo = (o: ReplicationController): OwnerReference => ({
  apiVersion: 'v1',
  kind: 'ReplicationController',
  name: o.metadata.name!,
  uid: o.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

function setup() {
  const ctx = newTestContext();
  const podControl = new FakePodControl();
  const client = new FakeClient<ReplicaSet>();
  const podPatcher = new FakeClient<any>();
  const c = newReplicationManager(ctx, { podControl, client: client.asClient(), podPatcher });
  return { ctx, podControl, client, podPatcher, c };
}

describe('the ReplicationController manager (the ReplicaSet controller for core/v1 RCs)', () => {
  it('runs as `replicationcontroller` in --controllers, watching replicationcontrollers', () => {
    const c = workloadControllers.replicationcontroller(newTestContext());
    expect(c.name).toBe('replicationcontroller');
  });

  it('creates the missing pods with a v1 ReplicationController controller ref', async () => {
    const { ctx, podControl, client, c } = setup();
    const r = rc('web', 2);
    ctx.seed('replicationcontrollers', r);
    await c.sync('default/web');
    expect(podControl.created).toHaveLength(2);
    expect(podControl.created[0].metadata.generateName).toBe('web-');
    expect(podControl.created[0].metadata.ownerReferences).toEqual([refTo(r)]);
    const status = client.of('updateStatus')[0];
    expect(status.key).toBe('default/web');
    expect((status.body as ReplicaSet).status).toMatchObject({ replicas: 0, observedGeneration: 1 });
  });

  it('selects by the map of labels: adopts a matching orphan, leaves others and ReplicaSet pods alone', async () => {
    const { ctx, podControl, podPatcher, c } = setup();
    const r = rc('web', 2, { app: 'web', tier: 'fe' });
    ctx.seed('replicationcontrollers', r);
    const orphan = pod('orphan', { labels: { app: 'web', tier: 'fe', extra: 'x' } });
    const partial = pod('partial', { labels: { app: 'web' } });
    const strayed = pod('strayed', { owner: refTo(r), labels: { app: 'web' } });
    ctx.seed('pods', orphan, partial, strayed);
    podPatcher.objects.set('default/orphan', orphan);
    podPatcher.objects.set('default/strayed', strayed);
    await c.sync('default/web');
    const patches = podPatcher.of('patch');
    expect(patches.map((p) => p.key).sort()).toEqual(['default/orphan', 'default/strayed']);
    const adopt = patches.find((p) => p.key === 'default/orphan')!.body as any;
    expect(adopt.metadata.ownerReferences).toEqual([refTo(r)]);
    const release = patches.find((p) => p.key === 'default/strayed')!.body as any;
    expect(release.metadata.ownerReferences).toEqual([]);
    expect(podControl.created).toHaveLength(1);
  });

  it('scales down by deleting its own pods', async () => {
    const { ctx, podControl, c } = setup();
    const r = rc('web', 1);
    ctx.seed('replicationcontrollers', r);
    ctx.seed('pods', pod('a', { owner: refTo(r), nodeName: 'n1' }), pod('b', { owner: refTo(r) }));
    await c.sync('default/web');
    expect(podControl.deleted).toEqual(['default/b']);
  });
});
