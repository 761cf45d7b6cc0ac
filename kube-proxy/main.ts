#!/usr/bin/env node
/**
 * nk-proxy: keeps this node's iptables rules in step with Services and
 * EndpointSlices, and its routes to other nodes' pod ranges in step with Nodes.
 */
import { Command } from 'commander';
import { builtinRegistry } from '../api/types/index.js';
import { boolFlag, flagError, makeLogger, parseDuration, runComponent } from '../base/component-main.js';
import { succeeds } from '../base/exec.js';
import { realClock } from '../client/clock.js';
import { connect } from '../client/connect.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { ExecConntrack } from './conntrack.js';
import { baseJumps, ExecIptables, ensureServiceRoute, removeServiceRoute } from './iptables.js';
import { Proxier } from './proxier.js';
import { ExecRouteTable, NodeRoutes } from './routes.js';
import { renderCleanup } from './rules.js';

interface ProxyConfig {
  kubeconfig?: string;
  master?: string;
  nodeName: string;
  clusterCIDR: string;
  serviceCIDR: string;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  healthz: { host: string; port: number };
  cleanup: boolean;
  logLevel: string;
}

const program = new Command('nk-proxy')
  .description('The nanokube service proxy: programs iptables so Service addresses reach ready pods.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP, comma-separated')
  .option('--hostname-override <name>', "this node's name (same as --node-name)")
  .option('--node-name <name>', "this node's name")
  .option(
    '--cluster-cidr <cidr>',
    'pod range; traffic from outside it to a service is masqueraded',
    '10.244.0.0/16',
  )
  .option(
    '--service-cluster-ip-range <cidr>',
    'service range, routed to a local bridge so it never leaves the host',
    '10.96.0.0/16',
  )
  .option('--iptables-sync-period <duration>', 'full resync at least this often', '30s')
  .option('--iptables-min-sync-period <duration>', 'syncs no closer together than this', '1s')
  .option('--healthz-bind-address <host:port>', 'health endpoint', '0.0.0.0:10256')
  .addOption(boolFlag('--cleanup', 'remove every rule and route kube-proxy made, then exit', false))
  .option('--log-level <level>', 'pino log level', 'info');

function toConfig(o: Record<string, any>): ProxyConfig {
  const cidr = /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/;
  if (!cidr.test(o.clusterCidr)) flagError('--cluster-cidr', `"${o.clusterCidr}" is not an IPv4 CIDR`);
  if (!cidr.test(o.serviceClusterIpRange))
    flagError('--service-cluster-ip-range', `"${o.serviceClusterIpRange}" is not an IPv4 CIDR`);
  const hp = /^(.*):(\d+)$/.exec(o.healthzBindAddress);
  if (!hp) flagError('--healthz-bind-address', `"${o.healthzBindAddress}" is not host:port`);
  const nodeName = o.nodeName ?? o.hostnameOverride;
  if (!o.cleanup) {
    if (!nodeName) flagError('--node-name', 'is required');
    if (!o.kubeconfig && !o.master) flagError('--kubeconfig', 'one of --kubeconfig or --master is required');
  }
  return {
    kubeconfig: o.kubeconfig,
    master: o.master,
    nodeName: nodeName ?? '',
    clusterCIDR: o.clusterCidr,
    serviceCIDR: o.serviceClusterIpRange,
    syncPeriodMs: parseDuration('--iptables-sync-period', o.iptablesSyncPeriod),
    minSyncPeriodMs: parseDuration('--iptables-min-sync-period', o.iptablesMinSyncPeriod),
    healthz: { host: hp![1], port: Number(hp![2]) },
    cleanup: o.cleanup,
    logLevel: o.logLevel,
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('kube-proxy', config.logLevel);
  const iptables = new ExecIptables();
  if (config.cleanup) {
    for (const j of baseJumps) await iptables.deleteJump(j);
    await iptables.restore(
      renderCleanup({ nat: await iptables.listChains('nat'), filter: await iptables.listChains('filter') }),
    );
    await removeServiceRoute(config.serviceCIDR);
    const routes = new ExecRouteTable();
    for (const r of await routes.list()) await routes.remove(r.cidr);
    logger.info('removed every kube-proxy rule, the service route and the routes to other nodes');
    return;
  }
  await ensureServiceRoute(config.serviceCIDR);
  const rest = connect({ kubeconfig: config.kubeconfig, master: config.master }, 'nanokube-proxy', logger);
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger });
  const metrics = newMetricsRegistry('kube-proxy');
  const proxier = new Proxier({
    services: informers.forResource('services'),
    slices: informers.forResource('endpointslices'),
    iptables,
    clusterCIDR: config.clusterCIDR,
    syncPeriodMs: config.syncPeriodMs,
    minSyncPeriodMs: config.minSyncPeriodMs,
    clock: realClock,
    logger,
    metrics,
    conntrack: await conntrackIfInstalled(logger),
  });
  const health = new HealthServer({
    bindAddress: config.healthz.host,
    port: config.healthz.port,
    logger,
    metrics,
    live: { sync: () => proxier.healthy() || proxier.lastGoodSync === 0 },
    ready: { sync: () => proxier.healthy() },
  });
  const nodeRoutes = new NodeRoutes({
    nodes: informers.forResource('nodes'),
    nodeName: config.nodeName,
    table: new ExecRouteTable(),
    clock: realClock,
    logger,
  });
  await health.listen();
  informers.start(signal);
  logger.info({ node: config.nodeName }, 'kube-proxy running');
  await Promise.all([proxier.run(signal), nodeRoutes.run(signal)]);
  await informers.done();
  await health.close();
  rest.close();
});

/** The conntrack tool, or a warning that stale UDP entries will linger without it. */
async function conntrackIfInstalled(logger: { warn(o: object, m: string): void }) {
  if (await succeeds('conntrack', ['--version'])) return new ExecConntrack();
  logger.warn(
    {},
    'conntrack is not installed (apt-get install conntrack): stale UDP entries are not deleted',
  );
  return undefined;
}
