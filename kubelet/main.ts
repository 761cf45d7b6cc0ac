#!/usr/bin/env node
/** nk-kubelet: parses flags and runs the kubelet until SIGINT/SIGTERM. */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import {
  boolFlag,
  flagError,
  makeLogger,
  parseDuration,
  parsePort,
  runComponent,
} from '../base/component-main.js';
import { type KubeletConfig, runKubelet } from './kubelet.js';

const program = new Command('nk-kubelet')
  .description('The nanokube kubelet: runs the pods bound to this node in Docker and reports the node.')
  .option('--kubeconfig <file>', 'kubeconfig to reach the apiserver')
  .option('--master <urls>', 'apiserver URL(s), plain HTTP, comma-separated')
  .option('--node-name <name>', 'name of this node', os.hostname().toLowerCase())
  .option(
    '--node-ip <ip>',
    "this node's IP (InternalIP, pods' hostIP); the first non-loopback IPv4 by default",
  )
  .option('--root-dir <dir>', 'where pod volumes and logs live', '/var/lib/nanokube/kubelet')
  .option('--pod-cidr <cidr>', "the node's pod range, when the Node has no spec.podCIDR yet")
  .option('--address <ip>', 'address of the kubelet server (default: --node-ip)')
  .option('--port <port>', 'kubelet server port (logs, exec)', '10250')
  .option(
    '--bootstrap-kubeconfig <file>',
    'kubeconfig with a bootstrap token: used to ask for a client certificate while --kubeconfig has none',
  )
  .option('--cert-dir <dir>', 'where bootstrapped and self-signed certificates go (default: <root-dir>/pki)')
  .option('--tls-cert-file <file>', 'serving certificate of the kubelet port (PEM); without it, plain HTTP')
  .option('--tls-private-key-file <file>', 'its key (PEM)')
  .option(
    '--client-ca-file <file>',
    'CA whose client certificates may use the kubelet port; others get 401 (unless --anonymous-auth)',
  )
  .addOption(
    boolFlag(
      '--anonymous-auth',
      'let requests without a client certificate in as system:anonymous (default: true without --client-ca-file)',
    ),
  )
  .option(
    '--authorization-mode <mode>',
    'AlwaysAllow, or Webhook: ask the apiserver (SubjectAccessReview) about each caller',
    'AlwaysAllow',
  )
  .option('--healthz-bind-address <ip>', 'address of /healthz', '127.0.0.1')
  .option(
    '--hostport-address <ip>',
    "where a container's hostPort without hostIP listens (default: every address; several nodes on one host each take their node IP)",
  )
  .option('--healthz-port <port>', 'port of /healthz, /readyz, /metrics', '10248')
  .option(
    '--cluster-dns <ips>',
    'DNS server(s) for pods, comma-separated; empty for the host resolver',
    '10.96.0.10',
  )
  .option('--cluster-domain <domain>', 'cluster domain for pod DNS search paths', 'cluster.local')
  .option('--pod-infra-container-image <image>', 'the pod sandbox image', 'nanokube/pause:1')
  .option('--docker-endpoint <path>', 'Docker engine socket', '/var/run/docker.sock')
  .option('--sync-frequency <duration>', 'how often every pod is synced again', '10s')
  .option('--node-status-update-frequency <duration>', 'how often node status is computed', '10s')
  .option('--pod-manifest-path <dir>', 'a folder of static pod manifests (YAML or JSON) to run')
  .option(
    '--shutdown-grace-period <duration>',
    'when the machine shuts down, mark pods terminated and wait up to this long (max 5s) for Services to drop them; 0 turns it off',
    '0s',
  )
  .option('--log-level <level>', 'pino log level', 'info');

const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/;

