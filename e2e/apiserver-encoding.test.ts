// What the apiserver writes on the wire, as Kubernetes' apiserver writes it, where only raw
// HTTP sees the difference: list items without apiVersion and kind, `pretty` and the user
// agents that get indented JSON, the status a new PersistentVolume(Claim) is served with, and
// watches that send their initial events (sendInitialEvents) ending with an annotated bookmark.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, api, cleanup, startApiserver, startEtcd, watchStream } from '../testing/harness.js';
import { configMap, ensureNamespace } from './apiserver-fixtures.js';

let client: Api;
let url: string;
const ns = 'wire';
const cms = `/api/v1/namespaces/${ns}/configmaps`;

beforeAll(async () => {
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  url = server.url;
  client = api(url);
  await ensureNamespace(client, ns);
  for (const name of ['a', 'b'])
    expect((await client.post(cms, configMap(name, { k: 'v' }))).status).toBe(201);
});
afterAll(cleanup);

/** The raw text of a GET, with its headers as given. */
async function text(p: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(new URL(p, url), { headers: { accept: 'application/json', ...headers } });
  return res.text();
}

describe('lists', () => {
  it("a built-in kind's list names its kind once: the items carry no apiVersion or kind", async () => {
    const res = await client.get(cms);
    expect(res.body).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1' });
    expect(res.body.items.map((i: any) => [i.metadata.name, i.apiVersion, i.kind])).toEqual([
      ['a', undefined, undefined],
      ['b', undefined, undefined],
    ]);
  });

  it('so does a list in YAML, and one named object still says what it is', async () => {
    const yaml = await text(cms, { accept: 'application/yaml' });
    expect(yaml).toMatch(/^kind: ConfigMapList$/m);
    expect(yaml).not.toMatch(/^ {2,}kind: ConfigMap$/m);
    expect((await client.get(`${cms}/a`)).body).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });

  it('watch events keep apiVersion and kind on their objects', async () => {
    const w = await watchStream(url, `${cms}?watch=1&fieldSelector=metadata.name%3Da`);
    const [ev] = await w.take(1, 5_000);
    w.abort();
    expect(ev.object).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap' });
  });
});

describe('pretty', () => {
  // Go's strconv.ParseBool: 1, t, T, TRUE, true, True and their false forms; anything else is false.
  it.each([
    { name: 'pretty=true', query: 'pretty=true', agent: 'node', indented: true },
    { name: 'pretty=1', query: 'pretty=1', agent: 'node', indented: true },
    { name: 'pretty=T', query: 'pretty=T', agent: 'node', indented: true },
    { name: 'pretty=yes is no bool', query: 'pretty=yes', agent: 'node', indented: false },
    { name: 'no pretty', query: '', agent: 'node', indented: false },
    { name: 'curl by default', query: '', agent: 'curl/8.5.0', indented: true },
    { name: 'wget by default', query: '', agent: 'Wget/1.21', indented: true },
    { name: 'a browser by default', query: '', agent: 'Mozilla/5.0 (X11)', indented: true },
    { name: 'curl with pretty=false', query: 'pretty=false', agent: 'curl/8.5.0', indented: false },
    { name: 'curl with pretty=0', query: 'pretty=0', agent: 'curl/8.5.0', indented: false },
  ])('$name', async ({ query, agent, indented }) => {
    const one = await text(`${cms}/a?${query}`, { 'user-agent': agent });
    const list = await text(`${cms}?${query}`, { 'user-agent': agent });
    const missing = await text(`${cms}/missing?${query}`, { 'user-agent': agent });
    for (const body of [one, list, missing]) {
      const parsed = JSON.parse(body);
      expect(body.trimEnd()).toBe(indented ? JSON.stringify(parsed, null, 2) : JSON.stringify(parsed));
    }
  });
});

