import { describe, expect, it } from 'vitest';
import type { ControllerRevision, DaemonSet, Node, Pod } from '../api/objects.js';
import { controllerRevisionHashLabel, revisionData } from '../api/rollout.js';
import type { Taint } from '../api/types/node.js';
import { FakeClient, FakePodControl, newTestContext, newUid, testEpoch } from '../testing/workload-fakes.js';
import { ownerRef, pod, template } from '../testing/workload-fixtures.js';
import { DaemonSetController } from './daemonset.js';
import {
  currentHash,
  daemonTolerations,
  podsByNode,
  podsToRollOut,
  targetNodeName,
} from './daemonset-util.js';

function ds(extra: Partial<NonNullable<DaemonSet['spec']>> = {}): DaemonSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default', uid: newUid(), generation: 4, resourceVersion: '9' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: template(),
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      ...extra,
    },
  };
}

function node(name: string, o: { labels?: Record<string, string>; taints?: Taint[] } = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: newUid(),
      resourceVersion: '1',
      labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) },
    },
    spec: { taints: o.taints },
  };
}

/** A daemon pod of `d` bound to `nodeName`, of the current template unless `hash` says otherwise. */
function daemonPod(
  d: DaemonSet,
  name: string,
  nodeName: string,
  o: Parameters<typeof pod>[1] & { hash?: string } = {},
): Pod {
  return pod(name, {
    owner: ownerRef('DaemonSet', d),
    nodeName,
    labels: { app: 'web', [controllerRevisionHashLabel]: o.hash ?? currentHash(d) },
    ...o,
  });
}

function setup(d: DaemonSet, nodes: Node[], pods: Pod[] = []) {
  const ctx = newTestContext();
  const podControl = new FakePodControl();
  const client = new FakeClient<DaemonSet>();
  const revisionClient = new FakeClient<ControllerRevision>();
  const c = new DaemonSetController(ctx, {
    podControl,
    client: client.asClient(),
    podPatcher: new FakeClient<any>(),
    revisionClient: revisionClient.asClient(),
  });
  ctx.seed('daemonsets', d);
  ctx.seed('nodes', ...nodes);
  ctx.seed('pods', ...pods);
  const status = () => (client.of('updateStatus').at(-1)?.body as DaemonSet | undefined)?.status;
  return { ctx, podControl, client, revisionClient, c, status };
}

