// Every file path the README and docs/ name in backticks (a file map row,
// "see `kubelet/pod-worker.ts`") exists in the tree, so a move or rename
// that forgets the docs fails here instead of leaving a map that lies. And
// the other way round: every production file of a component, of base/ and
// of client/ is named on its page, so a new file gets a row in the map.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { componentFolders, repoRoot } from '../testing/tree.js';

const root = repoRoot;
const codeFolders = new Set(
  readdirSync(root, { withFileTypes: true })
    .filter(
      (d) => d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules' && d.name !== 'dist',
    )
    .map((d) => d.name),
);
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** `folder/…/name.ext` in backticks, where folder is one of ours. */
const pathRe = /`((?:[\w.-]+\/)+[\w.-]+\.(?:ts|sh|md|json|yml|yaml|py|conf))`/g;

/** `name.ts` in backticks, a file of the page's own folder. */
const bareRe = /`([\w.-]+\.ts)`/g;

describe('paths named in the docs', () => {
  it('all exist', () => {
    const missing: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const m of text.matchAll(pathRe)) {
        const top = m[1].split('/')[0];
        if (!codeFolders.has(top)) continue;
        if (!existsSync(join(root, m[1]))) missing.push(`${page}: ${m[1]}`);
      }
      // A component's own page names its files bare (`pod-worker.ts`).
      const folder = page.match(/^docs\/([\w-]+)\.md$/)?.[1];
      if (folder === undefined || !codeFolders.has(folder)) continue;
      for (const m of text.matchAll(bareRe))
        if (!existsSync(join(root, folder, m[1]))) missing.push(`${page}: ${m[1]} (in ${folder}/)`);
    }
    expect([...new Set(missing)]).toEqual([]);
  });
});

/** Where each folder's files are mapped: a component's own page, the lower layers in architecture.md. */
const components = componentFolders;
const mapPage: Record<string, string> = {
  ...Object.fromEntries(components.map((c) => [c, `docs/${c}.md`])),
  base: 'docs/architecture.md',
  client: 'docs/architecture.md',
};

/** A folder's production .ts files, relative to it, subfolders included (`kinds/pods.ts`). */
function productionFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .map((f) => f.split(sep).join('/'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.split('/').includes('node_modules'))
    .sort();
}

describe('the file maps', () => {
  it('name every production file of its folder', () => {
    const unnamed: string[] = [];
    for (const [folder, page] of Object.entries(mapPage)) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const file of productionFiles(folder))
        if (!text.includes(`\`${file}\``) && !text.includes(`\`${folder}/${file}\``))
          unnamed.push(`${page}: ${folder}/${file}`);
    }
    expect(unnamed).toEqual([]);
  });
});
