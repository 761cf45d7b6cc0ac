// Watch as an attacker uses it, against a real TLS apiserver with RBAC on a
// real etcd: watches that are opened and never read must not make the
// apiserver buffer without bound (it cuts them off, and an informer behind
// such a cut-off watch still ends up with every event), and nobody but
// system:masters may hold more than --max-watches-per-user watches, or all
// together more than --max-watches: the next one is answered 429 with a
// Status and Retry-After, and a slot comes back however a watch ends.
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import { SharedInformer } from '../client/informer.js';
import type { ListerWatcher } from '../client/reflector.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import { type Api, api, cleanup, type EtcdCluster, startEtcd, waitFor } from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';
import { configMap, ensureNamespace } from './apiserver-fixtures.js';
import { capturingLogger, settle } from './client-helpers.js';

const maxWatches = 5;
const maxPerUser = 3;

let etcd: EtcdCluster;
let secure: SecureApiserver;
/** The plain loopback port: a cluster admin (system:masters), not held to the caps. */
let admin: Api;
let plainUrl: string;

beforeAll(async () => {
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    authorizationMode: 'RBAC',
    users: [
      { name: 'alice', commonName: 'alice' },
      { name: 'bob', commonName: 'bob' },
      { name: 'root', commonName: 'root', organizations: ['system:masters'] },
    ],
    extraArgs: ['--max-watches', String(maxWatches), '--max-watches-per-user', String(maxPerUser)],
  });
  plainUrl = secure.apiserver.url;
  admin = api(plainUrl);
  // alice and bob may watch ConfigMaps everywhere, nothing more.
  const created = (res: { status: number; body: unknown }) => {
    if (res.status !== 201) throw new Error(`setup: ${res.status} ${JSON.stringify(res.body)}`);
  };
  const rbac = { apiVersion: 'rbac.authorization.k8s.io/v1' };
  created(
    await admin.post('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
      ...rbac,
      kind: 'ClusterRole',
      metadata: { name: 'cm-reader' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    }),
  );
  created(
    await admin.post('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      ...rbac,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'cm-readers' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cm-reader' },
      subjects: ['alice', 'bob'].map((name) => ({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'User',
        name,
      })),
    }),
  );
  for (const name of ['slow', 'caps', 'informed']) await ensureNamespace(admin, name);
}, 120_000);
afterAll(cleanup);

