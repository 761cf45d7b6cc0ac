/**
 * The pod-startup benchmark: time from create to Running (phase Running,
 * every container ready) for 1 pod and for 30 pods created at once on one
 * real kubelet (etcd, the apiserver and nk-kubelet started here; pods set
 * spec.nodeName, so no scheduler), beside the same work done straight
 * through Docker in the same run: a pause sandbox on a bridge network with
 * a pod subnet, then a busybox `sleep 3600` joined to its network and IPC
 * namespaces, both created and started with dockerode.
 *
 * Each latency counts from the moment the round began (all pods of a batch
 * are issued together) to the moment the pod was seen Running: on a watch
 * for nanokube, when the app container's start returned for Docker. Rounds
 * of the two alternate so that background load falls on both alike.
 * Aims: p50 ≤ 1.3 × raw, and p99 < 5 s for 30 pods.
 *
 * Everything started here is stopped at the end, also on error or Ctrl-C:
 * processes, and every container and network labelled with the bench's own
 * node names. Every wait is bounded.
 */
import { randomBytes } from 'node:crypto';
import { firstHost } from '../base/docker.js';
import { api, cleanup, startApiserver, startEtcd, startKubelet, watchStream } from '../testing/harness.js';
import { docker, freePodCIDR, nodeContainers, removeNodeContainers } from '../testing/kubelet-helpers.js';
import { percentile } from './apiserver.js';
import { table } from './table.js';

export interface PodStartupOptions {
  /** Runs of a single pod, for each of nanokube and raw Docker. */
  singleRuns: number;
  /** Pods created at once in a batch, and how many batches. */
  batchSize: number;
  batchRounds: number;
  /** Longest wait for one round to be Running, or cleaned away. */
  timeoutMs: number;
}

export const defaultOptions: PodStartupOptions = {
  singleRuns: 10,
  batchSize: 30,
  batchRounds: 2,
  timeoutMs: 120_000,
};

const pauseImage = 'nanokube/pause:1';
const busybox = 'nanokube/busybox:1';
const nodeLabel = 'nanokube.io/node';
const roundLabel = 'bench.nanokube.io/round';
const podsPath = '/api/v1/namespaces/default/pods';

export interface Figures {
  samples: number;
  p50Ms: number;
  p99Ms: number;
}

export interface Scenario {
  pods: number;
  nanokube: Figures;
  raw: Figures;
  /** nanokube / raw. */
  ratioP50: number;
  ratioP99: number;
}

export interface PodStartupResult {
  bench: 'pod-startup';
  single: Scenario;
  batch: Scenario & { rounds: number };
  aims: { p50RatioMax: number; batchP99MaxMs: number; met: boolean };
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function figures(latencies: number[]): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    samples: sorted.length,
    p50Ms: Math.round(percentile(sorted, 50)),
    p99Ms: Math.round(percentile(sorted, 99)),
  };
}

function scenario(pods: number, nk: number[], raw: number[]): Scenario {
  const n = figures(nk);
  const r = figures(raw);
  return {
    pods,
    nanokube: n,
    raw: r,
    ratioP50: round(n.p50Ms / r.p50Ms),
    ratioP99: round(n.p99Ms / r.p99Ms),
  };
}

const isRunning = (pod: any) => {
  const statuses: any[] = pod.status?.containerStatuses ?? [];
  return (
    pod.status?.phase === 'Running' &&
    statuses.length === (pod.spec?.containers ?? []).length &&
    statuses.every((s) => s.ready === true)
  );
};

/** A fixed clock for a round: latencies in ms since it began. */
const since = (t0: number) => () => performance.now() - t0;

interface Ctx {
  o: PodStartupOptions;
  signal: AbortSignal;
  apiserverUrl: string;
  node: string;
  rawNode: string;
  rawNetwork: string;
  seq: number;
}

