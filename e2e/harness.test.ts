// The e2e harness itself: real etcd of one and three members, the HTTP and
// watch helpers, kubeconfig and kubectl selection. Needs no apiserver.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanup,
  etcdctl,
  kubectl,
  makeTempDir,
  startEtcd,
  watchStream,
  writeKubeconfig,
} from '../testing/harness.js';

afterAll(cleanup);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('startEtcd', () => {
  it('starts one healthy member on loopback and stops it', async () => {
    const etcd = await startEtcd();
    expect(etcd.endpoints).toHaveLength(1);
    expect(etcd.endpoints[0]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await etcdctl(['endpoint', 'health'], { endpoints: etcd.endpoints });
    expect(health.code, health.stderr).toBe(0);
    expect(health.stdout + health.stderr).toContain('is healthy');

    // api() against etcd's JSON gateway: a put and a range read it back.
    const client = api(etcd.endpoints[0]);
    expect((await client.get('/health')).body).toEqual({ health: 'true' });
    const put = await client.post('/v3/kv/put', { key: b64('/registry/x'), value: b64('1') });
    expect(put.status).toBe(200);
    const range = await client.post('/v3/kv/range', { key: b64('/registry/x') });
    expect(Buffer.from(range.body.kvs[0].value, 'base64').toString()).toBe('1');

    const [member] = etcd.members;
    await etcd.stop();
    expect(alive(member.pid)).toBe(false);
    expect(existsSync(member.dataDir)).toBe(true); // stop keeps data
  });

  it('starts three members that form one cluster and survives losing one', async () => {
    const etcd = await startEtcd({ members: 3 });
    expect(etcd.endpoints).toHaveLength(3);
    expect(new Set(etcd.endpoints).size).toBe(3);

    const list = await etcdctl(['member', 'list', '-w', 'json'], { endpoints: etcd.endpoints });
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout).members).toHaveLength(3);

    const put = await etcdctl(['put', '/registry/k', 'v'], { endpoints: etcd.endpoints });
    expect(put.code, put.stderr).toBe(0);

    await etcd.members[0].kill();
    expect(alive(etcd.members[0].pid)).toBe(false);
    const get = await etcdctl(['get', '/registry/k', '--print-value-only'], {
      endpoints: etcd.endpoints.slice(1),
    });
    expect(get.code, get.stderr).toBe(0);
    expect(get.stdout.trim()).toBe('v');

    // A killed member comes back on the same ports with its data.
    await etcd.members[0].start();
    expect(alive(etcd.members[0].pid)).toBe(true);
    const again = await etcdctl(['get', '/registry/k', '--print-value-only'], {
      endpoints: [etcd.members[0].clientUrl],
    });
    expect(again.stdout.trim()).toBe('v');

    const pids = etcd.members.map((m) => m.pid);
    await etcd.stop();
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it('cleanup ends running members and removes their temp dirs', async () => {
    const etcd = await startEtcd();
    const { pid } = etcd.members[0];
    expect(alive(pid)).toBe(true);
    await cleanup();
    expect(alive(pid)).toBe(false);
    expect(existsSync(etcd.dir)).toBe(false);
  });
});

describe('watchStream', () => {
  it('yields one event per line even when lines arrive split across chunks', async () => {
    let server: Server | undefined;
    const port = await new Promise<number>((resolve) => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED","object":{"n":1}}\n{"type":"MOD');
        setTimeout(() => res.write('IFIED","object":{"n":2}}\n'), 20);
        // and keep the stream open, as a watch does
      }).listen(0, '127.0.0.1', () => {
        const addr = server!.address();
        resolve(typeof addr === 'object' && addr ? addr.port : 0);
      });
    });
    try {
      const w = await watchStream(`http://127.0.0.1:${port}`, '/api/v1/pods?watch=1');
      expect(w.status).toBe(200);
      const events = await w.take(2, 5_000);
      expect(events).toEqual([
        { type: 'ADDED', object: { n: 1 } },
        { type: 'MODIFIED', object: { n: 2 } },
      ]);
      await expect(w.next(100)).rejects.toThrow(/no watch event/);
      w.abort();
      await expect(w.next(1_000)).rejects.toThrow(/aborted/);
    } finally {
      server?.closeAllConnections();
      server?.close();
    }
  });
});

describe('kubeconfig and kubectl', () => {
  it('writes a kubeconfig that kubectl reads, with the chosen kubectl version', async () => {
    const dir = makeTempDir();
    const kubeconfig = await writeKubeconfig(dir, 'http://127.0.0.1:1');
    const view = await kubectl(['config', 'view', '--minify', '-o', 'json'], { kubeconfig });
    expect(view.code, view.stderr).toBe(0);
    const config = JSON.parse(view.stdout);
    expect(config.clusters[0].cluster.server).toBe('http://127.0.0.1:1');
    expect(config.contexts[0].context.namespace).toBe('default');

    const version = await kubectl(['version', '--client', '-o', 'json'], { kubeconfig, version: '1.29' });
    expect(version.code, version.stderr).toBe(0);
    expect(JSON.parse(version.stdout).clientVersion.minor).toBe('29');
  });
});