/** A sample of the apiserver's /metrics: `name` (with `labels`), summed over the other labels. */
async function metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await admin.get('/metrics', { accept: 'text/plain' });
  let sum: number | undefined;
  for (const line of String(res.body).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').slice(1, -1).split(',');
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`)))
      sum = (sum ?? 0) + Number(m[3]);
  }
  return sum;
}
/** Open watches, everyone's: the slots taken from --max-watches. */
const inFlight = async () => (await metric('apiserver_longrunning_requests', { verb: 'WATCH' })) ?? -1;
/** Waits until every watch has given its slot back: none leaks. */
const allReleased = () =>
  waitFor(async () => (await inFlight()) === 0, { what: 'every watch slot to be given back' });
const terminated = async () =>
  (await metric('apiserver_terminated_watchers_total', { resource: 'configmaps' })) ?? 0;

interface OpenWatch {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The parsed body of an answer other than 200. */
  body?: any;
  /** Resolves with what the watch sent once the server ends it (or the connection breaks). */
  ended: Promise<string>;
  close(): void;
}

/** A watch over TLS as `user` (a certificate of the secure apiserver), its own connection. */
function watchAs(user: string, path: string): Promise<OpenWatch> {
  return new Promise((resolve, reject) => {
    const req = https.request(`${secure.url}${path}`, { ...secure.tls(user), agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => {
        text += c;
      });
      const ended = new Promise<string>((done) => {
        res.on('end', () => done(text));
        res.on('error', () => done(text));
        res.on('close', () => done(text));
      });
      const w: OpenWatch = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        ended,
        close: () => req.destroy(),
      };
      if (w.status === 200) return resolve(w);
      void ended.then((t) => {
        try {
          w.body = JSON.parse(t);
        } catch {
          w.body = t;
        }
        resolve(w);
      });
    });
    req.end();
  });
}

const cmWatch = (ns: string, query = '') => `/api/v1/namespaces/${ns}/configmaps?watch=1${query}`;

/** Opens a watch as `user` that must be admitted; a slot just freed may take a moment to come back. */
async function admitted(user: string, path = cmWatch('caps')): Promise<OpenWatch> {
  return waitFor(
    async () => {
      const w = await watchAs(user, path);
      return w.status === 200 ? w : undefined;
    },
    { what: `a watch for ${user} to be admitted` },
  );
}

describe('watches that are never read', () => {
  it('are cut off with their sockets destroyed while ConfigMaps are written, and the apiserver stays small', async () => {
    const before = await terminated();
    const watchers = 8;
    const port = Number(new URL(plainUrl).port);
    const sockets: net.Socket[] = [];
    for (let i = 0; i < watchers; i++) {
      const s = net.connect(port, '127.0.0.1');
      await new Promise<void>((r) => s.once('connect', () => r()));
      s.write(`GET ${cmWatch('slow')} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      s.pause(); // and never read
      sockets.push(s);
    }
    await waitFor(
      async () =>
        ((await metric('apiserver_registered_watchers', { resource: 'configmaps' })) ?? 0) >= watchers,
      {
        what: 'the watches to be registered',
      },
    );
    const heap0 = (await metric('nodejs_heap_size_used_bytes'))!;
    const rss0 = (await metric('process_resident_memory_bytes'))!;
    let heapPeak = heap0;
    let rssPeak = rss0;
    // 500 kB each, up to 20 MB in all: past the socket buffers (about 4 MB on loopback) and
    // the outbox bound, but well short of the 32 MiB the apiserver used to let each watcher owe.
    const value = 'x'.repeat(500_000);
    let written = 0;
    for (let i = 0; i < 40 && (await terminated()) - before < watchers; i++) {
      const res = await admin.post('/api/v1/namespaces/slow/configmaps', configMap(`big-${i}`, { v: value }));
      expect(res.status).toBe(201);
      written += value.length;
      heapPeak = Math.max(heapPeak, (await metric('nodejs_heap_size_used_bytes'))!);
      rssPeak = Math.max(rssPeak, (await metric('process_resident_memory_bytes'))!);
    }
    console.log(
      `wrote ${written / 1e6} MB; heap +${((heapPeak - heap0) / 1e6).toFixed(1)} MB, rss +${((rssPeak - rss0) / 1e6).toFixed(1)} MB at most`,
    );
    expect((await terminated()) - before).toBe(watchers);
    // The cache holds each object and its JSON once (about 2 x what was written); eight
    // watchers owing it all would add 8 x as much again.
    expect(heapPeak - heap0).toBeLessThan(2.5 * written + 40e6);

    // Each socket was destroyed: reading it yields what the kernel held, then its end.
    for (const s of sockets) {
      let got = 0;
      s.on('data', (c: Buffer) => {
        got += c.length;
      });
      s.on('error', () => undefined);
      const closed = new Promise<void>((r) => s.once('close', () => r()));
      s.resume();
      await closed;
      expect(got).toBeLessThan(written);
    }
    await waitFor(
      async () => (await metric('apiserver_registered_watchers', { resource: 'configmaps' })) === 0,
      {
        what: 'the watches to be unregistered',
      },
    );
    await allReleased();
    expect((await admin.get('/api/v1/namespaces/slow/configmaps?limit=1')).status).toBe(200);
  });

  it('an informer whose watch was cut off catches up from its resourceVersion and misses nothing', async () => {
    const rest = new RestClient({ servers: [plainUrl], timeoutMs: 10_000 });
    const cmType = builtinRegistry.resolve('configmaps')!;
    const cms = new ResourceClient(rest, cmType, 'informed');
    // The informer's watch stops reading while `gate` is shut: its socket fills, as a stalled client's does.
    let open!: () => void;
    let gate: Promise<void> = Promise.resolve();
    const gated: ListerWatcher<KubeObject> = {
      rt: cms.rt,
      list: (o) => cms.list(o),
      async *watch(o) {
        for await (const ev of cms.watch(o)) {
          await gate;
          yield ev;
        }
      },
    };
    const log = capturingLogger();
    const informer = new SharedInformer({ client: gated, logger: log.logger });
    const stop = new AbortController();
    const running = informer.run(stop.signal);
    try {
      await informer.waitForSync();
      await cms.create(configMap('first'));
      await waitFor(() => informer.store.list().length === 1, {
        what: 'the informer to see the first object',
      });
      gate = new Promise((r) => {
        open = r;
      });
      const before = await terminated();
      const value = 'y'.repeat(500_000);
      for (let i = 0; i < 40 && (await terminated()) === before; i++)
        await cms.create(configMap(`big-${i}`, { v: value }));
      expect(await terminated()).toBe(before + 1);
      // Writes after the cut: the informer resumes from the last resourceVersion it saw.
      await cms.update({ ...(await cms.get('first')), data: { n: '2' } });
      await cms.delete('big-0');
      open();
      const { cache, list } = await settle(informer, cms as ResourceClient, { timeoutMs: 30_000 });
      expect(cache).toEqual(list);
      expect(Object.keys(list).length).toBeGreaterThan(5);
    } finally {
      open?.();
      stop.abort();
      await running;
      rest.close();
    }
  });
});