function defaultNodeIP(): string {
  for (const addrs of Object.values(os.networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

function toConfig(o: Record<string, any>): KubeletConfig {
  if (!o.kubeconfig && !o.master) flagError('--kubeconfig', 'one of --kubeconfig or --master is required');
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(o.nodeName) || o.nodeName.length > 63)
    flagError('--node-name', `"${o.nodeName}" is not a valid node name (lower-case DNS name, at most 63)`);
  if (o.podCidr !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(o.podCidr))
    flagError('--pod-cidr', `"${o.podCidr}" is not an IPv4 CIDR`);
  const nodeIP = o.nodeIp ?? defaultNodeIP();
  if (!ipv4.test(nodeIP)) flagError('--node-ip', `"${nodeIP}" is not an IPv4 address`);
  if (o.hostportAddress !== undefined && !ipv4.test(o.hostportAddress))
    flagError('--hostport-address', `"${o.hostportAddress}" is not an IPv4 address`);
  const dns = (o.clusterDns as string)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ip of dns) if (!ipv4.test(ip)) flagError('--cluster-dns', `"${ip}" is not an IPv4 address`);
  if (o.authorizationMode !== 'AlwaysAllow' && o.authorizationMode !== 'Webhook')
    flagError('--authorization-mode', `"${o.authorizationMode}" is not one of AlwaysAllow, Webhook`);
  if (!!o.tlsCertFile !== !!o.tlsPrivateKeyFile)
    flagError('--tls-cert-file', 'needs --tls-private-key-file too, and the other way round');
  if (o.clientCaFile && !o.tlsCertFile && !o.bootstrapKubeconfig)
    flagError('--client-ca-file', 'needs --tls-cert-file (or --bootstrap-kubeconfig, which makes one)');
  if (o.bootstrapKubeconfig && !o.kubeconfig)
    flagError('--bootstrap-kubeconfig', 'needs --kubeconfig, where the bootstrapped credentials are written');
  if (o.bootstrapKubeconfig && o.master)
    flagError('--bootstrap-kubeconfig', 'give --kubeconfig, not --master');
  let tls: KubeletConfig['tls'];
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      flagError(flag, (err as Error).message);
    }
  };
  const clientCA = o.clientCaFile ? read('--client-ca-file', o.clientCaFile) : undefined;
  if (o.tlsCertFile)
    tls = {
      cert: read('--tls-cert-file', o.tlsCertFile),
      key: read('--tls-private-key-file', o.tlsPrivateKeyFile),
      clientCA,
    };
  return {
    connect: { kubeconfig: o.kubeconfig, master: o.master },
    bootstrap: o.bootstrapKubeconfig
      ? {
          bootstrapKubeconfig: o.bootstrapKubeconfig,
          certDir: o.certDir ?? `${o.rootDir}/pki`,
          clientCA,
        }
      : undefined,
    tls,
    anonymousAuth: o.anonymousAuth ?? !clientCA,
    authorizationMode: o.authorizationMode as KubeletConfig['authorizationMode'],
    nodeName: o.nodeName,
    nodeIP,
    rootDir: o.rootDir,
    podCIDR: o.podCidr,
    address: o.address ?? nodeIP,
    port: parsePort('--port', o.port),
    healthzBindAddress: o.healthzBindAddress,
    hostPortAddress: o.hostportAddress,
    healthzPort: parsePort('--healthz-port', o.healthzPort),
    clusterDNS: dns,
    clusterDomain: o.clusterDomain,
    pauseImage: o.podInfraContainerImage,
    dockerSocket: o.dockerEndpoint,
    syncFrequencyMs: parseDuration('--sync-frequency', o.syncFrequency),
    nodeStatusUpdateFrequencyMs: parseDuration('--node-status-update-frequency', o.nodeStatusUpdateFrequency),
    podManifestPath: o.podManifestPath,
    shutdownGracePeriodMs: parseDuration('--shutdown-grace-period', o.shutdownGracePeriod),
  };
}

await runComponent(program, process.argv, toConfig, async (config, { signal }) => {
  const logger = makeLogger('kubelet', program.opts().logLevel);
  await runKubelet(config, { signal, logger });
  logger.info('kubelet stopped');
});
