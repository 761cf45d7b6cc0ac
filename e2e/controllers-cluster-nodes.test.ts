// Node lifecycle against a real etcd, apiserver and controller-manager: a
// node whose Lease stops being renewed becomes Unknown after the grace
// period (3 s here), is tainted unreachable, and its pods are evicted once
// their tolerationSeconds run out; the default 300 s tolerations keep the
// others. The test plays the kubelets: it creates the Nodes and renews the
// healthy one's Lease.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
} from '../testing/harness.js';

let client: Api;
let renewing: ReturnType<typeof setInterval> | undefined;
const leasePath = (n: string) => `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${n}`;
const podPath = (name = '') => `/api/v1/namespaces/default/pods${name ? `/${name}` : ''}`;
const microTime = () => new Date().toISOString().replace('Z', '000Z');

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const name of ['nl-ok', 'nl-dead']) {
    const node = await client.post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name },
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    });
    expect(node.status).toBe(201);
    const lease = await client.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name },
      spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() },
    });
    expect(lease.status).toBe(201);
  }
  // Only nl-ok's "kubelet" keeps renewing.
  renewing = setInterval(async () => {
    const l = (await client.get(leasePath('nl-ok'))).body;
    l.spec.renewTime = microTime();
    await client.put(leasePath('nl-ok'), l);
  }, 500);
  for (const [name, node, seconds] of [
    ['quick', 'nl-dead', 2],
    ['patient', 'nl-dead', undefined],
    ['healthy', 'nl-ok', 2],
  ] as const) {
    const res = await client.post(podPath(), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        nodeName: node,
        containers: [{ name: 'c', image: 'busybox:1' }],
        tolerations: seconds
          ? [
              {
                key: 'node.kubernetes.io/unreachable',
                operator: 'Exists',
                effect: 'NoExecute',
                tolerationSeconds: seconds,
              },
            ]
          : undefined,
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }
  // As its kubelet would have: quick is Running and Ready.
  const quick = (await client.get(podPath('quick'))).body;
  quick.status = { phase: 'Running', podIP: '10.244.1.5', conditions: [{ type: 'Ready', status: 'True' }] };
  expect((await client.put(podPath('quick/status'), quick)).status).toBe(200);
  await startControllerManager({
    apiserverUrl: apiserver.url,
    controllers: ['nodelifecycle'],
    extraArgs: ['--node-monitor-grace-period', '3s'],
  });
});

afterAll(async () => {
  clearInterval(renewing);
  await cleanup();
});

describe('nodelifecycle', () => {
  it('the apiserver gives every pod the default 300 s not-ready/unreachable tolerations', async () => {
    const patient = (await client.get(podPath('patient'))).body;
    expect(patient.spec.tolerations).toEqual([
      {
        key: 'node.kubernetes.io/not-ready',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
      {
        key: 'node.kubernetes.io/unreachable',
        operator: 'Exists',
        effect: 'NoExecute',
        tolerationSeconds: 300,
      },
    ]);
  });

  it('a node whose Lease stops is Unknown after the grace period, tainted, and its pods evicted after tolerationSeconds', async () => {
    const started = Date.now();
    const node = await waitFor(
      async () => {
        const n = (await client.get('/api/v1/nodes/nl-dead')).body;
        return n.spec.taints?.some((t: { effect: string }) => t.effect === 'NoExecute') && n;
      },
      { timeoutMs: 15_000, what: 'nl-dead tainted' },
    );
    expect(Date.now() - started).toBeGreaterThan(1_500);
    expect(node.status.conditions.find((c: { type: string }) => c.type === 'Ready')).toMatchObject({
      status: 'Unknown',
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    expect(node.spec.taints.map((t: { key: string; effect: string }) => `${t.key}:${t.effect}`)).toEqual([
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    const taintedAt = Date.parse(node.spec.taints[1].timeAdded);

    const quick = await waitFor(
      async () => {
        const p = (await client.get(podPath('quick'))).body;
        return p.metadata.deletionTimestamp && p;
      },
      { timeoutMs: 10_000, what: 'quick evicted' },
    );
    // Evicted no sooner than its 2 s toleration (timeAdded has second precision).
    expect(Date.now() - taintedAt).toBeGreaterThanOrEqual(1_000);
    expect(quick.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }),
    );
    expect(quick.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Ready', status: 'False' }),
    );

    // The pod with the default 300 s stays, as does the one on the healthy node.
    const patient = (await client.get(podPath('patient'))).body;
    expect(patient.metadata.deletionTimestamp).toBeUndefined();
    const healthy = (await client.get(podPath('healthy'))).body;
    expect(healthy.metadata.deletionTimestamp).toBeUndefined();
    const ok = (await client.get('/api/v1/nodes/nl-ok')).body;
    expect(ok.spec.taints ?? []).toEqual([]);
    const events = (await client.get('/api/v1/namespaces/default/events')).body.items;
    expect(events.map((e: { reason: string }) => e.reason)).toContain('TaintManagerEviction');
  });

  it('takes the taints off once the node reports Ready again', async () => {
    const n = (await client.get('/api/v1/nodes/nl-dead')).body;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    n.status.conditions = [
      {
        type: 'Ready',
        status: 'True',
        reason: 'KubeletReady',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
      },
    ];
    expect((await client.put('/api/v1/nodes/nl-dead/status', n)).status).toBe(200);
    await waitFor(
      async () => ((await client.get('/api/v1/nodes/nl-dead')).body.spec.taints ?? []).length === 0,
      {
        what: 'taints removed',
      },
    );
  });
});
