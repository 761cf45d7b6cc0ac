/**
 * Where an installed nanokube lives on a machine (deploy/install.sh,
 * `nkctl install`), and the settings each of its systemd units runs with
 * (base/command-lines.ts spells the flags). Pure: install.ts writes what these functions return.
 *
 *   /opt/nanokube/releases/VERSION   an unpacked release (bin/node, app/)
 *   /opt/nanokube/current            the release the units run
 *   /etc/nanokube/                   install.json, NAME.env per unit, kubeconfigs
 *   /etc/nanokube/pki/               the CA, certificates and keys; etcd/ holds etcd's own CA
 *   /var/lib/nanokube/               etcd data, kubelet state, backups
 *   /var/log/nanokube/               the audit log (everything else: journald)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { componentArgs } from '../../base/command-lines.js';
import { etcdPkiFiles, frontProxyPkiFiles } from '../../base/pki.js';

export interface Layout {
  etc: string;
  pki: string;
  state: string;
  logs: string;
  opt: string;
  units: string;
}

export const defaultLayout: Layout = {
  etc: '/etc/nanokube',
  pki: '/etc/nanokube/pki',
  state: '/var/lib/nanokube',
  logs: '/var/log/nanokube',
  opt: '/opt/nanokube',
  units: '/etc/systemd/system',
};

export type Role = 'master' | 'worker';

/** What `nkctl install` recorded about this machine (install.json). */
export interface Installed {
  role: Role;
  nodeName: string;
  nodeIP: string;
  /** Every apiserver URL known when this machine joined (its own first on a master). */
  servers: string[];
  /** How many etcd snapshots the backup timer keeps. */
  snapshotsKept: number;
}

export const installedFile = (l: Layout) => join(l.etc, 'install.json');

/** What install recorded on this machine; undefined where nanokube was not installed. */
export function readInstalled(l: Layout = defaultLayout): Installed | undefined {
  const file = installedFile(l);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Installed) : undefined;
}

/** The group of bootstrap tokens that join masters: only it may read the masters' shared keys. */
export const controlPlaneTokenGroup = 'system:bootstrappers:nanokube:control-plane';

export const apiPort = 6443;
export const etcdClientPort = 2379;
export const etcdPeerPort = 2380;

/** The units of a role, in start order (the snapshot timer is extra, on masters). */
export function unitsOf(role: Role): string[] {
  const node = ['kubelet', 'kube-proxy'];
  return role === 'master' ? ['etcd', 'apiserver', 'controller-manager', 'scheduler', ...node] : node;
}

export const unitName = (component: string) => `nanokube-${component}.service`;

/** The files of the PKI on a machine. */
export function pkiFiles(l: Layout) {
  const pair = (name: string) => ({ cert: join(l.pki, `${name}.crt`), key: join(l.pki, `${name}.key`) });
  const etcd = etcdPkiFiles(l.pki);
  return {
    ca: pair('ca'),
    apiserver: pair('apiserver'),
    kubeletClient: pair('apiserver-kubelet-client'),
    /** etcd's own CA: it signs the three below and nothing else, and only masters have it. */
    etcdCA: etcd.ca,
    etcdClient: etcd.client,
    etcdServer: etcd.server,
    etcdPeer: etcd.peer,
    /** The front-proxy CA (shared by the masters) and this apiserver's client certificate for aggregated servers. */
    frontProxy: frontProxyPkiFiles(l.pki),
    kubelet: pair('kubelet'),
    serviceAccountKey: join(l.pki, 'sa.key'),
    encryptionConfig: join(l.pki, 'encryption.yaml'),
    certificateKey: join(l.pki, 'certificate-key'),
    kubeconfig: (user: string) => join(l.etc, `${user}.kubeconfig`),
  };
}

/** The files a joining master fetches (encrypted) from the first: what every master must share. */
export const sharedMasterFiles = [
  'ca.key',
  'sa.key',
  'encryption.yaml',
  'etcd/ca.crt',
  'etcd/ca.key',
] as const;

/**
 * Shared too when the first master has them: a cluster installed before
 * API aggregation has no front-proxy CA, and its masters serve without one.
 */
export const optionalSharedMasterFiles = ['front-proxy-ca.crt', 'front-proxy-ca.key'] as const;

/**
 * The environment file of a unit: NK_ARGS, the flags its ExecStart passes.
 * Values never hold spaces (paths, addresses, names), so the unit's $NK_ARGS
 * splits them as they are written.
 */
