/**
 * Writes a set of files into a volume folder so that a container sees
 * either the old set or the new one, never a mix (Kubernetes' AtomicWriter):
 *
 *   dir/..2026_11_23_05_14_20.123456/   the files of one version
 *   dir/..data -> ..2026_...            swapped by rename(2), atomically
 *   dir/<key>  -> ..data/<key>          one relative link per top-level name
 *
 * The links are relative, so they resolve inside the container too. A
 * write whose files equal what is there changes nothing.
 */
import { randomBytes } from 'node:crypto';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';

export interface FileSpec {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

const dataLink = '..data';

function checkPath(p: string): void {
  if (!p || path.isAbsolute(p) || p.split('/').some((s) => s === '..' || s === '') || p.startsWith('..'))
    throw new Error(`invalid file path "${p}" in a volume`);
}

/** True when `dir/..data` already holds exactly `files`. */
async function unchanged(dir: string, files: Map<string, FileSpec>): Promise<boolean> {
  let current: string;
  try {
    current = await readlink(path.join(dir, dataLink));
  } catch {
    return false;
  }
  const base = path.join(dir, current);
  const have = await listFiles(base).catch(() => undefined);
  if (!have || have.length !== files.size) return false;
  for (const [rel, spec] of files) {
    try {
      const p = path.join(base, rel);
      const [data, st] = await Promise.all([readFile(p), stat(p)]);
      if (!data.equals(spec.data) || (st.mode & 0o777) !== spec.mode) return false;
    } catch {
      return false;
    }
  }
  return true;
}

async function listFiles(base: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(base, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(base, rel)));
    else out.push(rel);
  }
  return out;
}

/** Makes `dir` hold exactly `files` (paths relative, may contain folders). Returns true if it changed. */
export async function writeAtomic(dir: string, files: Map<string, FileSpec>): Promise<boolean> {
  for (const rel of files.keys()) checkPath(rel);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  if (await unchanged(dir, files)) return false;
  const stamp = new Date().toISOString().replace(/[-:T]/g, '_').replace(/\..*/, '');
  const version = `..${stamp}.${randomBytes(4).toString('hex')}`;
  const base = path.join(dir, version);
  for (const [rel, spec] of files) {
    const p = path.join(base, rel);
    await mkdir(path.dirname(p), { recursive: true, mode: 0o755 });
    await writeFile(p, spec.data);
    await chmod(p, spec.mode);
  }
  let old: string | undefined;
  try {
    old = await readlink(path.join(dir, dataLink));
  } catch {
    old = undefined;
  }
  const tmp = path.join(dir, `${dataLink}_tmp`);
  await rm(tmp, { force: true });
  await symlink(version, tmp);
  await rename(tmp, path.join(dir, dataLink));
  // Top-level links: add the new names, drop the names no longer there.
  const top = new Set([...files.keys()].map((rel) => rel.split('/')[0]));
  for (const name of top) {
    const link = path.join(dir, name);
    const st = await lstat(link).catch(() => undefined);
    if (!st) await symlink(path.join(dataLink, name), link);
  }
  for (const name of await readdir(dir)) {
    if (name.startsWith('..') || top.has(name)) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
  }
  if (old && old !== version) await rm(path.join(dir, old), { recursive: true, force: true });
  return true;
}
