#!/usr/bin/env node
/** nk-ingress: the nanokube ingress controller, serving Ingresses of class `nanokube` over HTTP and HTTPS. */
import { Command } from 'commander';
import type { KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import { flagError, makeLogger, parsePort, runComponent } from '../base/component-main.js';
import { realClock } from '../client/clock.js';
import { connect, inClusterServer } from '../client/connect.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { IngressController } from './controller.js';
import { IngressProxy } from './proxy.js';

interface IngressConfig {
  kubeconfig?: string;
  master?: string;
  bindAddress: string;
  httpPort: number;
  httpsPort: number;
  healthPort: number;
  publishAddresses: string[];
  logLevel: string;
}

const program = new Command('nk-ingress')
  .description('The nanokube ingress controller: routes HTTP and HTTPS by host and path to ready endpoints.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP')
  .option('--bind-address <ip>', 'address to serve on', '0.0.0.0')
  .option('--http-port <port>', 'HTTP port', '80')
  .option('--https-port <port>', 'HTTPS port', '443')
  .option('--health-port <port>', 'health and metrics port', '10254')
  .option(
    '--publish-status-address <ips>',
    'addresses written to Ingress status, comma-separated (default: $NODE_IP)',
  )
  .option('--log-level <level>', 'pino log level', 'info');

function toConfig(o: Record<string, string>): IngressConfig {
  if (!o.kubeconfig && !o.master && !inClusterServer())
    flagError('--kubeconfig', 'one of --kubeconfig or --master is required outside a pod');
  const publish = (o.publishStatusAddress ?? process.env.NODE_IP ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ip of publish)
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip))
      flagError('--publish-status-address', `"${ip}" is not an IPv4 address`);
  return {
    kubeconfig: o.kubeconfig,
    master: o.master,
    bindAddress: o.bindAddress,
    httpPort: parsePort('--http-port', o.httpPort),
    httpsPort: parsePort('--https-port', o.httpsPort),
    healthPort: parsePort('--health-port', o.healthPort),
    publishAddresses: publish,
    logLevel: o.logLevel,
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('ingress', config.logLevel);
  const rest = connect({ kubeconfig: config.kubeconfig, master: config.master }, 'nanokube-ingress', logger);
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger });
  const proxy = new IngressProxy({ logger });
  const watched = {
    ingresses: informers.forResource('ingresses'),
    classes: informers.forResource('ingressclasses'),
    services: informers.forResource('services'),
    slices: informers.forResource('endpointslices'),
    secrets: informers.forResource('secrets'),
  };
  const controller = new IngressController({
    ...watched,
    ingressClient: new ResourceClient<KubeObject>(
      rest,
      builtinRegistry.get('networking.k8s.io', 'v1', 'ingresses')!,
    ),
    proxy,
    publishAddresses: config.publishAddresses,
    clock: realClock,
    logger,
  });
  const health = new HealthServer({
    bindAddress: config.bindAddress,
    port: config.healthPort,
    logger,
    metrics: newMetricsRegistry('ingress'),
    ready: { caches: () => Object.values(watched).every((i) => i.hasSynced()) },
  });
  informers.start(signal);
  const ports = await proxy.listen({
    host: config.bindAddress,
    httpPort: config.httpPort,
    httpsPort: config.httpsPort,
  });
  await health.listen();
  logger.info({ ...ports, publish: config.publishAddresses }, 'ingress serving');
  await controller.run(signal);
  await proxy.close();
  await health.close();
  await informers.done();
  rest.close();
});
