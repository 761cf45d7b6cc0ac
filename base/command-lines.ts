/**
 * The command lines of the components: the one builder every place that
 * starts one uses (`nkctl up`'s launcher, `nkctl install`'s systemd units,
 * the lab's containers through lab/command-line.ts, the test harness). A
 * place says what a component needs (addresses, ports, certificate paths,
 * a kubeconfig, data folders, switches); `componentArgs` spells the flags.
 * The program itself (`etcd`, or node with dist/NAME/main.js) is the
 * caller's, as are the files behind the paths. Pure: nothing is read.
 *
 * A setting left undefined adds no flag, so the component's default holds.
 * `extra` goes last and, parsed after them, wins over the flags built here.
 * Flags come in one order per component: for etcd and install as
 * Kubernetes' manifests write them, connection first, then serving, then
 * identity and policy.
 */

export interface CertPair {
  cert: string;
  key: string;
}

/** How a component finds the apiserver: a kubeconfig, or a plain-HTTP URL (`--master`). */
export type ApiAccess = { kubeconfig: string } | { master: string };

interface Common {
  /** Flags after the built ones (a test's, the lab's "$@"). */
  extra?: string[];
}

interface NodeCommon extends Common {
  logLevel?: string;
}

export interface EtcdFlags extends Common {
  component: 'etcd';
  name?: string;
  dataDir: string;
  listenClientUrls: string;
  advertiseClientUrls: string;
  listenPeerUrls: string;
  initialAdvertisePeerUrls: string;
  /** `name=peerURL,...` of every member. */
  initialCluster: string;
  initialClusterState?: 'new' | 'existing';
  initialClusterToken?: string;
  /** Clients and peers alike must show a certificate of `ca` (etcd's own CA). */
  tls?: { ca: string; server: CertPair; peer: CertPair };
  snapshotCount?: number;
  logger?: 'zap';
}

export interface ApiserverFlags extends NodeCommon {
  component: 'apiserver';
  etcdServers: string | string[];
  /** etcd over TLS: etcd's CA and the apiserver's client certificate. */
  etcdTLS?: { ca: string; client: CertPair };
  bindAddress?: string;
  /** Plain HTTP. */
  port?: number;
  securePort?: number;
  advertiseAddress?: string;
  /** The serving certificate. */
  tls?: CertPair;
  clientCAFile?: string;
  authorizationMode?: string;
  anonymousAuth?: boolean;
  enableBootstrapTokenAuth?: boolean;
  serviceAccountSigningKeyFile?: string;
  kubeletClient?: CertPair;
  /** Aggregation: the front-proxy client certificate, and the CA and names aggregated servers trust it by. */
  frontProxy?: { client: CertPair; ca: string; allowedNames: string[] };
  encryptionProviderConfig?: string;
  auditLogPath?: string;
}

export interface ControllerManagerFlags extends NodeCommon {
  component: 'controller-manager';
  api: ApiAccess;
  /** True: `--leader-elect` bare, as pflag and Kubernetes' manifests spell it; false: `--leader-elect=false`. */
  leaderElect?: boolean;
  controllers?: string[];
  rootCAFile?: string;
  /** The CA that signs CertificateSigningRequests. */
  clusterSigning?: CertPair;
  nodeMonitorGracePeriod?: string;
  bindAddress?: string;
  securePort?: number;
}

export interface SchedulerFlags extends NodeCommon {
  component: 'scheduler';
  api: ApiAccess;
  leaderElect?: boolean;
  bindAddress?: string;
  securePort?: number;
}

export interface KubeletFlags extends NodeCommon {
  component: 'kubelet';
  api: ApiAccess;
  /** TLS bootstrapping: the kubelet asks for its certificate with this kubeconfig's token. */
  bootstrapKubeconfig?: string;
  certDir?: string;
  /** The serving certificate. */
  tls?: CertPair;
  clientCAFile?: string;
  authorizationMode?: string;
  nodeName: string;
  nodeIP?: string;
  address?: string;
  podCIDR?: string;
  hostportAddress?: string;
  rootDir?: string;
  port?: number;
  healthzBindAddress?: string;
  healthzPort?: number;
  podManifestPath?: string;
  shutdownGracePeriod?: string;
}

