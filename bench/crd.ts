/**
 * The custom resource benchmark: custom objects beside ConfigMaps through one
 * apiserver, in one run, against one etcd it starts itself.
 *
 * - create: 5,000 objects of a CRD with a schema of moderate size (nested
 *   objects, enums, a pattern, defaults, a map list, int-or-string values)
 *   beside 5,000 ConfigMaps carrying about as many bytes, at concurrency 32;
 *   two rounds in opposite order so neither kind always runs on the warmer
 *   process. Aim: custom objects at >= 0.8 of ConfigMaps' rate.
 * - list: LIST of each kind's 10,000 objects, median of 10.
 *
 * Everything runs on 127.0.0.1, and every loop is bounded.
 */
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup, startApiserver, startEtcd } from '../testing/harness.js';
import { http, percentile, pool, round } from './apiserver.js';
import { table } from './table.js';

export interface CrdBenchOptions {
  objects: number;
  concurrency: number;
  rounds: number;
  lists: number;
  warmup: number;
}

export const defaultOptions: CrdBenchOptions = {
  objects: 5_000,
  concurrency: 32,
  rounds: 2,
  lists: 10,
  warmup: 2_000,
};

export interface CrdBenchResult {
  bench: 'crd';
  create: {
    objects: number;
    concurrency: number;
    rounds: number;
    customOpsPerSec: number;
    configMapOpsPerSec: number;
    ratio: number;
  };
  list: { items: number; runs: number; customP50Ms: number; configMapP50Ms: number; ratio: number };
}

const group = 'bench.nanokube.dev';
const plural = 'widgets';

/** A schema of the size and shape operators' CRDs have: a few levels, enums, defaults, list markers. */
const widgetSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image', 'size'],
      properties: {
        image: { type: 'string', pattern: '^[a-z0-9./:-]+$', maxLength: 256 },
        size: { type: 'string', enum: ['small', 'medium', 'large'] },
        replicas: { type: 'integer', minimum: 0, maximum: 100, default: 1 },
        paused: { type: 'boolean', default: false },
        ports: {
          type: 'array',
          maxItems: 16,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: {
            type: 'object',
            required: ['name', 'port'],
            properties: {
              name: { type: 'string', maxLength: 15 },
              port: { type: 'integer', minimum: 1, maximum: 65535 },
              protocol: { type: 'string', enum: ['TCP', 'UDP'], default: 'TCP' },
            },
          },
        },
        env: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name'],
            properties: { name: { type: 'string' }, value: { type: 'string' } },
          },
        },
        resources: {
          type: 'object',
          properties: {
            limits: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
            requests: { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } },
          },
        },
        selector: {
          type: 'object',
          properties: { matchLabels: { type: 'object', additionalProperties: { type: 'string' } } },
        },
        config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      },
    },
    status: {
      type: 'object',
      properties: {
        replicas: { type: 'integer' },
        conditions: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              type: { type: 'string' },
              status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
              lastTransitionTime: { type: 'string', format: 'date-time' },
              message: { type: 'string' },
            },
          },
        },
      },
    },
  },
};

function crd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: widgetSchema },
          subresources: { status: {} },
        },
      ],
    },
  };
}

function widget(name: string, namespace: string) {
  return {
    apiVersion: `${group}/v1`,
    kind: 'Widget',
    metadata: { name, namespace, labels: { app: 'bench', shard: String(name.length % 4) } },
    spec: {
      image: 'nanokube/busybox:1',
      size: 'medium',
      ports: [{ name: 'http', port: 8080 }],
      env: [{ name: 'MODE', value: 'bench' }],
      resources: { limits: { cpu: '250m', memory: '64Mi' } },
      selector: { matchLabels: { app: 'bench' } },
    },
  };
}

function configMap(name: string, namespace: string) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { app: 'bench', shard: String(name.length % 4) } },
    data: {
      image: 'nanokube/busybox:1',
      size: 'medium',
      'app.properties': 'port=8080\nMODE=bench\ncpu=250m\nmemory=64Mi\n',
    },
  };
}

interface Kind {
  name: string;
  path: (ns: string) => string;
  body: (name: string, ns: string) => unknown;
}

const kinds: Record<'custom' | 'configMap', Kind> = {
  custom: { name: 'Widget', path: (ns) => `/apis/${group}/v1/namespaces/${ns}/${plural}`, body: widget },
  configMap: { name: 'ConfigMap', path: (ns) => `/api/v1/namespaces/${ns}/configmaps`, body: configMap },
};

