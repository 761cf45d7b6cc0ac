/**
 * The apiserver benchmark: nanokube's apiserver beside raw etcd, in one run,
 * against one etcd it starts itself (and stops at the end, also on error).
 *
 * - create: 5,000 ConfigMaps through the apiserver over keep-alive HTTP at
 *   concurrency 32, beside raw puts of the same JSON to the same etcd with
 *   the same etcd3 client library and concurrency. Aim: ratio >= 0.6.
 * - list: LIST of all 5,000 (median and p99 of 20). Aim: p99 < 100 ms.
 * - watch: 200 watch connections on the namespace, then 20 single writes
 *   spaced apart; for each watcher, the delay from just before the write
 *   request to the event arriving. Aim: p99 < 50 ms.
 *
 * - security: the same three measures again against an apiserver on its TLS
 *   port with client certificates and RBAC on (a fresh etcd of its own),
 *   as an admin client with a certificate; the cost of security is the
 *   ratio of the two runs.
 *
 * Everything runs on 127.0.0.1, and every loop is bounded.
 */

import {
  Agent,
  type AgentOptions,
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type RequestOptions,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { cleanup, startApiserver, startEtcd } from '../testing/harness.js';
import { startSecureApiserver } from '../testing/secure-apiserver.js';
import { table } from './table.js';

export interface ApiserverBenchOptions {
  objects: number;
  concurrency: number;
  lists: number;
  watchers: number;
  writes: number;
  /** Pause between two watched writes, so each one's delivery is measured alone. */
  writeGapMs: number;
  /**
   * Creates (and puts) made before the measured ones, outside the timing: the
   * apiserver reaches its steady speed (JIT, heap size) only after about 2,000.
   */
  warmup: number;
}

export const defaultOptions: ApiserverBenchOptions = {
  objects: 5_000,
  concurrency: 32,
  lists: 20,
  watchers: 200,
  writes: 20,
  writeGapMs: 100,
  warmup: 2_000,
};

export interface ApiserverBenchResult {
  bench: 'apiserver';
  create: {
    objects: number;
    concurrency: number;
    apiserverOpsPerSec: number;
    etcdOpsPerSec: number;
    ratio: number;
  };
  list: { items: number; runs: number; p50Ms: number; p99Ms: number };
  /**
   * `spreadP99Ms`: p99 of each delivery's lag behind the first watcher to get
   * the same write, which is the fan-out's own cost without etcd's commit.
   */
  watch: {
    watchers: number;
    writes: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    spreadP99Ms: number;
  };
  /** The same measures on the TLS port with client certificates and RBAC. */
  secure: {
    createOpsPerSec: number;
    listP50Ms: number;
    listP99Ms: number;
    watchP50Ms: number;
    watchP99Ms: number;
    /** Secure over plain: below 1 for throughput, above 1 for latency means security costs. */
    createRatio: number;
    listP50Ratio: number;
    watchP50Ratio: number;
  };
}

/** How the benchmark reaches one apiserver: its base URL and agents for it. */
interface Target {
  base: string;
  agent(opts: AgentOptions): Agent;
}

function request(url: string, opts: RequestOptions, cb: (res: IncomingMessage) => void): ClientRequest {
  return url.startsWith('https:') ? httpsRequest(url, opts, cb) : httpRequest(url, opts, cb);
}

const benchNamespace = 'bench';
const warmupNamespace = 'bench-warmup';
const rawPrefix = '/bench/raw/';

/** Nearest-rank percentile of ascending `sorted`. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function configMap(name: string, namespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { app: 'bench', shard: String(name.length % 4) } },
    data: { 'app.properties': 'color=blue\nsize=large\nreplicas=3\n', owner: 'nanokube-bench' },
  };
}

const nameOf = (i: number) => `cm-${String(i).padStart(5, '0')}`;

/** Runs `task(i)` for i in [0, n) with at most `concurrency` at once; rejects on the first failure. */
export async function pool(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

interface HttpResult {
  status: number;
  body: string;
}

export function http(agent: Agent, method: string, url: string, body?: string): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = request(url, { method, agent, headers, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

async function create(agent: Agent, base: string, namespace: string, name: string): Promise<void> {
  const res = await http(
    agent,
    'POST',
    `${base}/api/v1/namespaces/${namespace}/configmaps`,
    JSON.stringify(configMap(name, namespace)),
  );
  if (res.status !== 201)
    throw new Error(`create ${namespace}/${name}: ${res.status} ${res.body.slice(0, 300)}`);
}

/** Creates `n` ConfigMaps through the apiserver; returns ops/s. */
async function apiserverCreates(
  agent: Agent,
  base: string,
  namespace: string,
  n: number,
  concurrency: number,
) {
  const start = performance.now();
  await pool(n, concurrency, (i) => create(agent, base, namespace, nameOf(i)));
  return n / ((performance.now() - start) / 1000);
}

/** Puts the same JSON under `prefix` in etcd directly; returns ops/s. */
async function etcdPuts(etcd: Etcd3, prefix: string, namespace: string, n: number, concurrency: number) {
  const start = performance.now();
  await pool(n, concurrency, async (i) => {
    await etcd
      .put(`${prefix}${namespace}/${nameOf(i)}`)
      .value(JSON.stringify(configMap(nameOf(i), namespace)));
  });
  return n / ((performance.now() - start) / 1000);
}

async function listLatencies(agent: Agent, base: string, expected: number, runs: number): Promise<number[]> {
  const url = `${base}/api/v1/namespaces/${benchNamespace}/configmaps`;
  const times: number[] = [];
  for (let r = 0; r < runs + 2; r++) {
    const start = performance.now();
    const res = await http(agent, 'GET', url);
    const ms = performance.now() - start;
    const items = res.status === 200 ? (JSON.parse(res.body).items as unknown[]).length : -1;
    if (items !== expected) throw new Error(`list: ${res.status}, ${items} items, want ${expected}`);
    if (r >= 2) times.push(ms); // the first two warm up
  }
  return times;
}

/** One watch connection: records when each object name's event arrived. */
function openWatch(agent: Agent, url: string, arrivals: Map<string, number>[]): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const seen = new Map<string, number>();
    arrivals.push(seen);
    let buf = '';
    const req = request(url, { agent, headers: { accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = performance.now(); // before parsing, so parsing other watchers' events costs nobody
        buf += chunk;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const ev = JSON.parse(line) as { type: string; object: { metadata?: { name?: string } } };
          const name = ev.object.metadata?.name;
          if (name && !seen.has(name)) seen.set(name, at);
        }
      });
      res.on('error', () => undefined); // aborted at the end
      resolve(() => req.destroy());
    });
    req.on('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}

/** Per delivery: the delay after the write began, and the lag behind the first watcher to get it. */
async function watchDelays(
  target: Target,
  o: ApiserverBenchOptions,
): Promise<{ delays: number[]; spreads: number[] }> {
  const base = target.base;
  const agent = target.agent({ keepAlive: false, maxSockets: o.watchers + 1 });
  const writer = target.agent({ keepAlive: true, maxSockets: 1 });
  const list = await http(writer, 'GET', `${base}/api/v1/namespaces/${benchNamespace}/configmaps?limit=1`);
  const rv = JSON.parse(list.body).metadata.resourceVersion as string;
  const url = `${base}/api/v1/namespaces/${benchNamespace}/configmaps?watch=1&resourceVersion=${rv}`;
  const arrivals: Map<string, number>[] = [];
  const stops = await Promise.all(Array.from({ length: o.watchers }, () => openWatch(agent, url, arrivals)));
  try {
    await create(writer, base, benchNamespace, 'watch-warmup'); // a first write on the writer's connection
    const delays: number[] = [];
    const spreads: number[] = [];
    for (let w = 0; w < o.writes; w++) {
      await new Promise((r) => setTimeout(r, o.writeGapMs));
      const name = `watch-probe-${w}`;
      const start = performance.now();
      await create(writer, base, benchNamespace, name);
      const deadline = performance.now() + 10_000;
      while (arrivals.some((a) => !a.has(name))) {
        if (performance.now() > deadline) throw new Error(`not every watcher saw ${name} within 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      const first = Math.min(...arrivals.map((a) => a.get(name)!));
      for (const a of arrivals) {
        delays.push(a.get(name)! - start);
        spreads.push(a.get(name)! - first);
      }
    }
    return { delays, spreads };
  } finally {
    for (const stop of stops) stop();
    agent.destroy();
    writer.destroy();
  }
}

/** Creates, lists and watches through one apiserver. */
async function measure(
  target: Target,
  o: ApiserverBenchOptions,
  beforeMeasuredCreates?: () => Promise<void>,
) {
  const agent = target.agent({ keepAlive: true, maxSockets: o.concurrency });
  const base = target.base;
  try {
    for (const ns of [benchNamespace, warmupNamespace]) {
      const res = await http(
        agent,
        'POST',
        `${base}/api/v1/namespaces`,
        JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
      );
      if (res.status !== 201) throw new Error(`create namespace ${ns}: ${res.status} ${res.body}`);
    }
    // Warm up (JIT, connections, etcd's first writes) outside the measured runs.
    await apiserverCreates(agent, base, warmupNamespace, o.warmup, o.concurrency);
    await beforeMeasuredCreates?.();
    const createOpsPerSec = await apiserverCreates(agent, base, benchNamespace, o.objects, o.concurrency);
    const lists = (await listLatencies(agent, base, o.objects, o.lists)).sort((a, b) => a - b);
    const watch = await watchDelays(target, o);
    return {
      createOpsPerSec,
      lists,
      delays: watch.delays.sort((a, b) => a - b),
      spreads: watch.spreads.sort((a, b) => a - b),
    };
  } finally {
    agent.destroy();
  }
}

/** An apiserver on its TLS port with client certificates and RBAC, and an admin's agents for it. */
async function secureTarget(etcdServers: string[]): Promise<Target> {
  const secure = await startSecureApiserver({
    etcdServers,
    authorizationMode: 'RBAC',
    users: [{ name: 'admin', commonName: 'bench-admin', organizations: ['system:masters'] }],
  });
  const tls = secure.tls('admin');
  return { base: secure.url, agent: (opts) => new HttpsAgent({ ...opts, ...tls }) };
}

export async function runApiserverBench(
  o: ApiserverBenchOptions = defaultOptions,
): Promise<ApiserverBenchResult> {
  try {
    const etcdCluster = await startEtcd();
    const etcd = new Etcd3({ hosts: etcdCluster.endpoints });
    let plain: Awaited<ReturnType<typeof measure>>;
    let etcdOpsPerSec = 0;
    try {
      const server = await startApiserver({ etcdServers: etcdCluster.endpoints });
      plain = await measure({ base: server.url, agent: (opts) => new Agent(opts) }, o, async () => {
        await etcdPuts(etcd, '/bench/warmup/', warmupNamespace, o.warmup, o.concurrency);
      });
      etcdOpsPerSec = await etcdPuts(etcd, rawPrefix, benchNamespace, o.objects, o.concurrency);
    } finally {
      etcd.close();
    }
    // The secure run gets an etcd of its own, so both start from an empty store.
    const secureEtcd = await startEtcd();
    const secure = await measure(await secureTarget(secureEtcd.endpoints), o);
    const p50 = (xs: number[]) => percentile(xs, 50);
    return {
      bench: 'apiserver',
      create: {
        objects: o.objects,
        concurrency: o.concurrency,
        apiserverOpsPerSec: round(plain.createOpsPerSec, 0),
        etcdOpsPerSec: round(etcdOpsPerSec, 0),
        ratio: round(plain.createOpsPerSec / etcdOpsPerSec, 3),
      },
      list: {
        items: o.objects,
        runs: o.lists,
        p50Ms: round(p50(plain.lists)),
        p99Ms: round(percentile(plain.lists, 99)),
      },
      watch: {
        watchers: o.watchers,
        writes: o.writes,
        p50Ms: round(p50(plain.delays)),
        p99Ms: round(percentile(plain.delays, 99)),
        maxMs: round(plain.delays[plain.delays.length - 1]),
        spreadP99Ms: round(percentile(plain.spreads, 99)),
      },
      secure: {
        createOpsPerSec: round(secure.createOpsPerSec, 0),
        listP50Ms: round(p50(secure.lists)),
        listP99Ms: round(percentile(secure.lists, 99)),
        watchP50Ms: round(p50(secure.delays)),
        watchP99Ms: round(percentile(secure.delays, 99)),
        createRatio: round(secure.createOpsPerSec / plain.createOpsPerSec, 3),
        listP50Ratio: round(p50(secure.lists) / p50(plain.lists), 3),
        watchP50Ratio: round(p50(secure.delays) / p50(plain.delays), 3),
      },
    };
  } finally {
    await cleanup();
  }
}

/** The human table, then the figures as one JSON line (always the last line). */
export function report(r: ApiserverBenchResult): string {
  const rows: [string, string, string, string][] = [
    ['measure', 'nanokube', 'aim', 'ok'],
    [
      `create ${r.create.objects} ConfigMaps (c=${r.create.concurrency}), apiserver`,
      `${r.create.apiserverOpsPerSec} ops/s`,
      '',
      '',
    ],
    ['create, raw etcd put (same client, same concurrency)', `${r.create.etcdOpsPerSec} ops/s`, '', ''],
    ['create ratio apiserver / etcd', String(r.create.ratio), '>= 0.6', r.create.ratio >= 0.6 ? 'yes' : 'NO'],
    [`list ${r.list.items} p50 (${r.list.runs} runs)`, `${r.list.p50Ms} ms`, '', ''],
    [`list ${r.list.items} p99`, `${r.list.p99Ms} ms`, '< 100 ms', r.list.p99Ms < 100 ? 'yes' : 'NO'],
    [
      `watch delivery p50 (${r.watch.watchers} watchers x ${r.watch.writes} writes)`,
      `${r.watch.p50Ms} ms`,
      '',
      '',
    ],
    ['watch delivery p99', `${r.watch.p99Ms} ms`, '< 50 ms', r.watch.p99Ms < 50 ? 'yes' : 'NO'],
    ['watch delivery max', `${r.watch.maxMs} ms`, '', ''],
    ['watch fan-out spread p99 (lag behind the first watcher)', `${r.watch.spreadP99Ms} ms`, '', ''],
    [
      'TLS + client certs + RBAC: create',
      `${r.secure.createOpsPerSec} ops/s (x${r.secure.createRatio} of plain)`,
      '',
      '',
    ],
    [
      'TLS + client certs + RBAC: list p50 / p99',
      `${r.secure.listP50Ms} / ${r.secure.listP99Ms} ms (p50 x${r.secure.listP50Ratio})`,
      '',
      '',
    ],
    [
      'TLS + client certs + RBAC: watch delivery p50 / p99',
      `${r.secure.watchP50Ms} / ${r.secure.watchP99Ms} ms (p50 x${r.secure.watchP50Ratio})`,
      '',
      '',
    ],
  ];
  return `${table(rows, { rule: true })}\n${JSON.stringify(r)}`;
}
