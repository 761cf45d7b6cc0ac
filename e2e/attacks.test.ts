// The request path, attacked as a user with few permissions would: every form of a path that
// a router and an authorizer could read differently, against a real apiserver process on its
// TLS port with RBAC, a real etcd, and a stand-in kubelet on loopback that records whether any
// exec reached it. Each request target is written byte for byte on a TLS socket, as an
// attacker's client would send it (fetch and https.request would normalise it first).
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, type EtcdCluster, freePorts, makeTempDir, startEtcd, waitFor } from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

let etcd: EtcdCluster;
let secure: SecureApiserver;
let dir: string;
let kubeletPort: number;
let fakeKubelet: net.Server;
/** Request lines the stand-in kubelet received. */
const kubeletSaw: string[] = [];

interface Answer {
  code: number;
  head: string;
  body: string;
}

/** Writes one request with exactly this target and reads the answer (status line, head, body). */
function raw(
  who: string | undefined,
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  const u = new URL(secure.url);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), ...secure.tls(who) }, () => {
      const h = {
        host: u.host,
        connection: 'close',
        ...(body !== undefined
          ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
          : {}),
        ...headers,
      };
      const lines = Object.entries(h).map(([k, v]) => `${k}: ${v}`);
      s.write(`${method} ${target} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
    });
    let text = '';
    const timer = setTimeout(() => s.destroy(), 10_000);
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      text += c;
      // An upgrade stays open: the status line and head are all we need.
      if (/^HTTP\/1\.1 101/.test(text) && text.includes('\r\n\r\n')) s.destroy();
    });
    s.on('error', reject);
    s.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!m)
        return reject(
          new Error(`no HTTP answer to ${method} ${target}: ${JSON.stringify(text.slice(0, 200))}`),
        );
      const i = text.indexOf('\r\n\r\n');
      resolve({ code: Number(m[1]), head: text.slice(0, i), body: text.slice(i + 4) });
    });
  });
}

const upgrade = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-protocol': 'v4.channel.k8s.io',
};

const admin = (method: string, p: string, body?: unknown) =>
  secure.request(method, p, { cert: 'admin', body });

beforeAll(async () => {
  dir = makeTempDir('nanokube-attacks-');
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [
      { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
      { name: 'mallory', commonName: 'mallory' },
    ],
    extraArgs: ['--audit-log-path', path.join(dir, 'audit.log')],
  });
  // A stand-in kubelet: answers every upgrade with 101 and `uid=0(root)`, and records it.
  [kubeletPort] = await freePorts(1);
  fakeKubelet = net.createServer((c) => {
    c.once('data', (d) => {
      kubeletSaw.push(d.toString().split('\r\n')[0]);
      c.end(
        'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\nuid=0(root)',
      );
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => fakeKubelet.listen(kubeletPort, '127.0.0.1', r));

  const create = async (p: string, apiVersion: string, kind: string, body: object) => {
    const r = await admin('POST', p, { apiVersion, kind, ...body });
    expect(r.code, JSON.stringify(r.body)).toBe(201);
  };
  for (const ns of ['victim', 'undefined'])
    await create('/api/v1/namespaces', 'v1', 'Namespace', { metadata: { name: ns } });
  await create('/api/v1/namespaces/victim/secrets', 'v1', 'Secret', {
    metadata: { name: 'db' },
    stringData: { password: 'hunter2' },
  });
  await create('/api/v1/namespaces/undefined/secrets', 'v1', 'Secret', {
    metadata: { name: 'db' },
    stringData: { password: 'x' },
  });
  await create('/api/v1/namespaces/victim/configmaps', 'v1', 'ConfigMap', {
    metadata: { name: 'cm' },
    data: { a: '1' },
  });
  await create('/api/v1/nodes', 'v1', 'Node', { metadata: { name: 'n1' } });
  const status = {
    addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
    daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
  };
  const n = await admin('GET', '/api/v1/nodes/n1');
  expect((await admin('PUT', '/api/v1/nodes/n1/status', { ...n.body, status })).code).toBe(200);
  await create('/api/v1/namespaces/victim/pods', 'v1', 'Pod', {
    metadata: { name: 'p' },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'nanokube/busybox:1' }] },
  });
  // mallory may list configmaps in victim (not watch them), and get, list and watch its pods.
  const rbac = '/apis/rbac.authorization.k8s.io/v1/namespaces/victim';
  await create(`${rbac}/roles`, 'rbac.authorization.k8s.io/v1', 'Role', {
    metadata: { name: 'limited' },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ],
  });
  await create(`${rbac}/rolebindings`, 'rbac.authorization.k8s.io/v1', 'RoleBinding', {
    metadata: { name: 'limited' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'limited' },
    subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
  });
  await waitFor(async () => (await raw('mallory', 'GET', '/api/v1/namespaces/victim/pods')).code === 200, {
    timeoutMs: 10_000,
  });
}, 90_000);

afterAll(async () => {
  fakeKubelet?.close();
  await cleanup();
});

const alive = async () => {
  expect(() => process.kill(secure.apiserver.pid, 0)).not.toThrow();
  expect((await admin('GET', '/api/v1/namespaces/victim/configmaps')).code).toBe(200);
};

describe('one parse of the request for routing and authorization', () => {
  it('never lets a dot-segment exec past authorization, and never reaches the kubelet', async () => {
    const before = kubeletSaw.length;
    for (const t of [
      '/api/v1/namespaces/victim/pods/p/./exec?command=id&stdout=true',
      '/api/v1/namespaces/victim/pods/x/../exec?command=id&stdout=true',
      '/api/v1/namespaces/victim/./pods/p/exec?command=id&stdout=true',
      '/api/v1/namespaces/victim/pods/p/%2e/exec?command=id&stdout=true',
      '/api/v1/namespaces/victim/pods/p/exec/.?command=id&stdout=true',
      '/api/v1//namespaces/victim/pods/p/exec?command=id&stdout=true',
    ]) {
      const a = await raw('mallory', 'GET', t, upgrade);
      expect(a.code, t).not.toBe(101);
      expect([400, 403], t).toContain(a.code);
    }
    expect(
      (await raw('mallory', 'GET', '/api/v1/namespaces/victim/pods/p/exec?command=id', upgrade)).code,
    ).toBe(403);
    expect(kubeletSaw.length).toBe(before);
    // The same exec as admin reaches the kubelet: the refusals above were decisions, not a broken proxy.
    expect(
      (await raw('admin', 'GET', '/api/v1/namespaces/victim/pods/p/exec?command=id&stdout=true', upgrade))
        .code,
    ).toBe(101);
    expect(kubeletSaw.at(-1)).toMatch(/^GET \/exec\/victim\/p\/c\?command=id&stdout=1 HTTP/);
    await alive();
  });

  it('refuses a fragment in the request target instead of listing every Secret', async () => {
    for (const t of [
      '/api/v1/secrets#/a/b/c/d',
      '/api/v1/namespaces/victim/secrets#',
      '/api/v1/secrets?x=1#/a/b/c/d',
    ]) {
      const a = await raw('mallory', 'GET', t);
      expect(a.code, t).toBe(400);
      expect(a.body).not.toContain('hunter2');
    }
  });

  it('authorizes paths longer than any route as resource requests, never by the discovery rules', async () => {
    for (const t of [
      '/api/v1/secrets/a/b/c/d',
      '/api/v1/namespaces/victim/secrets/db/x/y',
      '/apis/apps/v1/deployments/a/b/c',
    ])
      expect((await raw('mallory', 'GET', t)).code, t).toBe(403);
  });

  it('answers an upgrade with an invalid percent-encoding with a 400 and stays up', async () => {
    for (const who of ['mallory', undefined]) {
      const a = await raw(who, 'GET', '/api/v1/namespaces/%E0/pods/x/exec?command=id', upgrade);
      expect(a.code).toBe(400);
      expect(JSON.parse(a.body)).toMatchObject({ kind: 'Status', code: 400, reason: 'BadRequest' });
    }
    await alive();
  });

  it('authorizes ?watch= as the watch it is served as', async () => {
    for (const q of ['watch=', 'watch=yes', 'watch=true&watch=false', 'watch=1'])
      expect((await raw('mallory', 'GET', `/api/v1/namespaces/victim/configmaps?${q}`)).code, q).toBe(403);
    expect((await raw('mallory', 'GET', '/api/v1/namespaces/victim/configmaps?watch=false')).code).toBe(200);
  });

  it('decodes a path once: %2576ictim names the namespace "%76ictim", not victim', async () => {
    const a = await raw('admin', 'GET', '/api/v1/namespaces/%2576ictim/configmaps');
    expect(a.code).toBeLessThan(500);
    expect(a.body).not.toContain('"cm"');
  });

  it('does not serve a namespaced object without its namespace', async () => {
    const a = await admin('GET', '/api/v1/secrets/db');
    expect(a.code).toBe(404);
    expect(JSON.stringify(a.body)).not.toContain('password');
  });

  it('audits exec, attach and port-forward like every other request', async () => {
    await raw('mallory', 'GET', '/api/v1/namespaces/victim/pods/p/attach?stdout=true', upgrade);
    await raw('admin', 'GET', '/api/v1/namespaces/victim/pods/p/portforward?ports=80', upgrade);
    let events: any[] = [];
    await waitFor(
      () => {
        events = readFileSync(path.join(dir, 'audit.log'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        return events.some((e) => e.objectRef?.subresource === 'portforward');
      },
      { timeoutMs: 10_000 },
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        user: expect.objectContaining({ username: 'mallory' }),
        objectRef: expect.objectContaining({
          resource: 'pods',
          subresource: 'attach',
          name: 'p',
          namespace: 'victim',
        }),
        responseStatus: expect.objectContaining({ code: 403 }),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        user: expect.objectContaining({ username: 'kubernetes-admin' }),
        objectRef: expect.objectContaining({ subresource: 'portforward' }),
        responseStatus: expect.objectContaining({ code: 101 }),
      }),
    );
  });

  it('labels metrics from the parsed request, never from raw text', async () => {
    for (let i = 0; i < 5; i++) await raw('admin', 'GET', `/api/v1/zz-made-up-${i}`);
    await raw('admin', 'GET', '/apis/zz.example/v1/zz-made-up');
    const m = await raw('admin', 'GET', '/metrics');
    expect(m.body).not.toContain('zz-made-up');
    expect(m.body).toMatch(/apiserver_request_total\{verb="GET",resource="other",code="404"\}/);
  });
});

describe('the path-form sweep', () => {
  /** Every resource and subresource route the apiserver serves, from its own discovery. */
  async function routes(): Promise<{ base: string; namespaced: boolean; resource: string; sub?: string }[]> {
    const out: { base: string; namespaced: boolean; resource: string; sub?: string }[] = [];
    const lists: { base: string; list: any }[] = [
      { base: '/api/v1', list: (await admin('GET', '/api/v1')).body },
    ];
    for (const g of (await admin('GET', '/apis')).body.groups)
      for (const v of g.versions)
        lists.push({
          base: `/apis/${v.groupVersion}`,
          list: (await admin('GET', `/apis/${v.groupVersion}`)).body,
        });
    for (const { base, list } of lists)
      for (const r of list.resources) {
        const [resource, sub] = r.name.split('/');
        out.push({ base, namespaced: r.namespaced, resource, sub });
      }
    return out;
  }

  it('gives every variant of every route the decision of its canonical path, with no 5xx and the same process', async () => {
    const all = await routes();
    expect(all.length).toBeGreaterThan(40);
    // `same`: the form names the same request as its canonical path, and must get its decision
    // or a 400; otherwise it names another object, and must at least gain nothing.
    const forms = (canonical: string): { t: string; same: boolean }[] => {
      const parent = canonical.replace(/\/[^/]+$/, '');
      const leaf = canonical.slice(parent.length + 1);
      return [
        { t: `${parent}/./${leaf}`, same: true },
        { t: `${parent}/x/../${leaf}`, same: true },
        { t: `${parent}/%2e/${leaf}`, same: true },
        { t: `${parent}/%2E%2E/${leaf}`, same: true },
        { t: canonical.replace('/', '//'), same: true },
        { t: `${canonical}/`, same: true },
        { t: `${canonical}#/a/b/c/d`, same: true },
        { t: `${parent}%2F${leaf}`, same: true },
        { t: canonical.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`), same: true },
        { t: `${canonical}/.`, same: true },
        { t: `${canonical};x=1`, same: false },
        { t: `${parent}/%252F`, same: false },
        { t: `${parent}/%E0%A4%A`, same: false },
        { t: `${parent}/${'a'.repeat(5000)}`, same: false },
        { t: `${canonical}/a/b/c/d/e`, same: false },
      ];
    };
    let sent = 0;
    const fiveHundreds: string[] = [];
    const mismatches: string[] = [];
    for (const r of all) {
      const ns = r.namespaced ? '/namespaces/victim' : '';
      const targets = [`${r.base}${ns}/${r.resource}`];
      targets.push(`${r.base}${ns}/${r.resource}/p${r.sub ? `/${r.sub}` : ''}`);
      for (const canonical of targets) {
        const want = (await raw('mallory', 'GET', canonical)).code;
        sent++;
        for (const { t, same } of forms(canonical)) {
          const got = (await raw('mallory', 'GET', t)).code;
          sent++;
          if (got >= 500) fiveHundreds.push(`${t.slice(0, 120)} -> ${got}`);
          const bad = same ? got !== 400 && got !== want : want === 403 && got < 400;
          if (bad) mismatches.push(`${t.slice(0, 120)} -> ${got}, ${canonical} -> ${want}`);
        }
      }
    }
    expect(fiveHundreds).toEqual([]);
    expect(mismatches).toEqual([]);
    await alive();
    console.log(`path-form sweep: ${sent} requests`);
  }, 300_000);
});
