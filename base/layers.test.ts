// The layering of the top-level folders (issue 24), checked over every .ts
// file: which folder may import which, and no cycle between folders. A new
// crossing fails here with its file and import; the fix is to move what is
// shared down a layer, not to add an exception.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentFolders, repoRoot } from '../testing/tree.js';

const root = repoRoot;

const components = componentFolders;
const everything = [
  'api',
  'client',
  'base',
  ...components,
  'cli',
  'lab',
  'examples',
  'testing',
  'e2e',
  'bench',
];

/** What each top-level folder may import besides itself (relative imports only). */
const mayImport: Record<string, readonly string[]> = {
  api: [],
  client: ['api'],
  base: ['api', 'client'],
  ...Object.fromEntries(components.map((c) => [c, ['api', 'client', 'base']])),
  cli: ['api', 'client', 'base'],
  lab: ['api', 'client', 'base', 'cli'],
  // Examples stand alone, as a user's code would: npm packages only.
  examples: [],
  testing: everything.filter((f) => f !== 'e2e' && f !== 'bench'),
  e2e: everything.filter((f) => f !== 'bench'),
  bench: everything.filter((f) => f !== 'e2e'),
};

/** Folders that hold no TypeScript of ours. */
const notCode = new Set(['node_modules', 'dist', 'docs', 'deploy']);

/**
 * Crossings that other parts of issue 24 are removing, each named by the
 * importing file and the imported module. They are here so that this
 * check is on today; the lead empties this list as those branches merge.
 * An entry that no longer occurs fails the check too, so none lingers.
 */
const pendingCrossings: { file: string; imports: string; why: string }[] = [];

interface Crossing {
  file: string;
  imports: string;
  from: string;
  to: string;
}

function tsFiles(): string[] {
  const out: string[] = [];
  for (const top of readdirSync(root, { withFileTypes: true })) {
    if (!top.isDirectory() || top.name.startsWith('.') || notCode.has(top.name)) continue;
    for (const f of readdirSync(join(root, top.name), { recursive: true, encoding: 'utf8' }))
      if (f.endsWith('.ts') && !f.split(sep).includes('node_modules')) out.push(join(top.name, f));
  }
  return out;
}

const importRe = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Every relative import that leaves its top-level folder. */
function crossings(): Crossing[] {
  const out: Crossing[] = [];
  for (const file of tsFiles()) {
    const from = file.split(sep)[0];
    const text = readFileSync(join(root, file), 'utf8');
    for (const m of text.matchAll(importRe)) {
      const target = normalize(join(dirname(file), m[1]));
      const to = target.split(sep)[0];
      if (to === from || to === '..') continue;
      out.push({
        file: file.split(sep).join('/'),
        imports: relative('.', target).split(sep).join('/').replace(/\.js$/, '.ts'),
        from,
        to,
      });
    }
  }
  return out;
}

const all = crossings();
const isTest = (file: string) => file.endsWith('.test.ts');
/** A unit test beside the code may also use the test support in testing/. */
const allowed = (c: Crossing) =>
  (mayImport[c.from] ?? []).includes(c.to) || (isTest(c.file) && c.to === 'testing');
const isPending = (c: Crossing) => pendingCrossings.some((p) => p.file === c.file && p.imports === c.imports);

describe('the folder layering', () => {
  it('has a rule for every top-level folder with code', () => {
    const folders = [...new Set(tsFiles().map((f) => f.split(sep)[0]))];
    expect(folders.filter((f) => !(f in mayImport))).toEqual([]);
  });

  it('has no import that breaks the layering', () => {
    const broken = all
      .filter((c) => !allowed(c) && !isPending(c))
      .map((c) => `${c.file} imports ${c.imports} (${c.from} may import ${mayImport[c.from]?.join(', ')})`);
    expect(broken).toEqual([]);
  });

  it('lists no pending crossing that is gone', () => {
    const gone = pendingCrossings
      .filter((p) => !all.some((c) => c.file === p.file && c.imports === p.imports))
      .map((p) => `${p.file} -> ${p.imports}`);
    expect(gone).toEqual([]);
  });

  it('has no cycle between folders', () => {
    const edges = new Map<string, Set<string>>();
    // Tests are leaves: nothing imports them, so they close no cycle.
    for (const c of all.filter((c) => !isTest(c.file)))
      edges.set(c.from, (edges.get(c.from) ?? new Set()).add(c.to));
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
        return;
      }
      state.set(f, 'open');
      for (const t of edges.get(f) ?? []) visit(t, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of edges.keys()) visit(f, []);
    expect(cycles).toEqual([]);
  });
});
