// kube-proxy on real iptables: Services and EndpointSlices in a real
// apiserver, "pods" that are network namespaces on a test bridge with a
// small HTTP server each, and requests to the ClusterIP and NodePort.
// Traffic goes only to addresses this test creates (10.244.250.0/24, the
// test's service IPs and the test bridge's own address).
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  freePort,
  run,
  startApiserver,
  startEtcd,
  waitFor,
} from '../testing/harness.js';

const bridge = 'nkp-br0';
const gateway = '10.244.250.1';
const pods = [
  { ns: 'nkp-p1', ip: '10.244.250.11' },
  { ns: 'nkp-p2', ip: '10.244.250.12' },
  { ns: 'nkp-p3', ip: '10.244.250.13' },
];
const proxyJs = path.resolve('dist/kube-proxy/main.js');
let client: Api;
let proxyPid: number | undefined;
let healthPort: number;
let saveBefore: string[];

const sh = async (cmd: string, args: string[]) => {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

/** iptables-save without counters, our chains, Docker's churn and comments. */
async function baseline(): Promise<string[]> {
  const out = await sh('iptables-save', []);
  return out
    .split('\n')
    .filter((l) => l && !l.startsWith('#') && !/KUBE-|DOCKER|docker|br-/.test(l))
    .map((l) => l.replace(/\[\d+:\d+\]/, ''));
}

function get(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function hits(host: string, port: number, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const who = await get(host, port);
    seen.set(who, (seen.get(who) ?? 0) + 1);
  }
  return seen;
}

const slice = (ready: Record<string, boolean>) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'web-test', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: pods.map((p) => ({ addresses: [p.ip], conditions: { ready: ready[p.ns] ?? true } })),
  ports: [{ name: '', port: 8080, protocol: 'TCP' }],
});

beforeAll(async () => {
  saveBefore = await baseline();
  await run('ip', ['link', 'del', bridge]);
  await sh('ip', ['link', 'add', bridge, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${gateway}/24`, 'dev', bridge]);
  await sh('ip', ['link', 'set', bridge, 'up']);
  for (const [i, p] of pods.entries()) {
    await run('ip', ['netns', 'del', p.ns]);
    await sh('ip', ['netns', 'add', p.ns]);
    await sh('ip', ['link', 'add', `nkp-v${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', p.ns]);
    await sh('ip', ['link', 'set', `nkp-v${i}`, 'master', bridge, 'up']);
    // As the kubelet does for pod veths: with br_netfilter loaded (Docker loads
    // it), a hairpinned connection is bridged back out of the port it came in.
    await sh('bridge', ['link', 'set', 'dev', `nkp-v${i}`, 'hairpin', 'on']);
    await sh('ip', ['-n', p.ns, 'addr', 'add', `${p.ip}/24`, 'dev', 'eth0']);
    await sh('ip', ['-n', p.ns, 'link', 'set', 'eth0', 'up']);
    await sh('ip', ['-n', p.ns, 'link', 'set', 'lo', 'up']);
    await sh('ip', ['-n', p.ns, 'route', 'add', 'default', 'via', gateway]);
    const server = `require('http').createServer((q, s) => s.end('${p.ns}')).listen(8080, '0.0.0.0')`;
    // run() tracks the child, so cleanup() stops it.
    void run('ip', ['netns', 'exec', p.ns, process.execPath, '-e', server], { timeoutMs: 600_000 });
  }
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  healthPort = await freePort();
  const child = (await import('node:child_process')).spawn(
    process.execPath,
    [
      proxyJs,
      '--master',
      apiserver.url,
      '--node-name',
      'nkp-node',
      '--healthz-bind-address',
      `127.0.0.1:${healthPort}`,
      '--iptables-min-sync-period',
      '100ms',
    ],
    { stdio: 'ignore' },
  );
  proxyPid = child.pid;
  await waitFor(
    async () => (await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined))?.ok,
    { timeoutMs: 20_000, what: 'kube-proxy ready' },
  );
  for (const p of pods)
    await waitFor(
      () =>
        get(p.ip, 8080).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, what: `${p.ns} serving` },
    );
});

