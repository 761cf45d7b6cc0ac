// The client against a real etcd and real apiserver processes: an informer's
// cache equals a fresh list after 1,000 random writes, also across an
// apiserver crash, an etcd compaction past its revision, and a failover
// between two apiservers; typed errors and subresources through
// ResourceClient.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists, isConflict, isGone, isNotFound, StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { SharedInformer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import {
  type Apiserver,
  cleanup,
  type EtcdCluster,
  sleep,
  startApiserver,
  startEtcd,
  waitFor,
  watchStream,
} from '../testing/harness.js';
import { deployment, pod } from './apiserver-fixtures.js';
import {
  capturingLogger,
  mirror,
  randomLabels,
  runWorkload,
  seededRandom,
  settle,
  startProxy,
  versions,
} from './client-helpers.js';

const seed = Number(process.env.NK_SEED ?? Date.now() % 1_000_000);
const rand = seededRandom(seed);
const cmType = builtinRegistry.resolve('configmaps')!;
const nsType = builtinRegistry.resolve('namespaces')!;

let etcd: EtcdCluster;
/** Things to close or abort after each test: clients, proxies, informers. */
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  console.log(`client e2e seed ${seed} (NK_SEED=${seed} replays it)`);
  etcd = await startEtcd();
});
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});
afterAll(cleanup);

function restClient(servers: string[]): RestClient {
  const rest = new RestClient({ servers, timeoutMs: 10_000 });
  closers.push(() => rest.close());
  return rest;
}

async function ensureNamespaces(rest: RestClient, names: string[]): Promise<void> {
  const ns = new ResourceClient(rest, nsType);
  for (const name of names) {
    await ns.create({ metadata: { name } }).catch((err) => {
      if (!isAlreadyExists(err)) throw err;
    });
  }
}

/** Starts a ConfigMap informer on `rest` that stops after the test. */
function startInformer(rest: RestClient, opts: { labelSelector?: string } = {}) {
  const log = capturingLogger();
  const informer = new SharedInformer({
    client: new ResourceClient(rest, cmType),
    logger: log.logger,
    labelSelector: opts.labelSelector,
  });
  const m = mirror();
  informer.addEventHandler(m.handler);
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  closers.push(async () => {
    stop.abort();
    await running;
  });
  return { informer, mirror: m.seen, log };
}

/** Asserts the informer (and a handler mirroring it) equal a fresh list. */
async function expectInSync(
  inf: ReturnType<typeof startInformer>,
  cms: ResourceClient,
  labelSelector?: string,
): Promise<number> {
  const { cache, list } = await settle(inf.informer, cms, { labelSelector });
  expect(cache, `seed ${seed}`).toEqual(list);
  expect(versions(inf.mirror.values())).toEqual(list);
  return Object.keys(list).length;
}

describe('an informer follows 1,000 random writes', () => {
  it('its cache and its handlers equal a fresh list, for all objects and for a label selector', async () => {
    const api = await startApiserver({ etcdServers: etcd.endpoints });
    const rest = restClient([api.url]);
    const namespaces = ['plain-a', 'plain-b', 'plain-c'];
    await ensureNamespaces(rest, namespaces);
    const cms = new ResourceClient(rest, cmType);
    const all = startInformer(rest);
    const web = startInformer(rest, { labelSelector: 'tier=web,shard!=3' });
    await all.informer.waitForSync();

    const res = await runWorkload({ client: cms, namespaces, count: 1000, rand });
    expect(res.creates + res.updates + res.deletes).toBe(1000);
    expect(res.deletes).toBeGreaterThan(100);

    expect(await expectInSync(all, cms)).toBeGreaterThan(100);
    expect(await expectInSync(web, cms, 'tier=web,shard!=3')).toBeGreaterThan(5);
  });
});

describe('an informer across an apiserver crash', () => {
  it('equals a fresh list after the apiserver is killed (-9) and restarted mid-way', async () => {
    let api: Apiserver = await startApiserver({ etcdServers: etcd.endpoints });
    const port = api.port;
    const rest = restClient([api.url]);
    const namespaces = ['crash-a', 'crash-b', 'crash-c'];
    await ensureNamespaces(rest, namespaces);
    const cms = new ResourceClient(rest, cmType);
    const inf = startInformer(rest);
    await inf.informer.waitForSync();

    let restart: Promise<void> | undefined;
    const res = await runWorkload({
      client: new ResourceClient(restClient([api.url]), cmType),
      namespaces,
      count: 1000,
      rand,
      rideOutOutages: true,
      onProgress: (done) => {
        if (done !== 400) return;
        restart = (async () => {
          await api.kill();
          await sleep(300);
          api = await startApiserver({ etcdServers: etcd.endpoints, port });
        })();
      },
    });
    await restart;
    // Writes in flight when it died had to be tried again.
    expect(res.retried).toBeGreaterThan(0);
    expect(inf.log.messages()).toContain('list/watch failed; backing off');
    expect(await expectInSync(inf, cms)).toBeGreaterThan(100);
  });
});