describe('DaemonSetController', () => {
  it('creates one pod per fitting node, pinned by node affinity, with the daemon tolerations, and not twice', async () => {
    const d = ds({
      template: { ...template(), spec: { ...template().spec, nodeSelector: { role: 'worker' } } },
    });
    const nodes = [
      node('n1', { labels: { role: 'worker' } }),
      node('n2', {
        labels: { role: 'worker' },
        taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }],
      }),
      node('n3', {
        labels: { role: 'worker' },
        taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }],
      }),
      node('n4', { labels: { role: 'edge' } }),
    ];
    const { podControl, c, status } = setup(d, nodes);
    await c.sync('default/agent');
    // n1, and n2 (cordoned, tolerated); not n3 (untolerated taint) nor n4 (selector).
    expect(podControl.created.map(targetNodeName).sort()).toEqual(['n1', 'n2']);
    const p = podControl.created[0];
    expect(p.metadata.generateName).toBe('agent-');
    expect(p.metadata.labels).toEqual({ app: 'web', [controllerRevisionHashLabel]: currentHash(d) });
    expect(p.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'DaemonSet',
      name: 'agent',
      controller: true,
    });
    expect(p.spec?.nodeName).toBeUndefined();
    expect(p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toEqual({
      nodeSelectorTerms: [
        { matchFields: [{ key: 'metadata.name', operator: 'In', values: [targetNodeName(p)] }] },
      ],
    });
    expect(p.spec?.tolerations).toEqual(daemonTolerations);
    expect(status()).toMatchObject({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 0,
      observedGeneration: 4,
    });
    await c.sync('default/agent');
    expect(podControl.created).toHaveLength(2);
  });

  it('runs on a tainted node when the template tolerates the taint', async () => {
    const d = ds({
      template: {
        ...template(),
        spec: { ...template().spec, tolerations: [{ key: 'dedicated', operator: 'Exists' }] },
      },
    });
    const { podControl, c } = setup(d, [
      node('n3', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] }),
    ]);
    await c.sync('default/agent');
    expect(podControl.created.map(targetNodeName)).toEqual(['n3']);
    expect(podControl.created[0].spec?.tolerations?.[0]).toEqual({ key: 'dedicated', operator: 'Exists' });
  });

  it('keeps a pod on a node newly tainted NoSchedule but removes it for NoExecute, a selector mismatch or a gone node', async () => {
    const d = ds({
      template: { ...template(), spec: { ...template().spec, nodeSelector: { role: 'worker' } } },
    });
    const w = { role: 'worker' };
    const nodes = [
      node('keep', { labels: w, taints: [{ key: 'x', effect: 'NoSchedule' }] }),
      node('evict', { labels: w, taints: [{ key: 'x', effect: 'NoExecute' }] }),
      node('relabelled', { labels: { role: 'edge' } }),
    ];
    const pods = ['keep', 'evict', 'relabelled', 'gone'].map((n) => daemonPod(d, `agent-${n}`, n));
    const { podControl, c, status } = setup(d, nodes, pods);
    await c.sync('default/agent');
    expect(podControl.deleted.sort()).toEqual([
      'default/agent-evict',
      'default/agent-gone',
      'default/agent-relabelled',
    ]);
    expect(podControl.created).toEqual([]);
    expect(status()).toMatchObject({ desiredNumberScheduled: 0, numberMisscheduled: 3 });
  });

  it('replaces a failed pod and deletes a duplicate, keeping the oldest', async () => {
    const d = ds();
    const pods = [
      daemonPod(d, 'failed', 'n1', { phase: 'Failed' }),
      daemonPod(d, 'old', 'n2', { created: testEpoch - 10_000 }),
      daemonPod(d, 'dup', 'n2', { created: testEpoch }),
    ];
    const { ctx, podControl, c } = setup(d, [node('n1'), node('n2')], pods);
    await c.sync('default/agent');
    expect(podControl.deleted.sort()).toEqual(['default/dup', 'default/failed']);
    expect(podControl.created).toEqual([]);
    // Once the failed pod is gone, n1 gets a new one.
    ctx.unseed('pods', pods[0]);
    ctx.unseed('pods', pods[2]);
    c.expectations.delete('default/agent');
    await c.sync('default/agent');
    expect(podControl.created.map(targetNodeName)).toEqual(['n1']);
  });

  it('waits for a terminating pod to go before making its replacement', async () => {
    const d = ds();
    const { podControl, c } = setup(d, [node('n1')], [daemonPod(d, 'bye', 'n1', { deleting: true })]);
    await c.sync('default/agent');
    expect(podControl.created).toEqual([]);
  });

  it('rolls out a new template deleting at most maxUnavailable available old pods at a time', async () => {
    const d = ds();
    const old = 'oldhash';
    const pods = ['n1', 'n2', 'n3'].map((n) => daemonPod(d, `agent-${n}`, n, { hash: old }));
    const { podControl, c, status } = setup(d, [node('n1'), node('n2'), node('n3')], pods);
    await c.sync('default/agent');
    expect(podControl.deleted).toHaveLength(1);
    expect(status()).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      updatedNumberScheduled: 0,
      numberAvailable: 3,
    });
    // While the deletion is in flight nothing else happens.
    await c.sync('default/agent');
    expect(podControl.deleted).toHaveLength(1);
  });

  it('OnDelete leaves old pods alone and counts them as not updated', async () => {
    const d = ds({ updateStrategy: { type: 'OnDelete' } });
    const pods = [daemonPod(d, 'a', 'n1', { hash: 'oldhash' }), daemonPod(d, 'b', 'n2')];
    const { podControl, c, status } = setup(d, [node('n1'), node('n2')], pods);
    await c.sync('default/agent');
    expect(podControl.deleted).toEqual([]);
    expect(status()).toEqual({
      desiredNumberScheduled: 2,
      currentNumberScheduled: 2,
      numberMisscheduled: 0,
      numberReady: 2,
      numberAvailable: 2,
      updatedNumberScheduled: 1,
      numberUnavailable: 0,
      observedGeneration: 4,
    });
  });

  it('counts ready and available with minReadySeconds, and requeues when a pod becomes available', async () => {
    const d = ds({ minReadySeconds: 30 });
    const pods = [
      daemonPod(d, 'a', 'n1', { readySince: testEpoch - 60_000 }),
      daemonPod(d, 'b', 'n2', { readySince: testEpoch - 10_000 }),
      daemonPod(d, 'c', 'n3', { ready: false }),
    ];
    const { ctx, c, status } = setup(d, [node('n1'), node('n2'), node('n3')], pods);
    await c.sync('default/agent');
    expect(status()).toMatchObject({ numberReady: 2, numberAvailable: 1, numberUnavailable: 2 });
    ctx.clock.step(19_999);
    expect(c.queue.len()).toBe(0);
    ctx.clock.step(1);
    expect(c.queue.len()).toBe(1);
  });
});

