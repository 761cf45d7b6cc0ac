// Several apiservers on one etcd behave as one; readyz follows etcd; a
// three-member etcd keeps serving with one member gone. Real processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  type EtcdCluster,
  type EtcdMember,
  etcdctl,
  startApiserver,
  startEtcd,
  type WatchStream,
  waitFor,
  watchStream,
} from '../testing/harness.js';
import { configMap, ensureNamespace, names } from './apiserver-fixtures.js';

afterAll(cleanup);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('two apiservers on one etcd', () => {
  let etcd: EtcdCluster;
  let a: Apiserver;
  let b: Apiserver;
  let clientA: Api;
  let clientB: Api;

  beforeAll(async () => {
    etcd = await startEtcd();
    [a, b] = await Promise.all([
      startApiserver({ etcdServers: etcd.endpoints }),
      startApiserver({ etcdServers: etcd.endpoints }),
    ]);
    clientA = api(a.url);
    clientB = api(b.url);
  });

  it('a watch on one sees the writes made on the other, in order', async () => {
    const ns = await ensureNamespace(clientA, 'ha-watch');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const w = await watchStream(b.url, `${coll}?watch=1`);
    const made = (await clientA.post(coll, configMap('from-a', { n: '1' }))).body;
    const changed = (await clientA.patch(`${coll}/from-a`, { data: { n: '2' } })).body;
    const events = await w.take(2);
    expect(
      events.map((e) => `${e.type} ${e.object.metadata.name}@${e.object.metadata.resourceVersion}`),
    ).toEqual([
      `ADDED from-a@${made.metadata.resourceVersion}`,
      `MODIFIED from-a@${changed.metadata.resourceVersion}`,
    ]);
    expect(events[0].object.metadata.uid).toBe(made.metadata.uid);
    w.abort();
  });

  it('a list on one right after a create on the other includes it', async () => {
    const ns = await ensureNamespace(clientA, 'ha-list');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    for (let i = 0; i < 20; i++) {
      const made = await clientA.post(coll, configMap(`c${i}`));
      expect(made.status).toBe(201);
      const list = await clientB.get(coll);
      expect(names(list.body)).toContain(`c${i}`);
      expect(Number(list.body.metadata.resourceVersion)).toBeGreaterThanOrEqual(
        Number(made.body.metadata.resourceVersion),
      );
      // And a delete on B is gone from A's list at once.
      if (i % 5 === 4) {
        expect((await clientB.del(`${coll}/c${i}`)).status).toBe(200);
        expect(names((await clientA.get(coll)).body)).not.toContain(`c${i}`);
      }
    }
  });

  it('a watch on one from the resourceVersion of a write on the other starts right after it', async () => {
    const ns = await ensureNamespace(clientA, 'ha-rv');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    for (let i = 0; i < 10; i++) {
      const made = (await clientA.post(coll, configMap(`r${i}`))).body;
      const w = await watchStream(b.url, `${coll}?watch=1&resourceVersion=${made.metadata.resourceVersion}`);
      const next = (await clientA.patch(`${coll}/r${i}`, { data: { n: '1' } })).body;
      const ev = await w.next();
      expect(`${ev.type} ${ev.object.metadata.name}@${ev.object.metadata.resourceVersion}`).toBe(
        `MODIFIED r${i}@${next.metadata.resourceVersion}`,
      );
      w.abort();
    }
  });

  it('optimistic concurrency holds across apiservers', async () => {
    const ns = await ensureNamespace(clientA, 'ha-occ');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const v1 = (await clientA.post(coll, configMap('shared', { n: '0' }))).body;
    expect((await clientB.put(`${coll}/shared`, { ...v1, data: { n: 'b' } })).status).toBe(200);
    expect((await clientA.put(`${coll}/shared`, { ...v1, data: { n: 'a' } })).status).toBe(409);
    // Concurrent increments split over both apiservers still all land.
    expect((await clientA.post(coll, configMap('counter', { n: '0' }))).status).toBe(201);
    const increment = async (c: Api) => {
      for (;;) {
        const cur = (await c.get(`${coll}/counter`)).body;
        cur.data.n = String(Number(cur.data.n) + 1);
        const res = await c.put(`${coll}/counter`, cur);
        if (res.status === 200) return;
        expect(res.status).toBe(409);
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 ? clientA : clientB)));
    expect((await clientB.get(`${coll}/counter`)).body.data.n).toBe('20');
  });

  it('readyz fails while etcd is down and recovers after it restarts; serving resumes', async () => {
    const ns = await ensureNamespace(clientA, 'ha-etcd-down');
    const coll = `/api/v1/namespaces/${ns}/configmaps`;
    const ready = async (c: Api) => (await c.get('/readyz', { accept: 'text/plain' })).status;
    expect(await ready(clientA)).toBe(200);

    const [member] = etcd.members;
    await member.stop();
    await waitFor(async () => (await ready(clientA)) !== 200, {
      timeoutMs: 15_000,
      what: 'readyz to fail on A',
    });
    await waitFor(async () => (await ready(clientB)) !== 200, {
      timeoutMs: 15_000,
      what: 'readyz to fail on B',
    });
    expect((await clientA.get('/readyz?verbose', { accept: 'text/plain' })).body).toContain('[-]etcd failed');
    // Liveness is about the process, not etcd: a restart would not help.
    expect((await clientA.get('/livez', { accept: 'text/plain' })).status).toBe(200);
    // Writes fail cleanly, as a Status, while etcd is away.
    const refused = await clientA.post(coll, configMap('while-down'));
    expect(refused.status).toBeGreaterThanOrEqual(500);
    expect(refused.body.kind).toBe('Status');

    await member.start();
    await waitFor(async () => (await ready(clientA)) === 200, {
      timeoutMs: 20_000,
      what: 'readyz to recover on A',
    });
    await waitFor(async () => (await ready(clientB)) === 200, {
      timeoutMs: 20_000,
      what: 'readyz to recover on B',
    });

    // Both serve again, and B's watches see A's writes once more.
    const w = await watchStream(b.url, `${coll}?watch=1`);
    const made = await waitFor(
      async () => {
        const res = await clientA.post(coll, configMap('after-restart'));
        return res.status === 201 ? res.body : undefined;
      },
      { timeoutMs: 10_000, what: 'a create after etcd restarted' },
    );
    const ev = await waitFor(
      async () => {
        const e = await w.next(10_000);
        return e.object.metadata.name === 'after-restart' ? e : undefined;
      },
      { timeoutMs: 15_000, what: 'the watch on B to see the create on A' },
    );
    expect(ev.type).toBe('ADDED');
    expect(ev.object.metadata.resourceVersion).toBe(made.metadata.resourceVersion);
    expect(names((await clientB.get(coll)).body)).toEqual(['after-restart']);
    w.abort();
  });
});

