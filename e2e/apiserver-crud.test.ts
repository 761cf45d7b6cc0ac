// The apiserver's verbs on every kind, object metadata, optimistic
// concurrency and namespaces, through HTTP against a real apiserver
// process on a real etcd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { type Api, api, cleanup, type EtcdCluster, startApiserver, startEtcd } from '../testing/harness.js';
import { configMap, ensureNamespace, etcdModRevision, names, pod } from './apiserver-fixtures.js';
import { kinds } from './apiserver-kinds.js';

let etcd: EtcdCluster;
let client: Api;

beforeAll(async () => {
  etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(server.url);
});
afterAll(cleanup);

describe('verbs', () => {
  it.each(kinds)('$name: create, get, list, update, merge and JSON patch, delete', async (k) => {
    const ns = await ensureNamespace(client, 'verbs');
    const coll = k.path.replace('{ns}', ns);
    const name = `v-${k.name}`;

    const created = await client.post(coll, k.make(name));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.metadata.name).toBe(name);
    expect(created.body.metadata.namespace).toBe(k.namespaced ? ns : undefined);
    expect(await client.post(coll, k.make(name))).toMatchObject({
      status: 409,
      body: { reason: 'AlreadyExists' },
    });

    const got = await client.get(`${coll}/${name}`);
    expect(got.status).toBe(200);
    expect(got.body.metadata.uid).toBe(created.body.metadata.uid);

    const list = await client.get(coll);
    expect(list.status).toBe(200);
    expect(list.body.kind).toBe(`${created.body.kind}List`);
    expect(names(list.body)).toContain(name);

    const replaced = structuredClone(got.body);
    replaced.metadata.labels = { step: 'put' };
    const put = await client.put(`${coll}/${name}`, replaced);
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.metadata.labels).toEqual({ step: 'put' });
    expect(Number(put.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(got.body.metadata.resourceVersion),
    );

    const merged = await client.patch(`${coll}/${name}`, {
      metadata: { labels: { step: 'merge', extra: 'x' } },
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body.metadata.labels).toEqual({ step: 'merge', extra: 'x' });

    const jsonPatched = await client.patch(
      `${coll}/${name}`,
      [
        { op: 'remove', path: '/metadata/labels/extra' },
        { op: 'add', path: '/metadata/annotations', value: { note: 'json-patch' } },
      ],
      { 'content-type': 'application/json-patch+json' },
    );
    expect(jsonPatched.status, JSON.stringify(jsonPatched.body)).toBe(200);
    expect(jsonPatched.body.metadata.labels).toEqual({ step: 'merge' });
    expect(jsonPatched.body.metadata.annotations).toEqual({ note: 'json-patch' });
    expect((await client.get(`${coll}/${name}`)).body.metadata.annotations).toEqual({ note: 'json-patch' });

    const deleted = await client.del(`${coll}/${name}`);
    expect(deleted.status).toBe(200);
    if (k.name === 'namespaces') {
      // A namespace waits for its finalizer: it stays, Terminating.
      expect((await client.get(`${coll}/${name}`)).body.status.phase).toBe('Terminating');
    } else {
      expect(await client.get(`${coll}/${name}`)).toMatchObject({
        status: 404,
        body: { kind: 'Status', reason: 'NotFound' },
      });
    }
  });

  it('deletecollection removes only what the selector matches, namespaced and cluster-scoped', async () => {
    const ns = await ensureNamespace(client, 'delcoll');
    for (const [n, batch] of [
      ['a', 'x'],
      ['b', 'x'],
      ['c', 'x'],
      ['d', 'y'],
    ]) {
      expect(
        (await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap(n, {}, { batch }))).status,
      ).toBe(201);
    }
    const del = await client.del(`/api/v1/namespaces/${ns}/configmaps?labelSelector=batch%3Dx`);
    expect(del.status).toBe(200);
    expect(names((await client.get(`/api/v1/namespaces/${ns}/configmaps`)).body)).toEqual(['d']);

    for (const n of ['dc-n1', 'dc-n2', 'dc-keep']) {
      const labels = { pool: n === 'dc-keep' ? 'keep' : 'drop' };
      expect(
        (
          await client.post('/api/v1/nodes', {
            apiVersion: 'v1',
            kind: 'Node',
            metadata: { name: n, labels },
          })
        ).status,
      ).toBe(201);
    }
    expect((await client.del('/api/v1/nodes?labelSelector=pool%3Ddrop')).status).toBe(200);
    expect(names((await client.get('/api/v1/nodes?labelSelector=pool')).body)).toEqual(['dc-keep']);
  });

  it('lists across all namespaces', async () => {
    const [a, b] = [await ensureNamespace(client, 'all-a'), await ensureNamespace(client, 'all-b')];
    expect((await client.post(`/api/v1/namespaces/${a}/pods`, pod('p-a'))).status).toBe(201);
    expect((await client.post(`/api/v1/namespaces/${b}/pods`, pod('p-b'))).status).toBe(201);
    const all = await client.get('/api/v1/pods');
    expect(all.status).toBe(200);
    const seen = all.body.items.map((p: KubeObject) => `${p.metadata.namespace}/${p.metadata.name}`);
    expect(seen).toEqual(expect.arrayContaining([`${a}/p-a`, `${b}/p-b`]));
    // A namespaced list holds only its own namespace.
    expect(names((await client.get(`/api/v1/namespaces/${a}/pods`)).body)).toEqual(['p-a']);
  });
});

