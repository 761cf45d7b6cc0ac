/**
 * The flags of a lab container's component, from the one builder of command
 * lines (base/command-lines.ts). deploy/lab/entrypoint.sh runs
 *
 *   node dist/lab/main.js command-line ROLE
 *
 * inside the container and execs the component with the flags it prints, one
 * a line, then its own arguments. ROLE is etcd, apiserver,
 * controller-manager, scheduler, kubelet or kube-proxy (a worker runs the
 * last two). Settings come from the environment: docker-compose.yml's
 * (ETCD_CLUSTER, ETCD_SERVERS, MASTER, PKI_DIR, NODE_MONITOR_GRACE_PERIOD,
 * LOG_LEVEL; deploy/lab/entrypoint.sh says what each means) and the
 * entrypoint's NODE_NAME and NODE_IP (the container's host name and address
 * on the lab network) and ETCD_DATA_DIR.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type ApiAccess, type ComponentFlags, componentArgs } from '../base/command-lines.js';
import { etcdPkiFiles } from '../base/pki.js';

export const labRoles = [
  'etcd',
  'apiserver',
  'controller-manager',
  'scheduler',
  'kubelet',
  'kube-proxy',
] as const;
export type LabRole = (typeof labRoles)[number];

/** etcd's PKI in every control-plane container (the pki role makes it). */
const pki = etcdPkiFiles('/pki');
/** A joining worker's own kubeconfig and certificates, once its kubelet has them. */
const joined = { kubeconfig: '/var/lib/nanokube/kubelet.kubeconfig', certDir: '/var/lib/nanokube/pki' };

/**
 * A worker reaches the apiserver in one of three ways: with PKI_DIR holding a
 * bootstrap kubeconfig it joins as kubeadm join does (the kubelet asks for its
 * certificate, kube-proxy then uses it); with PKI_DIR alone, with the node's
 * certificates there (TLS both ways); without PKI_DIR, plain HTTP to MASTER.
 */
function workerMode(env: NodeJS.ProcessEnv, exists: (file: string) => boolean): 'join' | 'pki' | 'plain' {
  if (!env.PKI_DIR) return 'plain';
  return exists(join(env.PKI_DIR, 'bootstrap-kubelet.kubeconfig')) ? 'join' : 'pki';
}

/** What the lab runs `role` with. */
export function labFlags(
  role: LabRole,
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean = existsSync,
): ComponentFlags {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new Error(`${role} needs ${name} in the environment`);
    return v;
  };
  const logLevel = env.LOG_LEVEL || 'info';
  const master: ApiAccess = { master: env.MASTER ?? '' };
  const dir = env.PKI_DIR ?? '';
  const mode = role === 'kubelet' || role === 'kube-proxy' ? workerMode(env, exists) : 'plain';
  switch (role) {
    case 'etcd': {
      const name = need('NODE_NAME');
      return {
        component: 'etcd',
        name,
        dataDir: need('ETCD_DATA_DIR'),
        listenClientUrls: 'https://0.0.0.0:2379',
        advertiseClientUrls: `https://${name}:2379`,
        listenPeerUrls: 'https://0.0.0.0:2380',
        initialAdvertisePeerUrls: `https://${name}:2380`,
        initialCluster: need('ETCD_CLUSTER'),
        initialClusterState: 'new',
        initialClusterToken: 'nanokube-lab',
        tls: { ca: pki.ca.cert, server: pki.server, peer: pki.peer },
        logger: 'zap',
      };
    }
    case 'apiserver':
      return {
        component: 'apiserver',
        etcdServers: need('ETCD_SERVERS'),
        etcdTLS: { ca: pki.ca.cert, client: pki.client },
        bindAddress: '0.0.0.0',
        port: 8080,
        advertiseAddress: need('NODE_IP'),
        logLevel,
      };
    case 'controller-manager':
      return {
        component: 'controller-manager',
        api: { master: need('MASTER') },
        nodeMonitorGracePeriod: env.NODE_MONITOR_GRACE_PERIOD || '40s',
        bindAddress: '0.0.0.0',
        logLevel,
      };
    case 'scheduler':
      return { component: 'scheduler', api: { master: need('MASTER') }, bindAddress: '0.0.0.0', logLevel };
    case 'kubelet': {
      const identity =
        mode === 'join'
          ? {
              bootstrapKubeconfig: join(dir, 'bootstrap-kubelet.kubeconfig'),
              api: { kubeconfig: joined.kubeconfig },
              certDir: joined.certDir,
            }
          : mode === 'pki'
            ? {
                api: { kubeconfig: join(dir, 'kubelet.kubeconfig') },
                tls: { cert: join(dir, 'kubelet.crt'), key: join(dir, 'kubelet.key') },
              }
            : { api: master };
      const ip = need('NODE_IP');
      return {
        component: 'kubelet',
        ...identity,
        ...(mode === 'plain' ? {} : { clientCAFile: join(dir, 'ca.crt'), authorizationMode: 'Webhook' }),
        nodeName: need('NODE_NAME'),
        nodeIP: ip,
        address: ip,
        healthzBindAddress: '0.0.0.0',
        logLevel,
      };
    }
    case 'kube-proxy':
      return {
        component: 'kube-proxy',
        api:
          mode === 'join'
            ? { kubeconfig: joined.kubeconfig }
            : mode === 'pki'
              ? { kubeconfig: join(dir, 'kube-proxy.kubeconfig') }
              : master,
        nodeName: need('NODE_NAME'),
        healthzBindAddress: '0.0.0.0:10256',
        logLevel,
      };
  }
}

/** The flags of `role`, one a line (no flag holds a line break). */
export function labCommandLine(
  role: string,
  env: NodeJS.ProcessEnv,
  exists?: (file: string) => boolean,
): string {
  if (!(labRoles as readonly string[]).includes(role))
    throw new Error(`unknown role "${role}" (${labRoles.join(', ')})`);
  const args = componentArgs(labFlags(role as LabRole, env, exists));
  for (const a of args) if (a.includes('\n')) throw new Error(`${role}: a flag holds a line break: ${a}`);
  return args.join('\n');
}
