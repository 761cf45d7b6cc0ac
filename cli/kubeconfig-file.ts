/**
 * Merging a context into a kubeconfig file, as kind and minikube do: the
 * cluster, user and context of that name are replaced, everything else kept,
 * and current-context set to it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';

interface Doc {
  clusters?: { name: string }[];
  users?: { name: string }[];
  contexts?: { name: string }[];
  [k: string]: unknown;
}

export function defaultKubeconfigPath(): string {
  const env = process.env.KUBECONFIG?.split(':').filter(Boolean)[0];
  return env ?? join(process.env.HOME ?? '/root', '.kube', 'config');
}

/** Writes `yamlText`'s entries (all named `name`) into `file`; returns the path written. */
export function mergeKubeconfig(file: string | undefined, yamlText: string, name: string): string {
  const path = file ?? defaultKubeconfigPath();
  const add = parse(yamlText) as Doc;
  const doc: Doc = existsSync(path) ? ((parse(readFileSync(path, 'utf8')) as Doc | null) ?? {}) : {};
  doc.apiVersion ??= 'v1';
  doc.kind ??= 'Config';
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    doc[key] = [...(doc[key] ?? []).filter((e) => e.name !== name), ...(add[key] ?? [])];
  }
  doc['current-context'] = name;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, stringify(doc), { mode: 0o600 });
  return path;
}

/** Removes the entries named `name`; returns whether the file changed. */
export function removeFromKubeconfig(file: string | undefined, name: string): boolean {
  const path = file ?? defaultKubeconfigPath();
  if (!existsSync(path)) return false;
  const doc = (parse(readFileSync(path, 'utf8')) as Doc | null) ?? {};
  let changed = false;
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const before = doc[key]?.length ?? 0;
    doc[key] = (doc[key] ?? []).filter((e) => e.name !== name);
    changed ||= doc[key]!.length !== before;
  }
  if (doc['current-context'] === name) {
    doc['current-context'] = '';
    changed = true;
  }
  if (changed) writeFileSync(path, stringify(doc), { mode: 0o600 });
  return changed;
}
