/**
 * How a component finds the apiserver from its flags: `--kubeconfig FILE`
 * (with `--context`), or `--master URL[,URL...]` for plain HTTP on the
 * one-host default. Exactly one way must be given.
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
  throw new Error('one of --kubeconfig or --master is required');
}

export function connect(flags: ConnectFlags, userAgent: string, logger?: Logger): RestClient {
  return new RestClient(restConfigFromFlags(flags, userAgent), logger);
}
