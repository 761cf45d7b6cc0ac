#!/usr/bin/env node
/** nk-scheduler: parses flags and runs the scheduler until SIGINT/SIGTERM. */
import { Command } from 'commander';
import {
  boolFlag,
  flagError,
  makeLogger,
  parseDuration,
  parsePort,
  runComponent,
} from '../base/component-main.js';
import { runScheduler, type SchedulerConfig } from './app.js';

const program = new Command('nk-scheduler')
  .description('The nanokube scheduler: places pending pods on nodes.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP, comma-separated')
  .addOption(boolFlag('--leader-elect', 'schedule only while holding the kube-scheduler Lease', true))
  .option('--leader-elect-lease-duration <duration>', 'lease duration', '15s')
  .option('--leader-elect-renew-deadline <duration>', 'renew deadline', '10s')
  .option('--leader-elect-retry-period <duration>', 'retry period', '2s')
  .option(
    '--percentage-of-nodes-to-score <n>',
    'feasible nodes to find before scoring, in % (0: adaptive)',
    '0',
  )
  .option('--scheduler-name <name>', 'schedule pods with this spec.schedulerName', 'default-scheduler')
  .option('--bind-address <ip>', 'address for health and metrics', '127.0.0.1')
  .option('--secure-port <port>', 'health and metrics port (plain HTTP)', '10259')
  .option('--log-level <level>', 'pino log level', 'info');

function toConfig(o: Record<string, any>): SchedulerConfig {
  if (!o.kubeconfig && !o.master) flagError('--kubeconfig', 'one of --kubeconfig or --master is required');
  const pct = Number(o.percentageOfNodesToScore);
  if (!Number.isInteger(pct) || pct < 0 || pct > 100)
    flagError(
      '--percentage-of-nodes-to-score',
      `"${o.percentageOfNodesToScore}" is not an integer from 0 to 100`,
    );
  const config: SchedulerConfig = {
    connect: { kubeconfig: o.kubeconfig, master: o.master },
    leaderElect: o.leaderElect,
    leaseDurationMs: parseDuration('--leader-elect-lease-duration', o.leaderElectLeaseDuration),
    renewDeadlineMs: parseDuration('--leader-elect-renew-deadline', o.leaderElectRenewDeadline),
    retryPeriodMs: parseDuration('--leader-elect-retry-period', o.leaderElectRetryPeriod),
    bindAddress: o.bindAddress,
    port: parsePort('--secure-port', o.securePort),
    percentageOfNodesToScore: pct,
    schedulerName: o.schedulerName,
  };
  if (config.leaderElect && config.renewDeadlineMs >= config.leaseDurationMs)
    flagError('--leader-elect-renew-deadline', 'must be shorter than --leader-elect-lease-duration');
  return config;
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('scheduler', program.opts().logLevel);
  await runScheduler(config, { signal, logger });
  logger.info('scheduler stopped');
});
