// nkctl up/down/status and get against a one-host cluster it starts itself,
// with its own home folder and free ports so it never meets another cluster.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, freePorts, kubectl, makeTempDir, run } from './harness.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let env: NodeJS.ProcessEnv;
let home: string;
let kubeconfig: string;

const nkctl = (args: string[]) => run(process.execPath, [nkctlJs, ...args], { env, timeoutMs: 90_000 });

beforeAll(async () => {
  const dir = makeTempDir('nkctl-e2e-');
  home = path.join(dir, 'home');
  kubeconfig = path.join(dir, 'kubeconfig');
  const [etcdPort, , apiPort, cmPort] = await freePorts(4);
  env = {
    NANOKUBE_HOME: home,
    NANOKUBE_ETCD_PORT: String(etcdPort),
    NANOKUBE_API_PORT: String(apiPort),
    NANOKUBE_CONTROLLER_MANAGER_PORT: String(cmPort),
    KUBECONFIG: kubeconfig,
  };
});

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
});

describe('nkctl', () => {
  it('up starts the cluster and writes a kubeconfig that kubectl can use', async () => {
    const r = await nkctl(['up']);
    expect(r.stderr + r.stdout).toContain('nanokube is up');
    expect(r.code).toBe(0);
    expect(existsSync(kubeconfig)).toBe(true);
    const k = await kubectl(['get', 'ns', '-o', 'name'], { kubeconfig });
    expect(k.stdout.split('\n')).toContain('namespace/kube-system');
  });

  it('up a second time says it is up and starts nothing', async () => {
    const r = await nkctl(['up']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('already up');
    expect(r.stderr).not.toContain('starting');
  });

  it('status shows every component healthy', async () => {
    const r = await nkctl(['status']);
    expect(r.code).toBe(0);
    for (const c of ['etcd', 'apiserver', 'controller-manager'])
      expect(r.stdout).toMatch(new RegExp(`^${c}\\s+\\d+\\s+healthy`, 'm'));
  });

  it('get prints kubectl-like tables, names and yaml', async () => {
    const t = await nkctl(['get', 'ns']);
    expect(t.code).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
    expect(t.stdout).toMatch(/^kube-system\s+Active\s+\S+$/m);
    const n = await nkctl(['get', 'ns', '-o', 'name']);
    expect(n.stdout).toContain('namespace/default\n');
    const y = await nkctl(['get', 'ns', 'default', '-o', 'yaml']);
    expect(y.stdout).toMatch(/^kind: Namespace$/m);
  });

  it.each([
    {
      name: 'not found',
      args: ['get', 'configmaps', 'nope'],
      line: 'Error from server (NotFound): configmaps "nope" not found',
    },
    {
      name: 'unknown type',
      args: ['get', 'bogus'],
      line: 'error: the server doesn\'t have a resource type "bogus"',
    },
  ])('an error ($name) is one line and exit 1', async ({ args, line }) => {
    const r = await nkctl(args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(line);
  });

  it('down stops everything, then nkctl cannot connect (one line), twice is safe, and --purge removes the data', async () => {
    const d = await nkctl(['down']);
    expect(d.code).toBe(0);
    expect(d.stdout).toContain('stopped apiserver');
    const s = await nkctl(['status']);
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/^apiserver\s+-\s+stopped/m);
    const c = await nkctl(['get', 'pods']);
    expect(c.code).toBe(1);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/^error: cannot connect to the apiserver/);
    const again = await nkctl(['down']);
    expect(again.stdout).toContain('not running');
    const p = await nkctl(['down', '--purge']);
    expect(p.code).toBe(0);
    expect(existsSync(home)).toBe(false);
  });
});
