import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import type { Node } from '../api/objects.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { NodeLifecycleController } from './nodelifecycle.js';
import { TokenBucket, tolerationMs, zoneOf, zoneQPS, zoneStates } from './nodelifecycle-taints.js';

const unreachable = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };

function readyNode(name: string, ready = 'True', zone = 'z1'): Node {
  return {
    metadata: { name, labels: { 'topology.kubernetes.io/zone': zone } },
    spec: {},
    status: { conditions: [{ type: 'Ready', status: ready, lastHeartbeatTime: '2024-01-01T00:00:00Z' }] },
  };
}

const lease = (name: string, renewTime: string): KubeObject => ({
  metadata: { name, namespace: 'kube-node-lease' },
  spec: { holderIdentity: name, renewTime },
});

function pod(name: string, node: string, tolerationSeconds?: number): KubeObject {
  return {
    metadata: { name, namespace: 'ns' },
    spec: {
      nodeName: node,
      containers: [{ name: 'c', image: 'x' }],
      tolerations:
        tolerationSeconds === undefined
          ? []
          : [{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds }],
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

describe('tolerationMs', () => {
  it.each([
    { name: 'untolerated taint: now', tolerations: [], want: 0 },
    {
      name: 'seconds given',
      tolerations: [{ key: unreachable.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }],
      want: 30_000,
    },
    { name: 'tolerates forever', tolerations: [{ operator: 'Exists' }], want: Number.POSITIVE_INFINITY },
    {
      name: 'wrong effect',
      tolerations: [{ key: unreachable.key, operator: 'Exists', effect: 'NoSchedule' }],
      want: 0,
    },
  ])('$name', ({ tolerations, want }) => {
    expect(tolerationMs(tolerations, [unreachable])).toBe(want);
  });
});

describe('zone disruption and the eviction rate', () => {
  it.each([
    { name: 'healthy zone: normal rate', ready: ['True', 'True', 'False'], want: 0.1 },
    { name: 'small zone mostly down: none', ready: ['True', 'False', 'False', 'Unknown'], want: 0 },
    { name: 'only zone all down: none (our fault, likely)', ready: ['Unknown', 'Unknown'], want: 0 },
  ])('$name', ({ ready, want }) => {
    const nodes = ready.map((r, i) => readyNode(`n${i}`, r));
    expect(zoneQPS(zoneOf(nodes[0]), zoneStates(nodes))).toBe(want);
  });

  it('a dead zone among healthy ones is evicted at the normal rate', () => {
    const nodes = [readyNode('a', 'Unknown', 'z1'), readyNode('b', 'True', 'z2')];
    const states = zoneStates(nodes);
    expect([...states.values()].map((s) => s.state)).toEqual(['FullDisruption', 'Normal']);
  });

  it('the bucket admits one, then one per 1/qps seconds', () => {
    const c = testCluster();
    const b = new TokenBucket(c.clock, 0.1);
    expect([b.tryAccept(), b.tryAccept()]).toEqual([true, false]);
    expect(b.waitMs()).toBe(10_000);
    c.clock.step(10_000);
    expect(b.tryAccept()).toBe(true);
  });
});

describe('NodeLifecycleController', () => {
  function setup() {
    const c = testCluster({ nodeMonitorGracePeriodMs: 40_000 });
    const ctrl = new NodeLifecycleController(c.ctx);
    c.seed('nodes', readyNode('dead'), readyNode('ok'));
    c.seed(
      'leases',
      lease('dead', '2024-01-01T00:00:00.000000Z'),
      lease('ok', '2024-01-01T00:00:00.000000Z'),
    );
    c.seed(
      'pods',
      pod('short', 'dead', 5),
      pod('default', 'dead', 300),
      pod('strict', 'dead'),
      pod('elsewhere', 'ok'),
    );
    return { c, ctrl };
  }

  it('leaves a node alone within the grace period and looks again when it ends', async () => {
    const { c, ctrl } = setup();
    await ctrl.sync('dead');
    c.clock.step(39_000);
    await ctrl.sync('dead');
    expect(c.api.writes()).toEqual([]);
    expect(ctrl.queue.waitingLen()).toBe(1);
  });

  it('a renewed lease keeps a node healthy past the grace period', async () => {
    const { c, ctrl } = setup();
    await ctrl.sync('ok');
    c.clock.step(30_000);
    c.seed('leases', lease('ok', '2024-01-01T00:00:30.000000Z'));
    await ctrl.sync('ok');
    c.clock.step(30_000);
    await ctrl.sync('ok');
    expect(c.api.writes()).toEqual([]);
  });

  it('marks a silent node Unknown, its pods not Ready, taints it, and evicts pods as tolerations run out', async () => {
    const { c, ctrl } = setup();
    await ctrl.sync('dead');
    c.clock.step(40_000);
    await ctrl.sync('dead');
    const node = c.api.get('nodes', 'dead') as Node;
    expect(node.status?.conditions?.[0]).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(node.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    expect(c.recorder.events).toContain('Normal NodeNotReady dead: Node dead status is now: NodeNotReady');
    // Pods marked not ready; the one that tolerates nothing is evicted at once.
    expect(c.api.writes().filter((w) => w.startsWith('delete'))).toEqual(['delete pods ns/strict']);
    const strict = c.api.actions
      .filter((a) => a.resource === 'pods/status' && a.key === 'ns/strict')
      .at(-1)!.body;
    expect(strict.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }),
    );
    expect(
      (c.api.get('pods', 'ns/default')!.status as { conditions: { status: string }[] }).conditions[0].status,
    ).toBe('False');
    // The cache catches up; 5 s later the pod with a 5 s toleration goes, the 300 s one stays.
    c.informer('nodes').store.upsert(c.api.get('nodes', 'dead')!);
    c.clock.step(5_000);
    await ctrl.sync('dead');
    expect(c.api.writes().filter((w) => w.startsWith('delete'))).toEqual([
      'delete pods ns/strict',
      'delete pods ns/short',
    ]);
    expect(c.api.writes().some((w) => w.includes('elsewhere'))).toBe(false);
  });

  it('removes the taints once the node is Ready again', async () => {
    const { c, ctrl } = setup();
    const node = readyNode('dead');
    node.spec = {
      taints: [
        { ...unreachable, timeAdded: '2024-01-01T00:00:00Z' },
        { key: 'keep', effect: 'NoSchedule' },
      ],
    };
    c.seed('nodes', node);
    await ctrl.sync('dead');
    expect((c.api.get('nodes', 'dead') as Node).spec?.taints).toEqual([
      { key: 'keep', effect: 'NoSchedule' },
    ]);
  });

  it('does not add NoExecute taints when every node is down', async () => {
    const c = testCluster({ nodeMonitorGracePeriodMs: 1_000 });
    const ctrl = new NodeLifecycleController(c.ctx);
    c.seed('nodes', readyNode('only', 'Unknown'));
    await ctrl.sync('only');
    expect((c.api.get('nodes', 'only') as Node).spec?.taints?.map((t) => t.effect)).toEqual(['NoSchedule']);
  });
});
