// The scheduler (nk-scheduler) with a real etcd, apiserver and hollow nodes
// (nk-hollow-nodes): resource fit across three nodes, an unmatched
// nodeSelector explained and then satisfied by a new node, anti-affinity
// spreading replicas, and preemption by priority.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  logTail,
  type Scheduler,
  startApiserver,
  startEtcd,
  startHollowNodes,
  startScheduler,
  waitFor,
} from '../testing/harness.js';

let apiserver: Apiserver;
let client: Api;
let scheduler: Scheduler;

const ns = 'default';
const podsPath = `/api/v1/namespaces/${ns}/pods`;

beforeAll(async () => {
  const etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  await startHollowNodes({ apiserverUrl: apiserver.url, nodes: 3, prefix: 'node-', cpu: '2', memory: '4Gi' });
  scheduler = await startScheduler({ apiserverUrl: apiserver.url });
});

afterAll(async () => {
  await cleanup();
});

function pod(name: string, extra: { cpu?: string; labels?: Record<string, string>; spec?: object } = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: extra.labels ?? { test: 'sched' } },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'nginx',
          resources: extra.cpu ? { requests: { cpu: extra.cpu, memory: '64Mi' } } : {},
        },
      ],
      ...(extra.spec ?? {}),
    },
  };
}

