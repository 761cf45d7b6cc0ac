/**
 * kube-proxy sync cost: render and write every rule for 1,000 services with
 * 10,000 endpoints, 2,000 / 20,000 and 5,000 / 50,000, into the iptables of
 * a network namespace made for the run (the host's tables are never
 * touched), as the proxier writes them (in parts); then a full resync and a
 * partial sync. Beside it the reference: the whole text as one
 * `iptables-restore`, as Kubernetes' kube-proxy writes it. Then the
 * time from an EndpointSlice change in a real apiserver to its rule being
 * live, with the real Proxier (min sync period 1 s, as Kubernetes').
 */
import { pino } from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import { builtinRegistry } from '../api/types/index.js';
import { realClock } from '../client/clock.js';
import { InformerFactory } from '../client/informer.js';
import { RestClient } from '../client/rest.js';
import { ExecIptables } from '../kube-proxy/iptables.js';
import type { ServicePort } from '../kube-proxy/model.js';
import { Proxier, writeRules } from '../kube-proxy/proxier.js';
import { renderRules, sepChain } from '../kube-proxy/rules.js';
import { cleanup, run, startApiserver, startEtcd } from '../testing/harness.js';
import { percentile } from './apiserver.js';
import { table } from './table.js';

const netns = 'nkbench-proxy';

function servicePorts(services: number, perService: number): ServicePort[] {
  const out: ServicePort[] = [];
  for (let s = 0; s < services; s++) {
    const endpoints = Array.from({ length: perService }, (_, e) => ({
      ip: `10.${244 + Math.floor((s * perService + e) / 65536)}.${Math.floor(((s * perService + e) % 65536) / 256)}.${(s * perService + e) % 256}`,
      port: 8080,
      ready: true,
      serving: true,
    }));
    out.push({
      id: `bench/svc-${s}`,
      namespace: 'bench',
      name: `svc-${s}`,
      portName: '',
      protocol: 'TCP',
      clusterIP: `10.96.${Math.floor(s / 256) + 1}.${s % 256}`,
      port: 80,
      nodePort: s % 10 === 0 ? 30000 + s : undefined,
      externalIPs: [],
      endpoints,
    });
  }
  return out;
}

export interface KubeProxyBenchResult {
  syncs: {
    services: number;
    endpoints: number;
    rules: number;
    /** Rendering the whole rule text, no iptables. */
    renderMs: number;
    /** The first full sync into empty tables, as nanokube writes it (in parts). */
    fullSyncMs: number;
    restores: number;
    /** A full sync again over the same rules (the hourly resync). */
    fullResyncMs: number;
    /** A partial sync after one service lost an endpoint. */
    partialSyncMs: number;
    /** The reference: the whole text as one iptables-restore into empty tables, as Kubernetes writes it; not run at 5,000 (over 30 minutes). */
    oneRestoreMs?: number;
  }[];
  endpointChange: { samples: number; p50Ms: number; p99Ms: number };
}

