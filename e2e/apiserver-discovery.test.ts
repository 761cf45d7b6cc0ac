// Discovery, version and health endpoints, request logs and Table
// responses, through HTTP against a real apiserver process on a real etcd.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  startApiserver,
  startEtcd,
  waitFor,
} from '../testing/harness.js';
import { configMap, ensureNamespace, pod } from './apiserver-fixtures.js';

let client: Api;
let server: Apiserver;

beforeAll(async () => {
  const etcd = await startEtcd();
  server = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(server.url);
});
afterAll(cleanup);

const aggregatedAccept = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** Media type parameters, quoted or not: `a/b; g="x"; v=y` → { g: 'x', v: 'y' }. */
function mediaParams(contentType: string): Record<string, string> {
  const [, ...params] = contentType.split(';');
  return Object.fromEntries(
    params.map((p) => {
      const [k, v = ''] = p.split('=').map((s) => s.trim());
      return [k.toLowerCase(), v.replace(/^"(.*)"$/, '$1')];
    }),
  );
}

describe('discovery', () => {
  it('/api lists v1 and /api/v1 its resources with verbs and subresources', async () => {
    const apiRoot = await client.get('/api');
    expect(apiRoot.status).toBe(200);
    expect(apiRoot.body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });

    const v1 = await client.get('/api/v1');
    expect(v1.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    const byName = new Map(v1.body.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.get('pods')).toMatchObject({
      kind: 'Pod',
      namespaced: true,
      singularName: 'pod',
      shortNames: ['po'],
    });
    expect((byName.get('pods') as { verbs: string[] }).verbs).toEqual(
      expect.arrayContaining([
        'create',
        'delete',
        'deletecollection',
        'get',
        'list',
        'patch',
        'update',
        'watch',
      ]),
    );
    expect(byName.get('nodes')).toMatchObject({ kind: 'Node', namespaced: false });
    expect(byName.get('namespaces')).toMatchObject({ kind: 'Namespace', namespaced: false });
    for (const sub of ['pods/status', 'pods/binding', 'pods/eviction'])
      expect(byName.has(sub), sub).toBe(true);
    expect(byName.get('pods/eviction')).toMatchObject({ group: 'policy', version: 'v1', kind: 'Eviction' });
  });

  it('/apis lists the groups, and each group-version its resources', async () => {
    const apis = await client.get('/apis');
    expect(apis.body.kind).toBe('APIGroupList');
    const groups = apis.body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining(['coordination.k8s.io', 'discovery.k8s.io', 'networking.k8s.io']),
    );
    const networking = apis.body.groups.find((g: { name: string }) => g.name === 'networking.k8s.io');
    expect(networking.preferredVersion).toEqual({ groupVersion: 'networking.k8s.io/v1', version: 'v1' });

    const gv = await client.get('/apis/networking.k8s.io/v1');
    expect(gv.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'networking.k8s.io/v1' });
    expect(gv.body.resources.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(['ingresses', 'ingresses/status', 'ingressclasses']),
    );
    expect((await client.get('/apis/nothing.example.com/v1')).status).toBe(404);
  });

  it('/apis/apps/v1 serves deployments with scale', async () => {
    const apps = await client.get('/apis/apps/v1');
    expect(apps.body).toMatchObject({ kind: 'APIResourceList', groupVersion: 'apps/v1' });
    const byName = new Map(apps.body.resources.map((r: { name: string }) => [r.name, r]));
    expect(byName.get('deployments')).toMatchObject({ kind: 'Deployment', namespaced: true });
    expect(byName.get('deployments/scale')).toMatchObject({
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
    });
    expect((await client.get('/apis')).body.groups.map((g: { name: string }) => g.name)).toContain('apps');
  });

  it.each(['/api', '/apis'])('%s answers the aggregated form kubectl asks for first', async (path) => {
    const res = await client.get(path, { accept: `${aggregatedAccept},application/json` });
    expect(res.status).toBe(200);
    expect(res.headers['content-type'].split(';')[0].trim()).toBe('application/json');
    expect(mediaParams(res.headers['content-type'])).toMatchObject({
      g: 'apidiscovery.k8s.io',
      v: 'v2',
      as: 'APIGroupDiscoveryList',
    });
    expect(res.body).toMatchObject({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2' });
    const resources = res.body.items.flatMap(
      (g: { versions: { resources: { resource: string; scope: string }[] }[] }) =>
        g.versions.flatMap((v) => v.resources),
    );
    if (path === '/api') {
      expect(resources.find((r: { resource: string }) => r.resource === 'pods')).toMatchObject({
        scope: 'Namespaced',
        responseKind: { kind: 'Pod' },
      });
    } else {
      expect(resources.find((r: { resource: string }) => r.resource === 'leases')).toMatchObject({
        scope: 'Namespaced',
      });
    }
  });

  it('falls back to the classic form when the client does not ask for the aggregated one', async () => {
    const res = await client.get('/apis', { accept: 'application/json' });
    expect(res.body.kind).toBe('APIGroupList');
    expect(mediaParams(res.headers['content-type']).as).toBeUndefined();
  });

  it('/version names the Kubernetes version it serves', async () => {
    const res = await client.get('/version');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      major: '1',
      minor: expect.stringMatching(/^\d+$/),
      gitVersion: expect.stringMatching(/^v1\.\d+\.\d+/),
    });
  });

  it.each(['/healthz', '/livez', '/readyz'])('%s is ok', async (path) => {
    const res = await client.get(path, { accept: 'text/plain' });
    expect(res).toMatchObject({ status: 200, body: 'ok' });
  });

  it('/readyz?verbose lists its checks', async () => {
    const res = await client.get('/readyz?verbose', { accept: 'text/plain' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('[+]etcd ok');
  });
});