describe('an informer whose revision etcd has compacted', () => {
  it('relists on 410 and then equals a fresh list', async () => {
    const api = await startApiserver({
      etcdServers: etcd.endpoints,
      extraArgs: ['--etcd-compaction-interval', '1s', '--watch-bookmark-interval', '1h'],
    });
    const rest = restClient([api.url]);
    const namespaces = ['compact-a', 'compact-b'];
    await ensureNamespaces(rest, namespaces);
    const cms = new ResourceClient(rest, cmType);
    // The informer reaches the apiserver through a proxy the test can cut, and
    // follows only watched objects, so writes to others do not move its revision.
    const proxy = await startProxy(api.port);
    closers.push(() => proxy.close());
    const selector = 'watched=yes';
    const inf = startInformer(restClient([proxy.url]), { labelSelector: selector });
    await inf.informer.waitForSync();
    const watchedOrNot = (r: () => number) => ({ ...randomLabels(r), watched: r() < 0.5 ? 'yes' : 'no' });

    await runWorkload({ client: cms, namespaces, count: 400, rand, labels: watchedOrNot });
    await settle(inf.informer, cms, { labelSelector: selector });
    const stale = inf.informer.lastSyncResourceVersion;

    // Writes the informer does not see move etcd on; the compactor passes its revision.
    await runWorkload({
      client: cms,
      namespaces: ['compact-b'],
      count: 200,
      rand,
      labels: () => ({ watched: 'no' }),
    });
    const query = `/api/v1/configmaps?watch=1&labelSelector=${selector}&resourceVersion=${stale}`;
    await waitFor(
      async () => {
        const w = await watchStream(api.url, query);
        const ev = await w.next(5_000).finally(() => w.abort());
        return ev.type === 'ERROR' && ev.object.code === 410;
      },
      { timeoutMs: 15_000, what: `compaction past revision ${stale}` },
    );
    // A resume from the stale revision is now refused through the client too.
    const resume = new ResourceClient(rest, cmType).watch({
      resourceVersion: stale,
      labelSelector: selector,
    });
    const gone = await resume.next().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isGone(gone)).toBe(true);

    // Cut the informer off; change watched objects meanwhile; let it back.
    proxy.cut();
    await runWorkload({ client: cms, namespaces, count: 400, rand, labels: watchedOrNot });
    proxy.restore();

    await waitFor(() => inf.log.messages().includes('watch expired (410); relisting'), {
      timeoutMs: 20_000,
      what: 'the informer to relist',
    });
    expect(await expectInSync(inf, cms, selector)).toBeGreaterThan(5);
  });
});

describe('failover between two apiservers', () => {
  it('gets, lists and an informer keep working on one RestClient when the first apiserver dies', async () => {
    const [a, b] = await Promise.all([
      startApiserver({ etcdServers: etcd.endpoints }),
      startApiserver({ etcdServers: etcd.endpoints }),
    ]);
    const rest = restClient([a.url, b.url]);
    const namespaces = ['failover-a', 'failover-b'];
    await ensureNamespaces(rest, namespaces);
    const cms = new ResourceClient(rest, cmType);
    const inf = startInformer(rest);
    await inf.informer.waitForSync();
    const probe = await cms.in('failover-a').create({ metadata: { name: 'probe' }, data: { k: 'v' } });

    let killed: Promise<void> | undefined;
    const workload = runWorkload({
      client: new ResourceClient(restClient([a.url, b.url]), cmType),
      namespaces,
      count: 1000,
      rand,
      rideOutOutages: true,
      onProgress: (done) => {
        if (done === 300) killed = a.kill();
      },
    });
    // Reads through the shared client while A dies: none of them may fail.
    let readsAfterKill = 0;
    for (let i = 0; i < 5_000 && readsAfterKill < 50; i++) {
      if (killed) readsAfterKill++;
      const [got, listed] = await Promise.all([
        cms.in('failover-a').get('probe'),
        cms.list({ labelSelector: 'tier=db' }),
      ]);
      expect(got.metadata.uid).toBe(probe.metadata.uid);
      expect(listed.items.every((o) => o.metadata.labels?.tier === 'db')).toBe(true);
    }
    expect(readsAfterKill).toBe(50);
    await killed;
    await workload;
    await cms.list({ limit: 1 });
    expect(rest.server).toBe(b.url);
    expect(await expectInSync(inf, cms)).toBeGreaterThan(100);
  });
});