describe('status on create', () => {
  it('a PersistentVolume is Pending from the time it was made; a claim is Pending', async () => {
    const pv = await client.post('/api/v1/persistentvolumes', {
      metadata: { name: 'wire-pv' },
      spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/pv' } },
      status: { phase: 'Bound', message: 'set by the client' },
    });
    expect(pv.status).toBe(201);
    expect(Object.keys(pv.body.status).sort()).toEqual(['lastPhaseTransitionTime', 'phase']);
    expect(pv.body.status.phase).toBe('Pending');
    expect(pv.body.status.lastPhaseTransitionTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const pvc = await client.post(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, {
      metadata: { name: 'wire-pvc' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound' },
    });
    expect(pvc.status).toBe(201);
    expect(pvc.body.status).toEqual({ phase: 'Pending' });
  });

  // As Kubernetes' status PrepareForUpdate: a write that leaves the time out keeps it while the
  // phase stays, and a phase change with the time left out or unchanged stamps it anew.
  it("a PersistentVolume's lastPhaseTransitionTime moves with its phase", async () => {
    const at = '/api/v1/persistentvolumes/wire-pv/status';
    const cur = (await client.get(at)).body;
    const created = cur.status.lastPhaseTransitionTime;
    const { lastPhaseTransitionTime: _t, ...noTime } = cur.status;
    const same = await client.put(at, { ...cur, status: { ...noTime, message: 'm' } });
    expect(same.body.status).toMatchObject({ phase: 'Pending', lastPhaseTransitionTime: created });
    const old = '2000-01-01T00:00:00Z';
    const set = await client.put(at, {
      ...same.body,
      status: { ...same.body.status, lastPhaseTransitionTime: old },
    });
    expect(set.body.status.lastPhaseTransitionTime).toBe(old);
    const moved = await client.put(at, { ...set.body, status: { ...set.body.status, phase: 'Available' } });
    expect(moved.body.status.phase).toBe('Available');
    expect(moved.body.status.lastPhaseTransitionTime > old).toBe(true);
  });
});

describe('watch with sendInitialEvents', () => {
  const watchQuery = (q: string) => `${cms}?watch=1&timeoutSeconds=5&${q}`;

  it('sends the current objects, then a bookmark marked k8s.io/initial-events-end, then changes', async () => {
    const w = await watchStream(
      url,
      watchQuery('sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan'),
    );
    expect(w.status).toBe(200);
    const initial = await w.take(3, 5_000);
    expect(initial.map((e) => [e.type, e.object.metadata.name ?? null])).toEqual([
      ['ADDED', 'a'],
      ['ADDED', 'b'],
      ['BOOKMARK', null],
    ]);
    expect(initial[2].object).toEqual({
      kind: 'ConfigMap',
      apiVersion: 'v1',
      metadata: {
        resourceVersion: expect.stringMatching(/^\d+$/),
        annotations: { 'k8s.io/initial-events-end': 'true' },
      },
    });
    await client.post(cms, configMap('c'));
    const next = await w.next(5_000);
    w.abort();
    expect([next.type, next.object.metadata.name]).toEqual(['ADDED', 'c']);
    await client.del(`${cms}/c`);
  });

  it('sendInitialEvents=false from no resourceVersion starts at the latest, with nothing to replay', async () => {
    const w = await watchStream(url, watchQuery('sendInitialEvents=false&resourceVersionMatch=NotOlderThan'));
    await client.post(cms, configMap('d'));
    const ev = await w.next(5_000);
    w.abort();
    expect([ev.type, ev.object.metadata.name]).toEqual(['ADDED', 'd']);
    await client.del(`${cms}/d`);
  });

  // As Kubernetes' validateWatchOptions: 422 Invalid with the field that is wrong.
  it.each([
    { name: 'sendInitialEvents without resourceVersionMatch', q: 'sendInitialEvents=true' },
    {
      name: 'resourceVersionMatch without sendInitialEvents',
      q: 'resourceVersionMatch=NotOlderThan',
    },
    { name: 'resourceVersionMatch=Exact', q: 'sendInitialEvents=true&resourceVersionMatch=Exact' },
  ])('$name is 422', async ({ q }) => {
    const res = await client.get(watchQuery(q));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Invalid' });
    expect(res.body.details.causes[0].field).toBe('resourceVersionMatch');
  });
});

describe('write options', () => {
  // As Kubernetes' ValidateCreateOptions/UpdateOptions/PatchOptions: 422 naming the options kind
  // of the verb, with the field as a cause.
  const long = 'm'.repeat(129);
  it.each([
    {
      name: 'a create with a fieldManager over 128 bytes',
      method: 'POST',
      path: `${cms}?fieldManager=${long}`,
      message:
        'CreateOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes',
      cause: ['FieldValueTooLong', 'fieldManager'],
    },
    {
      name: 'an update with a fieldManager holding a control character',
      method: 'PUT',
      path: `${cms}/a?fieldManager=a%07b`,
      // (The value's quoting is JSON's here, Go's %q there: only the ends are compared.)
      message:
        /^UpdateOptions\.meta\.k8s\.io "" is invalid: fieldManager: Invalid value: .*: invalid character U\+0007 \(at position 1\)$/,
      cause: ['FieldValueInvalid', 'fieldManager'],
    },
    {
      name: 'a create with dryRun=Some',
      method: 'POST',
      path: `${cms}?dryRun=Some`,
      message:
        'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["Some"]: supported values: "All"',
      cause: ['FieldValueNotSupported', 'dryRun'],
    },
  ])('$name is 422', async ({ method, path, message, cause }) => {
    const res = await client.request(method, path, configMap('a', { k: 'w' }));
    expect(res.status).toBe(422);
    expect(res.body.message).toMatch(message);
    expect(res.body.details.causes.map((c: any) => [c.reason, c.field])).toEqual([cause]);
  });

  it('a fieldManager of printable non-ASCII letters is fine, as Go’s unicode.IsPrint', async () => {
    const res = await client.post(
      `${cms}?fieldManager=${encodeURIComponent('café')}`,
      configMap('e', { k: 'v' }),
    );
    expect(res.status).toBe(201);
    expect(res.body.metadata.managedFields[0].manager).toBe('café');
  });
});
