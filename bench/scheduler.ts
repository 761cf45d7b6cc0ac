/**
 * The scheduler benchmark: a real etcd, apiserver, nk-scheduler and
 * nk-hollow-nodes process, all started here (and stopped at the end, also on
 * error), with pods that request cpu and memory.
 *
 * For each cluster size (1,000 nodes, then 5,000 unless NK_BENCH_QUICK):
 * - backlog: `pods` pending pods are created with no scheduler running;
 *   then the scheduler starts. Two rates: its scheduling decisions per
 *   second (its own attempts counter, from the first decision to the last:
 *   the scheduler's throughput), and binds seen on a watch per second, from
 *   the first to the last (what the apiserver and etcd let through);
 * - live: another `pods` pods are created (concurrency 64) while the
 *   scheduler runs; the throughput (pods bound per second, first create sent
 *   to last bind seen) and each pod's latency from its create request being
 *   sent to its binding being seen on a watch (p50, p99).
 *
 * Everything runs on 127.0.0.1, and every loop is bounded.
 */
import pino from 'pino';
import type { Pod } from '../api/objects.js';
import { builtinRegistry } from '../api/types/index.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import { cleanup, startApiserver, startEtcd, startHollowNodes, startScheduler } from '../testing/harness.js';
import { percentile } from './apiserver.js';

export interface SchedulerBenchOptions {
  nodeCounts: number[];
  pods: number;
  concurrency: number;
}

export const defaultOptions: SchedulerBenchOptions = {
  nodeCounts: process.env.NK_BENCH_QUICK ? [1_000] : [1_000, 5_000],
  pods: 10_000,
  concurrency: 64,
};

export interface SchedulerRun {
  nodes: number;
  pods: number;
  backlogPodsPerSec: number;
  /** Scheduling decisions per second while draining the backlog (the scheduler's own metric). */
  backlogDecisionsPerSec: number;
  live: { createPodsPerSec: number; podsPerSec: number; p50Ms: number; p99Ms: number; maxMs: number };
}

export interface SchedulerBenchResult {
  bench: 'scheduler';
  runs: (SchedulerRun | { nodes: number; error: string })[];
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function benchPod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { bench: 'scheduler' } },
    spec: {
      containers: [
        { name: 'app', image: 'nginx', resources: { requests: { cpu: '100m', memory: '128Mi' } } },
      ],
    },
  };
}

/** Records when each pod is first seen bound, from a watch started before any of them exists. */
function watchBinds(pods: ResourceClient<Pod>, rv: string, signal: AbortSignal) {
  const boundAt = new Map<string, number>();
  let waiter: { n: number; resolve: () => void } | undefined;
  const done = (async () => {
    for await (const ev of pods.watch({ resourceVersion: rv, labelSelector: 'bench=scheduler', signal })) {
      const p = ev.object;
      if (p.spec?.nodeName && !boundAt.has(p.metadata.name!)) {
        boundAt.set(p.metadata.name!, performance.now());
        if (waiter && boundAt.size >= waiter.n) waiter.resolve();
      }
    }
  })().catch((err) => {
    if (!signal.aborted) throw err;
  });
  const until = (n: number, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (boundAt.size >= n) return resolve();
      const t = setTimeout(
        () => reject(new Error(`only ${boundAt.size}/${n} pods bound in ${timeoutMs} ms`)),
        timeoutMs,
      );
      waiter = {
        n,
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
      };
    });
  return { boundAt, until, done };
}

async function createPods(pods: ResourceClient<Pod>, names: string[], concurrency: number) {
  const sentAt = new Map<string, number>();
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names.length) {
        const name = names[next++];
        sentAt.set(name, performance.now());
        await pods.create(benchPod(name));
      }
    }),
  );
  return { sentAt, seconds: (performance.now() - start) / 1000 };
}

