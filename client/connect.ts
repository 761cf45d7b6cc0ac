/**
 * How a component finds the apiserver from its flags: `--kubeconfig FILE`
 * (with `--context`), or `--master URL[,URL...]` for plain HTTP on the
 * one-host default; in a pod with neither, the `kubernetes` Service.
 */
import type { Logger } from 'pino';
import { configFromKubeconfig } from './kubeconfig.js';
import { RestClient, type RestConfig } from './rest.js';

export interface ConnectFlags {
  kubeconfig?: string;
  master?: string;
  context?: string;
}

export function restConfigFromFlags(flags: ConnectFlags, userAgent: string): RestConfig {
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
  const inCluster = inClusterServer();
  if (inCluster) return { servers: [inCluster], userAgent };
  throw new Error('one of --kubeconfig or --master is required');
}

/**
 * In a pod: the `kubernetes` Service from the variables the kubelet gives
 * every container (plain HTTP until TLS lands); undefined elsewhere.
 */
export function inClusterServer(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function connect(flags: ConnectFlags, userAgent: string, logger?: Logger): RestClient {
  return new RestClient(restConfigFromFlags(flags, userAgent), logger);
}
