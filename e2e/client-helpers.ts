/**
 * Helpers for the client e2e tests: a seeded random workload of ConfigMap
 * creates, updates and deletes; a check that an informer's cache equals a
 * fresh list; a loopback TCP proxy whose connections a test can cut; a pino
 * logger whose lines a test can read.
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import pino from 'pino';
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists, isConflict, isNotFound, StatusError } from '../api/status.js';
import { keyOf } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { sleep, waitFor } from '../testing/harness.js';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface WorkloadOptions {
  /** ConfigMaps, all namespaces. */
  client: ResourceClient;
  namespaces: string[];
  /** Operations to complete (creates, updates, deletes). */
  count: number;
  concurrency?: number;
  rand: () => number;
  /** Labels for a new or relabelled object; default: a random tier and shard. */
  labels?: (rand: () => number) => Record<string, string>;
  /** Called after each completed operation with the number completed; not awaited. */
  onProgress?: (done: number) => void;
  /**
   * Keep retrying operations that fail because no apiserver could be reached
   * (503), for runs that kill one; an operation whose outcome is unknown is
   * checked with a get. Without it, any failure fails the workload.
   */
  rideOutOutages?: boolean;
}

export interface WorkloadResult {
  creates: number;
  updates: number;
  deletes: number;
  /** Operations that failed for want of an apiserver and were tried again. */
  retried: number;
}

const pick = <T>(rand: () => number, xs: T[]): T => xs[Math.floor(rand() * xs.length)];

export const randomLabels = (rand: () => number): Record<string, string> => ({
  tier: pick(rand, ['web', 'db', 'cache']),
  shard: String(Math.floor(rand() * 4)),
});

/**
 * Runs `count` random operations over ConfigMaps in `namespaces`: about 40%
 * creates, 40% updates (half PUT with the last resourceVersion seen, half
 * merge patches, some changing labels) and 20% deletes. No two operations
 * in flight touch the same object.
 */
export async function runWorkload(o: WorkloadOptions): Promise<WorkloadResult> {
  const { client, rand } = o;
  const labels = o.labels ?? randomLabels;
  const known = new Map<string, KubeObject>();
  const busy = new Set<string>();
  const result: WorkloadResult = { creates: 0, updates: 0, deletes: 0, retried: 0 };
  let started = 0;
  let done = 0;
  let serial = 0;

  /** Runs `op`, again while no apiserver answers if allowed; `again` says whether an earlier try may have acted. */
  const attempt = async <T>(op: (again: boolean) => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await op(i > 0);
      } catch (err) {
        const unreachable = err instanceof StatusError && err.code === 503;
        if (!o.rideOutOutages || !unreachable || i >= 200) throw err;
        result.retried++;
        await sleep(100);
      }
    }
  };

  /** Re-reads an object whose last write may or may not have happened. */
  const refresh = async (key: string) => {
    const [ns, name] = key.split('/');
    try {
      known.set(key, await attempt(() => client.in(ns).get(name)));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      known.delete(key);
    }
  };

  const create = async () => {
    const ns = pick(rand, o.namespaces);
    const name = `cm-${serial++}-${Math.floor(rand() * 1e6)}`;
    const key = `${ns}/${name}`;
    busy.add(key);
    const obj = { metadata: { name, namespace: ns, labels: labels(rand) }, data: { v: '0' } };
    try {
      known.set(key, await attempt(() => client.create(obj)));
    } catch (err) {
      // A create whose first try went through before its connection broke.
      if (!isAlreadyExists(err)) throw err;
      await refresh(key);
    }
    result.creates++;
    busy.delete(key);
  };

  const update = async (key: string) => {
    const cur = known.get(key)!;
    const [ns, name] = key.split('/');
    const data = { v: String(Number((cur.data as { v: string }).v) + 1) };
    const relabel = rand() < 0.3 ? labels(rand) : undefined;
    try {
      if (rand() < 0.5) {
        const next = {
          ...cur,
          metadata: { ...cur.metadata, labels: relabel ?? cur.metadata.labels },
          data,
        };
        known.set(key, await attempt(() => client.update(next)));
      } else {
        const patch = { metadata: relabel ? { labels: relabel } : undefined, data };
        known.set(key, await attempt(() => client.in(ns).patch(name, 'merge', patch)));
      }
    } catch (err) {
      // Only a retried write can find the object changed under it.
      if (!o.rideOutOutages || !isConflict(err)) throw err;
      await refresh(key);
    }
    result.updates++;
  };

  const remove = async (key: string) => {
    const [ns, name] = key.split('/');
    try {
      await attempt(() => client.in(ns).delete(name));
    } catch (err) {
      if (!o.rideOutOutages || !isNotFound(err)) throw err;
    }
    known.delete(key);
    result.deletes++;
  };

  const worker = async () => {
    while (started < o.count) {
      started++;
      const r = rand();
      const free = [...known.keys()].filter((k) => !busy.has(k));
      if (free.length < 10 || r < 0.4) await create();
      else {
        const key = pick(rand, free);
        busy.add(key);
        try {
          if (r < 0.8) await update(key);
          else await remove(key);
        } finally {
          busy.delete(key);
        }
      }
      o.onProgress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 8 }, worker));
  return result;
}

/** key → resourceVersion of a set of objects, sorted by key, for a readable diff. */
export function versions(objs: Iterable<KubeObject>): Record<string, string> {
  const pairs = [...objs].map((o) => [keyOf(o), o.metadata.resourceVersion ?? ''] as const);
  return Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Lists afresh (all namespaces, `labelSelector`) and waits until the
 * informer's store holds exactly those keys at those resourceVersions; call
 * once writes have stopped. Resolves with both sides so the caller can
 * assert on them (they differ only on timeout).
 */
export async function settle(
  informer: SharedInformer,
  client: ResourceClient,
  { labelSelector, timeoutMs = 20_000 }: { labelSelector?: string; timeoutMs?: number } = {},
): Promise<{ cache: Record<string, string>; list: Record<string, string> }> {
  const list = versions((await client.list({ labelSelector })).items);
  const same = () => JSON.stringify(versions(informer.store.list())) === JSON.stringify(list);
  await waitFor(same, { timeoutMs, intervalMs: 50, what: 'informer cache to equal a fresh list' }).catch(
    () => undefined,
  );
  return { cache: versions(informer.store.list()), list };
}

/** A handler that mirrors the informer's notifications into a map of key → resourceVersion. */
export function mirror() {
  const seen = new Map<string, KubeObject>();
  return {
    seen,
    handler: {
      onAdd: (o: KubeObject) => void seen.set(keyOf(o), o),
      onUpdate: (_old: KubeObject, o: KubeObject) => void seen.set(keyOf(o), o),
      onDelete: (o: KubeObject) => void seen.delete(keyOf(o)),
    },
  };
}

export interface CuttableProxy {
  url: string;
  /** Breaks every open connection and refuses (resets) new ones until `restore`. */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `targetPort` on 127.0.0.1. */
export async function startProxy(targetPort: number): Promise<CuttableProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server = createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = tcpConnect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A logger whose JSON lines the test can search; `messages` are the `msg` fields. */
export function capturingLogger(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines, messages: () => lines.map((l) => String(l.msg)) };
}
