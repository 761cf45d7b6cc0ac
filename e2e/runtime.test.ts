// The Node.js nanokube runs on: 24 where setup installed it (in .node/, when the host's
// node is older than 22), else the host's, which must be 22 or newer. npm scripts (and so
// these tests, and every component they start), the project's image and the nkctl on the
// PATH all run on that one binary.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../testing/harness.js';

const installed = path.resolve('.node/bin/node');

describe('the runtime', () => {
  it('is Node.js 22 or newer, and the one setup installed when it installed one', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
    if (existsSync(installed)) expect(realpathSync(process.execPath)).toBe(realpathSync(installed));
  });

  it('is the Node.js in the project image', async () => {
    const r = await run('docker', ['run', '--rm', '--network', 'none', 'nanokube/nanokube:1', '--version'], {
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(process.version);
  });

  it('runs the nkctl on the PATH (when it runs this checkout)', () => {
    const wrapper = '/usr/local/bin/nkctl';
    const text = existsSync(wrapper) ? readFileSync(wrapper, 'utf8') : '';
    if (!text.includes(path.resolve('dist/cli/main.js'))) return;
    const node = /^exec "([^"]+)"/m.exec(text)?.[1];
    expect(node, text).toBeDefined();
    expect(realpathSync(node as string)).toBe(realpathSync(process.execPath));
  });
});
