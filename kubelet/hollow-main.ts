#!/usr/bin/env node
/** nk-hollow-nodes: registers N hollow nodes and runs them until SIGINT/SIGTERM. */
import { Command } from 'commander';
import { isValidQuantity } from '../api/quantity.js';
import type { Taint } from '../api/types/node.js';
import { flagError, makeLogger, runComponent } from '../base/component-main.js';
import { connect } from '../client/connect.js';
import { runHollowNodes } from './hollow.js';
import type { HollowCapacity } from './hollow-status.js';

const program = new Command('nk-hollow-nodes')
  .description(
    'Hollow kubelets: real Node objects, Leases and pod status, no containers. For scale tests of the scheduler and controllers.',
  )
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP, comma-separated')
  .option('--nodes <n>', 'how many nodes to run', '1')
  .option('--node-name-prefix <prefix>', 'node names are <prefix><index>', 'hollow-node-')
  .option('--first-index <n>', 'index of the first node', '0')
  .option('--cpu <quantity>', 'cpu capacity of each node', '4')
  .option('--memory <quantity>', 'memory capacity of each node', '16Gi')
  .option('--pods <n>', 'pod capacity of each node', '110')
  .option('--node-labels <k=v,...>', 'extra labels of each node', '')
  .option('--register-with-taints <k=v:Effect,...>', 'taints of each node', '')
  .option('--workers <n>', 'concurrent pod status writers', '16')
  .option(
    '--node-lease-duration-seconds <n>',
    "each node Lease's duration; it is renewed every quarter of it, as the kubelet does",
    '40',
  )
  .option('--log-level <level>', 'pino log level', 'info');

interface HollowConfig {
  connect: { kubeconfig?: string; master?: string };
  count: number;
  namePrefix: string;
  firstIndex: number;
  capacity: HollowCapacity;
  labels: Record<string, string>;
  taints: Taint[];
  workers: number;
  leaseDurationSeconds: number;
  renewIntervalMs: number;
}

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    flagError(flag, `"${v}" is not an integer from ${min} to ${max}`);
  return n;
}

function quantity(flag: string, v: string): string {
  if (!isValidQuantity(v)) flagError(flag, `"${v}" is not a quantity (like 4, 500m, 16Gi)`);
  return v;
}

function labels(flag: string, v: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of v.split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) flagError(flag, `"${part}" is not key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

function taints(flag: string, v: string): Taint[] {
  return v
    .split(',')
    .filter(Boolean)
    .map((part) => {
      const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(part);
      if (!m) flagError(flag, `"${part}" is not key[=value]:Effect`);
      return m[2] ? { key: m[1], value: m[2], effect: m[3] } : { key: m[1], effect: m[3] };
    });
}

function toConfig(o: Record<string, string>): HollowConfig {
  if (!o.kubeconfig && !o.master) flagError('--kubeconfig', 'one of --kubeconfig or --master is required');
  return {
    connect: { kubeconfig: o.kubeconfig, master: o.master },
    count: int('--nodes', o.nodes, 1, 100_000),
    namePrefix: o.nodeNamePrefix,
    firstIndex: int('--first-index', o.firstIndex, 0, 1_000_000),
    capacity: {
      cpu: quantity('--cpu', o.cpu),
      memory: quantity('--memory', o.memory),
      pods: int('--pods', o.pods, 1, 100_000),
    },
    labels: labels('--node-labels', o.nodeLabels),
    taints: taints('--register-with-taints', o.registerWithTaints),
    workers: int('--workers', o.workers, 1, 256),
    leaseDurationSeconds: int('--node-lease-duration-seconds', o.nodeLeaseDurationSeconds, 1, 3600),
    renewIntervalMs: int('--node-lease-duration-seconds', o.nodeLeaseDurationSeconds, 1, 3600) * 250,
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('hollow-nodes', program.opts().logLevel);
  const rest = connect(config.connect, 'nanokube-hollow-nodes', logger);
  try {
    await runHollowNodes({ ...config, rest, logger, signal });
  } finally {
    rest.close();
  }
  logger.info('hollow nodes stopped');
});