async function create(p: ReturnType<typeof pod>) {
  const res = await client.post(podsPath, p);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const get = async (name: string) => (await client.get(`${podsPath}/${name}`)).body;

async function waitBound(name: string, timeoutMs = 15_000): Promise<any> {
  try {
    return await waitFor(
      async () => {
        const p = await get(name);
        return p.spec?.nodeName ? p : undefined;
      },
      { timeoutMs, what: `pod ${name} bound` },
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message}\n${JSON.stringify((await get(name)).status)}\n${logTail(scheduler.logPath)}`,
    );
  }
}

async function waitUnschedulable(name: string): Promise<string> {
  const p = await waitFor(
    async () => {
      const x = await get(name);
      const c = x.status?.conditions?.find((c: any) => c.type === 'PodScheduled');
      return c?.status === 'False' && c.reason === 'Unschedulable' ? x : undefined;
    },
    { what: `pod ${name} Unschedulable` },
  );
  expect(p.spec.nodeName).toBeUndefined();
  return p.status.conditions.find((c: any) => c.type === 'PodScheduled').message;
}

async function deleteAllPods() {
  await client.del(`${podsPath}?labelSelector=test`);
  await waitFor(async () => (await client.get(`${podsPath}?labelSelector=test`)).body.items.length === 0, {
    what: 'test pods gone',
    timeoutMs: 20_000,
  });
}

describe('scheduler', () => {
  it('places pods within the nodes’ cpu and explains the one that fits nowhere', async () => {
    // 2 cpu per node, 700m per pod: two fit on each node, the seventh nowhere.
    for (let i = 0; i < 7; i++) await create(pod(`fit-${i}`, { cpu: '700m' }));
    const perNode = new Map<string, number>();
    let pending: string | undefined;
    await waitFor(
      async () => {
        const items = (await client.get(`${podsPath}?labelSelector=test`)).body.items;
        return items.filter((p: any) => p.spec.nodeName).length === 6;
      },
      { what: 'six pods bound', timeoutMs: 20_000 },
    );
    for (let i = 0; i < 7; i++) {
      const p = await get(`fit-${i}`);
      if (p.spec.nodeName) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
      else pending = p.metadata.name;
    }
    expect([...perNode.values()]).toEqual([2, 2, 2]);
    expect(pending).toBeDefined();
    const message = await waitUnschedulable(pending!);
    expect(message).toBe(
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.',
    );
    const events = await client.get(
      `/api/v1/namespaces/${ns}/events?fieldSelector=involvedObject.name%3D${pending},reason%3DFailedScheduling`,
    );
    expect(events.body.items[0]?.message).toBe(message);
    expect(events.body.items[0]?.type).toBe('Warning');
    // A bound pod reports Running through its hollow kubelet.
    await waitFor(
      async () =>
        (await get('fit-0')).status.phase === 'Running' || (await get('fit-1')).status.phase === 'Running',
      {
        what: 'a bound pod Running',
      },
    );
    // Freeing room schedules the pending pod (a pod delete event moves it).
    const victim = [...Array(7).keys()].map((i) => `fit-${i}`).find((n) => n !== pending)!;
    await client.del(`${podsPath}/${victim}`);
    await waitBound(pending!);
    await deleteAllPods();
  });

  it('keeps a pod whose nodeSelector no node matches Pending, then schedules it when a matching node appears', async () => {
    await create(pod('wants-ssd', { spec: { nodeSelector: { disk: 'ssd' } } }));
    const message = await waitUnschedulable('wants-ssd');
    expect(message).toBe(
      "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
    );
    const started = Date.now();
    await startHollowNodes({
      apiserverUrl: apiserver.url,
      nodes: 1,
      prefix: 'ssd-',
      cpu: '2',
      memory: '4Gi',
      labels: { disk: 'ssd' },
    });
    const bound = await waitBound('wants-ssd');
    expect(bound.spec.nodeName).toBe('ssd-0');
    // A node add event moves it at once, not after the 5-minute flush.
    expect(Date.now() - started).toBeLessThan(15_000);
    await deleteAllPods();
  });

  it('spreads replicas with required anti-affinity over distinct nodes, and leaves the extra one Pending', async () => {
    const labels = { test: 'sched', app: 'web' };
    const anti = {
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            { labelSelector: { matchLabels: { app: 'web' } }, topologyKey: 'kubernetes.io/hostname' },
          ],
        },
      },
    };
    for (let i = 0; i < 5; i++) await create(pod(`web-${i}`, { labels, spec: anti }));
    await waitFor(
      async () =>
        (await client.get(`${podsPath}?labelSelector=app%3Dweb`)).body.items.filter(
          (p: any) => p.spec.nodeName,
        ).length === 4,
      { what: 'four replicas bound', timeoutMs: 20_000 },
    );
    const items = (await client.get(`${podsPath}?labelSelector=app%3Dweb`)).body.items;
    const nodes = items.map((p: any) => p.spec.nodeName).filter(Boolean);
    expect(new Set(nodes).size).toBe(4);
    const extra = items.find((p: any) => !p.spec.nodeName).metadata.name;
    const message = await waitUnschedulable(extra);
    expect(message).toMatch(/^0\/4 nodes are available: 4 node\(s\) didn't match pod anti-affinity rules\./);
    await deleteAllPods();
  });

  it('preempts a lower-priority pod for a higher-priority one that fits nowhere else', async () => {
    // Fill each of the 4 nodes (2 cpu) with one low-priority pod of 1500m.
    for (let i = 0; i < 4; i++) await create(pod(`low-${i}`, { cpu: '1500m', spec: { priority: 10 } }));
    for (let i = 0; i < 4; i++) await waitBound(`low-${i}`);
    await create(pod('high', { cpu: '1500m', spec: { priority: 1000 } }));
    const high = await waitBound('high', 30_000);
    // Exactly one low pod was evicted, from the node the high one now runs on.
    await waitFor(async () => (await client.get(`${podsPath}?labelSelector=test`)).body.items.length === 4, {
      what: 'one victim gone',
      timeoutMs: 20_000,
    });
    const lows = (await client.get(`${podsPath}?labelSelector=test`)).body.items.filter(
      (p: any) => p.metadata.name !== 'high',
    );
    expect(lows).toHaveLength(3);
    expect(lows.map((p: any) => p.spec.nodeName)).not.toContain(high.spec.nodeName);
    const events = await client.get(`/api/v1/namespaces/${ns}/events?fieldSelector=reason%3DPreempted`);
    expect(events.body.items[0]?.message).toMatch(
      new RegExp(`^Preempted by pod .* on node ${high.spec.nodeName}$`),
    );
    await deleteAllPods();
  });

  it('serves health and scheduling metrics', async () => {
    const health = await fetch(`${scheduler.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${scheduler.url}/metrics`)).text();
    expect(metrics).toMatch(
      /scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"[^}]*\} \d+/,
    );
    expect(metrics).toMatch(/scheduler_schedule_attempts_total\{result="unschedulable"/);
    expect(metrics).toMatch(/scheduler_scheduling_attempt_duration_seconds_bucket/);
    expect(metrics).toMatch(/scheduler_pending_pods\{queue="active"/);
    expect(metrics).toMatch(/scheduler_preemption_attempts_total/);
  });
});