describe('request logs', () => {
  it('logs every request as one JSON line with method, path, code and latency', async () => {
    expect((await client.get('/api/v1/namespaces/default/configmaps/logged-404')).status).toBe(404);
    const line = await waitFor(
      () =>
        readFileSync(server.logPath, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l))
          .find((l) => l.path === '/api/v1/namespaces/default/configmaps/logged-404'),
      { what: 'the request in the log' },
    );
    expect(line).toMatchObject({ method: 'GET', code: 404, latencyMs: expect.any(Number) });
  });
});

describe('Table responses', () => {
  const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

  it('prints pods with the columns kubectl shows', async () => {
    const ns = await ensureNamespace(client, 'tables');
    expect((await client.post(`/api/v1/namespaces/${ns}/pods`, pod('web', { nodeName: 'n1' }))).status).toBe(
      201,
    );
    const res = await client.get(`/api/v1/namespaces/${ns}/pods`, { accept: tableAccept });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ kind: 'Table', apiVersion: 'meta.k8s.io/v1' });
    const cols = res.body.columnDefinitions.map((c: { name: string }) => c.name);
    expect(cols.slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(cols).toEqual(expect.arrayContaining(['IP', 'Node']));
    const wide = res.body.columnDefinitions.find((c: { name: string }) => c.name === 'Node');
    expect(wide.priority).toBe(1);
    expect(res.body.rows).toHaveLength(1);
    const cells = res.body.rows[0].cells;
    expect(cells).toHaveLength(cols.length);
    expect(cells.slice(0, 4)).toEqual(['web', '0/1', 'Pending', expect.stringMatching(/^0/)]);
    expect(cells[cols.indexOf('Node')]).toBe('n1');
    expect(res.body.rows[0].object).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'web', namespace: ns },
    });
  });

  it('prints configmaps, one object or a list', async () => {
    const ns = await ensureNamespace(client, 'tables');
    expect(
      (
        await client.post(
          `/api/v1/namespaces/${ns}/configmaps`,
          configMap('three', { a: '1', b: '2', c: '3' }),
        )
      ).status,
    ).toBe(201);
    const list = await client.get(`/api/v1/namespaces/${ns}/configmaps`, { accept: tableAccept });
    expect(list.body.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Data', 'Age']);
    expect(list.body.rows.map((r: { cells: unknown[] }) => r.cells.slice(0, 2))).toEqual([['three', 3]]);
    const one = await client.get(`/api/v1/namespaces/${ns}/configmaps/three`, { accept: tableAccept });
    expect(one.body.kind).toBe('Table');
    expect(one.body.rows[0].cells[0]).toBe('three');
    expect(one.body.rows[0].cells[2]).toMatch(/^\d+s$/);
  });
});