describe('three-member etcd', () => {
  let etcd: EtcdCluster;
  let client: Api;
  let url: string;
  const coll = '/api/v1/namespaces/default/configmaps';

  beforeAll(async () => {
    etcd = await startEtcd({ members: 3 });
    const server = await startApiserver({ etcdServers: etcd.endpoints });
    url = server.url;
    client = api(server.url);
  });

  /** The member that is raft leader, as the live members report it. */
  async function leader(): Promise<EtcdMember | undefined> {
    const live = etcd.members.filter((m) => m.pid > 0 && alive(m.pid));
    const res = await etcdctl(['endpoint', 'status', '-w', 'json'], {
      endpoints: live.map((m) => m.clientUrl),
    });
    if (res.code !== 0) return undefined;
    const rows = JSON.parse(res.stdout) as {
      Endpoint: string;
      Status: { header: { member_id: number }; leader: number };
    }[];
    const row = rows.find((r) => r.Status.leader !== 0 && r.Status.header.member_id === r.Status.leader);
    return row && live.find((m) => m.clientUrl === row.Endpoint);
  }

  /** Creates, reads, patches and lists `n` objects; every request must succeed the first time. */
  async function readsAndWrites(prefix: string, n = 10) {
    for (let i = 0; i < n; i++) {
      const made = await client.post(coll, configMap(`${prefix}-${i}`));
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect((await client.get(`${coll}/${prefix}-${i}`)).status).toBe(200);
      expect((await client.patch(`${coll}/${prefix}-${i}`, { data: { i: String(i) } })).status).toBe(200);
    }
    const list = await client.get(coll);
    expect(list.status).toBe(200);
    expect(names(list.body)).toEqual(expect.arrayContaining([`${prefix}-0`, `${prefix}-${n - 1}`]));
    expect((await client.get('/readyz', { accept: 'text/plain' })).status).toBe(200);
  }

  /** Waits until the open watch `w` has delivered ADDED for `name`. */
  async function sees(w: WatchStream, name: string) {
    await waitFor(
      async () => {
        const ev = await w.next(5_000);
        return ev.type === 'ADDED' && ev.object.metadata.name === name;
      },
      { timeoutMs: 20_000, what: `the open watch to see ${name}` },
    );
  }

  it('losing a follower stops nothing: reads, writes and an open watch go on at once', async () => {
    expect((await client.post(coll, configMap('before'))).status).toBe(201);
    const w = await watchStream(
      url,
      `${coll}?watch=1&resourceVersion=${(await client.get(coll)).body.metadata.resourceVersion}`,
    );
    const lead = await leader();
    expect(lead).toBeDefined();
    const follower = etcd.members.find((m) => m !== lead)!;
    await follower.kill();
    await readsAndWrites('no-follower');
    await sees(w, 'no-follower-9');
    await follower.start();
    w.abort();
  });

  it('losing the leader: once the others elect a new one, reads, writes and an open watch go on', async () => {
    const w = await watchStream(
      url,
      `${coll}?watch=1&resourceVersion=${(await client.get(coll)).body.metadata.resourceVersion}`,
    );
    const old = await leader();
    expect(old).toBeDefined();
    await old!.kill();
    // Raft needs an election timeout or two; requests in flight during it may time out, as in Kubernetes.
    await waitFor(async () => (await leader()) !== undefined, {
      timeoutMs: 15_000,
      what: 'a new etcd leader',
    });
    await readsAndWrites('no-leader');
    await sees(w, 'no-leader-9');
    w.abort();
  });
});
