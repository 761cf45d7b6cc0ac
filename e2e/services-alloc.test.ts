// ClusterIP and NodePort allocation in the apiserver, against real etcd and
// two real apiserver processes creating at the same moment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Api, api, cleanup, startApiserver, startEtcd, waitFor } from '../testing/harness.js';

let a: Api;
let b: Api;

const svc = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
});
const path = '/api/v1/namespaces/default/services';
const ipInRange = (ip: string) =>
  /^10\.96\.\d+\.\d+$/.test(ip) && ip !== '10.96.0.0' && ip !== '10.96.255.255';

beforeAll(async () => {
  const etcd = await startEtcd();
  const [s1, s2] = await Promise.all([
    startApiserver({ etcdServers: etcd.endpoints }),
    startApiserver({ etcdServers: etcd.endpoints }),
  ]);
  a = api(s1.url);
  b = api(s2.url);
});

afterAll(cleanup);

describe('service allocation', () => {
  it('the kubernetes service holds the first address', async () => {
    const k = await a.get(`${path}/kubernetes`);
    expect(k.status).toBe(200);
    expect(k.body.spec.clusterIP).toBe('10.96.0.1');
    expect(k.body.spec.ports[0].port).toBe(443);
  });

  it('gives ClusterIP, NodePort and headless services what they need', async () => {
    const c = await a.post(path, svc('plain', {}));
    expect(c.status).toBe(201);
    expect(ipInRange(c.body.spec.clusterIP)).toBe(true);
    expect(c.body.spec.clusterIPs).toEqual([c.body.spec.clusterIP]);
    const n = await a.post(
      path,
      svc('np', {
        type: 'NodePort',
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 81 },
        ],
      }),
    );
    expect(n.status).toBe(201);
    for (const p of n.body.spec.ports) expect(p.nodePort).toBeGreaterThanOrEqual(30000);
    expect(n.body.spec.ports[0].nodePort).not.toBe(n.body.spec.ports[1].nodePort);
    const h = await a.post(path, svc('headless', { clusterIP: 'None' }));
    expect(h.status).toBe(201);
    expect(h.body.spec.clusterIP).toBe('None');
  });

  it('refuses a taken or out-of-range address or port with 422', async () => {
    const first = await a.post(
      path,
      svc('fixed', { clusterIP: '10.96.7.7', type: 'NodePort', ports: [{ port: 80, nodePort: 30777 }] }),
    );
    expect(first.status).toBe(201);
    const takenIP = await b.post(path, svc('fixed2', { clusterIP: '10.96.7.7' }));
    expect(takenIP.status).toBe(422);
    expect(takenIP.body.message).toContain('provided IP is already allocated');
    const takenPort = await b.post(
      path,
      svc('fixed3', { type: 'NodePort', ports: [{ port: 80, nodePort: 30777 }] }),
    );
    expect(takenPort.status).toBe(422);
    expect(takenPort.body.message).toContain('provided port is already allocated');
    const outside = await a.post(path, svc('fixed4', { clusterIP: '10.97.0.5' }));
    expect(outside.status).toBe(422);
    expect(outside.body.message).toContain('not in the valid range');
    // A refused create leaves nothing claimed: the name is free and so is its would-be address.
    expect((await a.get(`${path}/fixed2`)).status).toBe(404);
  });

  it('never hands out one address or port twice, with two apiservers at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).post(path, svc(`race-${i}`, { type: 'NodePort' })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(201));
    const ips = results.map((r) => r.body.spec.clusterIP);
    const ports = results.map((r) => r.body.spec.ports[0].nodePort);
    expect(new Set(ips).size).toBe(40);
    expect(new Set(ports).size).toBe(40);
  });

  it('keeps the address across an update that leaves it out, and frees it on delete', async () => {
    const c = await a.post(
      path,
      svc('keep', { clusterIP: '10.96.8.8', type: 'NodePort', ports: [{ port: 80, nodePort: 30888 }] }),
    );
    expect(c.status).toBe(201);
    const body = structuredClone(c.body);
    delete body.spec.clusterIP;
    delete body.spec.clusterIPs;
    delete body.spec.ports[0].nodePort;
    const u = await b.put(`${path}/keep`, body);
    expect(u.status).toBe(200);
    expect(u.body.spec.clusterIP).toBe('10.96.8.8');
    expect(u.body.spec.ports[0].nodePort).toBe(30888);
    expect((await a.del(`${path}/keep`)).status).toBe(200);
    await waitFor(
      async () =>
        (
          await b.post(
            path,
            svc('reuse', {
              clusterIP: '10.96.8.8',
              type: 'NodePort',
              ports: [{ port: 80, nodePort: 30888 }],
            }),
          )
        ).status === 201,
      {
        timeoutMs: 5000,
      },
    );
  });
});
