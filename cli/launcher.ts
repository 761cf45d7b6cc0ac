/**
 * The one-host launcher behind `nkctl up/down/status`: each component is a
 * separate child process in its own session (it outlives the terminal), with
 * its log in `<home>/logs/NAME.log`, its PID in `<home>/run/NAME.pid`, and a
 * health URL that says when it is ready. Starting is idempotent: a component
 * whose PID file names a live process running the same command is reused.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { componentArgs } from '../base/command-lines.js';
import { type CertPaths, etcdPkiFiles, frontProxyPkiFiles } from '../base/pki.js';

export interface LaunchOptions {
  /** State, logs and PID files; default ~/.nanokube. */
  home: string;
  etcdPort: number;
  apiPort: number;
  /** Health and metrics ports of the controller-manager and scheduler. */
  controllerManagerPort: number;
  schedulerPort: number;
  nodeName: string;
  /**
   * Also run this host as a node (kubelet on Docker, kube-proxy on iptables,
   * cluster DNS): when root and Docker's socket is here, unless NANOKUBE_NODE=0.
   */
  node: boolean;
  /** The node's pod range; its first address (the pod bridge) is the node's and the apiserver's address. */
  podCIDR: string;
  /**
   * Nodes (with `node`): this host, and for each more a container with its
   * own network namespace, Docker engine, kubelet and kube-proxy (`NAME-2`,
   * ...) with the next /24 as its pod range (node-containers.ts).
   */
  nodes: number;
  kubeletPort: number;
  kubeletHealthPort: number;
  proxyHealthPort: number;
}

export interface ComponentSpec {
  name: string;
  /** Executable and arguments. */
  command: string;
  args: string[];
  /** What identifies our process in /proc/PID/cmdline (so a reused PID is not mistaken for ours). */
  marker: string;
  healthUrl: string;
  /** The CA that signs an https health URL's certificate. */
  healthCA?: string;
  /** The client certificate an https health URL wants (etcd's). */
  healthClient?: CertPaths;
  /** Seconds to wait for health after start. */
  readyTimeout: number;
}

/** The repository root (dist/cli/launcher.js → ../..). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const dist = (p: string) => join(repoRoot, 'dist', p);

export function defaultLaunchOptions(env: NodeJS.ProcessEnv = process.env): LaunchOptions {
  const home = env.NANOKUBE_HOME ?? join(env.HOME ?? '/root', '.nanokube');
  return {
    home,
    etcdPort: Number(env.NANOKUBE_ETCD_PORT ?? 2379),
    apiPort: Number(env.NANOKUBE_API_PORT ?? 6443),
    controllerManagerPort: Number(env.NANOKUBE_CONTROLLER_MANAGER_PORT ?? 10257),
    schedulerPort: Number(env.NANOKUBE_SCHEDULER_PORT ?? 10259),
    nodeName: env.NANOKUBE_NODE_NAME ?? hostname().toLowerCase(),
    node:
      env.NANOKUBE_NODE !== '0' &&
      process.getuid?.() === 0 &&
      existsSync(env.NANOKUBE_DOCKER_SOCKET ?? '/var/run/docker.sock'),
    podCIDR: env.NANOKUBE_POD_CIDR ?? '10.244.1.0/24',
    nodes: Number(env.NANOKUBE_NODES ?? recordedNodes(home) ?? 1),
    kubeletPort: Number(env.NANOKUBE_KUBELET_PORT ?? 10250),
    kubeletHealthPort: Number(env.NANOKUBE_KUBELET_HEALTH_PORT ?? 10248),
    proxyHealthPort: Number(env.NANOKUBE_PROXY_HEALTH_PORT ?? 10256),
  };
}

/** The first address of the pod range: the node's address on its pod bridge. */
export function nodeAddress(o: Pick<LaunchOptions, 'podCIDR'>): string {
  const [base] = o.podCIDR.split('/');
  const parts = base.split('.').map(Number);
  parts[3] += 1;
  return parts.join('.');
}

