// Selectors, paging and subresources (status, scale, binding, eviction),
// through HTTP against a real apiserver process on a real etcd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { type Api, api, cleanup, startApiserver, startEtcd } from '../testing/harness.js';
import {
  configMap,
  deployment,
  ensureNamespace,
  names,
  pod,
  replicaSet,
  statefulSet,
} from './apiserver-fixtures.js';

let client: Api;

beforeAll(async () => {
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(server.url);
});
afterAll(cleanup);

const q = encodeURIComponent;

describe('label selectors', () => {
  const ns = 'labels';
  beforeAll(async () => {
    await ensureNamespace(client, ns);
    const objs = [
      configMap('a', {}, { app: 'web', tier: 'front' }),
      configMap('b', {}, { app: 'web', tier: 'back' }),
      configMap('c', {}, { app: 'db' }),
      configMap('d'),
    ];
    for (const o of objs)
      expect((await client.post(`/api/v1/namespaces/${ns}/configmaps`, o)).status).toBe(201);
  });

  it.each([
    { op: '=', selector: 'app=web', want: ['a', 'b'] },
    { op: '==', selector: 'app==web', want: ['a', 'b'] },
    { op: '!= (matches objects without the key)', selector: 'app!=web', want: ['c', 'd'] },
    { op: 'in', selector: 'tier in (front,back)', want: ['a', 'b'] },
    { op: 'in, one value', selector: 'tier in (back)', want: ['b'] },
    { op: 'notin', selector: 'app notin (web)', want: ['c', 'd'] },
    { op: 'exists', selector: 'tier', want: ['a', 'b'] },
    { op: '!exists', selector: '!tier', want: ['c', 'd'] },
    { op: 'several requirements (AND)', selector: 'app=web,tier!=front', want: ['b'] },
    { op: 'no match', selector: 'app=none', want: [] },
  ])('$op: $selector', async ({ selector, want }) => {
    const res = await client.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${q(selector)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(names(res.body)).toEqual(want);
  });

  it('rejects a malformed label selector with 400', async () => {
    const res = await client.get(`/api/v1/namespaces/${ns}/configmaps?labelSelector=${q('app in (web')}`);
    expect(res).toMatchObject({ status: 400, body: { kind: 'Status', reason: 'BadRequest' } });
  });
});

describe('field selectors', () => {
  const ns = 'fields';
  beforeAll(async () => {
    await ensureNamespace(client, ns);
    await ensureNamespace(client, 'fields-other');
    const pods = `/api/v1/namespaces/${ns}/pods`;
    expect((await client.post(pods, pod('on-n1', { nodeName: 'n1' }))).status).toBe(201);
    expect((await client.post(pods, pod('on-n2', { nodeName: 'n2' }))).status).toBe(201);
    expect((await client.post(pods, pod('pending'))).status).toBe(201);
    const running = await client.patch(`${pods}/on-n1/status`, { status: { phase: 'Running' } });
    expect(running.status, JSON.stringify(running.body)).toBe(200);
    expect(
      (await client.post('/api/v1/namespaces/fields-other/pods', pod('elsewhere', { nodeName: 'n1' })))
        .status,
    ).toBe(201);
  });

  it.each([
    {
      field: 'metadata.name',
      path: `/api/v1/namespaces/${ns}/pods`,
      selector: 'metadata.name=on-n2',
      want: ['on-n2'],
    },
    {
      field: 'metadata.name !=',
      path: `/api/v1/namespaces/${ns}/pods`,
      selector: 'metadata.name!=on-n2',
      want: ['on-n1', 'pending'],
    },
    {
      field: 'metadata.namespace',
      path: '/api/v1/pods',
      selector: `metadata.namespace=${ns}`,
      want: ['on-n1', 'on-n2', 'pending'],
    },
    {
      field: 'spec.nodeName, all namespaces',
      path: '/api/v1/pods',
      selector: 'spec.nodeName=n1',
      want: ['elsewhere', 'on-n1'],
    },
    {
      field: 'spec.nodeName empty (unscheduled)',
      path: `/api/v1/namespaces/${ns}/pods`,
      selector: 'spec.nodeName=',
      want: ['pending'],
    },
    {
      field: 'status.phase',
      path: `/api/v1/namespaces/${ns}/pods`,
      selector: 'status.phase=Running',
      want: ['on-n1'],
    },
    {
      field: 'status.phase !=',
      path: `/api/v1/namespaces/${ns}/pods`,
      selector: 'status.phase!=Running',
      want: ['on-n2', 'pending'],
    },
    {
      field: 'two fields (AND)',
      path: '/api/v1/pods',
      selector: `spec.nodeName=n1,metadata.namespace=${ns}`,
      want: ['on-n1'],
    },
  ])('$field: $selector', async ({ path, selector, want }) => {
    const res = await client.get(`${path}?fieldSelector=${q(selector)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(names(res.body)).toEqual(want);
  });

  it('selects namespaces by status.phase', async () => {
    const res = await client.get(`/api/v1/namespaces?fieldSelector=${q('status.phase=Active')}`);
    expect(names(res.body)).toEqual(expect.arrayContaining(['default', ns]));
  });

  it('rejects a field the kind does not support with 400', async () => {
    const res = await client.get(
      `/api/v1/namespaces/${ns}/configmaps?fieldSelector=${q('spec.nodeName=n1')}`,
    );
    expect(res).toMatchObject({ status: 400, body: { kind: 'Status', reason: 'BadRequest' } });
    expect(res.body.message).toContain('spec.nodeName');
  });
});

describe('limit and continue', () => {
  const ns = 'paging';
  const coll = `/api/v1/namespaces/${ns}/configmaps`;
  beforeAll(async () => {
    await ensureNamespace(client, ns);
    for (let i = 0; i < 25; i++) {
      expect((await client.post(coll, configMap(`cm-${String(i).padStart(2, '0')}`))).status).toBe(201);
    }
  });

  it('pages 25 objects by 10 with remainingItemCount, each object once, from one snapshot', async () => {
    const first = await client.get(`${coll}?limit=10`);
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(10);
    expect(first.body.metadata.remainingItemCount).toBe(15);
    expect(first.body.metadata.continue).toEqual(expect.any(String));
    // A write after the first page is not in the later pages: they read the first page's revision.
    expect((await client.post(coll, configMap('cm-99-late'))).status).toBe(201);

    const second = await client.get(`${coll}?limit=10&continue=${q(first.body.metadata.continue)}`);
    expect(second.body.items).toHaveLength(10);
    expect(second.body.metadata.remainingItemCount).toBe(5);
    expect(second.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
    const third = await client.get(`${coll}?limit=10&continue=${q(second.body.metadata.continue)}`);
    expect(third.body.items).toHaveLength(5);
    expect(third.body.metadata.continue ?? '').toBe('');
    expect(third.body.metadata.remainingItemCount).toBeUndefined();

    const all = [...first.body.items, ...second.body.items, ...third.body.items].map(
      (o: KubeObject) => o.metadata.name,
    );
    expect(all).toEqual(Array.from({ length: 25 }, (_, i) => `cm-${String(i).padStart(2, '0')}`));
    expect((await client.get(coll)).body.items).toHaveLength(26);
    expect((await client.del(`${coll}/cm-99-late`)).status).toBe(200);
  });

  it('pages with a label selector and returns every match once', async () => {
    const seen: string[] = [];
    let token = '';
    for (let page = 0; page < 10; page++) {
      const res = await client.get(
        `${coll}?limit=4&labelSelector=${q('!nothing')}${token ? `&continue=${q(token)}` : ''}`,
      );
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((o: KubeObject) => o.metadata.name));
      token = res.body.metadata.continue ?? '';
      if (!token) break;
    }
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
  });

  it('a list at the resourceVersion a paged list gave is served at once', async () => {
    // A write elsewhere moves etcd's revision past anything this resource's cache has seen.
    const node = await client.post('/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'paging-node' },
    });
    expect(node.status).toBe(201);
    const paged = await client.get(`${coll}?limit=5`);
    const rv = paged.body.metadata.resourceVersion;
    expect(Number(rv)).toBeGreaterThanOrEqual(Number(node.body.metadata.resourceVersion));
    const started = Date.now();
    const res = await client.get(`${coll}?resourceVersion=${rv}`);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    expect(res.body.items).toHaveLength(25);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('rejects a garbled continue token with 400', async () => {
    expect((await client.get(`${coll}?limit=10&continue=garbage`)).status).toBe(400);
  });
});

describe('status subresource', () => {
  it('an update through /status changes only status; through the object, everything but status', async () => {
    const ns = await ensureNamespace(client, 'status');
    const path = `/api/v1/namespaces/${ns}/pods/web`;
    expect((await client.post(`/api/v1/namespaces/${ns}/pods`, pod('web'))).status).toBe(201);

    const viaStatus = (await client.get(path)).body;
    viaStatus.spec.containers[0].image = 'nginx:changed-through-status';
    viaStatus.status = { ...viaStatus.status, phase: 'Running', podIP: '10.244.0.9' };
    const s = await client.put(`${path}/status`, viaStatus);
    expect(s.status, JSON.stringify(s.body)).toBe(200);
    expect(s.body.status.phase).toBe('Running');
    expect(s.body.spec.containers[0].image).toBe('nginx:1.25');

    const viaObject = (await client.get(path)).body;
    viaObject.spec.containers[0].image = 'nginx:1.26';
    viaObject.status.phase = 'Failed';
    const o = await client.put(path, viaObject);
    expect(o.status, JSON.stringify(o.body)).toBe(200);
    expect(o.body.spec.containers[0].image).toBe('nginx:1.26');
    expect(o.body.status.phase).toBe('Running');

    // A merge patch of the object ignores status as well; one of /status applies it.
    expect((await client.patch(path, { status: { phase: 'Succeeded' } })).body.status.phase).toBe('Running');
    const patched = await client.patch(`${path}/status`, { status: { phase: 'Succeeded' } });
    expect(patched.body.status.phase).toBe('Succeeded');
    expect((await client.get(`${path}/status`)).body.status).toMatchObject({
      phase: 'Succeeded',
      podIP: '10.244.0.9',
    });
  });
});

const scalable = [
  { name: 'deployments', make: deployment },
  { name: 'replicasets', make: replicaSet },
  { name: 'statefulsets', make: statefulSet },
];

describe('scale subresource', () => {
  it.each(scalable)('$name: GET Scale, PUT and PATCH change spec.replicas', async ({ name, make }) => {
    const ns = await ensureNamespace(client, 'scale');
    const coll = `/apis/apps/v1/namespaces/${ns}/${name}`;
    const created = await client.post(coll, make('s', 2));
    expect(created.status, JSON.stringify(created.body)).toBe(201);

    const scale = await client.get(`${coll}/s/scale`);
    expect(scale.status).toBe(200);
    expect(scale.body).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: 's', namespace: ns },
      spec: { replicas: 2 },
    });
    expect(scale.body.status.selector).toBe('app=s');

    const put = await client.put(`${coll}/s/scale`, { ...scale.body, spec: { replicas: 5 } });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body.spec.replicas).toBe(5);
    expect((await client.get(`${coll}/s`)).body.spec.replicas).toBe(5);
    // A stale Scale is a conflict, as any stale write.
    expect((await client.put(`${coll}/s/scale`, { ...scale.body, spec: { replicas: 7 } })).status).toBe(409);

    const patched = await client.patch(`${coll}/s/scale`, { spec: { replicas: 1 } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const after = (await client.get(`${coll}/s`)).body;
    expect(after.spec.replicas).toBe(1);
    expect(after.metadata.generation).toBe(3);
    expect(
      (await client.put(`${coll}/s/scale`, { ...scale.body, metadata: {}, spec: { replicas: -1 } })).status,
    ).toBe(422);
  });
});

describe('binding and eviction', () => {
  it('binding sets spec.nodeName once; a second binding is 409', async () => {
    const ns = await ensureNamespace(client, 'binding');
    expect((await client.post(`/api/v1/namespaces/${ns}/pods`, pod('p'))).status).toBe(201);
    const binding = (node: string) => ({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'p', namespace: ns },
      target: { apiVersion: 'v1', kind: 'Node', name: node },
    });
    const bound = await client.post(`/api/v1/namespaces/${ns}/pods/p/binding`, binding('node-a'));
    expect(bound.status, JSON.stringify(bound.body)).toBe(201);
    const got = (await client.get(`/api/v1/namespaces/${ns}/pods/p`)).body;
    expect(got.spec.nodeName).toBe('node-a');
    expect(got.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'PodScheduled', status: 'True' })]),
    );

    const again = await client.post(`/api/v1/namespaces/${ns}/pods/p/binding`, binding('node-b'));
    expect(again).toMatchObject({ status: 409, body: { reason: 'Conflict' } });
    expect((await client.get(`/api/v1/namespaces/${ns}/pods/p`)).body.spec.nodeName).toBe('node-a');
    expect(
      (await client.post(`/api/v1/namespaces/${ns}/pods/missing/binding`, binding('node-a'))).status,
    ).toBe(404);
  });

  it('eviction deletes the pod', async () => {
    const ns = await ensureNamespace(client, 'eviction');
    expect((await client.post(`/api/v1/namespaces/${ns}/pods`, pod('victim'))).status).toBe(201);
    const eviction = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'victim', namespace: ns },
    };
    const res = await client.post(`/api/v1/namespaces/${ns}/pods/victim/eviction`, eviction);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect((await client.get(`/api/v1/namespaces/${ns}/pods/victim`)).status).toBe(404);
    expect((await client.post(`/api/v1/namespaces/${ns}/pods/victim/eviction`, eviction)).status).toBe(404);
  });

  it('eviction of a pod on a node is graceful', async () => {
    const ns = await ensureNamespace(client, 'eviction');
    expect(
      (await client.post(`/api/v1/namespaces/${ns}/pods`, pod('running', { nodeName: 'n1' }))).status,
    ).toBe(201);
    const eviction = {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'running', namespace: ns },
    };
    expect((await client.post(`/api/v1/namespaces/${ns}/pods/running/eviction`, eviction)).status).toBe(201);
    const got = (await client.get(`/api/v1/namespaces/${ns}/pods/running`)).body;
    expect(got.metadata.deletionTimestamp).toBeDefined();
    expect(got.metadata.deletionGracePeriodSeconds).toBe(30);
  });
});