describe('DaemonSet history', () => {
  it('records the template as a ControllerRevision and drops unused ones beyond the limit', async () => {
    const d = ds({ revisionHistoryLimit: 1 });
    const old = (name: string, n: number): ControllerRevision => ({
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name, namespace: 'default', uid: newUid(), ownerReferences: [ownerRef('DaemonSet', d)] },
      data: revisionData(template()),
      revision: n,
    });
    const { ctx, c, revisionClient } = setup(d, [node('n1')], [daemonPod(d, 'a', 'n1', { hash: 'inuse' })]);
    ctx.seed('controllerrevisions', old('agent-x', 1), old('agent-y', 2), old('agent-inuse', 3));
    await c.sync('default/agent');
    const made = revisionClient.of('create').map((x) => x.body as ControllerRevision);
    expect(made.map((r) => [r.metadata.name, r.revision])).toEqual([[`agent-${currentHash(d)}`, 4]]);
    expect(made[0].data).toEqual(revisionData(d.spec?.template));
    // agent-inuse is what the pod runs; of x and y one may stay.
    expect(revisionClient.of('delete').map((x) => x.key)).toEqual(['default/agent-x']);
  });
});

describe('podsToRollOut', () => {
  const d = ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } });
  const h = currentHash(d);
  const nodes = ['n1', 'n2', 'n3', 'n4'];
  const roll = (pods: Pod[]) =>
    podsToRollOut(d, nodes, podsByNode(pods), h, testEpoch)
      .map((p) => p.metadata.name)
      .sort();

  it.each([
    {
      name: 'half of 4 available old pods',
      pods: nodes.map((n) => daemonPod(d, n, n, { hash: 'old' })),
      want: ['n1', 'n2'],
    },
    {
      name: 'an unavailable old pod always, and it uses up the budget',
      pods: [
        daemonPod(d, 'n1', 'n1', { hash: 'old', ready: false }),
        ...['n2', 'n3', 'n4'].map((n) => daemonPod(d, n, n, { hash: 'old' })),
      ],
      want: ['n1', 'n2'],
    },
    {
      name: 'nothing while two nodes have no available pod',
      pods: [
        daemonPod(d, 'n1', 'n1', { ready: false }),
        ...['n3', 'n4'].map((n) => daemonPod(d, n, n, { hash: 'old' })),
      ],
      want: [],
    },
    { name: 'nothing when all are updated', pods: nodes.map((n) => daemonPod(d, n, n)), want: [] },
  ])('$name', ({ pods, want }) => {
    expect(roll(pods)).toEqual(want);
  });
});
