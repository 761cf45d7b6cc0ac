import { describe, expect, it } from 'vitest';
import type { Deployment, ReplicaSet } from '../api/objects.js';
import { FakeClient, newTestContext, newUid, testEpoch } from '../testing/workload-fakes.js';
import { iso, ownerRef, template } from '../testing/workload-fixtures.js';
import { DeploymentController } from './deployment.js';
import {
  calculateStatus,
  fenceposts,
  planOldScaleDown,
  planProportional,
  withProgress,
} from './deployment-util.js';

function deployment(replicas: number, strategy: any = {}, image = 'v1'): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', uid: 'd-uid', generation: 1, resourceVersion: '3' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: template({ app: 'web' }, image),
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
        ...strategy,
      },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
  };
}

function replicaSet(
  name: string,
  d: Deployment,
  o: {
    replicas: number;
    available?: number;
    image?: string;
    revision?: number;
    created?: number;
    max?: number;
  },
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      uid: newUid(),
      resourceVersion: '7',
      creationTimestamp: iso(o.created ?? testEpoch),
      ownerReferences: [ownerRef('Deployment', d)],
      labels: { app: 'web', 'pod-template-hash': name },
      annotations: {
        'deployment.kubernetes.io/revision': String(o.revision ?? 1),
        'deployment.kubernetes.io/desired-replicas': String(d.spec!.replicas),
        ...(o.max ? { 'deployment.kubernetes.io/max-replicas': String(o.max) } : {}),
      },
    },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': name } },
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': name } },
        spec: template({}, o.image ?? 'v1').spec,
      },
    },
    status: {
      replicas: o.replicas,
      readyReplicas: o.available ?? o.replicas,
      availableReplicas: o.available ?? o.replicas,
    },
  };
}

function setup(d: Deployment, ...rss: ReplicaSet[]) {
  const ctx = newTestContext();
  const deployments = new FakeClient<Deployment>();
  const replicaSets = new FakeClient<ReplicaSet>();
  const c = new DeploymentController(ctx, {
    deployments: deployments.asClient(),
    replicaSets: replicaSets.asClient(),
    rsPatcher: replicaSets,
  });
  ctx.seed('deployments', d);
  ctx.seed('replicasets', ...rss);
  return { ctx, c, deployments, replicaSets };
}

describe('fenceposts', () => {
  it.each([
    {
      name: 'percent rounds surge up and unavailable down',
      replicas: 10,
      surge: '25%',
      unav: '25%',
      want: { surge: 3, unavailable: 2 },
    },
    { name: 'numbers as given', replicas: 5, surge: 1, unav: 0, want: { surge: 1, unavailable: 0 } },
    {
      name: 'both zero makes one unavailable',
      replicas: 5,
      surge: 0,
      unav: '0%',
      want: { surge: 0, unavailable: 1 },
    },
  ])('$name', ({ replicas, surge, unav, want }) => {
    const d = deployment(replicas, { rollingUpdate: { maxSurge: surge, maxUnavailable: unav } });
    expect(fenceposts(d)).toEqual(want);
  });
});