/** Creates `n` pods at once on the kubelet's node and returns each one's create-to-Running latency. */
async function nanokubeRound(c: Ctx, n: number): Promise<number[]> {
  const client = api(c.apiserverUrl);
  const id = `r${c.seq++}`;
  const w = await watchStream(c.apiserverUrl, `${podsPath}?watch=1&labelSelector=${roundLabel}%3D${id}`);
  if (w.status !== 200) throw new Error(`watch pods: ${w.status} ${JSON.stringify(w.error)}`);
  // Ctrl-C ends the wait below at once (next() rejects on an ended stream).
  const stop = () => w.abort();
  c.signal.addEventListener('abort', stop, { once: true });
  try {
    const done = new Map<string, number>();
    const t0 = performance.now();
    const elapsed = since(t0);
    const names = Array.from({ length: n }, (_, i) => `ps-${id}-${i}`);
    const created = Promise.all(
      names.map(async (name) => {
        const res = await client.post(podsPath, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, labels: { [roundLabel]: id } },
          spec: {
            nodeName: c.node,
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'app', image: busybox, command: ['sleep', '3600'] }],
          },
        });
        if (res.status !== 201)
          throw new Error(`create pod ${name}: ${res.status} ${JSON.stringify(res.body)}`);
      }),
    );
    while (done.size < n) {
      if (c.signal.aborted) throw new Error('interrupted');
      const left = c.o.timeoutMs - elapsed();
      if (left <= 0) throw new Error(`only ${done.size} of ${n} pods Running after ${c.o.timeoutMs} ms`);
      const ev = await w.next(left);
      const name = ev.object?.metadata?.name;
      if (ev.type === 'ERROR') throw new Error(`watch error: ${JSON.stringify(ev.object)}`);
      if (name && !done.has(name) && isRunning(ev.object)) done.set(name, elapsed());
    }
    await created;
    return [...done.values()];
  } finally {
    c.signal.removeEventListener('abort', stop);
    w.abort();
    await removeNanokubePods(c, id);
  }
}

/** Deletes a round's pods and waits until the kubelet has removed their containers. */
async function removeNanokubePods(c: Ctx, id: string): Promise<void> {
  const client = api(c.apiserverUrl);
  const list = (await client.get(`${podsPath}?labelSelector=${roundLabel}%3D${id}`)).body.items ?? [];
  await Promise.all(
    list.map((p: any) => client.del(`${podsPath}/${p.metadata.name}`, { gracePeriodSeconds: 0 })),
  );
  const deadline = performance.now() + c.o.timeoutMs;
  for (;;) {
    const left = (await client.get(`${podsPath}?labelSelector=${roundLabel}%3D${id}`)).body.items ?? [];
    if (left.length === 0 && (await nodeContainers(c.node)).length === 0) return;
    if (performance.now() > deadline || c.signal.aborted)
      throw new Error(`pods of round ${id} not cleaned away: ${left.length} objects left`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `n` pause + busybox pairs at once straight through Docker; returns each one's latency. */
async function rawRound(c: Ctx, n: number): Promise<number[]> {
  const id = `r${c.seq++}`;
  const labels = { [nodeLabel]: c.rawNode, [roundLabel]: id };
  try {
    const t0 = performance.now();
    const elapsed = since(t0);
    return await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        if (c.signal.aborted) throw new Error('interrupted');
        const name = `${c.rawNode}-${id}-${i}`;
        const sandbox = await docker.createContainer({
          name: `${name}-pause`,
          Image: pauseImage,
          Labels: labels,
          Hostname: name,
          HostConfig: { NetworkMode: c.rawNetwork, IpcMode: 'shareable', RestartPolicy: { Name: 'no' } },
        });
        await sandbox.start();
        const ns = `container:${sandbox.id}`;
        const app = await docker.createContainer({
          name: `${name}-app`,
          Image: busybox,
          Labels: labels,
          Entrypoint: ['sleep'],
          Cmd: ['3600'],
          HostConfig: { NetworkMode: ns, IpcMode: ns, RestartPolicy: { Name: 'no' } },
        });
        await app.start();
        return elapsed();
      }),
    );
  } finally {
    const list = await docker.listContainers({ all: true, filters: { label: [`${roundLabel}=${id}`] } });
    await Promise.all(list.map((x) => docker.getContainer(x.Id).remove({ force: true, v: true })));
  }
}

