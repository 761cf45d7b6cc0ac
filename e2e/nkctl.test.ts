// nkctl up/down/status and get against a one-host cluster it starts itself,
// with its own home folder and free ports so it never meets another cluster.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, kubectl, makeTempDir, run, waitFor } from '../testing/harness.js';
import { nkctlEnv, nodeContainers, removeNodeContainers, testNodeName } from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let env: NodeJS.ProcessEnv;
let home: string;
let kubeconfig: string;
let node: string;

const nkctl = (args: string[]) => run(process.execPath, [nkctlJs, ...args], { env, timeoutMs: 90_000 });

beforeAll(async () => {
  node = testNodeName('nkctl');
  ({ env, home, kubeconfig } = await nkctlEnv({ prefix: 'nkctl-e2e-', node }));
});

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
  await removeNodeContainers(node);
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

  it('up runs this host as a node: Ready, with cluster DNS running as a workload, and runs an app', async () => {
    const nodes = await kubectl(['get', 'nodes', '--no-headers'], { kubeconfig });
    expect(nodes.stdout).toMatch(new RegExp(`^${node}\\s+Ready`, 'm'));
    const dns = await kubectl(
      ['get', 'deploy', '-n', 'kube-system', 'nk-dns', '-o', 'jsonpath={.status.availableReplicas}'],
      {
        kubeconfig,
      },
    );
    expect(dns.stdout).toBe('1');
    const svc = await kubectl(
      ['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'jsonpath={.spec.clusterIP}'],
      {
        kubeconfig,
      },
    );
    expect(svc.stdout).toBe('10.96.0.10');
    const app = await kubectl(
      [
        'create',
        'deployment',
        'hello',
        '--image=nanokube/busybox:1',
        '--',
        'sh',
        '-c',
        'echo hello from nanokube; exec sleep 3600',
      ],
      { kubeconfig },
    );
    expect(app.code, app.stderr).toBe(0);
    const rolled = await kubectl(['rollout', 'status', 'deployment/hello', '--timeout=60s'], {
      kubeconfig,
      timeoutMs: 70_000,
    });
    expect(rolled.code, rolled.stderr).toBe(0);
    const logs = await kubectl(['logs', 'deployment/hello'], { kubeconfig });
    expect(logs.stdout).toBe('hello from nanokube\n');
  });

  it('up a second time says it is up and starts nothing', async () => {
    const r = await nkctl(['up']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout, r.stderr).toContain('already up');
    expect(r.stderr).not.toContain('starting');
  });

  it('status shows every component healthy', async () => {
    const r = await nkctl(['status']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^COMPONENT\s+PID\s+STATUS\s+RESTARTS\s+LAST EXIT\s+HEALTH$/);
    for (const c of ['etcd', 'apiserver', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy'])
      expect(r.stdout).toMatch(new RegExp(`^${c}\\s+\\d+\\s+healthy\\s+0\\s+-\\s`, 'm'));
    expect(r.stdout).toMatch(/^supervisor\s+\d+\s+running\s/m);
  });

  it('restarts a component killed with SIGKILL: the supervisor brings it back, healthy, and status counts it', async () => {
    const pidFile = path.join(home, 'run', 'scheduler.pid');
    const before = Number(readFileSync(pidFile, 'utf8'));
    process.kill(before, 'SIGKILL');
    const started = Date.now();
    await waitFor(async () => (await nkctl(['status'])).code === 0, {
      timeoutMs: 30_000,
      what: 'status all healthy',
    });
    const s = await nkctl(['status']);
    expect(s.stdout).toMatch(/^scheduler\s+\d+\s+healthy\s+1\s+unknown \(\d+s ago\)\s/m);
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(before);
    // Now its child: the supervisor knows how the next one ended.
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    await waitFor(
      async () => /^scheduler\s+\d+\s+healthy\s+2\s+SIGKILL/m.test((await nkctl(['status'])).stdout),
      {
        timeoutMs: 30_000,
        what: 'the second restart',
      },
    );
    expect(Date.now() - started).toBeLessThan(60_000);
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

  it('create -f from stdin, label, annotate, scale, delete', async () => {
    const manifest = [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nk1, labels: {app: demo}}\ndata: {a: "1"}',
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: nk2, labels: {app: demo}}',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: c, image: "nanokube/busybox:1", command: [sleep, "3600"]}]}',
    ].join('\n---\n');
    const c = await run(process.execPath, [nkctlJs, 'create', '-f', '-'], { env, input: manifest });
    expect(c.stdout).toBe('configmap/nk1 created\nconfigmap/nk2 created\ndeployment.apps/web created\n');
    const again = await run(process.execPath, [nkctlJs, 'create', '-f', '-'], { env, input: manifest });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error from server (AlreadyExists): configmaps "nk1" already exists');

    expect((await nkctl(['label', 'configmap', 'nk1', 'tier=web'])).stdout).toBe('configmap/nk1 labeled\n');
    const refused = await nkctl(['label', 'cm', 'nk1', 'tier=db']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toBe("error: 'tier' already has a value (web), and --overwrite is false");
    expect((await nkctl(['label', 'cm/nk1', 'tier=db', '--overwrite'])).code).toBe(0);
    expect((await nkctl(['annotate', 'cm', 'nk1', 'note=hi'])).stdout).toBe('configmap/nk1 annotated\n');
    expect((await nkctl(['label', 'cm', 'nk1', 'tier-'])).code).toBe(0);
    const shown = JSON.parse((await nkctl(['get', 'cm', 'nk1', '-o', 'json'])).stdout);
    expect(shown.metadata.labels).toEqual({ app: 'demo' });
    expect(shown.metadata.annotations).toEqual({ note: 'hi' });

    expect((await nkctl(['scale', 'deployment/web', '--replicas', '3'])).stdout).toBe(
      'deployment.apps/web scaled\n',
    );
    expect(JSON.parse((await nkctl(['get', 'deploy', 'web', '-o', 'json'])).stdout).spec.replicas).toBe(3);

    expect((await nkctl(['delete', 'cm', 'nk1'])).stdout).toBe('configmap "nk1" deleted\n');
    const gone = await nkctl(['get', 'cm', 'nk1']);
    expect(gone.stderr.trim()).toBe('Error from server (NotFound): configmaps "nk1" not found');
    expect((await nkctl(['delete', 'cm', '-l', 'app=demo'])).stdout).toBe('configmap "nk2" deleted\n');
    const missing = await nkctl(['delete', 'cm', 'nk2']);
    expect(missing.code).toBe(1);
    expect((await nkctl(['delete', 'cm', 'nk2', '--ignore-not-found'])).code).toBe(0);
  });

  it('api-resources lists what discovery offers', async () => {
    const r = await nkctl(['api-resources']);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/);
    expect(r.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(r.stdout).toMatch(/^nodes\s+no\s+v1\s+false\s+Node$/m);
  });

  it('describe shows metadata, fields and the Events about the object', async () => {
    const cm = await run(process.execPath, [nkctlJs, 'create', '-f', '-'], {
      env,
      input:
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: described, labels: {app: d}}\ndata: {greeting: hello}',
    });
    expect(cm.code).toBe(0);
    const got = JSON.parse((await nkctl(['get', 'cm', 'described', '-o', 'json'])).stdout);
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'described.1' },
      involvedObject: { kind: 'ConfigMap', namespace: 'default', name: 'described', uid: got.metadata.uid },
      reason: 'Checked',
      message: 'looked at it',
      type: 'Normal',
      count: 2,
      source: { component: 'tester' },
      firstTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      lastTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    expect(
      (await run(process.execPath, [nkctlJs, 'create', '-f', '-'], { env, input: JSON.stringify(event) }))
        .code,
    ).toBe(0);
    const d = await nkctl(['describe', 'cm', 'described']);
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^Name:\s+described$/m);
    expect(d.stdout).toMatch(/^Labels:\s+app=d$/m);
    expect(d.stdout).toMatch(/^\s+Greeting:\s+hello$/m);
    expect(d.stdout).toMatch(/^\s+Normal\s+Checked\s+\S+ \(x2\)\s+tester\s+looked at it$/m);
  });

  it('config lists and switches contexts', async () => {
    const g = await nkctl(['config', 'get-contexts']);
    expect(g.stdout).toMatch(/^\*\s+nanokube\s+nanokube\s+nanokube\s+default$/m);
    expect((await nkctl(['config', 'current-context'])).stdout).toBe('nanokube\n');
    expect((await nkctl(['config', 'use-context', 'nanokube'])).stdout).toBe(
      'Switched to context "nanokube".\n',
    );
    const bad = await nkctl(['config', 'use-context', 'nope']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe('error: no context exists with the name: "nope"');
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

  it('snapshot save, delete a namespace, snapshot restore: the namespace and its Deployment are back and running', async () => {
    const file = path.join(makeTempDir('nkctl-snap-'), 'cluster.db');
    const k = (args: string[], timeoutMs = 30_000) => kubectl(args, { kubeconfig, timeoutMs });
    expect((await k(['create', 'namespace', 'snap'])).code).toBe(0);
    const d = await k([
      '-n',
      'snap',
      'create',
      'deployment',
      'keep',
      '--image=nanokube/busybox:1',
      '--',
      'sleep',
      '3600',
    ]);
    expect(d.code, d.stderr).toBe(0);
    const rolled = await k(['-n', 'snap', 'rollout', 'status', 'deployment/keep', '--timeout=60s'], 70_000);
    expect(rolled.code, rolled.stderr).toBe(0);

    const saved = await nkctl(['snapshot', 'save', file]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toMatch(/^Snapshot saved at .*cluster\.db \(revision \d+, \d+ keys, \d+ bytes\)$/m);

    expect((await k(['delete', 'namespace', 'snap', '--timeout=60s'], 70_000)).code).toBe(0);
    expect((await k(['get', 'namespace', 'snap'])).stderr).toContain('NotFound');

    // A file that is not a snapshot is refused before anything stops.
    const bad = await nkctl(['snapshot', 'restore', path.join(path.dirname(file), 'missing.db')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect((await nkctl(['status'])).code).toBe(0);

    const restored = await run(process.execPath, [nkctlJs, 'snapshot', 'restore', file], {
      env,
      timeoutMs: 240_000,
    });
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toContain(`restored ${file}`);
    expect((await k(['get', 'namespace', 'snap', '-o', 'name'])).stdout.trim()).toBe('namespace/snap');
    // Running for real: the restored status says Available from before, so exec into a live container.
    await waitFor(async () => (await k(['-n', 'snap', 'exec', 'deploy/keep', '--', 'true'])).code === 0, {
      timeoutMs: 120_000,
      what: 'the restored Deployment to run a container',
    });
    const rolledAgain = await k(
      ['-n', 'snap', 'rollout', 'status', 'deployment/keep', '--timeout=60s'],
      70_000,
    );
    expect(rolledAgain.code, rolledAgain.stderr).toBe(0);
  }, 400_000);

  it('down stops everything, then nkctl cannot connect (one line), twice is safe, and --purge removes the data', async () => {
    const d = await nkctl(['down']);
    expect(d.code).toBe(0);
    expect(d.stdout.split('\n')[0]).toBe('stopped the supervisor');
    expect(d.stdout).toContain('stopped apiserver');
    expect(d.stdout).toContain('stopped kubelet');
    expect(d.stdout).toMatch(/removed \d+ pod containers?/);
    expect(await nodeContainers(node)).toEqual([]);
    expect((await run('iptables-save', [])).stdout).not.toContain('KUBE-');
    const s = await nkctl(['status']);
    expect(s.code).toBe(1);
    expect(s.stdout).toMatch(/^apiserver\s+-\s+stopped/m);
    const c = await nkctl(['get', 'pods']);
    expect(c.code).toBe(1);
    expect(c.stderr.trim().split('\n')).toHaveLength(1);
    expect(c.stderr).toMatch(/^error: cannot connect to the apiserver/);
    const again = await nkctl(['down']);
    expect(again.stdout).toContain('not running');

    // up after down: the data was kept, and the app from before runs again.
    const upAgain = await nkctl(['up']);
    expect(upAgain.code, upAgain.stderr).toBe(0);
    expect(upAgain.stdout).toContain('nanokube is up');
    await waitFor(
      async () => (await kubectl(['exec', 'deploy/hello', '--', 'true'], { kubeconfig })).code === 0,
      { timeoutMs: 120_000, what: 'the app to run again after down and up' },
    );

    const p = await nkctl(['down', '--purge']);
    expect(p.code).toBe(0);
    expect(existsSync(home)).toBe(false);
  }, 300_000);
});
