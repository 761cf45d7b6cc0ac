/**
 * The informer benchmark: what a component pays to hold a cache of many
 * pods, against one etcd and one apiserver it starts itself (and stops at
 * the end, also on error).
 *
 * - sync: with 10,000 pods stored, the time from a new informer's start to
 *   `hasSynced`, and the heap it holds then (measured after a full GC),
 *   beside a plain paged LIST of the same pods (limit 500, as the reflector
 *   pages) with nothing kept.
 * - events: 5,000 updates written at concurrency 32; the writers' rate
 *   (acknowledged writes/s) beside the rate at which a synced informer's
 *   handler saw them, and how long after the last acknowledged write it saw
 *   the last one. Then the same 5,000 events replayed to a new informer as a
 *   backlog (its watch starts before them), which shows the rate the
 *   informer's whole path (watch stream, decode, store, handler) sustains
 *   when nothing else limits it.
 *
 * Everything runs on 127.0.0.1, and every loop is bounded.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import pino from 'pino';
import type { KubeList, KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import { SharedInformer } from '../client/informer.js';
import type { ListerWatcher } from '../client/reflector.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import { cleanup, startApiserver, startEtcd } from '../testing/harness.js';

export interface InformerBenchOptions {
  pods: number;
  updates: number;
  concurrency: number;
  /** LISTs and informer syncs measured (the median is reported). */
  runs: number;
}

export const defaultOptions: InformerBenchOptions = {
  pods: 10_000,
  updates: 5_000,
  concurrency: 32,
  runs: 3,
};

export interface InformerBenchResult {
  bench: 'informer';
  pods: number;
  createPodsPerSec: number;
  list: { pageSize: number; medianMs: number };
  sync: { medianMs: number; heapMiB: number; heapKiBPerPod: number; gc: boolean };
  events: {
    updates: number;
    concurrency: number;
    writesPerSec: number;
    informerEventsPerSec: number;
    lagAfterLastWriteMs: number;
    replayEventsPerSec: number;
  };
}

const namespace = 'bench-informer';
const podType = builtinRegistry.resolve('pods')!;
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const podName = (i: number) => `pod-${String(i).padStart(5, '0')}`;

function pod(i: number): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podName(i), namespace, labels: { app: 'bench', shard: String(i % 8) } },
    spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] },
  };
}

/** A full garbage collection: global.gc under --expose-gc, else the same function fetched through V8 flags. */
function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once; rejects on the first failure. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return n / ((performance.now() - start) / 1000);
}

/** Waits until `check()` holds, polling every millisecond for at most `timeoutMs`. */
async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function pagedList(pods: ResourceClient): Promise<KubeList<KubeObject>> {
  const items: KubeObject[] = [];
  let cont: string | undefined;
  let rv = '';
  for (let page = 0; page < 10_000; page++) {
    const res = await pods.list({ limit: 500, continue: cont });
    items.push(...res.items);
    rv = res.metadata.resourceVersion ?? rv;
    cont = res.metadata.continue;
    if (!cont) break;
  }
  return { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: rv }, items };
}

/**
 * Starts an informer over `client` with a handler that counts updates whose
 * new object carries label round=`round`, and resolves once synced.
 */