/** Polls the scheduler's attempts counter until it reaches `n`; decisions per second since the last poll that saw none. */
async function decisionRate(url: string, n: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  // The last time the count was still 0: a conservative start (the rate can only be understated).
  let start = performance.now();
  while (performance.now() < deadline) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /scheduler_schedule_attempts_total\{result="scheduled"[^}]*\} (\d+)/.exec(text);
    const count = Number(m?.[1] ?? 0);
    if (count === 0) start = performance.now();
    if (count >= n) return n / ((performance.now() - start) / 1000);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the scheduler made fewer than ${n} decisions in ${timeoutMs} ms`);
}

async function runOnce(nodes: number, o: SchedulerBenchOptions): Promise<SchedulerRun> {
  const log = pino({ level: 'warn' });
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  const rest = new RestClient({ servers: [apiserver.url], timeoutMs: 60_000 }, log);
  const ac = new AbortController();
  try {
    await startHollowNodes({
      apiserverUrl: apiserver.url,
      nodes,
      prefix: 'bench-node-',
      cpu: '32',
      memory: '128Gi',
      pods: 110,
      extraArgs: ['--log-level', 'warn'],
    });
    const pods = new ResourceClient<Pod>(rest, builtinRegistry.get('', 'v1', 'pods')!, 'default');
    const rv = (await pods.list({ limit: 1 })).metadata.resourceVersion ?? '0';
    const w = watchBinds(pods, rv, ac.signal);
    const timeoutMs = 600_000;

    // Backlog: all pods pending before the scheduler exists.
    const backlog = Array.from({ length: o.pods }, (_, i) => `backlog-${i}`);
    await createPods(pods, backlog, o.concurrency);
    const scheduler = await startScheduler({
      apiserverUrl: apiserver.url,
      extraArgs: ['--log-level', 'warn'],
    });
    const decisions = await decisionRate(scheduler.url, o.pods, timeoutMs);
    await w.until(o.pods, timeoutMs);
    const times = backlog.map((n) => w.boundAt.get(n)!).sort((a, b) => a - b);
    const backlogPodsPerSec = o.pods / ((times[times.length - 1] - times[0]) / 1000);

    // Live: created while the scheduler runs.
    const live = Array.from({ length: o.pods }, (_, i) => `live-${i}`);
    const created = await createPods(pods, live, o.concurrency);
    await w.until(2 * o.pods, timeoutMs);
    const lat = live.map((n) => w.boundAt.get(n)! - created.sentAt.get(n)!).sort((a, b) => a - b);
    const first = Math.min(...created.sentAt.values());
    const last = Math.max(...live.map((n) => w.boundAt.get(n)!));
    return {
      nodes,
      pods: o.pods,
      backlogPodsPerSec: round(backlogPodsPerSec),
      backlogDecisionsPerSec: round(decisions),
      live: {
        createPodsPerSec: round(o.pods / created.seconds),
        podsPerSec: round(o.pods / ((last - first) / 1000)),
        p50Ms: round(percentile(lat, 50)),
        p99Ms: round(percentile(lat, 99)),
        maxMs: round(lat[lat.length - 1]),
      },
    };
  } finally {
    ac.abort();
    rest.close();
    await cleanup();
  }
}

export async function runSchedulerBench(
  o: SchedulerBenchOptions = defaultOptions,
): Promise<SchedulerBenchResult> {
  const runs: SchedulerBenchResult['runs'] = [];
  for (const nodes of o.nodeCounts) {
    // A size the apiserver cannot carry is reported as such; the other sizes still count.
    const run = await runOnce(nodes, o).catch((err: Error) => ({ nodes, error: err.message }));
    runs.push(run);
    process.stderr.write(`scheduler bench: ${nodes} nodes: ${JSON.stringify(run)}\n`);
  }
  return { bench: 'scheduler', runs };
}

export function report(r: SchedulerBenchResult): string {
  const rows: [string, string][] = [['measure', 'nanokube']];
  for (const x of r.runs) {
    if ('error' in x) {
      rows.push([`${x.nodes} nodes`, `failed: ${x.error}`]);
      continue;
    }
    const at = `${x.nodes} nodes, ${x.pods} pods`;
    rows.push([`${at}: backlog, scheduling decisions`, `${x.backlogDecisionsPerSec} pods/s`]);
    rows.push([`${at}: backlog, binds seen (apiserver-bound)`, `${x.backlogPodsPerSec} pods/s`]);
    rows.push([`${at}: live, pods created at (c=64)`, `${x.live.createPodsPerSec} pods/s`]);
    rows.push([`${at}: live, pods scheduled at`, `${x.live.podsPerSec} pods/s`]);
    rows.push([
      `${at}: live, create → bound p50 / p99 / max`,
      `${x.live.p50Ms} / ${x.live.p99Ms} / ${x.live.maxMs} ms`,
    ]);
  }
  const width = Math.max(...rows.map(([m]) => m.length));
  const text = rows.map(([m, v]) => `${m.padEnd(width)}   ${v}`).join('\n');
  return `${text}\n${JSON.stringify(r)}`;
}
