// Watch through HTTP against a real apiserver process on a real etcd: order
// and exactness from a resourceVersion, selector transitions, bookmarks,
// 410 Gone after compaction, timeoutSeconds, and teardown on disconnect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type EtcdCluster,
  etcdctl,
  startApiserver,
  startEtcd,
  type WatchStream,
  waitFor,
  watchStream,
} from '../testing/harness.js';
import { configMap, ensureNamespace, etcdModRevision, metricValue, pod } from './apiserver-fixtures.js';

let etcd: EtcdCluster;
let url: string;
let client: Api;

beforeAll(async () => {
  etcd = await startEtcd();
  const server = await startApiserver({
    etcdServers: etcd.endpoints,
    extraArgs: ['--watch-bookmark-interval', '1s'],
  });
  url = server.url;
  client = api(url);
});
afterAll(cleanup);

/** type/name/resourceVersion of each event, for compact comparisons. */
const summary = (
  events: { type: string; object: { metadata: { name?: string; resourceVersion?: string } } }[],
) => events.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`);

/** Asserts that nothing more arrives on `w` within `ms`. */
async function expectQuiet(w: WatchStream, ms = 500) {
  await expect(w.next(ms)).rejects.toThrow(/no watch event/);
}

describe('watch', () => {
  it('from a resourceVersion delivers exactly the later events, in order', async () => {
    const ns = await ensureNamespace(client, 'w-order');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const early = (await client.post(coll, configMap('early'))).body;
    const x = (await client.post(coll, configMap('x', { n: '0' }))).body;

    // Writes made before the watch opens are still delivered: they follow its resourceVersion.
    const modified = (await client.patch(`${coll}/x`, { data: { n: '1' } })).body;
    const w = await watchStream(url, `${coll}?watch=1&resourceVersion=${x.metadata.resourceVersion}`);
    expect(w.status).toBe(200);
    const y = (await client.post(coll, configMap('y'))).body;
    const deleted = (await client.del(`${coll}/x`)).body;
    // A write in another namespace is not part of this watch.
    await ensureNamespace(client, 'w-other');
    await client.post('/api/v1/namespaces/w-other/configmaps', configMap('elsewhere'));

    const events = await w.take(3);
    expect(summary(events)).toEqual([
      `MODIFIED x@${modified.metadata.resourceVersion}`,
      `ADDED y@${y.metadata.resourceVersion}`,
      `DELETED x@${Number(y.metadata.resourceVersion) + 1}`,
    ]);
    expect(events[0].object.data).toEqual({ n: '1' });
    expect(events[2].object.metadata.uid).toBe(deleted.details.uid); // a Success Status names what went
    // The delete's revision is etcd's: the key is gone and the store moved on.
    expect(await etcdModRevision(etcd.endpoints, `/registry/configmaps/${ns}/x`)).toBeUndefined();
    await expectQuiet(w);
    expect(early.metadata.name).toBe('early'); // created before the watch's rv: never sent
    w.abort();
  });

  it('from the resourceVersion of a write just made never replays that write', async () => {
    // The watch may reach the apiserver before its cache has seen the write.
    const ns = await ensureNamespace(client, 'w-race');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    for (let i = 0; i < 20; i++) {
      const made = (await client.post(coll, configMap(`r${i}`))).body;
      const w = await watchStream(url, `${coll}?watch=1&resourceVersion=${made.metadata.resourceVersion}`);
      const next = (await client.patch(`${coll}/r${i}`, { data: { n: '1' } })).body;
      expect(summary([await w.next()])).toEqual([`MODIFIED r${i}@${next.metadata.resourceVersion}`]);
      w.abort();
    }
  });

  it('from a resourceVersion made by a write to another resource starts there at once', async () => {
    const ns = await ensureNamespace(client, 'w-other-kind');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const node = (
      await client.post('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'w-node' } })
    ).body;
    const started = Date.now();
    const w = await watchStream(url, `${coll}?watch=1&resourceVersion=${node.metadata.resourceVersion}`);
    const made = (await client.post(coll, configMap('after-node'))).body;
    const ev = await w.next();
    expect(summary([ev])).toEqual([`ADDED after-node@${made.metadata.resourceVersion}`]);
    expect(Date.now() - started).toBeLessThan(2_000);
    w.abort();
  });

  it('without a resourceVersion starts with ADDED for what exists, then follows', async () => {
    const ns = await ensureNamespace(client, 'w-now');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    await client.post(coll, configMap('a'));
    await client.post(coll, configMap('b'));
    const w = await watchStream(url, `${coll}?watch=true`);
    const initial = await w.take(2);
    expect(initial.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
    await expectQuiet(w, 300);
    const c = (await client.post(coll, configMap('c'))).body;
    expect(summary([await w.next()])).toEqual([`ADDED c@${c.metadata.resourceVersion}`]);
    w.abort();
  });

  it('a label-selector watch sees DELETED when an object stops matching, ADDED when it matches again', async () => {
    const ns = await ensureNamespace(client, 'w-labels');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const start = (await client.get(coll)).body.metadata.resourceVersion;
    const w = await watchStream(url, `${coll}?watch=1&labelSelector=app%3Dweb&resourceVersion=${start}`);
    await client.post(coll, configMap('m', {}, { app: 'web' }));
    await client.post(coll, configMap('never', {}, { app: 'db' }));
    await client.patch(`${coll}/m`, { data: { k: 'v' } });
    const away = (await client.patch(`${coll}/m`, { metadata: { labels: { app: 'db' } } })).body;
    await client.patch(`${coll}/m`, { data: { k: 'unseen' } });
    await client.patch(`${coll}/m`, { metadata: { labels: { app: 'web' } } });
    await client.del(`${coll}/m`);
    const events = await w.take(5);
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
      'ADDED m',
      'MODIFIED m',
      'DELETED m',
      'ADDED m',
      'DELETED m',
    ]);
    // The DELETED for leaving the selector carries the object as it is now.
    expect(events[2].object.metadata.resourceVersion).toBe(away.metadata.resourceVersion);
    expect(events[2].object.metadata.labels).toEqual({ app: 'db' });
    await expectQuiet(w);
    w.abort();
  });

  it('a field-selector watch on one name sees only that object', async () => {
    const ns = await ensureNamespace(client, 'w-fields');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const w = await watchStream(url, `${coll}?watch=1&fieldSelector=metadata.name%3Done`);
    await client.post(coll, configMap('two'));
    await client.post(coll, configMap('one'));
    expect((await w.next()).object.metadata.name).toBe('one');
    await expectQuiet(w, 300);
    w.abort();
  });

  it('a spec.nodeName watch, as a kubelet keeps, sees a pod ADDED when it is bound to that node', async () => {
    const ns = await ensureNamespace(client, 'w-node');
    const pods = `/api/v1/namespaces/${ns}/pods`;
    const w = await watchStream(url, '/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dw-node-1');
    await client.post(pods, pod('elsewhere', { nodeName: 'w-node-2' }));
    await client.post(pods, pod('unbound'));
    await expectQuiet(w, 300);
    const binding = {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'unbound' },
      target: { kind: 'Node', name: 'w-node-1' },
    };
    expect((await client.post(`${pods}/unbound/binding`, binding)).status).toBe(201);
    const added = await w.next();
    expect(added.type).toBe('ADDED');
    expect(added.object.metadata.name).toBe('unbound');
    expect(added.object.spec.nodeName).toBe('w-node-1');
    // Binding writes the node and the PodScheduled condition together, in one event.
    expect(added.object.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'PodScheduled', status: 'True' }),
    );
    expect(await client.del(`${pods}/unbound?gracePeriodSeconds=0`)).toMatchObject({ status: 200 });
    expect(`${(await w.next()).type}`).toBe('DELETED');
    w.abort();
  });

  it('sends bookmarks with the current resourceVersion when asked, and only then', async () => {
    const ns = await ensureNamespace(client, 'w-bookmarks');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const last = (await client.post(coll, configMap('b'))).body;
    const rv = last.metadata.resourceVersion;
    const withMarks = await watchStream(
      url,
      `${coll}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`,
    );
    const without = await watchStream(url, `${coll}?watch=1&resourceVersion=${rv}`);
    const mark = await withMarks.next(3_000);
    expect(mark.type).toBe('BOOKMARK');
    expect(mark.object).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
    expect(Number(mark.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    // Bookmarks keep coming (interval 1s) and never go backwards.
    const next = await withMarks.next(3_000);
    expect(next.type).toBe('BOOKMARK');
    expect(Number(next.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Number(mark.object.metadata.resourceVersion),
    );
    await expectQuiet(without, 100);
    withMarks.abort();
    without.abort();
  });

  it('ends the stream after timeoutSeconds', async () => {
    const started = Date.now();
    const w = await watchStream(url, '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=1');
    await expect(w.next(5_000)).rejects.toThrow(/closed by the server/);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(4_000);
  });

  it('leaves no listener behind when clients disconnect', async () => {
    const watchers = () => metricValue(client, 'apiserver_registered_watchers', { resource: 'secrets' });
    const base = (await watchers()) ?? 0;
    const ws = await Promise.all(
      Array.from({ length: 5 }, () => watchStream(url, '/api/v1/secrets?watch=1')),
    );
    await waitFor(async () => (await watchers()) === base + 5, { what: '5 more registered watchers' });
    for (const w of ws) w.abort();
    await waitFor(async () => (await watchers()) === base, {
      what: 'registered watchers back to the baseline',
    });
    // A watch that ended by timeout is gone as well.
    const t = await watchStream(url, '/api/v1/secrets?watch=1&timeoutSeconds=1');
    await expect(t.next(5_000)).rejects.toThrow(/closed/);
    await waitFor(async () => (await watchers()) === base, { what: 'timed-out watcher removed' });
  });

  it('rejects a field the kind cannot be selected on with 400', async () => {
    const bad = await watchStream(url, '/api/v1/configmaps?watch=1&fieldSelector=spec.x%3Dy');
    expect(bad.status).toBe(400);
    expect(bad.error).toMatchObject({ kind: 'Status', code: 400 });
  });
});

describe('watch after compaction', () => {
  it('from a compacted resourceVersion is a 410 Gone ERROR event; a recent one still works', async () => {
    const e = await startEtcd();
    const server = await startApiserver({
      etcdServers: e.endpoints,
      extraArgs: ['--etcd-compaction-interval', '1s'],
    });
    const c = api(server.url);
    const coll = '/api/v1/namespaces/default/configmaps';
    const first = (await c.post(coll, configMap('old', { n: '0' }))).body;
    const early = first.metadata.resourceVersion;
    for (let i = 1; i <= 5; i++) await c.patch(`${coll}/old`, { data: { n: String(i) } });

    // etcd itself must have compacted past the early revision...
    await waitFor(
      async () => {
        const r = await etcdctl(['get', '/registry/configmaps/default/old', `--rev=${early}`], {
          endpoints: e.endpoints,
        });
        return r.code !== 0 && /compacted/.test(r.stderr);
      },
      { timeoutMs: 15_000, what: 'etcd compaction past the early revision' },
    );
    // ...and then the apiserver answers a watch from there with 410 Gone.
    const gone = await waitFor(
      async () => {
        const w = await watchStream(server.url, `${coll}?watch=1&resourceVersion=${early}`);
        const ev = await w.next(2_000);
        w.abort();
        return ev.type === 'ERROR' ? ev : undefined;
      },
      { timeoutMs: 10_000, what: 'an ERROR event' },
    );
    expect(gone.object).toMatchObject({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 410,
      reason: 'Expired',
    });

    const latest = (await c.get(coll)).body.metadata.resourceVersion;
    const w = await watchStream(server.url, `${coll}?watch=1&resourceVersion=${latest}`);
    const next = (await c.patch(`${coll}/old`, { data: { n: 'later' } })).body;
    expect(summary([await w.next()])).toEqual([`MODIFIED old@${next.metadata.resourceVersion}`]);
    w.abort();
  });
});
