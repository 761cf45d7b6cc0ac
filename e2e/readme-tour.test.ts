// The README as a user meets it: after `nkctl down --purge`, the README's
// first command brings the cluster up, and the tour block (the sh block
// after `<!-- tour -->`) runs as written, in bash with -e, and prints what
// the README says it prints. The cluster gets a home folder, kubeconfig and
// free ports of its own (settings the README names; the tour does not
// mention them), and the default pod range the tour's curl addresses.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, run } from '../testing/harness.js';
import { docker, nkctlEnv } from '../testing/kubelet-helpers.js';

const readme = readFileSync(path.resolve('README.md'), 'utf8');
let env: NodeJS.ProcessEnv;

/** The first line of the README's first code block: the command that brings the cluster up. */
function firstCommand(text: string): string {
  const block = /```sh\n([\s\S]*?)```/.exec(text);
  if (!block) throw new Error('the README has no sh block');
  return block[1]
    .split('\n')[0]
    .replace(/\s+#.*$/, '')
    .trim();
}

/** The sh block after the `<!-- tour -->` marker. */
function tourBlock(text: string): string {
  const m = /<!-- tour -->\n```sh\n([\s\S]*?)```/.exec(text);
  if (!m) throw new Error('the README has no <!-- tour --> block');
  return m[1];
}

// Before the README's first command nkctl may not be on the PATH yet: this checkout's build.
const nkctl = (args: string[]) =>
  run(process.execPath, [path.resolve('dist/cli/main.js'), ...args], { env, timeoutMs: 120_000 });

beforeAll(async () => {
  const nets = await docker.listNetworks();
  const taken = nets.find((n) => n.IPAM?.Config?.some((c) => c.Subnet === '10.244.1.0/24'));
  if (taken)
    throw new Error(
      `10.244.1.0/24 is taken by Docker network ${taken.Name}: a cluster runs here (nkctl down)`,
    );
  env = { ...process.env, ...(await nkctlEnv({ prefix: 'readme-tour-' })).env };
});

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
});

describe('the README', () => {
  it('first command brings a cluster up on a machine where nkctl down --purge ran', async () => {
    expect(firstCommand(readme)).toBe('bash deploy/up.sh');
    expect((await nkctl(['down', '--purge'])).code).toBe(0);
    const up = await run('bash', ['-c', firstCommand(readme)], { env, timeoutMs: 400_000 });
    expect(up.code, up.stderr + up.stdout).toBe(0);
    expect(up.stdout).toContain('nanokube is up');
  }, 420_000);

  it('tour runs as written', async () => {
    const tour = await run('bash', ['-euo', 'pipefail', '-c', tourBlock(readme)], {
      env,
      timeoutMs: 400_000,
    });
    expect(tour.code, `${tour.stdout}\n${tour.stderr}`).toBe(0);
    expect(tour.stdout).toMatch(/^hello from web-[a-z0-9]+-[a-z0-9]+$/m);
    expect(tour.stdout).toMatch(/deployment\.apps\/web (created|configured)/);
    expect(tour.stdout).toContain('deployment "web" successfully rolled out');
    expect(tour.stdout).toMatch(/^\[pod\/web-\S+\/web\] hello from web-/m);
    expect(tour.stdout).toContain('deployment.apps/web scaled');
    expect(tour.stdout).toMatch(/^REVISION\s+CHANGE-CAUSE$/m);
    expect(tour.stdout).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)$/m);
    expect(tour.stdout).toContain('deployment.apps "web" deleted');
  }, 420_000);
});