afterAll(async () => {
  if (proxyPid) process.kill(proxyPid, 'SIGTERM');
  await run(process.execPath, [proxyJs, '--cleanup']);
  await cleanup();
  for (const [i, p] of pods.entries()) {
    await run('ip', ['link', 'del', `nkp-v${i}`]);
    await run('ip', ['netns', 'del', p.ns]);
  }
  await run('ip', ['link', 'del', bridge]);
});

describe('kube-proxy on iptables', () => {
  let clusterIP: string;
  let nodePort: number;

  it('routes the ClusterIP to every ready endpoint', async () => {
    const s = await client.post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    expect(s.status).toBe(201);
    clusterIP = s.body.spec.clusterIP;
    nodePort = s.body.spec.ports[0].nodePort;
    expect(
      (await client.post('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', slice({}))).status,
    ).toBe(201);
    await waitFor(
      () =>
        get(clusterIP, 80).then(
          () => true,
          () => false,
        ),
      { timeoutMs: 10_000, what: 'service reachable' },
    );
    const seen = await hits(clusterIP, 80, 60);
    expect([...seen.keys()].sort()).toEqual(pods.map((p) => p.ns));
  });

  it('never sends to an endpoint that is not ready', async () => {
    const cur = await client.get('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-test');
    const u = await client.put('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-test', {
      ...slice({ 'nkp-p2': false }),
      metadata: cur.body.metadata,
    });
    expect(u.status).toBe(200);
    await waitFor(async () => !(await hits(clusterIP, 80, 15)).has('nkp-p2'), {
      timeoutMs: 10_000,
      what: 'nkp-p2 out of rotation',
    });
    const seen = await hits(clusterIP, 80, 60);
    expect(seen.has('nkp-p2')).toBe(false);
    expect(seen.size).toBe(2);
  });

  it('reaches the service on its NodePort at a node address', async () => {
    const seen = await hits(gateway, nodePort, 20);
    expect([...seen.keys()].every((k) => k === 'nkp-p1' || k === 'nkp-p3')).toBe(true);
  });

  it('hairpin: a pod reaches itself through its own service', async () => {
    const cur = await client.get('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-test');
    await client.put('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-test', {
      ...slice({ 'nkp-p2': false, 'nkp-p3': false }),
      metadata: cur.body.metadata,
    });
    await waitFor(async () => (await hits(clusterIP, 80, 10)).size === 1, {
      timeoutMs: 10_000,
      what: 'only nkp-p1',
    });
    const script = `require('http').get({host:'${clusterIP}',port:80,agent:false},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log(b);process.exit(0)})}).on('error',e=>{console.error(e.message);process.exit(1)})`;
    const r = await run('ip', ['netns', 'exec', 'nkp-p1', process.execPath, '-e', script]);
    expect(r.stdout.trim()).toBe('nkp-p1');
  });

  it('rejects at once when no endpoint is ready', async () => {
    await client.del('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/web-test');
    await waitFor(
      () =>
        get(clusterIP, 80, 1000).then(
          () => false,
          (e: Error & { code?: string }) => e.code === 'ECONNREFUSED',
        ),
      { timeoutMs: 10_000, what: 'REJECT' },
    );
  });

  it('deletes the conntrack entries of a UDP endpoint that goes away', async () => {
    const svc = await client.post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dgram' },
      spec: { ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] },
    });
    expect(svc.status, JSON.stringify(svc.body)).toBe(201);
    const ip = svc.body.spec.clusterIP;
    const udpSlice = (names: string[]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'dgram-test', labels: { 'kubernetes.io/service-name': 'dgram' } },
      addressType: 'IPv4',
      endpoints: pods
        .filter((p) => names.includes(p.ns))
        .map((p) => ({ addresses: [p.ip], conditions: { ready: true } })),
      ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }],
    });
    const slicePath = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    expect((await client.post(slicePath, udpSlice(['nkp-p1']))).status).toBe(201);
    // Datagrams from one source port make one conntrack entry, translated to nkp-p1.
    const dgram = await import('node:dgram');
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, r));
    const entriesTo = async (dst: string) =>
      (await run('conntrack', ['-L', '-p', 'udp', '--orig-dst', ip, '--dst-nat', dst])).stdout
        .split('\n')
        .filter((l) => l.includes(`sport=${sock.address().port} `));
    try {
      await waitFor(
        async () => {
          sock.send('ping', 53, ip);
          return (await entriesTo(pods[0].ip)).length === 1;
        },
        { timeoutMs: 10_000, what: 'a conntrack entry to nkp-p1' },
      ).catch(async (err) => {
        const all = (await run('conntrack', ['-L', '-p', 'udp'])).stdout;
        const nat = (await run('iptables-save', ['-t', 'nat'])).stdout
          .split('\n')
          .filter((l) => l.includes('dgram'));
        throw new Error(`${err.message}\n${all}\n${nat.join('\n')}`);
      });
      // nkp-p1 leaves, nkp-p2 comes: the entry to nkp-p1 is deleted, so the next datagram is sent anew.
      const cur = (await client.get(`${slicePath}/dgram-test`)).body;
      expect(
        (await client.put(`${slicePath}/dgram-test`, { ...udpSlice(['nkp-p2']), metadata: cur.metadata }))
          .status,
      ).toBe(200);
      await waitFor(async () => (await entriesTo(pods[0].ip)).length === 0, {
        timeoutMs: 10_000,
        what: 'the entry to nkp-p1 deleted',
      });
      await waitFor(
        async () => {
          sock.send('ping', 53, ip);
          return (await entriesTo(pods[1].ip)).length === 1;
        },
        { timeoutMs: 10_000, what: 'the next datagram translated to nkp-p2' },
      );
    } finally {
      sock.close();
      await client.del(`${slicePath}/dgram-test`);
      await client.del('/api/v1/namespaces/default/services/dgram');
    }
  });

  it("routes another node's pod range to that node's address, and stops when the node goes", async () => {
    // The "other node" answers on the address of a network namespace this test made.
    const other = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'nkp-other' },
      spec: { podCIDR: '10.244.251.0/24' },
    };
    expect((await client.post('/api/v1/nodes', other)).status).toBe(201);
    const cur = (await client.get('/api/v1/nodes/nkp-other')).body;
    cur.status = { addresses: [{ type: 'InternalIP', address: pods[2].ip }] };
    expect((await client.put('/api/v1/nodes/nkp-other/status', cur)).status).toBe(200);
    const ours = async () => (await sh('ip', ['-4', 'route', 'show', 'proto', '199'])).trim();
    await waitFor(async () => (await ours()).startsWith(`10.244.251.0/24 via ${pods[2].ip}`), {
      timeoutMs: 10_000,
      what: 'the route to nkp-other',
    });
    expect((await client.del('/api/v1/nodes/nkp-other')).status).toBe(200);
    await waitFor(async () => (await ours()) === '', { timeoutMs: 10_000, what: 'the route removed' });
  });

  it('--cleanup leaves iptables as it found them', async () => {
    if (proxyPid) process.kill(proxyPid, 'SIGTERM');
    proxyPid = undefined;
    await new Promise((r) => setTimeout(r, 500));
    const r = await run(process.execPath, [proxyJs, '--cleanup']);
    expect(r.code).toBe(0);
    expect((await sh('iptables-save', [])).split('\n').filter((l) => l.includes('KUBE-'))).toEqual([]);
    expect(await baseline()).toEqual(saveBefore);
    expect(await sh('ip', ['route', 'show', '10.96.0.0/16'])).toBe('');
    expect(await sh('ip', ['route', 'show', 'proto', '199'])).toBe('');
  });
});