describe('DeploymentController', () => {
  it('makes the first ReplicaSet with the pod-template-hash, revision 1 and all replicas', async () => {
    const d = deployment(4);
    const { c, replicaSets, deployments } = setup(d);
    await c.sync('default/web');
    const created = replicaSets.of('create')[0].body as ReplicaSet;
    const hash = created.metadata.labels!['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(created.metadata.name).toBe(`web-${hash}`);
    expect(created.spec!.selector!.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(created.spec!.template!.metadata!.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(created.spec!.replicas).toBe(4);
    expect(created.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '4',
      'deployment.kubernetes.io/max-replicas': '5',
    });
    expect(created.metadata.ownerReferences![0]).toMatchObject({
      kind: 'Deployment',
      uid: 'd-uid',
      controller: true,
    });
    const updated = deployments.of('update')[0].body as Deployment;
    expect(updated.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    const status = deployments.of('updateStatus').at(-1)!.body as Deployment;
    expect(status.status!.conditions!.find((x) => x.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetCreated',
    });
  });

  it('with maxUnavailable 0 surges one new pod and scales the old only once it is available', async () => {
    const d = deployment(5, { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }, 'v2');
    const old = replicaSet('old', d, { replicas: 5, image: 'v1' });
    const first = setup(d, old);
    await first.c.sync('default/web');
    const created = first.replicaSets.of('create')[0].body as ReplicaSet;
    expect(created.spec!.replicas).toBe(1);
    expect(created.metadata.annotations!['deployment.kubernetes.io/revision']).toBe('2');
    expect(first.replicaSets.of('update')).toEqual([]);

    // The new pod is not available yet: the old ReplicaSet keeps all 5.
    const newRS = { ...created, metadata: { ...created.metadata, creationTimestamp: iso(testEpoch + 1000) } };
    const notYet = setup(d, old, { ...newRS, status: { replicas: 1, availableReplicas: 0 } });
    await notYet.c.sync('default/web');
    expect(notYet.replicaSets.of('update')).toEqual([]);

    // Available now: one old pod may go.
    const ready = setup(d, old, {
      ...newRS,
      status: { replicas: 1, availableReplicas: 1, readyReplicas: 1 },
    });
    await ready.c.sync('default/web');
    const scaled = ready.replicaSets.of('update').map((u) => u.body as ReplicaSet);
    expect(scaled.map((r) => [r.metadata.name, r.spec!.replicas])).toEqual([['old', 4]]);
  });

  it('Recreate scales the old ReplicaSets to zero before making the new one', async () => {
    const d = deployment(3, { type: 'Recreate', rollingUpdate: undefined }, 'v2');
    const old = replicaSet('old', d, { replicas: 3, image: 'v1' });
    const { c, replicaSets } = setup(d, old);
    await c.sync('default/web');
    expect(replicaSets.of('create')).toEqual([]);
    expect((replicaSets.of('update')[0].body as ReplicaSet).spec!.replicas).toBe(0);
  });

  it('a rollback makes the old ReplicaSet new again with the next revision', async () => {
    const d = deployment(2, {}, 'v1');
    const v1 = replicaSet('v1rs', d, { replicas: 0, image: 'v1', revision: 1 });
    const v2 = replicaSet('v2rs', d, { replicas: 2, image: 'v2', revision: 2, created: testEpoch + 1000 });
    const { c, replicaSets } = setup(d, v1, v2);
    await c.sync('default/web');
    const updates = replicaSets.of('update').map((u) => u.body as ReplicaSet);
    expect(updates[0].metadata.name).toBe('v1rs');
    expect(updates[0].metadata.annotations!['deployment.kubernetes.io/revision']).toBe('3');
    expect(replicaSets.of('create')).toEqual([]);
  });

  it('deletes empty ReplicaSets beyond revisionHistoryLimit, oldest revision first', async () => {
    const d = deployment(1);
    d.spec!.revisionHistoryLimit = 1;
    const cur = replicaSet('cur', d, { replicas: 1, image: 'v1', revision: 3, created: testEpoch + 3000 });
    cur.metadata.annotations!['deployment.kubernetes.io/max-replicas'] = '2';
    const r1 = replicaSet('r1', d, { replicas: 0, image: 'a', revision: 1 });
    const r2 = replicaSet('r2', d, { replicas: 0, image: 'b', revision: 2, created: testEpoch + 1000 });
    const { c, replicaSets } = setup(d, cur, r1, r2);
    await c.sync('default/web');
    expect(replicaSets.of('delete').map((x) => x.key)).toEqual(['default/r1']);
  });
});

describe('planning', () => {
  it('spreads a resize over the ReplicaSets of a rollout in proportion', () => {
    // 10 replicas, maxSurge 3 → 13 allowed; resized to 20 → 23 allowed: +10 spread 8:5.
    const d = deployment(20, { rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } });
    const a = replicaSet('a', d, { replicas: 8, max: 13 });
    const b = replicaSet('b', d, { replicas: 5, max: 13, created: testEpoch + 1 });
    const sizes = planProportional(d, [a, b]);
    expect(Object.fromEntries(sizes)).toEqual({ a: 14, b: 9 });
    expect(sizes.get('a')! + sizes.get('b')!).toBe(23);
  });

  it('scales old ReplicaSets down only as far as availability allows', () => {
    const d = deployment(5, { rollingUpdate: { maxSurge: 1, maxUnavailable: 1 } });
    const old = replicaSet('old', d, { replicas: 5, available: 5 });
    const newRS = replicaSet('new', d, { replicas: 1, available: 0, created: testEpoch + 1 });
    expect(Object.fromEntries(planOldScaleDown(d, newRS, [old]))).toEqual({ old: 4 });
  });

  it('reports ProgressDeadlineExceeded after progressDeadlineSeconds without progress', () => {
    const d = deployment(2);
    d.spec!.progressDeadlineSeconds = 60;
    const rs = replicaSet('new', d, { replicas: 2, available: 0 });
    d.status = {
      replicas: 2,
      updatedReplicas: 2,
      availableReplicas: 0,
      conditions: [
        { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastUpdateTime: iso(testEpoch) },
      ],
    };
    const before = withProgress(d, calculateStatus(d, [rs], rs, testEpoch + 59_000), rs, testEpoch + 59_000);
    expect(before.conditions!.find((x) => x.type === 'Progressing')!.reason).toBe('ReplicaSetUpdated');
    const after = withProgress(d, calculateStatus(d, [rs], rs, testEpoch + 61_000), rs, testEpoch + 61_000);
    expect(after.conditions!.find((x) => x.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(after.conditions!.find((x) => x.type === 'Available')).toMatchObject({ status: 'False' });
  });
});