describe('metadata', () => {
  it('gives uid, creationTimestamp and a generated name', async () => {
    const ns = await ensureNamespace(client, 'meta');
    const before = Date.now();
    const body = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { generateName: 'gen-', uid: 'mine', resourceVersion: '1' },
    };
    const [a, b] = [
      await client.post(`/api/v1/namespaces/${ns}/configmaps`, body),
      await client.post(`/api/v1/namespaces/${ns}/configmaps`, body),
    ];
    expect(a.status).toBe(201);
    expect(a.body.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    expect(b.body.metadata.name).not.toBe(a.body.metadata.name);
    expect(a.body.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.body.metadata.uid).not.toBe(b.body.metadata.uid);
    expect(a.body.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(a.body.metadata.creationTimestamp)).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );
    expect(Date.parse(a.body.metadata.creationTimestamp)).toBeLessThanOrEqual(Date.now());
  });

  it('resourceVersion is the mod revision of /registry/{plural}/{ns}/{name} in etcd', async () => {
    const ns = await ensureNamespace(client, 'meta');
    const created = await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('rv', { n: '1' }));
    const key = `/registry/configmaps/${ns}/rv`;
    expect(await etcdModRevision(etcd.endpoints, key)).toBe(Number(created.body.metadata.resourceVersion));
    const patched = await client.patch(`/api/v1/namespaces/${ns}/configmaps/rv`, { data: { n: '2' } });
    expect(Number(patched.body.metadata.resourceVersion)).toBeGreaterThan(
      Number(created.body.metadata.resourceVersion),
    );
    expect(await etcdModRevision(etcd.endpoints, key)).toBe(Number(patched.body.metadata.resourceVersion));
    expect((await client.get(`/api/v1/namespaces/${ns}/configmaps/rv`)).body.metadata.resourceVersion).toBe(
      patched.body.metadata.resourceVersion,
    );
    // Cluster-scoped kinds have no namespace segment.
    const node = await client.post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'rv-node' },
    });
    expect(await etcdModRevision(etcd.endpoints, '/registry/nodes/rv-node')).toBe(
      Number(node.body.metadata.resourceVersion),
    );
    // A list's resourceVersion is the store revision, at least that of every item.
    const list = await client.get(`/api/v1/namespaces/${ns}/configmaps`);
    expect(Number(list.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Number(node.body.metadata.resourceVersion),
    );
  });

  it('bumps generation on a spec change only, not on metadata or status', async () => {
    const ns = await ensureNamespace(client, 'meta');
    const path = `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/gen`;
    const backend = (port: number) => ({
      defaultBackend: { service: { name: 'web', port: { number: port } } },
    });
    const created = await client.post(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'gen' },
      spec: backend(80),
    });
    expect(created.body.metadata.generation).toBe(1);
    const labelled = await client.patch(path, { metadata: { labels: { a: 'b' }, annotations: { c: 'd' } } });
    expect(labelled.status).toBe(200);
    expect(labelled.body.metadata.generation).toBe(1);
    const status = await client.patch(`${path}/status`, {
      status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } },
    });
    expect(status.status, JSON.stringify(status.body)).toBe(200);
    expect(status.body.status.loadBalancer.ingress).toEqual([{ ip: '192.0.2.1' }]);
    expect(status.body.metadata.generation).toBe(1);
    const spec = await client.patch(path, { spec: backend(8080) });
    expect(spec.body.metadata.generation).toBe(2);
    const again = await client.patch(path, { spec: backend(9090) });
    expect(again.body.metadata.generation).toBe(3);
  });

  it('keeps labels, annotations and ownerReferences as sent', async () => {
    const ns = await ensureNamespace(client, 'meta');
    const owner = (await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('owner'))).body;
    const ref = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      name: 'owner',
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    const body = configMap('owned', {}, { app: 'web' });
    body.metadata.annotations = { 'example.com/note': 'hello' };
    body.metadata.ownerReferences = [ref];
    expect((await client.post(`/api/v1/namespaces/${ns}/configmaps`, body)).status).toBe(201);
    const got = (await client.get(`/api/v1/namespaces/${ns}/configmaps/owned`)).body;
    expect(got.metadata).toMatchObject({
      labels: { app: 'web' },
      annotations: { 'example.com/note': 'hello' },
      ownerReferences: [ref],
    });
  });

  it('finalizers hold a deleted object, with deletionTimestamp, until they are removed', async () => {
    const ns = await ensureNamespace(client, 'meta');
    const path = `/api/v1/namespaces/${ns}/configmaps/held`;
    const body = configMap('held');
    body.metadata.finalizers = ['example.com/hold'];
    expect((await client.post(`/api/v1/namespaces/${ns}/configmaps`, body)).status).toBe(201);
    const del = await client.del(path);
    expect(del.status).toBe(200);
    const held = await client.get(path);
    expect(held.status).toBe(200);
    expect(held.body.metadata.deletionTimestamp).toMatch(/Z$/);
    expect(held.body.metadata.finalizers).toEqual(['example.com/hold']);
    // No new finalizer once deletion has begun.
    const add = await client.patch(path, {
      metadata: { finalizers: ['example.com/hold', 'example.com/more'] },
    });
    expect(add.status).toBe(422);
    // Other changes are still allowed while it waits.
    expect((await client.patch(path, { data: { still: 'here' } })).status).toBe(200);
    const release = await client.patch(path, { metadata: { finalizers: null } });
    expect(release.status).toBe(200);
    expect((await client.get(path)).status).toBe(404);
  });

  it('deletes a pod on a node gracefully, and at once when unscheduled or with gracePeriodSeconds=0', async () => {
    const ns = await ensureNamespace(client, 'grace');
    const pods = `/api/v1/namespaces/${ns}/pods`;
    expect((await client.post(pods, pod('bound', { nodeName: 'node-1' }))).status).toBe(201);
    expect((await client.post(pods, pod('unbound'))).status).toBe(201);

    expect((await client.del(`${pods}/bound`)).status).toBe(200);
    const terminating = await client.get(`${pods}/bound`);
    expect(terminating.status).toBe(200);
    expect(terminating.body.metadata.deletionTimestamp).toBeDefined();
    expect(terminating.body.metadata.deletionGracePeriodSeconds).toBe(30);
    // The deletion timestamp is when the grace period runs out.
    const ends = Date.parse(terminating.body.metadata.deletionTimestamp);
    expect(ends - Date.now()).toBeGreaterThan(20_000);

    expect((await client.del(`${pods}/unbound`)).status).toBe(200);
    expect((await client.get(`${pods}/unbound`)).status).toBe(404);

    expect((await client.del(`${pods}/bound?gracePeriodSeconds=0`)).status).toBe(200);
    expect((await client.get(`${pods}/bound`)).status).toBe(404);
  });
});

