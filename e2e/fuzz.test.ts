import http from 'node:http';
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Apiserver,
  cleanup,
  type EtcdCluster,
  logTail,
  startApiserver,
  startEtcd,
} from '../testing/harness.js';
import { startSecureApiserver } from '../testing/secure-apiserver.js';
import { seededRandom } from './client-helpers.js';

let etcd: EtcdCluster;
let apiserver: Apiserver;

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
}, 60_000);

afterAll(async () => {
  await cleanup();
});

interface Case {
  family: string;
  method: string;
  path: string;
  contentType?: string;
  body?: string | Buffer;
  /** Sent byte for byte (not through fetch), as an upgrade when `upgrade`. */
  raw?: boolean;
  upgrade?: boolean;
}

const deep = (n: number, open: string, close: string, inner = '1') =>
  open.repeat(n) + inner + close.repeat(n);

function cases(rand: () => number): Case[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const ns = '/api/v1/namespaces/default';
  const collections = [
    `${ns}/configmaps`,
    `${ns}/pods`,
    `${ns}/services`,
    `${ns}/secrets`,
    '/apis/apps/v1/namespaces/default/deployments',
    '/apis/batch/v1/namespaces/default/jobs',
    '/api/v1/nodes',
    '/api/v1/namespaces',
    '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
  ];
  const out: Case[] = [];
  const json = (v: unknown) => JSON.stringify(v);
  const cm = (extra: Record<string, unknown> = {}) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `fz-${Math.floor(rand() * 1e9)}` },
    ...extra,
  });

  // Broken JSON and YAML.
  const broken = [
    '{',
    '{"kind":',
    '[1,2',
    'null',
    '"str"',
    '42',
    'true',
    '{"metadata":"x"}',
    '{"metadata":[]}',
    '\u0000\u0001',
    '{"a":1}{"b":2}',
    '\ufeff{}',
  ];
  for (let i = 0; i < 200; i++)
    out.push({
      family: 'broken body',
      method: pick(['POST', 'PUT', 'PATCH']),
      path: pick(collections) + (rand() < 0.5 ? '/x' : ''),
      contentType: pick([
        'application/json',
        'application/yaml',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
        'application/json-patch+json',
        'application/apply-patch+yaml',
      ]),
      body: pick(broken) + (rand() < 0.3 ? 'x'.repeat(Math.floor(rand() * 100)) : ''),
    });

  // Wrong content types.
  for (let i = 0; i < 100; i++)
    out.push({
      family: 'content type',
      method: pick(['POST', 'PUT', 'PATCH']),
      path: pick(collections) + (rand() < 0.5 ? '/x' : ''),
      contentType: pick([
        'text/plain',
        'application/xml',
        'image/png',
        'multipart/form-data',
        '',
        'application/vnd.kubernetes.protobuf',
        ';;;',
        'application/json; charset=utf-16',
      ]),
      body: json(cm()),
    });

  // Deep nesting, in every place a value can go.
  for (const depth of [100, 1_000, 10_000, 100_000]) {
    out.push({
      family: 'deep JSON',
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/json',
      body: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep-${depth}"},"data":${deep(depth, '{"a":', '}', '"x"')}}`,
    });
    out.push({
      family: 'deep JSON',
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/json',
      body: deep(depth, '[', ']'),
    });
    out.push({
      family: 'deep JSON',
      method: 'POST',
      path: '/apis/apps/v1/namespaces/default/deployments',
      contentType: 'application/json',
      body: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"deep-${depth}"},"spec":${deep(depth, '{"template":', '}', '{}')}}`,
    });
    out.push({
      family: 'deep JSON',
      method: 'PATCH',
      path: `${ns}/configmaps/nope`,
      contentType: 'application/merge-patch+json',
      body: deep(depth, '{"a":', '}', '1'),
    });
    out.push({
      family: 'deep JSON',
      method: 'PATCH',
      path: `${ns}/configmaps/nope`,
      contentType: 'application/strategic-merge-patch+json',
      body: deep(depth, '{"a":', '}', '1'),
    });
    out.push({
      family: 'deep JSON',
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/yaml',
      body: deep(Math.min(depth, 10_000), '[', ']'),
    });
    out.push({
      family: 'deep JSON',
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/json',
      body: json(
        cm({
          metadata: {
            name: `deep-labels-${depth}`,
            labels: JSON.parse(deep(Math.min(depth, 1000), '{"a":', '}', '"x"')),
          },
        }),
      ),
    });
  }

  // Oversized bodies.
  for (const size of [3 * 1024 * 1024 + 1, 8 * 1024 * 1024]) {
    out.push({
      family: 'oversized',
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/json',
      body: json(cm({ data: { big: 'x'.repeat(size) } })),
    });
    out.push({
      family: 'oversized',
      method: 'PUT',
      path: `${ns}/configmaps/big`,
      contentType: 'application/json',
      body: 'x'.repeat(size),
    });
  }

  // Long and odd names, labels and annotations.
  const odd = () =>
    pick([
      'x'.repeat(Math.floor(rand() * 100_000)),
      'A-B',
      '-x',
      'x-',
      '..',
      '.',
      'a/b',
      'a%2Fb',
      'é',
      '\u202e',
      '',
      ' ',
      'a'.repeat(63),
      'a'.repeat(64),
      'a'.repeat(254),
      '\u0000',
      'x'.repeat(1_000_000),
    ]);
  for (let i = 0; i < 400; i++) {
    const where = pick([
      'name',
      'label key',
      'label value',
      'annotation',
      'namespace',
      'generateName',
      'finalizer',
      'ownerRef',
    ]);
    const meta: Record<string, unknown> = { name: `fz-${i}` };
    const v = odd();
    if (where === 'name') meta.name = v;
    if (where === 'label key') meta.labels = { [v]: 'x' };
    if (where === 'label value') meta.labels = { k: v };
    if (where === 'annotation') meta.annotations = { [`a${i}`]: v };
    if (where === 'namespace') meta.namespace = v;
    if (where === 'generateName') {
      delete meta.name;
      meta.generateName = v;
    }
    if (where === 'finalizer') meta.finalizers = [v];
    if (where === 'ownerRef') meta.ownerReferences = [{ apiVersion: v, kind: v, name: v, uid: v }];
    out.push({
      family: `odd ${where}`,
      method: 'POST',
      path: `${ns}/configmaps`,
      contentType: 'application/json',
      body: json({ apiVersion: 'v1', kind: 'ConfigMap', metadata: meta }),
    });
  }

  // Wrong types in every field of a pod.
  const wrongs = [null, 0, -1, 1e308, 'x', [], {}, true, [null], { '': '' }, -9007199254740992];
  const podPaths = [
    'spec',
    'spec.containers',
    'spec.containers.0',
    'spec.containers.0.ports',
    'spec.containers.0.ports.0.containerPort',
    'spec.containers.0.resources.limits.cpu',
    'spec.containers.0.image',
    'spec.volumes',
    'spec.nodeSelector',
    'spec.tolerations.0.tolerationSeconds',
    'metadata',
    'metadata.labels',
    'metadata.creationTimestamp',
    'spec.securityContext.runAsUser',
    'spec.containers.0.env.0.valueFrom',
    'spec.terminationGracePeriodSeconds',
  ];
  for (let i = 0; i < 400; i++) {
    const pod: any = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `fz-pod-${i}` },
      spec: {
        containers: [
          {
            name: 'c',
            image: 'busybox',
            ports: [{ containerPort: 80 }],
            resources: { limits: { cpu: '1' } },
            env: [{ name: 'E', valueFrom: {} }],
          },
        ],
        tolerations: [{ key: 'k', tolerationSeconds: 1 }],
      },
    };
    const p = pick(podPaths).split('.');
    let cur = pod;
    for (const k of p.slice(0, -1)) {
      cur[k] ??= {};
      cur = cur[k];
    }
    cur[p[p.length - 1]] = pick(wrongs);
    out.push({
      family: 'wrong type',
      method: pick(['POST', 'PUT']),
      path: `${ns}/pods${rand() < 0.5 ? '' : `/fz-pod-${i}`}`,
      contentType: 'application/json',
      body: json(pod),
    });
  }

  // Path tricks.
  const tricks = [
    '/api/v1/namespaces/default/configmaps/..',
    '/api/v1/namespaces/default/configmaps/%2e%2e',
    '/api/v1/namespaces/default/configmaps/a%2Fb',
    '/api/v1/namespaces/..%2F..%2Fsecrets',
    '/api/v1/namespaces/default/configmaps/a/b/c/d/e',
    '/api/v1/namespaces/default/pods/x/exec/../../../nodes',
    '/api/v1//namespaces//default',
    '/apis/%00/v1/x',
    '/api/v1/namespaces/%ZZ',
    '/api/v1/namespaces/default/configmaps?limit=-1',
    '/api/v1/namespaces/default/configmaps?limit=abc',
    '/api/v1/namespaces/default/configmaps?continue=!!!',
    '/api/v1/namespaces/default/configmaps?resourceVersion=-5',
    '/api/v1/namespaces/default/configmaps?resourceVersion=abc&watch=1&timeoutSeconds=1',
    '/api/v1/namespaces/default/configmaps?labelSelector=a%20in%20(',
    '/api/v1/namespaces/default/configmaps?fieldSelector===',
    '/api/v1/namespaces/default/configmaps?timeoutSeconds=1e99&watch=true',
    '/api/v1/pods?fieldSelector=spec.nodeName%3D%3D%3D',
    `/api/v1/namespaces/default/configmaps/${'x'.repeat(10_000)}`,
    '/apis/apps/v1/namespaces/default/deployments/x/scale/extra',
    '/apis/../api/v1',
    '/api/v1/namespaces/default/configmaps?dryRun=Maybe',
    '/api/v1/namespaces/default/configmaps?fieldManager=' + 'm'.repeat(200),
    '/api/v1/namespaces/default/configmaps?fieldValidation=Wrong',
    '/openapi/v3/apis/nope/v1',
    '/api/v1/namespaces/default/pods/x/log?tailLines=-1',
    '/api/v1/namespaces/default/pods/x/log?sinceSeconds=abc',
  ];
  for (let i = 0; i < 300; i++)
    out.push({
      family: 'path trick',
      method: pick(['GET', 'DELETE', 'POST', 'PATCH', 'PUT']),
      path: pick(tricks),
      contentType: 'application/json',
      body: rand() < 0.5 ? json(cm()) : undefined,
    });

  // JSON patches that point nowhere.
  const ops = [
    [{ op: 'remove', path: '/metadata' }],
    [{ op: 'add', path: '/a/b/c/d', value: 1 }],
    [{ op: 'replace', path: '', value: null }],
    [{ op: 'move', from: '/data', path: '/data/x' }],
    [{ op: 'test', path: '/x', value: 1 }],
    [{ op: 'copy', from: '/metadata', path: '/metadata/name' }],
    [{ op: 'nope' }],
    [{}],
    'x',
    [{ op: 'add', path: '/metadata/labels/~2', value: 'v' }],
    [{ op: 'add', path: '/data/-', value: 'v' }],
  ];
  for (let i = 0; i < 200; i++)
    out.push({
      family: 'json patch',
      method: 'PATCH',
      path: `${ns}/configmaps/fuzz-target`,
      contentType: 'application/json-patch+json',
      body: json(pick(ops)),
    });

  // Strategic merge directives in odd places.
  const smp = [
    { $patch: 'delete' },
    { metadata: { $patch: 'replace' } },
    { spec: { containers: [{ $patch: 'delete' }] } },
    { spec: { $retainKeys: 'x' } },
    { spec: { containers: { name: 'c' } } },
    { $setElementOrder: 1 },
    { spec: { 'containers/$setElementOrder': [1, 2] } },
    { spec: { $deleteFromPrimitiveList: 'x' } },
  ];
  for (let i = 0; i < 150; i++)
    out.push({
      family: 'strategic patch',
      method: 'PATCH',
      path: pick([
        `${ns}/configmaps/fuzz-target`,
        `${ns}/pods/fuzz-pod`,
        '/apis/apps/v1/namespaces/default/deployments/fuzz-deploy',
      ]),
      contentType: 'application/strategic-merge-patch+json',
      body: json(pick(smp)),
    });

  // Request targets a router and an authorizer could read two ways, sent byte for byte.
  const exec = `${ns}/pods/fuzz-pod/exec?command=id&stdout=true`;
  const forms = [
    `${ns}/pods/fuzz-pod/./exec?command=id`,
    `${ns}/pods/x/../exec?command=id`,
    `${ns}/./configmaps/fuzz-target`,
    `${ns}/configmaps/%2e%2e/secrets`,
    '/api/v1/secrets#/a/b/c/d',
    '/api/v1/namespaces/%E0/pods/x/exec',
    '/api/v1/namespaces/default%2Fconfigmaps',
    `${ns}/configmaps/%252F`,
    `${ns}/configmaps/fuzz-target;x=1`,
    `//api//v1//namespaces//default//configmaps//`,
    `${ns}/configmaps/%00`,
    `${ns}/configmaps/%`,
    `${ns}/configmaps?watch=&watch=false&timeoutSeconds=1`,
    '/api/v1/secrets/a/b/c/d',
    `/api/v1/${'%41'.repeat(2000)}`,
    'http://127.0.0.1/api/v1/secrets',
  ];
  for (let i = 0; i < 200; i++) {
    const upgrade = rand() < 0.3;
    out.push({
      family: 'path form',
      method: upgrade ? 'GET' : pick(['GET', 'DELETE', 'POST', 'PATCH']),
      path: upgrade ? pick([...forms.slice(0, 2), forms[5], exec.replace('exec', '%2e/exec')]) : pick(forms),
      contentType: 'application/json',
      raw: true,
      upgrade,
    });
  }

  // Keys that name prototypes, in every kind of write.
  const proto = [
    { t: 'application/json-patch+json', b: [{ op: 'add', path: '/__proto__/polluted', value: 'yes' }] },
    { t: 'application/json-patch+json', b: [{ op: 'add', path: '/metadata/__proto__/x', value: 'yes' }] },
    { t: 'application/json-patch+json', b: [{ op: 'add', path: '/constructor/prototype/x', value: 1 }] },
    { t: 'application/json-patch+json', b: [{ op: 'copy', from: '/__proto__', path: '/data/p' }] },
    { t: 'application/merge-patch+json', b: { __proto__: { polluted: 'yes' } } },
    {
      t: 'application/merge-patch+json',
      b: { metadata: { labels: { constructor: { prototype: { x: 1 } } } } },
    },
    {
      t: 'application/strategic-merge-patch+json',
      b: { data: { __proto__: { x: '1' } }, $retainKeys: ['__proto__'] },
    },
    {
      t: 'application/apply-patch+yaml',
      b: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fuzz-target\n  __proto__: {x: 1}\ndata:\n  __proto__: "1"\n',
    },
  ];
  for (let i = 0; i < 160; i++) {
    const p = pick(proto);
    out.push({
      family: 'prototype key',
      method: 'PATCH',
      path: `${ns}/configmaps/fuzz-target${p.t.includes('apply') ? '?fieldManager=fuzz&force=true' : ''}`,
      contentType: p.t,
      // JSON.stringify drops a __proto__ that an object literal made a prototype: write it out.
      body: typeof p.b === 'string' ? p.b : json(p.b).replace('{}', '{"__proto__":{"polluted":"yes"}}'),
    });
  }

  // Patches that grow without bound: copies that double, too many operations.
  const doubling = [{ op: 'add', path: '/data/x', value: 'x'.repeat(1024) }];
  for (let k = 0; k < 40; k++) doubling.push({ op: 'copy', from: '/data', path: `/data/c${k}` } as never);
  const many = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/kind', value: 'ConfigMap' }));
  for (let i = 0; i < 20; i++)
    out.push({
      family: 'patch bomb',
      method: 'PATCH',
      path: `${ns}/configmaps/fuzz-target`,
      contentType: 'application/json-patch+json',
      body: json(i % 2 ? doubling : many),
    });

  return out;
}