async function sh(args: string[]): Promise<void> {
  const r = await run(args[0], args.slice(1));
  if (r.code !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

const freshNetns = async () => {
  await run('ip', ['netns', 'del', netns]);
  await sh(['ip', 'netns', 'add', netns]);
};

export async function runKubeProxyBench(): Promise<KubeProxyBenchResult> {
  const ipt = new ExecIptables(netns);
  const result: KubeProxyBenchResult = { syncs: [], endpointChange: { samples: 0, p50Ms: 0, p99Ms: 0 } };
  const clusterCIDR = '10.244.0.0/14';
  try {
    for (const services of [1000, 2000, 5000]) {
      const per = 10;
      process.stderr.write(`kube-proxy bench: ${services} services / ${services * per} endpoints...\n`);
      const ports = servicePorts(services, per);
      const t0 = performance.now();
      const text = renderRules(ports, { clusterCIDR }).text;
      const renderMs = performance.now() - t0;

      await freshNetns();
      const t1 = performance.now();
      const first = await writeRules(ipt, ports, { clusterCIDR, existingChains: { nat: [], filter: [] } });
      const fullSyncMs = performance.now() - t1;
      const t2 = performance.now();
      await writeRules(ipt, ports, { clusterCIDR, existingChains: first.rendered.chains });
      const fullResyncMs = performance.now() - t2;
      // Between full syncs: one service port lost an endpoint.
      const changed = [{ ...ports[0], endpoints: ports[0].endpoints.slice(1) }, ...ports.slice(1)];
      const t3 = performance.now();
      await writeRules(ipt, changed, {
        clusterCIDR,
        existingChains: first.rendered.chains,
        only: new Set([ports[0].id]),
      });
      const partialSyncMs = performance.now() - t3;

      let oneRestoreMs: number | undefined;
      if (services <= 2000) {
        await freshNetns();
        const t4 = performance.now();
        await ipt.restore(text);
        oneRestoreMs = performance.now() - t4;
      }
      result.syncs.push({
        services,
        endpoints: services * per,
        rules: first.rendered.totalRules,
        renderMs,
        fullSyncMs,
        restores: first.restores,
        fullResyncMs,
        partialSyncMs,
        oneRestoreMs,
      });
    }
    await freshNetns();
    result.endpointChange = await endpointChangeLatency(ipt);
  } finally {
    await run('ip', ['netns', 'del', netns]);
    await cleanup();
  }
  return result;
}

async function endpointChangeLatency(ipt: ExecIptables): Promise<KubeProxyBenchResult['endpointChange']> {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  const rest = new RestClient({ servers: [apiserver.url] });
  const logger = pino({ level: 'silent' });
  const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } };
  await rest.request({ method: 'POST', path: '/api/v1/namespaces', body: ns });
  const slicePath = '/apis/discovery.k8s.io/v1/namespaces/bench/endpointslices';
  const services = 200;
  for (let s = 0; s < services; s += 20) {
    await Promise.all(
      Array.from({ length: 20 }, async (_, k) => {
        const i = s + k;
        await rest.request({
          method: 'POST',
          path: '/api/v1/namespaces/bench/services',
          body: {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: `svc-${i}` },
            spec: { selector: { app: `a${i}` }, ports: [{ port: 80 }] },
          },
        });
        await rest.request({
          method: 'POST',
          path: slicePath,
          body: {
            apiVersion: 'discovery.k8s.io/v1',
            kind: 'EndpointSlice',
            metadata: { name: `svc-${i}`, labels: { 'kubernetes.io/service-name': `svc-${i}` } },
            addressType: 'IPv4',
            endpoints: [{ addresses: [`10.244.${i % 250}.1`] }],
            ports: [{ port: 8080, protocol: 'TCP', name: '' }],
          },
        });
      }),
    );
  }
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger });
  const proxier = new Proxier({
    services: informers.forResource('services'),
    slices: informers.forResource('endpointslices'),
    iptables: ipt,
    clusterCIDR: '10.244.0.0/16',
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 1000,
    clock: realClock,
    logger,
    metrics: new MetricsRegistry(),
  });
  const ac = new AbortController();
  informers.start(ac.signal);
  const running = proxier.run(ac.signal);
  while (proxier.lastGoodSync === 0) await new Promise((r) => setTimeout(r, 50));
  const samples: number[] = [];
  for (let n = 0; n < 10; n++) {
    const i = n * 7;
    const ip = `10.245.${n}.9`;
    const cur = await rest.request<any>({ method: 'GET', path: `${slicePath}/svc-${i}` });
    cur.endpoints.push({ addresses: [ip] });
    const start = performance.now();
    await rest.request({ method: 'PUT', path: `${slicePath}/svc-${i}`, body: cur });
    const svc = await rest.request<any>({
      method: 'GET',
      path: `/api/v1/namespaces/bench/services/svc-${i}`,
    });
    const chain = sepChain({ id: `bench/svc-${i}`, protocol: 'TCP' } as ServicePort, ip, 8080);
    for (;;) {
      const r = await run('ip', ['netns', 'exec', netns, 'iptables', '-w', '5', '-t', 'nat', '-S', chain]);
      if (r.code === 0 && r.stdout.includes(`--to-destination ${ip}:8080`)) break;
      if (performance.now() - start > 20_000)
        throw new Error(`rule for ${svc.spec.clusterIP} -> ${ip} never appeared`);
      await new Promise((res) => setTimeout(res, 20));
    }
    samples.push(performance.now() - start);
  }
  ac.abort();
  await running;
  await informers.done();
  rest.close();
  samples.sort((a, b) => a - b);
  return { samples: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99) };
}

export function report(r: KubeProxyBenchResult): string {
  const f = (n: number) => n.toFixed(1);
  const rows = [
    ['measure', 'nanokube', 'reference', 'aim'],
    ...r.syncs.flatMap((s) => [
      [
        `full sync, ${s.services} services / ${s.endpoints} endpoints (${s.rules} rules, ${s.restores} restores)`,
        `${f(s.fullSyncMs)} ms`,
        s.oneRestoreMs === undefined ? 'one restore: > 30 min' : `one restore: ${f(s.oneRestoreMs)} ms`,
        s.services === 1000 ? '< 1000 ms' : '',
      ],
      [
        '  render alone / full resync / partial sync (1 endpoint gone)',
        `${f(s.renderMs)} / ${f(s.fullResyncMs)} / ${f(s.partialSyncMs)} ms`,
        '',
        '',
      ],
    ]),
    [
      `endpoint change to rule live, p50 / p99 (${r.endpointChange.samples} changes, min sync 1 s)`,
      `${f(r.endpointChange.p50Ms)} / ${f(r.endpointChange.p99Ms)} ms`,
      '',
      '',
    ],
  ];
  return `${table(rows)}\n${JSON.stringify({ bench: 'kube-proxy', ...r })}`;
}