async function syncedInformer(client: ListerWatcher<KubeObject>, logger: pino.Logger, round: string) {
  const informer = new SharedInformer({ client, logger });
  let seen = 0;
  let lastAt = 0;
  informer.addEventHandler({
    onUpdate: (_old, obj) => {
      if (obj.metadata.labels?.round === round) {
        seen++;
        lastAt = performance.now();
      }
    },
  });
  const stop = new AbortController();
  const start = performance.now();
  const running = informer.run(stop.signal);
  await informer.waitForSync();
  return {
    informer,
    syncMs: performance.now() - start,
    seen: () => seen,
    lastAt: () => lastAt,
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

export async function runInformerBench(
  o: InformerBenchOptions = defaultOptions,
): Promise<InformerBenchResult> {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const gc = findGc();
  const etcd = await startEtcd();
  let rest: RestClient | undefined;
  try {
    const server = await startApiserver({ etcdServers: etcd.endpoints });
    rest = new RestClient({ servers: [server.url], timeoutMs: 60_000 });
    await new ResourceClient(rest, builtinRegistry.resolve('namespaces')!).create({
      metadata: { name: namespace },
    });
    const pods = new ResourceClient(rest, podType, namespace);
    const createPodsPerSec = await pool(o.pods, o.concurrency, (i) => pods.create(pod(i)));

    // Reference: a paged LIST of the same pods, nothing kept.
    const listMs: number[] = [];
    let snapshot: KubeList<KubeObject> | undefined;
    for (let r = 0; r < o.runs + 1; r++) {
      const start = performance.now();
      const list = await pagedList(pods);
      if (list.items.length !== o.pods) throw new Error(`list has ${list.items.length} pods, want ${o.pods}`);
      if (r > 0) listMs.push(performance.now() - start); // the first warms up
      snapshot = list;
    }
    snapshot = structuredClone(snapshot!);

    // Sync: time to synced, and the heap the last informer holds.
    const syncMs: number[] = [];
    let heapBytes = 0;
    let live: Awaited<ReturnType<typeof syncedInformer>> | undefined;
    for (let r = 0; r < o.runs; r++) {
      await live?.stop();
      live = undefined;
      gc?.();
      const before = process.memoryUsage().heapUsed;
      live = await syncedInformer(pods, logger, '1');
      syncMs.push(live.syncMs);
      if (live.informer.store.size !== o.pods)
        throw new Error(`informer has ${live.informer.store.size} pods`);
      gc?.();
      heapBytes = process.memoryUsage().heapUsed - before;
    }

    // Events: the synced informer watches the updates being written.
    const start = performance.now();
    const writesPerSec = await pool(o.updates, o.concurrency, (i) =>
      pods.patch(podName(i), 'merge', { metadata: { labels: { round: '1' } } }),
    );
    const lastAck = performance.now();
    const watched = live!;
    await until(() => watched.seen() >= o.updates, 60_000, 'the informer to see every update');
    const informerEventsPerSec = o.updates / ((watched.lastAt() - start) / 1000);
    const lagAfterLastWriteMs = Math.max(0, watched.lastAt() - lastAck);
    await watched.stop();

    // Replay: a new informer, synced from the list taken before the updates, watches from there.
    const replaySource: ListerWatcher<KubeObject> = {
      rt: pods.rt,
      list: async () => structuredClone(snapshot!),
      watch: (w) => pods.watch(w),
    };
    const replay = await syncedInformer(replaySource, logger, '1');
    const replayStart = performance.now();
    await until(() => replay.seen() >= o.updates, 60_000, 'the replaying informer to see every update');
    const replayEventsPerSec = o.updates / ((replay.lastAt() - replayStart) / 1000);
    await replay.stop();

    return {
      bench: 'informer',
      pods: o.pods,
      createPodsPerSec: round(createPodsPerSec, 0),
      list: { pageSize: 500, medianMs: round(median(listMs)) },
      sync: {
        medianMs: round(median(syncMs)),
        heapMiB: round(heapBytes / 2 ** 20),
        heapKiBPerPod: round(heapBytes / 1024 / o.pods, 2),
        gc: gc !== undefined,
      },
      events: {
        updates: o.updates,
        concurrency: o.concurrency,
        writesPerSec: round(writesPerSec, 0),
        informerEventsPerSec: round(informerEventsPerSec, 0),
        lagAfterLastWriteMs: round(lagAfterLastWriteMs),
        replayEventsPerSec: round(replayEventsPerSec, 0),
      },
    };
  } finally {
    rest?.close();
    await cleanup();
  }
}

/** The human table, then the figures as one JSON line (always the last line). */
export function report(r: InformerBenchResult): string {
  const e = r.events;
  const rows: [string, string][] = [
    ['measure', 'nanokube'],
    [`create ${r.pods} pods (c=${e.concurrency})`, `${r.createPodsPerSec} pods/s`],
    [`paged LIST of ${r.pods} pods (limit ${r.list.pageSize}), median`, `${r.list.medianMs} ms`],
    [`informer start to synced, ${r.pods} pods, median`, `${r.sync.medianMs} ms`],
    ['synced / LIST', `${round(r.sync.medianMs / r.list.medianMs, 2)}x`],
    [
      `informer heap with ${r.pods} pods${r.sync.gc ? '' : ' (no gc: rough)'}`,
      `${r.sync.heapMiB} MiB (${r.sync.heapKiBPerPod} KiB/pod)`,
    ],
    [`${e.updates} updates written (c=${e.concurrency})`, `${e.writesPerSec} writes/s`],
    ['informer saw them at', `${e.informerEventsPerSec} events/s`],
    ['informer behind the last acknowledged write by', `${e.lagAfterLastWriteMs} ms`],
    [`informer replaying the ${e.updates} as a backlog`, `${e.replayEventsPerSec} events/s`],
  ];
  const width = Math.max(...rows.map(([m]) => m.length));
  const text = rows.map(([m, v]) => `${m.padEnd(width)}   ${v}`).join('\n');
  return `${text}\n${JSON.stringify(r)}`;
}
