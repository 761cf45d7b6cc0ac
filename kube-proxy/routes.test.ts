import { describe, expect, it } from 'vitest';
import { desiredRoutes, type Route, type RouteTable, syncRoutes } from './routes.js';

const node = (name: string, podCIDR?: string, ip?: string) => ({
  metadata: { name },
  spec: { podCIDR },
  status: {
    addresses: ip
      ? [
          { type: 'Hostname', address: name },
          { type: 'InternalIP', address: ip },
        ]
      : [],
  },
});

class FakeTable implements RouteTable {
  routes = new Map<string, string>();
  calls: string[] = [];
  async list(): Promise<Route[]> {
    return [...this.routes].map(([cidr, via]) => ({ cidr, via }));
  }
  async replace(r: Route) {
    this.calls.push(`replace ${r.cidr} via ${r.via}`);
    this.routes.set(r.cidr, r.via);
  }
  async remove(cidr: string) {
    this.calls.push(`remove ${cidr}`);
    this.routes.delete(cidr);
  }
}

describe('desiredRoutes', () => {
  it("routes each other node's pod range to its InternalIP, and none for this node or local addresses", () => {
    const nodes = [
      node('me', '10.244.0.0/24', '192.168.56.10'),
      node('b', '10.244.1.0/24', '192.168.56.11'),
      node('a', '10.244.2.0/24', '192.168.56.12'),
      node('no-cidr', undefined, '192.168.56.13'),
      node('no-ip', '10.244.4.0/24'),
      node('same-host', '10.244.5.0/24', '10.0.0.5'),
      node('loopback', '10.244.6.0/24', '127.0.0.1'),
    ];
    expect(desiredRoutes(nodes, 'me', new Set(['10.0.0.5']))).toEqual([
      { cidr: '10.244.1.0/24', via: '192.168.56.11' },
      { cidr: '10.244.2.0/24', via: '192.168.56.12' },
    ]);
  });
});

describe('syncRoutes', () => {
  it('adds missing routes, corrects a changed gateway, removes routes of nodes that are gone', async () => {
    const t = new FakeTable();
    t.routes.set('10.244.1.0/24', '192.168.56.99');
    t.routes.set('10.244.9.0/24', '192.168.56.19');
    const r = await syncRoutes(t, [
      { cidr: '10.244.1.0/24', via: '192.168.56.11' },
      { cidr: '10.244.2.0/24', via: '192.168.56.12' },
    ]);
    expect(t.calls).toEqual([
      'replace 10.244.1.0/24 via 192.168.56.11',
      'replace 10.244.2.0/24 via 192.168.56.12',
      'remove 10.244.9.0/24',
    ]);
    expect(r.removed).toEqual(['10.244.9.0/24']);
    t.calls = [];
    await syncRoutes(t, [
      { cidr: '10.244.1.0/24', via: '192.168.56.11' },
      { cidr: '10.244.2.0/24', via: '192.168.56.12' },
    ]);
    expect(t.calls).toEqual([]);
  });

  it('leaves out a route whose gateway is off-link and still sets the others', async () => {
    const t = new FakeTable();
    const replace = t.replace.bind(t);
    t.replace = async (r: Route) => {
      if (r.via === '10.244.1.1') throw new Error('ip route replace: Error: Nexthop has invalid gateway.');
      return replace(r);
    };
    const r = await syncRoutes(t, [
      { cidr: '10.244.1.0/24', via: '10.244.1.1' },
      { cidr: '10.244.3.0/24', via: '10.243.0.3' },
    ]);
    expect(r.skipped).toEqual([{ cidr: '10.244.1.0/24', via: '10.244.1.1' }]);
    expect(r.set).toEqual([{ cidr: '10.244.3.0/24', via: '10.243.0.3' }]);
  });

  it('still fails on any other error', async () => {
    const t = new FakeTable();
    t.replace = async () => {
      throw new Error('ip route replace: RTNETLINK answers: Operation not permitted');
    };
    await expect(syncRoutes(t, [{ cidr: '10.244.1.0/24', via: '10.243.0.1' }])).rejects.toThrow(
      /not permitted/,
    );
  });
});
