#!/usr/bin/env node
/** nk-controller-manager: parses flags and runs the controllers until SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import {
  boolFlag,
  flagError,
  makeLogger,
  parseDuration,
  parsePort,
  runComponent,
} from '../base/component-main.js';
import type { ControllerManagerConfig } from './controller.js';
import { type ManagerConfig, runControllerManager } from './manager.js';

const program = new Command('nk-controller-manager')
  .description('The nanokube controller manager: the controllers that make the cluster converge.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP, comma-separated')
  .option('--controllers <list>', 'controllers to run: * for all, name to add, -name to remove', '*')
  .addOption(boolFlag('--leader-elect', 'run only while holding the kube-controller-manager Lease', true))
  .option('--leader-elect-lease-duration <duration>', 'lease duration', '15s')
  .option('--leader-elect-renew-deadline <duration>', 'renew deadline', '10s')
  .option('--leader-elect-retry-period <duration>', 'retry period', '2s')
  .option('--cluster-cidr <cidr>', 'pod network, split among nodes', '10.244.0.0/16')
  .option('--node-cidr-mask-size <n>', "prefix length of each node's pod range", '24')
  .addOption(boolFlag('--allocate-node-cidrs', 'give each Node a spec.podCIDR', true))
  .option(
    '--node-monitor-grace-period <duration>',
    'how long a node may go unheard before it is NotReady',
    '40s',
  )
  .option('--concurrent-syncs <n>', 'workers per controller', '5')
  .option('--terminated-pod-gc-threshold <n>', 'terminated pods kept before the oldest are deleted', '12500')
  .option(
    '--local-path-root <dir>',
    'where the local-path provisioner makes volumes',
    '/var/lib/nanokube/local-path',
  )
  .option('--root-ca-file <file>', 'CA bundle published in every namespace as the ConfigMap kube-root-ca.crt')
  .option(
    '--cluster-signing-cert-file <file>',
    'CA certificate that signs approved CertificateSigningRequests',
  )
  .option('--cluster-signing-key-file <file>', 'key of --cluster-signing-cert-file')
  .option('--cluster-signing-duration <duration>', 'longest certificate the signer gives', '8760h')
  .option('--bind-address <ip>', 'address for health and metrics', '127.0.0.1')
  .option('--secure-port <port>', 'health and metrics port (plain HTTP)', '10257')
  .option('--log-level <level>', 'pino log level', 'info');

function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    flagError(flag, `"${v}" is not an integer from ${min} to ${max}`);
  return n;
}

/** The PEM bundle of --root-ca-file, read once at start as Kubernetes does. */
function rootCA(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return flagError('--root-ca-file', `cannot read "${file}": ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    flagError('--root-ca-file', `"${file}" holds no PEM certificate`);
  return pem;
}

/** The signing CA's files, read once here so a bad path stops the process at start, as in Kubernetes. */
function clusterSigning(
  o: Record<string, string>,
): Pick<
  ControllerManagerConfig,
  'clusterSigningCertFile' | 'clusterSigningKeyFile' | 'clusterSigningDurationMs'
> {
  const durationMs = parseDuration('--cluster-signing-duration', o.clusterSigningDuration);
  if (durationMs <= 0) flagError('--cluster-signing-duration', 'must be positive');
  const [cert, key] = [o.clusterSigningCertFile, o.clusterSigningKeyFile];
  if (!cert !== !key)
    flagError(
      cert ? '--cluster-signing-key-file' : '--cluster-signing-cert-file',
      'set both --cluster-signing-cert-file and --cluster-signing-key-file, or neither',
    );
  const holds = (flag: string, file: string, what: string, armour: RegExp) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      return flagError(flag, `cannot read "${file}": ${(err as Error).message}`);
    }
    if (!armour.test(pem)) flagError(flag, `"${file}" holds no PEM ${what}`);
  };
  if (cert) holds('--cluster-signing-cert-file', cert, 'certificate', /-----BEGIN CERTIFICATE-----/);
  if (key) holds('--cluster-signing-key-file', key, 'private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
  return { clusterSigningCertFile: cert, clusterSigningKeyFile: key, clusterSigningDurationMs: durationMs };
}

function toConfig(o: Record<string, any>): ManagerConfig {
  if (!o.kubeconfig && !o.master) flagError('--kubeconfig', 'one of --kubeconfig or --master is required');
  if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(o.clusterCidr))
    flagError('--cluster-cidr', `"${o.clusterCidr}" is not an IPv4 CIDR`);
  return {
    connect: { kubeconfig: o.kubeconfig, master: o.master },
    controllers: o.controllers.split(','),
    leaderElect: o.leaderElect,
    leaseDurationMs: parseDuration('--leader-elect-lease-duration', o.leaderElectLeaseDuration),
    renewDeadlineMs: parseDuration('--leader-elect-renew-deadline', o.leaderElectRenewDeadline),
    retryPeriodMs: parseDuration('--leader-elect-retry-period', o.leaderElectRetryPeriod),
    clusterCIDR: o.clusterCidr,
    nodeCIDRMaskSize: int('--node-cidr-mask-size', o.nodeCidrMaskSize, 16, 30),
    allocateNodeCIDRs: o.allocateNodeCidrs,
    nodeMonitorGracePeriodMs: parseDuration('--node-monitor-grace-period', o.nodeMonitorGracePeriod),
    concurrentSyncs: int('--concurrent-syncs', o.concurrentSyncs, 1, 100),
    terminatedPodGCThreshold: int('--terminated-pod-gc-threshold', o.terminatedPodGcThreshold, 0, 1_000_000),
    localPathRoot: o.localPathRoot,
    rootCA: rootCA(o.rootCaFile),
    ...clusterSigning(o),
    bindAddress: o.bindAddress,
    port: parsePort('--secure-port', o.securePort),
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('controller-manager', program.opts().logLevel);
  await runControllerManager(config, { signal, logger });
  logger.info('controller-manager stopped');
});