/** Two pod CIDRs that no Docker network uses, different from each other. */
async function twoPodCIDRs(): Promise<[string, string]> {
  const a = await freePodCIDR();
  for (let i = 0; i < 50; i++) {
    const b = await freePodCIDR();
    if (b !== a) return [a, b];
  }
  throw new Error('no second free pod CIDR');
}

export async function runPodStartupBench(o: PodStartupOptions = defaultOptions): Promise<PodStartupResult> {
  const hex = randomBytes(3).toString('hex');
  const node = `bench-ps-${hex}`;
  const rawNode = `bench-ps-raw-${hex}`;
  const ac = new AbortController();
  const interrupt = () => ac.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    for (const image of [pauseImage, busybox])
      await docker
        .getImage(image)
        .inspect()
        .catch(() => {
          throw new Error(`image ${image} is missing: run deploy/images/build.sh`);
        });
    const [podCIDR, rawCIDR] = await twoPodCIDRs();
    const rawNetwork = `nanokube-${rawNode}`;
    await docker.createNetwork({
      Name: rawNetwork,
      Driver: 'bridge',
      Labels: { [nodeLabel]: rawNode },
      IPAM: { Driver: 'default', Config: [{ Subnet: rawCIDR, Gateway: firstHost(rawCIDR) }] },
    });
    const etcd = await startEtcd();
    const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
    await startKubelet({ apiserverUrl: apiserver.url, nodeName: node, podCIDR });
    const c: Ctx = { o, signal: ac.signal, apiserverUrl: apiserver.url, node, rawNode, rawNetwork, seq: 0 };
    // Warm up both paths (first container on a network, first pod of a kubelet); not counted.
    await rawRound(c, 1);
    await nanokubeRound(c, 1);
    const single = { nk: [] as number[], raw: [] as number[] };
    for (let i = 0; i < o.singleRuns; i++) {
      single.raw.push(...(await rawRound(c, 1)));
      single.nk.push(...(await nanokubeRound(c, 1)));
    }
    const batch = { nk: [] as number[], raw: [] as number[] };
    for (let i = 0; i < o.batchRounds; i++) {
      batch.raw.push(...(await rawRound(c, o.batchSize)));
      batch.nk.push(...(await nanokubeRound(c, o.batchSize)));
    }
    const s = scenario(1, single.nk, single.raw);
    const b = { ...scenario(o.batchSize, batch.nk, batch.raw), rounds: o.batchRounds };
    const aims = { p50RatioMax: 1.3, batchP99MaxMs: 5000 };
    const met = s.ratioP50 <= aims.p50RatioMax && b.ratioP50 <= aims.p50RatioMax && b.nanokube.p99Ms < 5000;
    return { bench: 'pod-startup', single: s, batch: b, aims: { ...aims, met } };
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    // The kubelet first, so that it starts nothing again; then whatever it or we left.
    await cleanup();
    await removeNodeContainers(node);
    await removeNodeContainers(rawNode);
  }
}

export function report(r: PodStartupResult): string {
  const rows: string[][] = [
    ['create → Running', 'samples', 'nanokube p50', 'p99', 'raw Docker p50', 'p99', 'ratio p50', 'p99'],
  ];
  for (const [what, s] of [
    ['1 pod', r.single],
    [`${r.batch.pods} pods at once (${r.batch.rounds} rounds)`, r.batch],
  ] as const)
    rows.push([
      what,
      String(s.nanokube.samples),
      `${s.nanokube.p50Ms} ms`,
      `${s.nanokube.p99Ms} ms`,
      `${s.raw.p50Ms} ms`,
      `${s.raw.p99Ms} ms`,
      `${s.ratioP50}x`,
      `${s.ratioP99}x`,
    ]);
  const aim = `aim: p50 ≤ ${r.aims.p50RatioMax}x raw, p99 for ${r.batch.pods} pods < ${r.aims.batchP99MaxMs} ms: ${r.aims.met ? 'met' : 'NOT met'}`;
  return `${table(rows)}\n${aim}\n${JSON.stringify(r)}`;
}