/**
 * One request whose target goes on the wire exactly as written (fetch would
 * normalise dot segments and drop a fragment); an upgrade answered 101 counts
 * as 101 and its socket is closed.
 */
function rawRequest(base: string, c: Case, opts: https.RequestOptions = {}): Promise<number> {
  const u = new URL(base);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request({
      host: u.hostname,
      port: u.port,
      method: c.method,
      path: c.path,
      ...opts,
      headers: {
        ...(c.contentType !== undefined ? { 'content-type': c.contentType } : {}),
        ...(c.upgrade
          ? {
              connection: 'Upgrade',
              upgrade: 'websocket',
              'sec-websocket-version': '13',
              'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            }
          : {}),
      },
      timeout: 15_000,
    });
    req.on('upgrade', (_res, socket) => {
      socket.destroy();
      resolve(101);
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(c.method === 'GET' ? undefined : c.body);
  });
}

async function send(c: Case): Promise<number> {
  if (c.raw) return rawRequest(apiserver.url, c);
  const r = await fetch(`${apiserver.url}${c.path}`, {
    method: c.method,
    headers: c.contentType !== undefined ? { 'content-type': c.contentType } : {},
    body: c.method === 'GET' ? undefined : c.body,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await r.text();
  if (r.status >= 400) {
    let kind = '';
    try {
      kind = JSON.parse(text).kind;
    } catch {}
    if (kind !== 'Status')
      notStatus.push(`${c.method} ${c.path.slice(0, 60)} -> ${r.status} ${text.slice(0, 80)}`);
  }
  return r.status;
}

/** Refusals on the plain port whose body was not a Kubernetes Status. */
const notStatus: string[] = [];

/**
 * Sends every case with `sendOne` and counts the answers by family; prints
 * the table and a JSON line. A broken connection counts as a crash when
 * the server no longer answers its health check.
 */
async function sweep(label: string, baseUrl: string, logPath: string, sendOne: (c: Case) => Promise<number>) {
  const all = cases(seededRandom(20261123));
  const byFamily = new Map<
    string,
    { sent: number; '2xx': number; '4xx': number; closed: number; '5xx': number }
  >();
  const fiveHundreds: string[] = [];
  let crashes = 0;
  for (let i = 0; i < all.length; i++) {
    const c = all[i];
    const f = byFamily.get(c.family) ?? { sent: 0, '2xx': 0, '4xx': 0, closed: 0, '5xx': 0 };
    byFamily.set(c.family, f);
    f.sent++;
    let code = 0;
    try {
      code = await sendOne(c);
    } catch (err) {
      // The connection broke: a crash, unless the server is still healthy.
      const alive = await fetch(`${baseUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (!alive) {
        crashes++;
        console.log(`the apiserver died; last lines of its log:\n${logTail(logPath, 15)}`);
        fiveHundreds.push(`${c.family}: ${c.method} ${c.path.slice(0, 80)} -> the apiserver died`);
        break;
      }
      // A body over the limit is answered 413 while it is still being sent, and the
      // connection closed: the client may see only the close. Anything else is a fault.
      if (Buffer.byteLength(c.body ?? '') > 3 * 1024 * 1024) {
        f.closed++;
        continue;
      }
      fiveHundreds.push(`${c.family}: ${c.method} ${c.path.slice(0, 80)} -> ${(err as Error).message}`);
      continue;
    }
    if (code >= 500) {
      f['5xx']++;
      fiveHundreds.push(
        `${c.family}: ${c.method} ${c.path.slice(0, 80)} ${String(c.body ?? '').slice(0, 80)} -> ${code}`,
      );
    } else if (code >= 400) f['4xx']++;
    else f['2xx']++;
  }
  const healthy = await fetch(`${baseUrl}/readyz`).then(
    (r) => r.status,
    () => 0,
  );
  const rows = [...byFamily].map(
    ([family, f]) =>
      `${family.padEnd(22)} ${String(f.sent).padStart(6)} ${String(f['2xx']).padStart(6)} ${String(f['4xx']).padStart(6)} ${String(f.closed).padStart(7)} ${String(f['5xx']).padStart(6)}`,
  );
  const total = [...byFamily.values()].reduce((n, f) => n + f.sent, 0);
  const total5xx = [...byFamily.values()].reduce((n, f) => n + f['5xx'], 0);
  console.log(
    `${'FAMILY'.padEnd(22)} ${'SENT'.padStart(6)} ${'2XX'.padStart(6)} ${'4XX'.padStart(6)} ${'CLOSED'.padStart(7)} ${'5XX'.padStart(6)}\n${rows.join('\n')}`,
  );
  console.log(
    JSON.stringify({
      sweep: `apiserver-bad-input${label}`,
      requests: total,
      answers5xx: total5xx,
      crashes,
      readyAfter: healthy === 200,
    }),
  );
  return { fiveHundreds, crashes, healthy, byFamily };
}

describe('the bad-input sweep', () => {
  it('answers every malformed request with a 4xx and never crashes', async () => {
    // Targets for patches and updates that exist.
    const targets: [string, unknown][] = [
      [
        '/api/v1/namespaces/default/configmaps',
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'fuzz-target' }, data: { a: 'b' } },
      ],
      [
        '/api/v1/namespaces/default/pods',
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'fuzz-pod' },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      ],
      [
        '/apis/apps/v1/namespaces/default/deployments',
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'fuzz-deploy' },
          spec: {
            selector: { matchLabels: { a: 'b' } },
            template: {
              metadata: { labels: { a: 'b' } },
              spec: { containers: [{ name: 'c', image: 'busybox' }] },
            },
          },
        },
      ],
    ];
    for (const [p, obj] of targets) {
      const r = await fetch(`${apiserver.url}${p}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(obj),
      });
      expect(r.status).toBe(201);
    }
    const r = await sweep('', apiserver.url, apiserver.logPath, send);
    expect(notStatus).toEqual([]);
    expect(r.fiveHundreds).toEqual([]);
    expect(r.crashes).toBe(0);
    expect(r.healthy).toBe(200);
  }, 600_000);

  it('answers the same requests on the TLS port with RBAC: 401 without credentials, never 5xx with them', async () => {
    const secure = await startSecureApiserver({
      etcdServers: etcd.endpoints,
      users: [{ name: 'admin', commonName: 'fuzz-admin', organizations: ['system:masters'] }],
    });
    const base = secure.url;
    const { ca } = secure.tls();
    const admin = secure.tls('admin');
    // A fresh connection per request: after an error the server answers `connection: close`,
    // and a kept-alive socket reused at that moment resets on the client's side.
    const agent = new https.Agent({ keepAlive: false });
    const sendTls =
      (creds: { cert: Buffer; key: Buffer } | undefined) =>
      (c: Case): Promise<number> =>
        rawRequest(base, c, { agent, ca, ...(creds ?? {}) });
    const anonymous = await sweep(
      ' (TLS, no credentials)',
      secure.apiserver.url,
      secure.apiserver.logPath,
      sendTls(undefined),
    );
    expect(anonymous.fiveHundreds).toEqual([]);
    expect(anonymous.crashes).toBe(0);
    for (const f of anonymous.byFamily.values()) expect(f['2xx']).toBe(0);
    const withCert = await sweep(
      ' (TLS, admin certificate)',
      secure.apiserver.url,
      secure.apiserver.logPath,
      sendTls({ cert: admin.cert!, key: admin.key! }),
    );
    expect(withCert.fiveHundreds).toEqual([]);
    expect(withCert.crashes).toBe(0);
    expect(withCert.healthy).toBe(200);
  }, 600_000);
});
