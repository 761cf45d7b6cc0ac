/**
 * What every client command of nkctl shares: the global flags (as kubectl
 * spells them), a REST client from the kubeconfig, and errors printed as one
 * line with a non-zero exit.
 */
import type { Command } from 'commander';
import type { ResourceType } from '../api/registry.js';
import { StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { configFromKubeconfig } from '../client/kubeconfig.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';

export interface GlobalFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  server?: string;
}

export interface CliContext {
  rest: RestClient;
  /** The namespace from -n, else the context's. */
  namespace: string;
  resource(type: string): ResourceType;
  /** The resource serving a kind, as a manifest names it. */
  resourceForKind(group: string, kind: string): ResourceType;
  client(rt: ResourceType, namespace?: string): ResourceClient;
}

export function cliContext(cmd: Command): CliContext {
  const g = cmd.optsWithGlobals() as GlobalFlags;
  let rest: RestClient;
  let namespace = g.namespace;
  if (g.server) {
    rest = new RestClient({ servers: [g.server], userAgent: 'nkctl', maxRetries: 1 });
  } else {
    const cfg = configFromKubeconfig({ kubeconfig: g.kubeconfig, context: g.context });
    rest = new RestClient({ ...cfg.rest, userAgent: 'nkctl', maxRetries: 1 });
    namespace ??= cfg.namespace;
  }
  return {
    rest,
    namespace: namespace ?? 'default',
    resource(type) {
      const rt = builtinRegistry.resolve(type);
      if (!rt) throw new CliError(`the server doesn't have a resource type "${type}"`);
      return rt;
    },
    resourceForKind(group, kind) {
      const rt = builtinRegistry.byKind(group, kind);
      if (!rt) throw new CliError(`no matches for kind "${kind}" in group "${group}"`);
      return rt;
    },
    client(rt, ns) {
      return new ResourceClient(rest, rt, rt.namespaced ? ns : undefined);
    },
  };
}

/** An error for the user: printed as `error: message`, exit 1. */
export class CliError extends Error {}

/** How kubectl prints an error: one line, `Error from server (Reason): message` for API errors. */
export function errorLine(err: unknown): string {
  if (err instanceof StatusError) {
    if (err.code === 503 && /no apiserver answered|ECONNREFUSED/.test(err.message)) {
      return `error: cannot connect to the apiserver: ${err.message}`;
    }
    return err.reason
      ? `Error from server (${err.reason}): ${err.message}`
      : `Error from server: ${err.message}`;
  }
  return `error: ${(err as Error).message ?? String(err)}`;
}
