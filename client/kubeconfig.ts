/**
 * kubeconfig files, in the format kubectl uses: clusters, users, contexts,
 * current-context, several files merged from KUBECONFIG (first one wins per
 * name, as kubectl merges). A cluster may list more apiservers for failover
 * in an extension kubectl ignores:
 *
 *     extensions: [{ name: nanokube.io/servers, extension: { servers: [https://a:6443, https://b:6443] } }]
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { RestConfig } from './rest.js';

interface Named<T> {
  name: string;
  [k: string]: unknown;
  _v?: T;
}

export interface KubeconfigCluster {
  server: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
  extensions?: { name: string; extension?: { servers?: string[] } }[];
}

export interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  username?: string;
  password?: string;
}

export interface KubeconfigContext {
  cluster: string;
  user?: string;
  namespace?: string;
}

export interface Kubeconfig {
  clusters: (Named<KubeconfigCluster> & { cluster: KubeconfigCluster; _dir: string })[];
  users: (Named<KubeconfigUser> & { user: KubeconfigUser; _dir: string })[];
  contexts: (Named<KubeconfigContext> & { context: KubeconfigContext })[];
  'current-context'?: string;
}

/** The files kubectl would read: $KUBECONFIG (colon-separated) or ~/.kube/config. */
export function kubeconfigPaths(explicit?: string): string[] {
  if (explicit) return [explicit];
  const env = process.env.KUBECONFIG;
  if (env) return env.split(':').filter(Boolean);
  return [join(homedir(), '.kube', 'config')];
}

export function loadKubeconfig(paths: string[]): Kubeconfig {
  const merged: Kubeconfig = { clusters: [], users: [], contexts: [] };
  let read = 0;
  for (const p of paths) {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && paths.length > 1) continue;
      throw new Error(`cannot read kubeconfig ${p}: ${(err as Error).message}`);
    }
    read++;
    let doc: Partial<Kubeconfig>;
    try {
      doc = (parseYaml(text) ?? {}) as Partial<Kubeconfig>;
    } catch (err) {
      // The YAML error's first line says what and where; the rest is a picture of the text.
      throw new Error(
        `error loading config file "${p}": ${(err as Error).message.split('\n')[0].replace(/:$/, '')}`,
      );
    }
    const dir = dirname(p);
    for (const c of doc.clusters ?? [])
      if (!merged.clusters.some((x) => x.name === c.name)) merged.clusters.push({ ...c, _dir: dir });
    for (const u of doc.users ?? [])
      if (!merged.users.some((x) => x.name === u.name))
        merged.users.push({ ...u, user: u.user ?? {}, _dir: dir });
    for (const c of doc.contexts ?? [])
      if (!merged.contexts.some((x) => x.name === c.name)) merged.contexts.push(c);
    // An empty current-context is unset, as kubectl reads it.
    merged['current-context'] ||= doc['current-context'] || undefined;
  }
  if (read === 0) throw new Error(`no kubeconfig found (looked in ${paths.join(', ')})`);
  return merged;
}

function fileOrData(dir: string, file: string | undefined, data: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(isAbsolute(file) ? file : join(dir, file));
  return undefined;
}

export interface ResolvedConfig {
  rest: RestConfig;
  /** The context's namespace, or "default". */
  namespace: string;
  context: string;
}

/** Resolves a context (the current one by default) into a client config. */
export function resolveContext(cfg: Kubeconfig, contextName?: string): ResolvedConfig {
  const name = contextName ?? cfg['current-context'];
  if (!name) throw new Error('the kubeconfig has no current-context; pass --context');
  const ctx = cfg.contexts.find((c) => c.name === name);
  if (!ctx?.context) throw new Error(`context "${name}" not found in the kubeconfig`);
  const cluster = cfg.clusters.find((c) => c.name === ctx.context.cluster);
  if (!cluster?.cluster?.server)
    throw new Error(`cluster "${ctx.context.cluster}" of context "${name}" not found or has no server`);
  const user = ctx.context.user ? cfg.users.find((u) => u.name === ctx.context.user) : undefined;
  if (ctx.context.user && !user)
    throw new Error(`user "${ctx.context.user}" of context "${name}" not found in the kubeconfig`);
  const c = cluster.cluster;
  const extra = c.extensions?.find((e) => e.name === 'nanokube.io/servers')?.extension?.servers ?? [];
  const u = user?.user ?? {};
  const udir = user?._dir ?? cluster._dir;
  const rest: RestConfig = {
    servers: [c.server, ...extra.filter((s) => s !== c.server)],
    ca: fileOrData(cluster._dir, c['certificate-authority'], c['certificate-authority-data']),
    insecureSkipTLSVerify: c['insecure-skip-tls-verify'] ?? false,
    token:
      u.token ??
      (u.tokenFile
        ? readFileSync(isAbsolute(u.tokenFile) ? u.tokenFile : join(udir, u.tokenFile), 'utf8').trim()
        : undefined),
    cert: fileOrData(udir, u['client-certificate'], u['client-certificate-data']),
    key: fileOrData(udir, u['client-key'], u['client-key-data']),
    username: u.username,
    password: u.password,
  };
  return { rest, namespace: ctx.context.namespace || 'default', context: name };
}

/** The usual way in: a kubeconfig path (or $KUBECONFIG, ~/.kube/config) and an optional context. */
export function configFromKubeconfig(opts: { kubeconfig?: string; context?: string } = {}): ResolvedConfig {
  return resolveContext(loadKubeconfig(kubeconfigPaths(opts.kubeconfig)), opts.context);
}

/** Writes the YAML of a one-context kubeconfig, as `nkctl up` and tests need. */
export function kubeconfigYaml(opts: {
  server: string;
  servers?: string[];
  name?: string;
  namespace?: string;
  token?: string;
  caData?: string;
  certData?: string;
  keyData?: string;
}): string {
  const name = opts.name ?? 'nanokube';
  const extra = (opts.servers ?? []).filter((s) => s !== opts.server);
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${opts.server}`,
    ...(opts.caData ? [`    certificate-authority-data: ${opts.caData}`] : []),
    ...(extra.length
      ? [
          '    extensions:',
          '    - name: nanokube.io/servers',
          '      extension:',
          `        servers: [${extra.join(', ')}]`,
        ]
      : []),
    'users:',
    `- name: ${name}`,
    `  user: ${opts.token || opts.certData ? '' : '{}'}`,
    ...(opts.token ? [`    token: ${opts.token}`] : []),
    ...(opts.certData
      ? [`    client-certificate-data: ${opts.certData}`, `    client-key-data: ${opts.keyData ?? ''}`]
      : []),
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    `    namespace: ${opts.namespace ?? 'default'}`,
    `current-context: ${name}`,
    '',
  ];
  return lines.join('\n');
}
