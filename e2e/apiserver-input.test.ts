// Bad input through HTTP against a real apiserver process on a real etcd:
// each is refused with the Kubernetes Status and code, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, api, cleanup, startApiserver, startEtcd } from '../testing/harness.js';
import { configMap, ensureNamespace, names } from './apiserver-fixtures.js';

let client: Api;

beforeAll(async () => {
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(server.url);
});
afterAll(cleanup);

describe('bad input', () => {
  const ns = 'bad';
  const coll = `/api/v1/namespaces/${ns}/configmaps`;
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    await ensureNamespace(client, ns);
    expect((await client.post(coll, configMap('existing', { v: '1' }))).status).toBe(201);
  });

  async function snapshot() {
    const list = await client.get(coll);
    return { names: names(list.body), existing: (await client.get(`${coll}/existing`)).body };
  }

  const big = 'x'.repeat(3 * 1024 * 1024 + 1024);
  it.each([
    {
      name: 'malformed JSON',
      method: 'POST',
      path: coll,
      body: '{"apiVersion": "v1", "kind":',
      headers: json,
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'a JSON array',
      method: 'POST',
      path: coll,
      body: '[1,2]',
      headers: json,
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'wrong kind',
      method: 'POST',
      path: coll,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'wrong apiVersion',
      method: 'POST',
      path: coll,
      body: { apiVersion: 'apps/v1', kind: 'ConfigMap', metadata: { name: 'k' } },
      code: 400,
      reason: 'BadRequest',
    },
    {
      // The kind is taken from the path, as Kubernetes' decoder defaults it; the group is wrong.
      name: 'missing kind, another group',
      method: 'POST',
      path: coll,
      body: { apiVersion: 'apps/v1', metadata: { name: 'k' } },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'a field of the wrong type',
      method: 'POST',
      path: coll,
      body: { ...configMap('t'), data: { a: 1 } },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'a body over 3 MiB',
      method: 'POST',
      path: coll,
      body: configMap('huge', { big }),
      code: 413,
      reason: 'RequestEntityTooLarge',
    },
    {
      name: 'unknown field, Strict',
      method: 'POST',
      path: `${coll}?fieldValidation=Strict`,
      body: { ...configMap('strict'), spec: {} },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'unsupported content type',
      method: 'POST',
      path: coll,
      body: 'name: plain',
      headers: { 'content-type': 'text/plain' },
      code: 415,
      reason: 'UnsupportedMediaType',
    },
    {
      name: 'PUT, malformed JSON',
      method: 'PUT',
      path: `${coll}/existing`,
      body: '{"data":',
      headers: json,
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'PUT, wrong kind',
      method: 'PUT',
      path: `${coll}/existing`,
      body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'existing' } },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'PUT, name differs from the path',
      method: 'PUT',
      path: `${coll}/existing`,
      body: configMap('other', { v: '2' }),
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'PATCH, malformed JSON',
      method: 'PATCH',
      path: `${coll}/existing`,
      body: '{"data":',
      headers: { 'content-type': 'application/merge-patch+json' },
      code: 400,
      reason: 'BadRequest',
    },
    {
      name: 'PATCH, plain JSON content type',
      method: 'PATCH',
      path: `${coll}/existing`,
      body: '{"data":{"v":"2"}}',
      headers: json,
      code: 415,
      reason: 'UnsupportedMediaType',
    },
    {
      name: 'PATCH, JSON patch test fails',
      method: 'PATCH',
      path: `${coll}/existing`,
      body: [
        { op: 'test', path: '/data/v', value: 'nope' },
        { op: 'replace', path: '/data/v', value: '2' },
      ],
      headers: { 'content-type': 'application/json-patch+json' },
      code: 422,
      reason: 'Invalid',
    },
  ])('$name: $code $reason, nothing written', async ({ method, path, body, headers, code, reason }) => {
    const before = await snapshot();
    const res = await client.request(method, path, body, headers);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(code);
    expect(res.body).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    { name: 'uppercase', value: 'Bad_Name' },
    { name: 'too long', value: 'a'.repeat(254) },
    { name: 'ends with a dash', value: 'bad-' },
  ])(
    'an invalid name ($name) is 422 Invalid with a cause on metadata.name, nothing written',
    async ({ value }) => {
      const before = await snapshot();
      const res = await client.post(coll, configMap(value));
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({
        kind: 'Status',
        reason: 'Invalid',
        code: 422,
        details: { kind: 'ConfigMap' },
      });
      expect(res.body.details.causes).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'metadata.name' })]),
      );
      expect(await snapshot()).toEqual(before);
    },
  );

  it('a namespace name must be a DNS-1123 label (no dots)', async () => {
    const res = await client.post('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a.b' },
    });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe('metadata.name');
    expect((await client.get('/api/v1/namespaces/a.b')).status).toBe(404);
  });

  it('an unknown field with fieldValidation=Warn is dropped and reported in a Warning header', async () => {
    const res = await client.post(`${coll}?fieldValidation=Warn`, { ...configMap('warned'), spec: { x: 1 } });
    expect(res.status).toBe(201);
    expect(res.headers.warning).toMatch(/^299 - "unknown field \\"spec\\""/);
    const stored = (await client.get(`${coll}/warned`)).body;
    expect(stored.spec).toBeUndefined();
    const ignored = await client.post(`${coll}?fieldValidation=Ignore`, {
      ...configMap('ignored'),
      spec: { x: 1 },
    });
    expect(ignored.status).toBe(201);
    expect(ignored.headers.warning).toBeUndefined();
    expect((await client.del(`${coll}/warned`)).status).toBe(200);
    expect((await client.del(`${coll}/ignored`)).status).toBe(200);
  });

  it('the server is still healthy after all of it', async () => {
    expect((await client.get('/healthz', { accept: 'text/plain' })).status).toBe(200);
    expect((await client.post(coll, configMap('after-all'))).status).toBe(201);
  });
});