describe('optimistic concurrency', () => {
  it('answers 409 Conflict to an update with a stale resourceVersion', async () => {
    const ns = await ensureNamespace(client, 'occ');
    const path = `/api/v1/namespaces/${ns}/configmaps/stale`;
    const v1 = (await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('stale', { n: '1' })))
      .body;
    const v2 = await client.put(path, { ...v1, data: { n: '2' } });
    expect(v2.status).toBe(200);
    const stale = await client.put(path, { ...v1, data: { n: 'lost' } });
    expect(stale).toMatchObject({ status: 409, body: { kind: 'Status', reason: 'Conflict', code: 409 } });
    const stalePatch = await client.patch(path, {
      metadata: { resourceVersion: v1.metadata.resourceVersion },
      data: { n: 'lost' },
    });
    expect(stalePatch.status).toBe(409);
    const staleDelete = await client.del(path, {
      preconditions: { resourceVersion: v1.metadata.resourceVersion },
    });
    expect(staleDelete).toMatchObject({ status: 409, body: { reason: 'Conflict' } });
    expect((await client.get(path)).body.data).toEqual({ n: '2' });
  });

  it('50 concurrent read-modify-write increments end at exactly 50', async () => {
    const ns = await ensureNamespace(client, 'occ');
    const path = `/api/v1/namespaces/${ns}/configmaps/counter`;
    expect(
      (await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('counter', { n: '0' }))).status,
    ).toBe(201);
    let conflicts = 0;
    const increment = async () => {
      for (;;) {
        const cur = (await client.get(path)).body;
        cur.data.n = String(Number(cur.data.n) + 1);
        const res = await client.put(path, cur);
        if (res.status === 200) return;
        if (res.status !== 409) throw new Error(`update answered ${res.status}: ${JSON.stringify(res.body)}`);
        conflicts++;
      }
    };
    await Promise.all(Array.from({ length: 50 }, increment));
    expect((await client.get(path)).body.data.n).toBe('50');
    // The writers really raced; otherwise this proves nothing.
    expect(conflicts).toBeGreaterThan(0);
  });
});