export function envFile(args: string[], extra: Record<string, string> = {}): string {
  for (const a of args) if (/[\s"\\$]/.test(a)) throw new Error(`flag value "${a}" has a space, quote or $`);
  const lines = [
    '# Written by nkctl install; edit and `systemctl restart` the unit, or run install again.',
    `NK_ARGS="${args.join(' ')}"`,
    ...Object.entries(extra).map(([k, v]) => `${k}=${v}`),
  ];
  return `${lines.join('\n')}\n`;
}

export interface EtcdMember {
  name: string;
  peerURL: string;
}

const url = (ip: string, port: number) => `https://${ip}:${port}`;

/** etcd on a master: TLS with client certificates both for clients and peers, of etcd's own CA only. */
export function etcdArgs(
  l: Layout,
  i: Installed,
  cluster: { members: EtcdMember[]; state: 'new' | 'existing' },
): string[] {
  const p = pkiFiles(l);
  return componentArgs({
    component: 'etcd',
    name: i.nodeName,
    dataDir: join(l.state, 'etcd'),
    listenClientUrls: `${url(i.nodeIP, etcdClientPort)},${url('127.0.0.1', etcdClientPort)}`,
    advertiseClientUrls: url(i.nodeIP, etcdClientPort),
    listenPeerUrls: url(i.nodeIP, etcdPeerPort),
    initialAdvertisePeerUrls: url(i.nodeIP, etcdPeerPort),
    initialCluster: cluster.members.map((m) => `${m.name}=${m.peerURL}`).join(','),
    initialClusterState: cluster.state,
    initialClusterToken: 'nanokube',
    tls: { ca: p.etcdCA.cert, server: p.etcdServer, peer: p.etcdPeer },
    snapshotCount: 10000,
    logger: 'zap',
  });
}

/** etcdctl's settings for this master's etcd (environment, as the snapshot unit uses them). */
export function etcdctlEnv(l: Layout): Record<string, string> {
  const p = pkiFiles(l);
  return {
    ETCDCTL_API: '3',
    ETCDCTL_ENDPOINTS: url('127.0.0.1', etcdClientPort),
    ETCDCTL_CACERT: p.etcdCA.cert,
    ETCDCTL_CERT: p.etcdClient.cert,
    ETCDCTL_KEY: p.etcdClient.key,
  };
}

export function apiserverArgs(l: Layout, i: Installed): string[] {
  const p = pkiFiles(l);
  return componentArgs({
    component: 'apiserver',
    etcdServers: url('127.0.0.1', etcdClientPort),
    etcdTLS: { ca: p.etcdCA.cert, client: p.etcdClient },
    bindAddress: '0.0.0.0',
    securePort: apiPort,
    advertiseAddress: i.nodeIP,
    tls: p.apiserver,
    clientCAFile: p.ca.cert,
    authorizationMode: 'Node,RBAC',
    // As kubeadm: requests without credentials are system:anonymous, which RBAC lets read
    // only kube-public/cluster-info (how a joining machine finds the CA) and health.
    anonymousAuth: true,
    enableBootstrapTokenAuth: true,
    serviceAccountSigningKeyFile: p.serviceAccountKey,
    kubeletClient: p.kubeletClient,
    encryptionProviderConfig: p.encryptionConfig,
    auditLogPath: join(l.logs, 'audit.log'),
    frontProxy: existsSync(p.frontProxy.client.cert)
      ? { client: p.frontProxy.client, ca: p.frontProxy.ca.cert, allowedNames: p.frontProxy.allowedNames }
      : undefined,
  });
}

export function controllerManagerArgs(l: Layout): string[] {
  const p = pkiFiles(l);
  return componentArgs({
    component: 'controller-manager',
    api: { kubeconfig: p.kubeconfig('controller-manager') },
    rootCAFile: p.ca.cert,
    clusterSigning: p.ca,
    bindAddress: '127.0.0.1',
  });
}

export function schedulerArgs(l: Layout): string[] {
  return componentArgs({
    component: 'scheduler',
    api: { kubeconfig: pkiFiles(l).kubeconfig('scheduler') },
    bindAddress: '127.0.0.1',
  });
}

/**
 * The kubelet: a master's has its certificate from install (it holds the CA
 * key); a worker's asks for one with the bootstrap token (TLS bootstrapping).
 */
export function kubeletArgs(l: Layout, i: Installed): string[] {
  const p = pkiFiles(l);
  const identity =
    i.role === 'master'
      ? { tls: p.kubelet }
      : { bootstrapKubeconfig: p.kubeconfig('bootstrap-kubelet'), certDir: join(l.state, 'kubelet', 'pki') };
  return componentArgs({
    component: 'kubelet',
    api: { kubeconfig: p.kubeconfig('kubelet') },
    ...identity,
    clientCAFile: p.ca.cert,
    authorizationMode: 'Webhook',
    nodeName: i.nodeName,
    nodeIP: i.nodeIP,
    address: i.nodeIP,
    rootDir: join(l.state, 'kubelet'),
    podManifestPath: join(l.etc, 'manifests'),
    // A reboot takes the node's pods out of Services before their containers stop.
    shutdownGracePeriod: '5s',
  });
}

/** kube-proxy: its own certificate on a master; on a worker, the node's (as the lab's workers do). */
export function kubeProxyArgs(l: Layout, i: Installed): string[] {
  const p = pkiFiles(l);
  const kubeconfig = i.role === 'master' ? p.kubeconfig('kube-proxy') : p.kubeconfig('kubelet');
  return componentArgs({
    component: 'kube-proxy',
    api: { kubeconfig },
    nodeName: i.nodeName,
    healthzBindAddress: '127.0.0.1:10256',
  });
}

/** The address each unit answers health on, and how long it may take to start. */
export function healthOf(component: string): { url: string; timeoutS: number } | undefined {
  switch (component) {
    case 'apiserver':
      return { url: `https://127.0.0.1:${apiPort}/readyz`, timeoutS: 60 };
    case 'controller-manager':
      return { url: 'http://127.0.0.1:10257/healthz', timeoutS: 60 };
    case 'scheduler':
      return { url: 'http://127.0.0.1:10259/healthz', timeoutS: 60 };
    case 'kubelet':
      return { url: 'http://127.0.0.1:10248/healthz', timeoutS: 120 };
    case 'kube-proxy':
      return { url: 'http://127.0.0.1:10256/healthz', timeoutS: 120 };
    default:
      return undefined;
  }
}

/** The join commands init prints: the same install script, with what a machine needs to trust and reach the cluster. */
export function joinCommand(o: {
  server: string;
  token: string;
  caCertHash: string;
  role: Role;
  certificateKey?: string;
}): string {
  const words = [
    'bash nanokube/install.sh --role',
    o.role,
    '--join',
    o.server,
    '--token',
    o.token,
    '--ca-cert-hash',
    o.caCertHash,
  ];
  if (o.role === 'master' && o.certificateKey) words.push('--certificate-key', o.certificateKey);
  return words.join(' ');
}