describe('caps on concurrent watches', () => {
  it('answers a user past --max-watches-per-user with a 429 Status and Retry-After', async () => {
    await allReleased();
    const mine = [];
    for (let i = 0; i < maxPerUser; i++) mine.push(await admitted('alice'));
    const refused = await watchAs('alice', cmWatch('caps'));
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
    });

    // Everyone but system:masters counts against --max-watches.
    const bobs = [await admitted('bob'), await admitted('bob')];
    const full = await watchAs('bob', cmWatch('caps'));
    expect(full.status).toBe(429);
    expect(full.body.reason).toBe('TooManyRequests');
    // system:masters is never refused, though its watch holds a slot too.
    const root = await watchAs('root', cmWatch('caps'));
    expect(root.status).toBe(200);
    root.close();

    // Closing one gives its slot back.
    mine.pop()!.close();
    bobs.push(await admitted('bob'));
    for (const w of [...mine, ...bobs]) w.close();
    await allReleased();
  });

  it('gives the slot back however a watch ends: closed by the client, by the server, or with an error', async () => {
    const rounds = 3;
    const future = 1e12;
    for (let round = 0; round < rounds; round++) {
      // Client closes.
      const open = [];
      for (let i = 0; i < maxPerUser; i++) open.push(await admitted('alice'));
      for (const w of open) w.close();
      // The server ends them (timeoutSeconds).
      const timed = [];
      for (let i = 0; i < maxPerUser; i++)
        timed.push(await admitted('alice', cmWatch('caps', '&timeoutSeconds=1')));
      await Promise.all(timed.map((w) => w.ended));
      // The client goes while the server waits for a resourceVersion its cache has not reached.
      const waiting = [];
      for (let i = 0; i < maxPerUser; i++)
        waiting.push(await admitted('alice', cmWatch('caps', `&resourceVersion=${future}`)));
      for (const w of waiting) w.close();
      // An ERROR event ends them: a resourceVersion not a number, or one the cache never reaches.
      const failed = [];
      for (let i = 0; i < maxPerUser; i++)
        failed.push(await admitted('alice', cmWatch('caps', `&resourceVersion=${i % 2 ? future : 'abc'}`)));
      for (const text of await Promise.all(failed.map((w) => w.ended)))
        expect(text).toMatch(/"type":"ERROR"/);
    }
    // After all that, alice still has every slot.
    const again = [];
    for (let i = 0; i < maxPerUser; i++) again.push(await admitted('alice'));
    expect((await watchAs('alice', cmWatch('caps'))).status).toBe(429);
    for (const w of again) w.close();
    await allReleased();
  });

  it('the apiserver is the same process and serves as before', async () => {
    expect(() => process.kill(secure.apiserver.pid, 0)).not.toThrow();
    expect((await admin.get('/readyz')).status).toBe(200);
    const created = await admin.post('/api/v1/namespaces/caps/configmaps', configMap('after'));
    expect(created.status).toBe(201);
    const got = await secure.request('GET', '/api/v1/namespaces/caps/configmaps/after', { cert: 'alice' });
    expect(got.code).toBe(200);
  });
});
