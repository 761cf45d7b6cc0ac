/**
 * How a component finds the apiserver from its flags: `--kubeconfig FILE`
 * (with `--context`), or `--master URL[,URL...]` for plain HTTP on the
 * one-host default; in a pod with neither, the `kubernetes` Service with
 * the pod's service account credentials (client-go's InClusterConfig).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { configFromKubeconfig } from './kubeconfig.js';
import { RestClient, type RestConfig } from './rest.js';

export interface ConnectFlags {
  kubeconfig?: string;
  master?: string;
  context?: string;
}

/** Where the kubelet mounts a pod's service account token (`token`) and the cluster CA (`ca.crt`). */
export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/** Where to look for in-cluster config; the process's environment and `serviceAccountDir` by default. */
export interface InClusterSource {
  env?: NodeJS.ProcessEnv;
  dir?: string;
}

export function restConfigFromFlags(
  flags: ConnectFlags,
  userAgent: string,
  inCluster: InClusterSource = {},
): RestConfig {
  if (flags.master && flags.kubeconfig) throw new Error('give either --master or --kubeconfig, not both');
  if (flags.master) {
    return {
      servers: flags.master
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      userAgent,
    };
  }
  if (flags.kubeconfig)
    return {
      ...configFromKubeconfig({ kubeconfig: flags.kubeconfig, context: flags.context }).rest,
      userAgent,
    };
  const cfg = inClusterConfig(inCluster);
  if (cfg) return { ...cfg, userAgent };
  throw new Error('one of --kubeconfig or --master is required');
}

/**
 * In a pod: the `kubernetes` Service from the variables the kubelet gives
 * every container; undefined elsewhere. With a service account token in
 * `dir`, as client-go's rest.InClusterConfig: https, the CA in `dir`'s
 * ca.crt (the system's CAs when it is missing), and the token read from its
 * file again as it rotates. Without one (a pod that mounts no token, or a
 * cluster whose apiserver serves no TLS and issues none), plain HTTP and no
 * credentials.
 */
export function inClusterConfig({
  env = process.env,
  dir = serviceAccountDir,
}: InClusterSource = {}): RestConfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  const hostPort = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const tokenFile = path.join(dir, 'token');
  const token = readIfPresent(tokenFile);
  if (token === undefined) return { servers: [`http://${hostPort}`] };
  return {
    servers: [`https://${hostPort}`],
    token: token.toString('utf8').trim() || undefined,
    tokenFile,
    ca: readIfPresent(path.join(dir, 'ca.crt')),
  };
}

/** The in-cluster server URL, as `inClusterConfig` gives it; undefined outside a pod. */
export function inClusterServer(
  env: NodeJS.ProcessEnv = process.env,
  dir = serviceAccountDir,
): string | undefined {
  return inClusterConfig({ env, dir })?.servers[0];
}

/** A file's bytes; undefined when there is no such file. */
function readIfPresent(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function connect(flags: ConnectFlags, userAgent: string, logger?: Logger): RestClient {
  return new RestClient(restConfigFromFlags(flags, userAgent), logger);
}
