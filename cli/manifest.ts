/**
 * Reading manifests for `-f`: files, folders (their .yaml, .yml and .json
 * files, sorted), `-` for stdin; several YAML documents per file; `List`
 * kinds unrolled. Each object comes back with where it came from.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { CliError } from './context.js';

export interface Manifest {
  obj: KubeObject;
  source: string;
}

function filesOf(path: string, recursive: boolean): string[] {
  if (path === '-') return ['-'];
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`the path "${path}" does not exist`);
  }
  if (!st.isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((f) => {
      const p = join(path, f);
      if (statSync(p).isDirectory()) return recursive ? filesOf(p, true) : [];
      return /\.(ya?ml|json)$/.test(f) ? [p] : [];
    });
}

export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new CliError(`error parsing ${source}: ${doc.errors[0].message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value))
      throw new CliError(`error parsing ${source}: a document is not an object`);
    const obj = value as KubeObject & { items?: KubeObject[] };
    if (typeof obj.kind === 'string' && obj.kind.endsWith('List') && Array.isArray(obj.items)) {
      for (const item of obj.items) out.push({ obj: item, source });
      continue;
    }
    if (!obj.kind || !obj.apiVersion)
      throw new CliError(`error validating ${source}: apiVersion and kind must be set`);
    obj.metadata ??= {};
    out.push({ obj, source });
  }
  return out;
}

export function readManifests(
  paths: string[],
  opts: { recursive?: boolean; stdin?: () => string } = {},
): Manifest[] {
  const readStdin = opts.stdin ?? (() => readFileSync(0, 'utf8'));
  return paths
    .flatMap((p) => filesOf(p, opts.recursive ?? false))
    .flatMap((f) =>
      parseManifests(f === '-' ? readStdin() : readFileSync(f, 'utf8'), f === '-' ? 'STDIN' : f),
    );
}