describe('ResourceClient errors and subresources', () => {
  let rest: RestClient;
  let ns: string;
  const pods = () => new ResourceClient(rest, builtinRegistry.resolve('pods')!, ns);
  const deployments = () => new ResourceClient(rest, builtinRegistry.resolve('deployments.apps')!, ns);
  const cms = () => new ResourceClient(rest, cmType, ns);

  beforeAll(async () => {
    const api = await startApiserver({ etcdServers: etcd.endpoints });
    rest = new RestClient({ servers: [api.url] });
    ns = 'typed';
    await ensureNamespaces(rest, [ns]);
  });
  afterAll(() => rest.close());

  it('get of a missing object is NotFound', async () => {
    const err = await cms()
      .get('nope')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect(isNotFound(err)).toBe(true);
    expect(isConflict(err)).toBe(false);
  });

  it('a second create is AlreadyExists; an update from a stale read is Conflict', async () => {
    const made = await cms().create({ metadata: { name: 'twice' }, data: { n: '1' } });
    const again = await cms()
      .create({ metadata: { name: 'twice' } })
      .catch((e: unknown) => e);
    expect(isAlreadyExists(again)).toBe(true);
    await cms().update({ ...made, data: { n: '2' } });
    const stale = await cms()
      .update({ ...made, data: { n: '3' } })
      .catch((e: unknown) => e);
    expect(isConflict(stale)).toBe(true);
    const precondition = await cms()
      .delete('twice', { preconditions: { uid: 'not-the-uid' } })
      .catch((e: unknown) => e);
    expect(isConflict(precondition)).toBe(true);
    await cms().delete('twice', { preconditions: { uid: made.metadata.uid } });
    expect(
      isNotFound(
        await cms()
          .get('twice')
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
  });

  it('merge and JSON patches, with the content type each needs', async () => {
    await cms().create({ metadata: { name: 'patched', labels: { a: '1' } }, data: { x: '1' } });
    await cms().patch('patched', 'merge', { data: { y: '2' }, metadata: { labels: { a: null } } });
    const out = await cms().patch('patched', 'json', [
      { op: 'add', path: '/metadata/labels', value: { b: '2' } },
    ]);
    expect(out.data).toEqual({ x: '1', y: '2' });
    expect(out.metadata.labels).toEqual({ b: '2' });
  });

  it('binds a pod to a node, once', async () => {
    await pods().create(pod('bound'));
    await pods().bind('bound', 'node-1');
    const got = await pods().get('bound');
    expect((got.spec as { nodeName?: string }).nodeName).toBe('node-1');
    const conds = (got.status as { conditions?: { type: string; status: string }[] }).conditions ?? [];
    expect(conds).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    expect(
      isConflict(
        await pods()
          .bind('bound', 'node-2')
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
  });

  it('updateStatus changes status and nothing else', async () => {
    const made = await pods().create(pod('status'));
    const next: KubeObject = {
      ...made,
      spec: { ...(made.spec as object), nodeName: 'sneaky' },
      status: { phase: 'Running', podIP: '10.244.0.5' },
    };
    const out = await pods().updateStatus(next);
    expect(out.status).toMatchObject({ phase: 'Running', podIP: '10.244.0.5' });
    expect((out.spec as { nodeName?: string }).nodeName).toBeUndefined();
  });

  it('reads and changes a Deployment through its scale subresource', async () => {
    await deployments().create(deployment('web', 2));
    const scale = await deployments().getScale('web');
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 2 } });
    const scaled = await deployments().scale('web', 5);
    expect(scaled.spec.replicas).toBe(5);
    const d = await deployments().get('web');
    expect((d.spec as { replicas: number }).replicas).toBe(5);
  });

  it('evicts a pod', async () => {
    await pods().create(pod('evictee'));
    await pods().evict('evictee');
    await waitFor(
      async () =>
        isNotFound(
          await pods()
            .get('evictee')
            .catch((e: unknown) => e),
        ),
      {
        what: 'the evicted pod to be gone',
      },
    );
    expect(
      isNotFound(
        await pods()
          .evict('evictee')
          .catch((e: unknown) => e),
      ),
    ).toBe(true);
  });

  it('a watch from a resourceVersion the server never had is refused with a typed error', async () => {
    const w = cms().watch({ resourceVersion: 'abc' });
    const err = await w.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(400);
  });
});
