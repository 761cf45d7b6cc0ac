import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { FakeClock } from '../client/clock.js';
import type { SharedInformer } from '../client/informer.js';
import type { Iptables, Jump, Table } from './iptables.js';
import type { ServicePort } from './model.js';
import { Proxier, partSize, writeRules } from './proxier.js';
import { svcChain } from './rules.js';

/** An informer as far as the proxier reads one: a store it lists. */
const informer = (objs: KubeObject[]) =>
  ({ store: { list: () => objs }, addEventHandler: () => undefined }) as unknown as SharedInformer;

class RecordingIptables implements Iptables {
  restores: string[] = [];
  failNext = false;
  jumps = 0;
  async restore(text: string) {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('iptables-restore: line 9 failed');
    }
    this.restores.push(text);
  }
  async listChains(_t: Table) {
    return [];
  }
  async ensureJump(_j: Jump) {
    this.jumps++;
  }
  async deleteJump() {}
}

const service = (name: string, ip: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default' },
  spec: { clusterIP: ip, ports: [{ port: 80, protocol: 'TCP' }] },
});
const slice = (name: string, ips: string[]): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${name}-x`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  ports: [{ name: '', port: 8080, protocol: 'TCP' }],
});

const declared = (text: string) => text.split('\n').filter((l) => /^:KUBE-(SVC|SEP)-/.test(l)).length;

describe('Proxier', () => {
  it('writes every chain first, then only the chains of what changed, and everything again after a failure', async () => {
    const services = [service('a', '10.96.0.10'), service('b', '10.96.0.11')];
    const slices = [slice('a', ['10.244.0.2', '10.244.0.3']), slice('b', ['10.244.0.4'])];
    const ipt = new RecordingIptables();
    const clock = new FakeClock();
    const proxier = new Proxier({
      services: informer(services),
      slices: informer(slices),
      iptables: ipt,
      clusterCIDR: '10.244.0.0/16',
      syncPeriodMs: 30_000,
      minSyncPeriodMs: 1000,
      fullSyncPeriodMs: 3_600_000,
      clock,
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
    });
    await proxier.syncOnce();
    expect(declared(ipt.restores[0])).toBe(5); // 2 KUBE-SVC, 3 KUBE-SEP
    expect(ipt.jumps).toBeGreaterThan(0);

    await proxier.syncOnce();
    expect(declared(ipt.restores[1])).toBe(0); // nothing changed

    slices[1] = slice('b', ['10.244.0.4', '10.244.0.5']);
    await proxier.syncOnce();
    expect(declared(ipt.restores[2])).toBe(3); // b's KUBE-SVC and its two KUBE-SEP
    expect(ipt.restores[2]).not.toContain('10.244.0.2');

    slices[0] = slice('a', ['10.244.0.2']);
    ipt.failNext = true;
    await expect(proxier.syncOnce()).rejects.toThrow('line 9');
    await proxier.syncOnce(); // as the run loop does after a failure
    // The failed sync counts as not written: a full sync again, with 10.244.0.3's chain gone.
    expect(declared(ipt.restores[3])).toBe(5);
    expect(ipt.restores[3]).not.toContain('10.244.0.3:8080');

    clock.step(3_600_000);
    await proxier.syncOnce();
    expect(declared(ipt.restores[4])).toBe(5); // the hourly full sync
  });

  it('writes many service ports in parts: their chains first, then the top-level chains that use them', async () => {
    const ports: ServicePort[] = Array.from({ length: 2 * partSize + 10 }, (_, i) => ({
      id: `default/s${i}`,
      namespace: 'default',
      name: `s${i}`,
      portName: '',
      protocol: 'TCP',
      clusterIP: `10.96.${Math.floor(i / 250)}.${i % 250}`,
      port: 80,
      externalIPs: [],
      endpoints: [{ ip: `10.244.${Math.floor(i / 250)}.${i % 250}`, port: 8080, ready: true, serving: true }],
    }));
    const ipt = new RecordingIptables();
    const { restores, rendered } = await writeRules(ipt, ports, { clusterCIDR: '10.244.0.0/16' });
    expect(restores).toBe(4);
    const [first, second, third, last] = ipt.restores;
    for (const part of [first, second, third]) {
      expect(part.startsWith('*nat\n')).toBe(true);
      expect(part).not.toContain('*filter');
      expect(part).not.toContain('-A KUBE-SERVICES');
    }
    expect(declared(first)).toBe(2 * partSize);
    expect(declared(third)).toBe(2 * 10);
    expect(first).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
    // The last restore declares no service chain, and jumps to every one.
    expect(declared(last)).toBe(0);
    for (const p of ports) expect(last).toContain(`-j ${svcChain(p)}`);
    expect(rendered.chains.nat).toHaveLength(4 + 2 * ports.length);
  });
});
