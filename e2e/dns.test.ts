// nk-dns against a real apiserver: service and headless names, SRV, and
// forwarding of other names to an upstream resolver this test runs on
// 127.0.0.1 (nothing leaves the host).
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import path from 'node:path';
import * as packet from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, api, cleanup, freePorts, startApiserver, startEtcd, waitFor } from '../testing/harness.js';

let client: Api;
let dnsPort: number;
let upstream: dgram.Socket;
let child: ReturnType<typeof spawn> | undefined;

function query(name: string, type: string, port = dnsPort): Promise<packet.Packet> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    const t = setTimeout(() => {
      sock.close();
      reject(new Error(`no answer for ${name}`));
    }, 3000);
    sock.on('message', (m) => {
      clearTimeout(t);
      sock.close();
      resolve(packet.decode(m));
    });
    sock.send(
      packet.encode({
        type: 'query',
        id: 7,
        flags: packet.RECURSION_DESIRED,
        questions: [{ type, name } as never],
      }),
      port,
      '127.0.0.1',
    );
  });
}

const rcode = (p: packet.Packet) => (p as { rcode?: string }).rcode;
const ips = (p: packet.Packet) => (p.answers ?? []).map((a) => (a as { data: unknown }).data);

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  const [p1, p2, p3] = await freePorts(3);
  dnsPort = p1;
  // A fake upstream: answers every A query with 192.0.2.1 (a documentation address; never contacted).
  upstream = dgram.createSocket('udp4');
  upstream.on('message', (m, r) => {
    const q = packet.decode(m);
    upstream.send(
      packet.encode({
        id: q.id,
        type: 'response',
        questions: q.questions,
        answers: [{ type: 'A', name: q.questions![0].name, ttl: 60, data: '192.0.2.1' }],
      } as never),
      r.port,
      r.address,
    );
  });
  await new Promise<void>((r) => upstream.bind(p2, '127.0.0.1', () => r()));
  child = spawn(
    process.execPath,
    [
      path.resolve('dist/dns/main.js'),
      '--master',
      apiserver.url,
      '--bind-address',
      '127.0.0.1',
      '--port',
      String(dnsPort),
      '--health-port',
      String(p3),
      '--upstream',
      `127.0.0.1:${p2}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor(async () => (await fetch(`http://127.0.0.1:${p3}/readyz`).catch(() => undefined))?.ok, {
    timeoutMs: 20_000,
    what: 'nk-dns ready',
  });
  await client.post('/api/v1/namespaces/default/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80 }] },
  });
  await client.post('/api/v1/namespaces/default/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db' },
    spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] },
  });
  await client.post('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'db-x', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.5'], hostname: 'db-0', conditions: { ready: true } }],
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  });
});

afterAll(async () => {
  child?.kill('SIGTERM');
  upstream?.close();
  await cleanup();
});

describe('nk-dns', () => {
  it('answers a service name with its cluster IP, from the cache, as soon as the service exists', async () => {
    const svc = await client.get('/api/v1/namespaces/default/services/web');
    await waitFor(
      async () => ips(await query('web.default.svc.cluster.local', 'A'))[0] === svc.body.spec.clusterIP,
      { timeoutMs: 5000, what: 'web A record' },
    );
    const r = await query('web.default.svc.cluster.local', 'A');
    expect(rcode(r)).toBe('NOERROR');
    expect(r.flags! & packet.AUTHORITATIVE_ANSWER).toBeTruthy();
  });

  it('answers headless services and StatefulSet-style pod names', async () => {
    await waitFor(async () => ips(await query('db.default.svc.cluster.local', 'A')).includes('10.244.0.5'), {
      timeoutMs: 5000,
      what: 'db A record',
    });
    expect(ips(await query('db-0.db.default.svc.cluster.local', 'A'))).toEqual(['10.244.0.5']);
    const srv = await query('_pg._tcp.db.default.svc.cluster.local', 'SRV');
    expect(srv.answers?.[0]).toMatchObject({
      type: 'SRV',
      data: { port: 5432, target: 'db-0.db.default.svc.cluster.local' },
    });
  });

  it('says NXDOMAIN for names in the zone that do not exist', async () => {
    expect(rcode(await query('nope.default.svc.cluster.local', 'A'))).toBe('NXDOMAIN');
  });

  it('forwards other names to the upstream resolver', async () => {
    const r = await query('www.example.org', 'A');
    expect(ips(r)).toEqual(['192.0.2.1']);
  });
});