describe('namespaces', () => {
  it('has the four default namespaces, Active', async () => {
    const list = await client.get('/api/v1/namespaces');
    expect(names(list.body)).toEqual(
      expect.arrayContaining(['default', 'kube-node-lease', 'kube-public', 'kube-system']),
    );
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      expect((await client.get(`/api/v1/namespaces/${n}`)).body.status.phase).toBe('Active');
    }
  });

  it('refuses a create in a missing namespace with 404', async () => {
    const res = await client.post('/api/v1/namespaces/missing/configmaps', configMap('x'));
    expect(res).toMatchObject({
      status: 404,
      body: { reason: 'NotFound', details: { name: 'missing', kind: 'namespaces' } },
    });
    expect((await client.get('/api/v1/namespaces/missing/configmaps/x')).status).toBe(404);
  });

  it('a deleted namespace is Terminating and refuses new objects with 403', async () => {
    const ns = await ensureNamespace(client, 'doomed');
    expect((await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('before'))).status).toBe(201);
    expect((await client.del(`/api/v1/namespaces/${ns}`)).status).toBe(200);
    const got = (await client.get(`/api/v1/namespaces/${ns}`)).body;
    expect(got.status.phase).toBe('Terminating');
    expect(got.metadata.deletionTimestamp).toBeDefined();
    const refused = await client.post(`/api/v1/namespaces/${ns}/configmaps`, configMap('after'));
    expect(refused).toMatchObject({ status: 403, body: { reason: 'Forbidden' } });
    expect(names((await client.get(`/api/v1/namespaces/${ns}/configmaps`)).body)).toEqual(['before']);
  });
});
