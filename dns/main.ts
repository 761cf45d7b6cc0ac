#!/usr/bin/env node
/** nk-dns: cluster DNS for nanokube, answering from watch caches and forwarding the rest. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import { flagError, makeLogger, parsePort, runComponent } from '../base/component-main.js';
import { connect, inClusterServer } from '../client/connect.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { DnsServer } from './server.js';

interface DnsConfig {
  kubeconfig?: string;
  master?: string;
  host: string;
  port: number;
  zone: string;
  upstreams: { host: string; port: number }[];
  healthPort: number;
  logLevel: string;
}

const program = new Command('nk-dns')
  .description('Cluster DNS: service and pod names from the API, other names forwarded.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP')
  .option('--bind-address <ip>', 'address to answer on', '0.0.0.0')
  .option('--port <port>', 'DNS port (UDP and TCP)', '53')
  .option('--cluster-domain <zone>', 'the cluster zone', 'cluster.local')
  .option(
    '--upstream <host:port,...>',
    'resolvers for other names (default: the nameservers of /etc/resolv.conf)',
  )
  .option('--health-port <port>', 'health and metrics port', '8080')
  .option('--log-level <level>', 'pino log level', 'info');

function upstreamsFromResolvConf(): { host: string; port: number }[] {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8')
      .split('\n')
      .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)/.exec(l)?.[1])
      .filter((h): h is string => !!h)
      .map((host) => ({ host, port: 53 }));
  } catch {
    return [];
  }
}

function toConfig(o: Record<string, string>): DnsConfig {
  if (!o.kubeconfig && !o.master && !inClusterServer())
    flagError('--kubeconfig', 'one of --kubeconfig or --master is required outside a pod');
  const upstreams = o.upstream
    ? o.upstream.split(',').map((s) => {
        const m = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(s.trim());
        if (!m) flagError('--upstream', `"${s}" is not ip[:port]`);
        return { host: m![1], port: m![2] ? Number(m![2]) : 53 };
      })
    : upstreamsFromResolvConf();
  return {
    kubeconfig: o.kubeconfig,
    master: o.master,
    host: o.bindAddress,
    port: parsePort('--port', o.port),
    zone: o.clusterDomain.replace(/\.$/, '').toLowerCase(),
    upstreams,
    healthPort: parsePort('--health-port', o.healthPort),
    logLevel: o.logLevel,
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('dns', config.logLevel);
  const rest = connect({ kubeconfig: config.kubeconfig, master: config.master }, 'nanokube-dns', logger);
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger });
  const services = informers.forResource('services');
  const namespaces = informers.forResource('namespaces');
  const bySvc = (o: KubeObject) => {
    const svc = o.metadata.labels?.['kubernetes.io/service-name'];
    return svc ? [`${o.metadata.namespace}/${svc}`] : [];
  };
  const slices = informers.forResource('endpointslices', { indexers: { serviceName: bySvc } });
  const metrics = newMetricsRegistry('dns');
  const server = new DnsServer({
    host: config.host,
    port: config.port,
    zone: config.zone,
    upstreams: config.upstreams,
    logger,
    metrics,
    lookup: {
      service: (ns, name) => services.store.getByName(ns, name),
      slices: (ns, svc) => slices.store.byIndex('serviceName', `${ns}/${svc}`),
      namespaceExists: (ns) => namespaces.store.getByName(undefined, ns) !== undefined,
    },
  });
  informers.start(signal);
  await informers.waitForCacheSync(signal);
  await server.listen();
  const health = new HealthServer({
    bindAddress: config.host === '0.0.0.0' ? '0.0.0.0' : config.host,
    port: config.healthPort,
    logger,
    metrics,
    ready: { caches: () => services.hasSynced() && slices.hasSynced() },
  });
  await health.listen();
  logger.info(
    { address: `${config.host}:${server.port}`, zone: config.zone, upstreams: config.upstreams },
    'dns serving',
  );
  await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
  server.close();
  await health.close();
  await informers.done();
  rest.close();
});
