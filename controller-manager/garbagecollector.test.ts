import { describe, expect, it } from 'vitest';
import type { KubeObject, OwnerReference } from '../api/meta.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { GarbageCollector } from './garbagecollector.js';

const ref = (owner: KubeObject, block = true): OwnerReference => ({
  apiVersion: owner.apiVersion!,
  kind: owner.kind!,
  name: owner.metadata.name!,
  uid: owner.metadata.uid!,
  controller: true,
  blockOwnerDeletion: block,
});

function setup() {
  const c = testCluster();
  const gc = new GarbageCollector(c.ctx);
  return { c, gc };
}

describe('GarbageCollector', () => {
  it('deletes a dependent whose owner is gone (also found at start, by a live lookup)', async () => {
    const { c, gc } = setup();
    const ghost = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'web-1', namespace: 'ns', uid: 'gone-uid' },
    };
    c.seed('pods', { metadata: { name: 'p', namespace: 'ns', ownerReferences: [ref(ghost)] } });
    const pod = c.api.get('pods', 'ns/p')!;
    await gc.sync(pod.metadata.uid!);
    expect(c.api.writes()).toEqual(['delete pods ns/p']);
    const del = c.api.actions.find((a) => a.verb === 'delete')!;
    expect(del.body).toMatchObject({
      propagationPolicy: 'Background',
      preconditions: { uid: pod.metadata.uid },
    });
    expect(c.api.actions.filter((a) => a.verb === 'get').map((a) => `${a.resource} ${a.key}`)).toEqual([
      'replicasets ns/web-1',
    ]);
  });

  it('treats an owner with the same name but another uid as gone', async () => {
    const { c, gc } = setup();
    c.seed('configmaps', { metadata: { name: 'owner', namespace: 'ns' } });
    const old = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner', namespace: 'ns', uid: 'older' },
    };
    c.seed('secrets', { metadata: { name: 's', namespace: 'ns', ownerReferences: [ref(old)] } });
    await gc.sync(c.api.get('secrets', 'ns/s')!.metadata.uid!);
    expect(c.api.writes()).toEqual(['delete secrets ns/s']);
  });

  it('keeps a dependent whose owner exists, dropping only its dangling references', async () => {
    const { c, gc } = setup();
    c.seed('deployments', { metadata: { name: 'web', namespace: 'ns' } });
    const live = c.api.get('deployments', 'ns/web')!;
    const ghost = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'old', namespace: 'ns', uid: 'x' },
    };
    c.seed('replicasets', {
      metadata: { name: 'rs', namespace: 'ns', ownerReferences: [ref(live), ref(ghost)] },
    });
    await gc.sync(c.api.get('replicasets', 'ns/rs')!.metadata.uid!);
    expect(c.api.writes()).toEqual(['patch replicasets ns/rs']);
    expect(c.api.get('replicasets', 'ns/rs')!.metadata.ownerReferences).toEqual([ref(live)]);
  });

  it('leaves dependents of kinds it cannot look up alone', async () => {
    const { c, gc } = setup();
    const crd = {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w', namespace: 'ns', uid: 'w1' },
    };
    c.seed('configmaps', { metadata: { name: 'cm', namespace: 'ns', ownerReferences: [ref(crd)] } });
    await gc.sync(c.api.get('configmaps', 'ns/cm')!.metadata.uid!);
    expect(c.api.writes()).toEqual([]);
  });

  it('orphan: removes the reference from each dependent, then the orphan finalizer', async () => {
    const { c, gc } = setup();
    c.seed('replicasets', {
      metadata: {
        name: 'rs',
        namespace: 'ns',
        finalizers: ['orphan'],
        deletionTimestamp: '2024-01-01T00:00:00Z',
      },
    });
    const owner = c.api.get('replicasets', 'ns/rs')!;
    const other = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'ns', uid: 'keep' },
    };
    c.seed(
      'pods',
      { metadata: { name: 'a', namespace: 'ns', ownerReferences: [ref(owner)] } },
      { metadata: { name: 'b', namespace: 'ns', ownerReferences: [ref(owner), ref(other, false)] } },
    );
    await gc.sync(owner.metadata.uid!);
    expect(c.api.writes().sort()).toEqual(['patch pods ns/a', 'patch pods ns/b', 'patch replicasets ns/rs']);
    expect(c.api.get('pods', 'ns/a')!.metadata.ownerReferences).toEqual([]);
    expect(c.api.get('pods', 'ns/b')!.metadata.ownerReferences).toEqual([ref(other, false)]);
    expect(c.api.get('replicasets', 'ns/rs')!.metadata.finalizers).toEqual([]);
  });

  it('foreground: deletes dependents first and keeps the finalizer until blocking ones are gone', async () => {
    const { c, gc } = setup();
    c.seed('deployments', {
      metadata: {
        name: 'web',
        namespace: 'ns',
        finalizers: ['foregroundDeletion'],
        deletionTimestamp: '2024-01-01T00:00:00Z',
      },
    });
    const owner = c.api.get('deployments', 'ns/web')!;
    c.seed('replicasets', { metadata: { name: 'rs', namespace: 'ns', ownerReferences: [ref(owner)] } });
    const rs = c.api.get('replicasets', 'ns/rs')!;
    await gc.sync(owner.metadata.uid!);
    // The owner waits; its dependent is queued for deletion.
    expect(c.api.writes()).toEqual([]);
    expect(gc.queue.len()).toBe(1);
    await gc.sync(rs.metadata.uid!);
    expect(c.api.writes()).toEqual(['delete replicasets ns/rs']);
    expect(c.api.actions.at(-1)?.body.propagationPolicy).toBe('Background');
    // Once the dependent is gone from the cache the finalizer comes off.
    c.informer('replicasets').store.remove('ns/rs');
    await gc.sync(owner.metadata.uid!);
    expect(c.api.writes()).toEqual(['delete replicasets ns/rs', 'patch deployments ns/web']);
    expect(c.api.get('deployments', 'ns/web')!.metadata.finalizers).toEqual([]);
  });

  it('foreground: a dependent with dependents of its own is deleted in the foreground too', async () => {
    const { c, gc } = setup();
    c.seed('deployments', {
      metadata: {
        name: 'web',
        namespace: 'ns',
        finalizers: ['foregroundDeletion'],
        deletionTimestamp: '2024-01-01T00:00:00Z',
      },
    });
    const owner = c.api.get('deployments', 'ns/web')!;
    c.seed('replicasets', { metadata: { name: 'rs', namespace: 'ns', ownerReferences: [ref(owner)] } });
    const rs = c.api.get('replicasets', 'ns/rs')!;
    c.seed('pods', { metadata: { name: 'p', namespace: 'ns', ownerReferences: [ref(rs)] } });
    await gc.sync(rs.metadata.uid!);
    // it keeps blocking the owner, so the Deployment goes only after the ReplicaSet
    expect(c.api.writes()).toEqual(['delete replicasets ns/rs']);
    expect(c.api.actions.at(-1)?.body.propagationPolicy).toBe('Foreground');
    expect(c.api.get('replicasets', 'ns/rs')!.metadata.ownerReferences?.[0].blockOwnerDeletion).toBe(true);
  });

  it('foreground: unblocks the owners when a dependent is itself deleting in the foreground (a possible circle)', async () => {
    const { c, gc } = setup();
    c.seed('deployments', {
      metadata: {
        name: 'web',
        namespace: 'ns',
        finalizers: ['foregroundDeletion'],
        deletionTimestamp: '2024-01-01T00:00:00Z',
      },
    });
    const owner = c.api.get('deployments', 'ns/web')!;
    c.seed('replicasets', { metadata: { name: 'rs', namespace: 'ns', ownerReferences: [ref(owner)] } });
    const rs = c.api.get('replicasets', 'ns/rs')!;
    c.seed('pods', {
      metadata: {
        name: 'p',
        namespace: 'ns',
        ownerReferences: [ref(rs)],
        finalizers: ['foregroundDeletion'],
        deletionTimestamp: '2024-01-01T00:00:00Z',
      },
    });
    await gc.sync(rs.metadata.uid!);
    expect(c.api.writes()).toEqual(['patch replicasets ns/rs', 'delete replicasets ns/rs']);
    expect(c.api.get('replicasets', 'ns/rs')!.metadata.ownerReferences?.[0].blockOwnerDeletion).toBe(false);
  });
});