/** The node count the last `up` recorded in the home folder. */
function recordedNodes(home: string): string | undefined {
  const file = join(home, 'nodes');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export function readRecordedNodes(o: LaunchOptions): number | undefined {
  const n = recordedNodes(o.home);
  return n === undefined ? undefined : Number(n);
}

export function recordNodes(o: LaunchOptions): void {
  mkdirSync(o.home, { recursive: true });
  writeFileSync(join(o.home, 'nodes'), `${o.nodes}\n`);
}

/** Every node this host runs, as the options of a one-node cluster each: this host's first. */
export function hostNodes(o: LaunchOptions): LaunchOptions[] {
  if (!o.node) return [];
  const [base, bits] = o.podCIDR.split('/');
  const octets = base.split('.').map(Number);
  if (o.nodes > 1 && (bits !== '24' || octets[2] + o.nodes - 1 > 255))
    throw new Error(
      `--nodes ${o.nodes} needs a /24 pod range with room after it (NANOKUBE_POD_CIDR is ${o.podCIDR})`,
    );
  return Array.from({ length: o.nodes }, (_, i) =>
    i === 0
      ? o
      : {
          ...o,
          nodeName: `${o.nodeName}-${i + 1}`,
          podCIDR: `${octets[0]}.${octets[1]}.${octets[2] + i}.0/24`,
        },
  );
}

/**
 * Where the apiserver listens: on a node, the pod bridge's address (pods
 * reach it through the kubernetes Service, other node containers on this
 * host directly, nothing outside this host); else loopback.
 */
export function apiserverAddress(o: LaunchOptions): string {
  return o.node ? nodeAddress(o) : '127.0.0.1';
}

export function apiserverUrl(o: LaunchOptions): string {
  return `https://${apiserverAddress(o)}:${o.apiPort}`;
}

/** The cluster's files under <home>/pki: where each is (cluster-pki.ts makes them). */
export const pkiDir = (o: Pick<LaunchOptions, 'home'>) => join(o.home, 'pki');
export const nodePkiDir = (o: Pick<LaunchOptions, 'home'>, node: string) => join(pkiDir(o), 'nodes', node);

/** Where each file of the cluster's PKI is. */
export function clusterPki(o: LaunchOptions) {
  const dir = pkiDir(o);
  const pair = (name: string): CertPaths => ({
    cert: join(dir, `${name}.crt`),
    key: join(dir, `${name}.key`),
  });
  return {
    dir,
    ca: pair('ca'),
    apiserver: pair('apiserver'),
    kubeletClient: pair('apiserver-kubelet-client'),
    etcd: etcdPkiFiles(dir),
    frontProxy: frontProxyPkiFiles(dir),
    admin: pair('admin'),
    serviceAccountKey: join(dir, 'sa.key'),
    encryptionConfig: join(dir, 'encryption.yaml'),
    kubeconfig: (user: 'admin' | 'controller-manager' | 'scheduler' | 'kube-proxy') =>
      join(dir, `${user}.kubeconfig`),
    node: (node: string) => {
      const d = nodePkiDir(o, node);
      return {
        dir: d,
        ca: join(d, 'ca.crt'),
        kubelet: { cert: join(d, 'kubelet.crt'), key: join(d, 'kubelet.key') },
        kubeletKubeconfig: join(d, 'kubelet.kubeconfig'),
        proxyKubeconfig: join(d, 'kube-proxy.kubeconfig'),
        bootstrapKubeconfig: join(d, 'bootstrap-kubelet.kubeconfig'),
      };
    },
  };
}

/** The one-host cluster's etcd: TLS on loopback (a data folder of an older `up` that ran it plain comes up so too). */
export const localEtcdUrl = (o: Pick<LaunchOptions, 'etcdPort'>) => `https://127.0.0.1:${o.etcdPort}`;
export const localEtcdPeerUrl = (o: Pick<LaunchOptions, 'etcdPort'>) => `https://127.0.0.1:${o.etcdPort + 1}`;

/** The components of a one-host cluster, in start order. */
export function components(o: LaunchOptions): ComponentSpec[] {
  const etcdUrl = localEtcdUrl(o);
  const etcdPeerUrl = localEtcdPeerUrl(o);
  const master = apiserverUrl(o);
  const p = clusterPki(o);
  const specs: ComponentSpec[] = [
    {
      name: 'etcd',
      command: 'etcd',
      args: componentArgs({
        component: 'etcd',
        name: 'nanokube',
        dataDir: join(o.home, 'etcd'),
        listenClientUrls: etcdUrl,
        advertiseClientUrls: etcdUrl,
        listenPeerUrls: etcdPeerUrl,
        initialAdvertisePeerUrls: etcdPeerUrl,
        initialCluster: `nanokube=${etcdPeerUrl}`,
        // Clients and peers alike show a certificate of etcd's own CA (the apiserver's, nkctl's).
        tls: { ca: p.etcd.ca.cert, server: p.etcd.server, peer: p.etcd.peer },
      }),
      marker: join(o.home, 'etcd'),
      healthUrl: `${etcdUrl}/health`,
      healthCA: p.etcd.ca.cert,
      healthClient: p.etcd.client,
      readyTimeout: 20,
    },
    {
      name: 'apiserver',
      command: process.execPath,
      args: [
        dist('apiserver/main.js'),
        ...componentArgs({
          component: 'apiserver',
          etcdServers: etcdUrl,
          etcdTLS: { ca: p.etcd.ca.cert, client: p.etcd.client },
          bindAddress: apiserverAddress(o),
          securePort: o.apiPort,
          advertiseAddress: o.node ? nodeAddress(o) : undefined,
          tls: p.apiserver,
          clientCAFile: p.ca.cert,
          authorizationMode: 'Node,RBAC',
          enableBootstrapTokenAuth: true,
          serviceAccountSigningKeyFile: p.serviceAccountKey,
          // Kubelets' serving certificates are not checked (kubeadm's default too): a node
          // container's address is Docker's choice, made after its certificate.
          kubeletClient: p.kubeletClient,
          frontProxy: {
            client: p.frontProxy.client,
            ca: p.frontProxy.ca.cert,
            allowedNames: p.frontProxy.allowedNames,
          },
          encryptionProviderConfig: p.encryptionConfig,
          auditLogPath: join(o.home, 'logs', 'audit.log'),
        }),
      ],
      marker: 'apiserver/main.js',
      healthUrl: `${master}/readyz`,
      healthCA: p.ca.cert,
      readyTimeout: 30,
    },
    {
      name: 'controller-manager',
      command: process.execPath,
      args: [
        dist('controller-manager/main.js'),
        ...componentArgs({
          component: 'controller-manager',
          api: { kubeconfig: p.kubeconfig('controller-manager') },
          rootCAFile: p.ca.cert,
          clusterSigning: p.ca,
          bindAddress: '127.0.0.1',
          securePort: o.controllerManagerPort,
        }),
      ],
      marker: 'controller-manager/main.js',
      healthUrl: `http://127.0.0.1:${o.controllerManagerPort}/healthz`,
      readyTimeout: 30,
    },
    {
      name: 'scheduler',
      command: process.execPath,
      args: [
        dist('scheduler/main.js'),
        ...componentArgs({
          component: 'scheduler',
          api: { kubeconfig: p.kubeconfig('scheduler') },
          bindAddress: '127.0.0.1',
          securePort: o.schedulerPort,
        }),
      ],
      marker: 'scheduler/main.js',
      healthUrl: `http://127.0.0.1:${o.schedulerPort}/healthz`,
      readyTimeout: 30,
    },
  ];
  if (!o.node) return specs;
  specs.push(kubeletSpec(o), {
    name: 'kube-proxy',
    command: process.execPath,
    args: [
      dist('kube-proxy/main.js'),
      ...componentArgs({
        component: 'kube-proxy',
        api: { kubeconfig: p.node(o.nodeName).proxyKubeconfig },
        nodeName: o.nodeName,
        healthzBindAddress: `127.0.0.1:${o.proxyHealthPort}`,
      }),
    ],
    marker: 'kube-proxy/main.js',
    healthUrl: `http://127.0.0.1:${o.proxyHealthPort}/healthz`,
    readyTimeout: 30,
  });
  // Further nodes are containers of their own (node-containers.ts), not processes here.
  return specs;
}

/** This host's kubelet: health on loopback, static pods from <home>/manifests, hostPorts on the node address. */
function kubeletSpec(n: LaunchOptions): ComponentSpec {
  const ip = nodeAddress(n);
  const np = clusterPki(n).node(n.nodeName);
  return {
    name: 'kubelet',
    command: process.execPath,
    args: [
      dist('kubelet/main.js'),
      ...componentArgs({
        component: 'kubelet',
        api: { kubeconfig: np.kubeletKubeconfig },
        tls: np.kubelet,
        clientCAFile: np.ca,
        authorizationMode: 'Webhook',
        nodeName: n.nodeName,
        nodeIP: ip,
        address: ip,
        podCIDR: n.podCIDR,
        hostportAddress: ip,
        rootDir: join(n.home, 'kubelet'),
        port: n.kubeletPort,
        healthzBindAddress: '127.0.0.1',
        healthzPort: n.kubeletHealthPort,
        podManifestPath: join(n.home, 'manifests'),
      }),
    ],
    marker: 'kubelet/main.js',
    healthUrl: `http://127.0.0.1:${n.kubeletHealthPort}/readyz`,
    readyTimeout: 60,
  };
}

function pidFile(o: LaunchOptions, name: string): string {
  return join(o.home, 'run', `${name}.pid`);
}

export function logFile(o: LaunchOptions, name: string): string {
  return join(o.home, 'logs', `${name}.log`);
}

/** The PID of our running process for this component, if there is one. */
export function runningPid(o: LaunchOptions, spec: ComponentSpec): number | undefined {
  const file = pidFile(o, spec.name);
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return cmdline.includes(spec.marker) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the component's health URL answers 2xx, with its CA and client certificate. */
export const componentHealthy = (spec: ComponentSpec) =>
  healthy(spec.healthUrl, spec.healthCA, 2000, spec.healthClient);

/** Whether the health URL answers 2xx; an https one is checked against `caFile`, showing `client` when given. */
export function healthy(
  url: string,
  caFile?: string,
  timeoutMs = 2000,
  client?: CertPaths,
): Promise<boolean> {
  return new Promise((resolve) => {
    let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
    try {
      tls = {
        ca: caFile ? readFileSync(caFile) : undefined,
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
      };
    } catch {
      return resolve(false);
    }
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { timeout: timeoutMs, ...tls }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(false));
  });
}

/**
 * How a process ended, as `nkctl status` shows it: `exit 1`, `SIGKILL`;
 * `unknown` when it was not our child (started by an earlier `up`).
 */
export function exitDescription(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? signal : code === null ? 'unknown' : `exit ${code}`;
}

/**
 * Starts the component in its own session, logging to its file; returns its
 * PID. `onExit` hears how it ended, for as long as this process lives.
 */
export function startComponent(
  o: LaunchOptions,
  spec: ComponentSpec,
  onExit?: (how: string) => void,
): number {
  mkdirSync(join(o.home, 'run'), { recursive: true });
  mkdirSync(join(o.home, 'logs'), { recursive: true });
  const log = logFile(o, spec.name);
  const fd = openSync(log, 'a');
  writeFileSync(fd, `--- ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
  const child = spawn(spec.command, spec.args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, CI: 'true' },
  });
  closeSync(fd);
  child.unref();
  child.on('error', () => {}); // a spawn failure: no pid, said below
  if (onExit) child.once('exit', (code, signal) => onExit(exitDescription(code, signal)));
  if (!child.pid) throw new Error(`could not start ${spec.name} (${spec.command})`);
  writeFileSync(pidFile(o, spec.name), `${child.pid}\n`);
  return child.pid;
}

/** Whether a process with this PID exists (signal 0 tests without sending). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the health URL answers; throws with the log's tail if the process dies or time runs out. */
export async function waitReady(o: LaunchOptions, spec: ComponentSpec, pid: number): Promise<void> {
  const deadline = Date.now() + spec.readyTimeout * 1000;
  for (;;) {
    if (await componentHealthy(spec)) return;
    const alive = processAlive(pid);
    if (!alive || Date.now() > deadline) {
      const tail = existsSync(logFile(o, spec.name))
        ? readFileSync(logFile(o, spec.name), 'utf8').trimEnd().split('\n').slice(-15).join('\n')
        : '';
      throw new Error(
        `${spec.name} ${alive ? 'did not become ready' : 'exited'} (${spec.healthUrl}); last lines of ${logFile(o, spec.name)}:\n${tail}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Stops a component: SIGTERM to its process group, then SIGKILL after `graceMs`. */
export async function stopComponent(
  o: LaunchOptions,
  spec: ComponentSpec,
  graceMs = 10_000,
): Promise<boolean> {
  const pid = runningPid(o, spec);
  rmSync(pidFile(o, spec.name), { force: true });
  if (!pid) return false;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(-pid, s);
    } catch {
      try {
        process.kill(pid, s);
      } catch {
        // already gone
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  signal('SIGKILL');
  return true;
}
