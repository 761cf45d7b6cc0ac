import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAtomic } from './atomic-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'nk-atomic-'));
  dirs.push(d);
  return d;
};
const files = (o: Record<string, [string, number]>) =>
  new Map(Object.entries(o).map(([k, [data, mode]]) => [k, { data: Buffer.from(data), mode }]));

describe('writeAtomic', () => {
  it('writes files with modes behind relative links to ..data', async () => {
    const dir = tmp();
    expect(await writeAtomic(dir, files({ a: ['1', 0o644], 'sub/b': ['2', 0o600] }))).toBe(true);
    expect(readFileSync(path.join(dir, 'a'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(dir, 'sub/b'), 'utf8')).toBe('2');
    expect(statSync(path.join(dir, 'sub/b')).mode & 0o777).toBe(0o600);
    expect(readlinkSync(path.join(dir, 'a'))).toBe('..data/a');
    expect(lstatSync(path.join(dir, '..data')).isSymbolicLink()).toBe(true);
  });

  it('changes nothing for the same content, and swaps versions on a change, dropping removed keys', async () => {
    const dir = tmp();
    await writeAtomic(dir, files({ a: ['1', 0o644], b: ['x', 0o644] }));
    const v1 = readlinkSync(path.join(dir, '..data'));
    expect(await writeAtomic(dir, files({ a: ['1', 0o644], b: ['x', 0o644] }))).toBe(false);
    expect(await writeAtomic(dir, files({ a: ['2', 0o644] }))).toBe(true);
    const v2 = readlinkSync(path.join(dir, '..data'));
    expect(v2).not.toBe(v1);
    expect(readFileSync(path.join(dir, 'a'), 'utf8')).toBe('2');
    expect((await readdir(dir)).sort()).toEqual(['..data', v2, 'a'].sort());
  });

  it('refuses paths that leave the folder', async () => {
    await expect(writeAtomic(tmp(), files({ '../x': ['1', 0o644] }))).rejects.toThrow(/invalid file path/);
  });
});