export interface KubeProxyFlags extends NodeCommon {
  component: 'kube-proxy';
  api: ApiAccess;
  nodeName: string;
  healthzBindAddress?: string;
  iptablesMinSyncPeriod?: string;
}

export interface HollowNodesFlags extends NodeCommon {
  component: 'hollow-nodes';
  api: ApiAccess;
  nodes: number;
  nodeNamePrefix: string;
  firstIndex: number;
  cpu: string;
  memory: string;
  pods: number;
  nodeLabels?: Record<string, string>;
  /** As `--register-with-taints`: `key=value:Effect`. */
  registerWithTaints?: string[];
}

export type ComponentFlags =
  | EtcdFlags
  | ApiserverFlags
  | ControllerManagerFlags
  | SchedulerFlags
  | KubeletFlags
  | KubeProxyFlags
  | HollowNodesFlags;

/** The flags of one component, in its one order, `extra` last. */
export function componentArgs(c: ComponentFlags): string[] {
  return [
    ...flagsOf(c),
    ...(c.component === 'etcd' ? [] : opt('--log-level', c.logLevel)),
    ...(c.extra ?? []),
  ];
}

function flagsOf(c: ComponentFlags): string[] {
  switch (c.component) {
    case 'etcd':
      return [
        ...opt('--name', c.name),
        ...['--data-dir', c.dataDir],
        ...['--listen-client-urls', c.listenClientUrls, '--advertise-client-urls', c.advertiseClientUrls],
        ...['--listen-peer-urls', c.listenPeerUrls],
        ...['--initial-advertise-peer-urls', c.initialAdvertisePeerUrls],
        ...['--initial-cluster', c.initialCluster],
        ...opt('--initial-cluster-state', c.initialClusterState),
        ...opt('--initial-cluster-token', c.initialClusterToken),
        ...(c.tls
          ? [
              ...['--cert-file', c.tls.server.cert, '--key-file', c.tls.server.key],
              ...['--trusted-ca-file', c.tls.ca, '--client-cert-auth'],
              ...['--peer-cert-file', c.tls.peer.cert, '--peer-key-file', c.tls.peer.key],
              ...['--peer-trusted-ca-file', c.tls.ca, '--peer-client-cert-auth'],
            ]
          : []),
        ...opt('--snapshot-count', c.snapshotCount),
        ...opt('--logger', c.logger),
      ];
    case 'apiserver':
      return [
        ...['--etcd-servers', [c.etcdServers].flat().join(',')],
        ...(c.etcdTLS
          ? [
              ...['--etcd-cafile', c.etcdTLS.ca],
              ...pair('--etcd-certfile', '--etcd-keyfile', c.etcdTLS.client),
            ]
          : []),
        ...opt('--bind-address', c.bindAddress),
        ...opt('--port', c.port),
        ...opt('--secure-port', c.securePort),
        ...opt('--advertise-address', c.advertiseAddress),
        ...pair('--tls-cert-file', '--tls-private-key-file', c.tls),
        ...opt('--client-ca-file', c.clientCAFile),
        ...opt('--authorization-mode', c.authorizationMode),
        ...bare('--anonymous-auth', c.anonymousAuth),
        ...bare('--enable-bootstrap-token-auth', c.enableBootstrapTokenAuth),
        ...opt('--service-account-signing-key-file', c.serviceAccountSigningKeyFile),
        ...pair('--kubelet-client-certificate', '--kubelet-client-key', c.kubeletClient),
        ...(c.frontProxy
          ? [
              ...pair('--proxy-client-cert-file', '--proxy-client-key-file', c.frontProxy.client),
              ...['--requestheader-client-ca-file', c.frontProxy.ca],
              ...['--requestheader-allowed-names', c.frontProxy.allowedNames.join(',')],
              ...['--requestheader-username-headers', 'X-Remote-User'],
              ...['--requestheader-group-headers', 'X-Remote-Group'],
              ...['--requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
            ]
          : []),
        ...opt('--encryption-provider-config', c.encryptionProviderConfig),
        ...opt('--audit-log-path', c.auditLogPath),
      ];
    case 'controller-manager':
      return [
        ...apiFlags(c.api),
        ...leaderElectFlag(c.leaderElect),
        ...opt('--controllers', c.controllers?.join(',')),
        ...opt('--root-ca-file', c.rootCAFile),
        ...pair('--cluster-signing-cert-file', '--cluster-signing-key-file', c.clusterSigning),
        ...opt('--node-monitor-grace-period', c.nodeMonitorGracePeriod),
        ...opt('--bind-address', c.bindAddress),
        ...opt('--secure-port', c.securePort),
      ];
    case 'scheduler':
      return [
        ...apiFlags(c.api),
        ...leaderElectFlag(c.leaderElect),
        ...opt('--bind-address', c.bindAddress),
        ...opt('--secure-port', c.securePort),
      ];
    case 'kubelet':
      return [
        ...opt('--bootstrap-kubeconfig', c.bootstrapKubeconfig),
        ...apiFlags(c.api),
        ...opt('--cert-dir', c.certDir),
        ...pair('--tls-cert-file', '--tls-private-key-file', c.tls),
        ...opt('--client-ca-file', c.clientCAFile),
        ...opt('--authorization-mode', c.authorizationMode),
        ...['--node-name', c.nodeName],
        ...opt('--node-ip', c.nodeIP),
        ...opt('--address', c.address),
        ...opt('--pod-cidr', c.podCIDR),
        ...opt('--hostport-address', c.hostportAddress),
        ...opt('--root-dir', c.rootDir),
        ...opt('--port', c.port),
        ...opt('--healthz-bind-address', c.healthzBindAddress),
        ...opt('--healthz-port', c.healthzPort),
        ...opt('--pod-manifest-path', c.podManifestPath),
        ...opt('--shutdown-grace-period', c.shutdownGracePeriod),
      ];
    case 'kube-proxy':
      return [
        ...apiFlags(c.api),
        ...['--node-name', c.nodeName],
        ...opt('--healthz-bind-address', c.healthzBindAddress),
        ...opt('--iptables-min-sync-period', c.iptablesMinSyncPeriod),
      ];
    case 'hollow-nodes': {
      const labels = Object.entries(c.nodeLabels ?? {}).map(([k, v]) => `${k}=${v}`);
      return [
        ...apiFlags(c.api),
        ...['--nodes', String(c.nodes), '--node-name-prefix', c.nodeNamePrefix],
        ...['--first-index', String(c.firstIndex)],
        ...['--cpu', c.cpu, '--memory', c.memory, '--pods', String(c.pods)],
        ...opt('--node-labels', labels.length ? labels.join(',') : undefined),
        ...opt(
          '--register-with-taints',
          c.registerWithTaints?.length ? c.registerWithTaints.join(',') : undefined,
        ),
      ];
    }
  }
}

const opt = (flag: string, value: string | number | undefined): string[] =>
  value === undefined ? [] : [flag, String(value)];

const bare = (flag: string, on: boolean | undefined): string[] => (on ? [flag] : []);

/** A certificate and its key, as two flags, or nothing. */
const pair = (certFlag: string, keyFlag: string, p: { cert: string; key: string } | undefined): string[] =>
  p === undefined ? [] : [certFlag, p.cert, keyFlag, p.key];

const apiFlags = (a: ApiAccess): string[] =>
  'kubeconfig' in a ? ['--kubeconfig', a.kubeconfig] : ['--master', a.master];

const leaderElectFlag = (on: boolean | undefined): string[] =>
  on === undefined ? [] : on ? ['--leader-elect'] : ['--leader-elect=false'];