/** Creates `n` objects of `kind`; returns objects per second. */
async function creates(
  agent: Agent,
  base: string,
  kind: Kind,
  ns: string,
  prefix: string,
  n: number,
  c: number,
) {
  const start = performance.now();
  await pool(n, c, async (i) => {
    const name = `${prefix}-${String(i).padStart(5, '0')}`;
    const res = await http(agent, 'POST', `${base}${kind.path(ns)}`, JSON.stringify(kind.body(name, ns)));
    if (res.status !== 201)
      throw new Error(`create ${kind.name} ${name}: ${res.status} ${res.body.slice(0, 300)}`);
  });
  return n / ((performance.now() - start) / 1000);
}

async function listMedian(
  agent: Agent,
  base: string,
  kind: Kind,
  ns: string,
  expected: number,
  runs: number,
) {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const res = await http(agent, 'GET', `${base}${kind.path(ns)}`);
    times.push(performance.now() - start);
    const items = (JSON.parse(res.body) as { items?: unknown[] }).items?.length;
    if (res.status !== 200 || items !== expected)
      throw new Error(`list ${kind.name}: ${res.status}, ${items} items, want ${expected}`);
  }
  return percentile(
    times.sort((a, b) => a - b),
    50,
  );
}

/** Creates the CRD and waits, at most 30 s, until its objects are served. */
async function establish(agent: Agent, base: string): Promise<void> {
  const res = await http(
    agent,
    'POST',
    `${base}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`,
    JSON.stringify(crd()),
  );
  if (res.status !== 201) throw new Error(`create the CRD: ${res.status} ${res.body.slice(0, 300)}`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const probe = await http(agent, 'GET', `${base}${kinds.custom.path('default')}?limit=1`);
    if (probe.status === 200) return;
    await sleep(100);
  }
  throw new Error('the CRD was not served within 30 s');
}

export async function runCrdBench(o: CrdBenchOptions = defaultOptions): Promise<CrdBenchResult> {
  try {
    const etcd = await startEtcd();
    const server = await startApiserver({ etcdServers: etcd.endpoints });
    const base = server.url;
    const agent = new Agent({ keepAlive: true, maxSockets: o.concurrency });
    try {
      for (const name of ['bench', 'bench-warmup']) {
        const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
        const res = await http(agent, 'POST', `${base}/api/v1/namespaces`, JSON.stringify(ns));
        if (res.status !== 201) throw new Error(`create namespace ${name}: ${res.status} ${res.body}`);
      }
      await establish(agent, base);
      // Warm up (JIT, connections, etcd's first writes) outside the measured runs.
      for (const kind of Object.values(kinds))
        await creates(agent, base, kind, 'bench-warmup', 'w', o.warmup, o.concurrency);
      const rates = { custom: [] as number[], configMap: [] as number[] };
      for (let r = 0; r < o.rounds; r++) {
        const order = r % 2 === 0 ? (['configMap', 'custom'] as const) : (['custom', 'configMap'] as const);
        for (const k of order)
          rates[k].push(await creates(agent, base, kinds[k], 'bench', `r${r}`, o.objects, o.concurrency));
      }
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      const items = o.objects * o.rounds;
      const customList = await listMedian(agent, base, kinds.custom, 'bench', items, o.lists);
      const configMapList = await listMedian(agent, base, kinds.configMap, 'bench', items, o.lists);
      return {
        bench: 'crd',
        create: {
          objects: o.objects,
          concurrency: o.concurrency,
          rounds: o.rounds,
          customOpsPerSec: round(mean(rates.custom), 0),
          configMapOpsPerSec: round(mean(rates.configMap), 0),
          ratio: round(mean(rates.custom) / mean(rates.configMap), 3),
        },
        list: {
          items,
          runs: o.lists,
          customP50Ms: round(customList),
          configMapP50Ms: round(configMapList),
          ratio: round(customList / configMapList, 3),
        },
      };
    } finally {
      agent.destroy();
    }
  } finally {
    await cleanup();
  }
}

/** The human table, then the figures as one JSON line (always the last line). */
export function report(r: CrdBenchResult): string {
  const c = r.create;
  const rows: string[][] = [
    ['measure', 'nanokube', 'aim', 'ok'],
    [
      `create ${c.objects} Widgets (custom, c=${c.concurrency}, mean of ${c.rounds})`,
      `${c.customOpsPerSec} ops/s`,
      '',
      '',
    ],
    [`create ${c.objects} ConfigMaps (same)`, `${c.configMapOpsPerSec} ops/s`, '', ''],
    ['create ratio custom / ConfigMap', String(c.ratio), '>= 0.8', c.ratio >= 0.8 ? 'yes' : 'NO'],
    [`list ${r.list.items} Widgets p50 (${r.list.runs} runs)`, `${r.list.customP50Ms} ms`, '', ''],
    [`list ${r.list.items} ConfigMaps p50`, `${r.list.configMapP50Ms} ms`, '', ''],
    ['list ratio custom / ConfigMap', String(r.list.ratio), '', ''],
  ];
  return `${table(rows, { rule: true })}\n${JSON.stringify(r)}`;
}
