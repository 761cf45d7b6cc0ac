/**
 * nkctl's node verbs and top on a real cluster: etcd, apiserver, every
 * controller, the scheduler, a kubelet on Docker (node N, with a static pod)
 * and one hollow node H (no kubelet server, so top cannot read it).
 *
 * cordon keeps the scheduler off H, so a Deployment lands on N; top reads
 * N's Summary API through the apiserver and shows a CPU-bound pod (limited
 * to 200m) as it is; drain refuses, with kubectl's words, while N runs a
 * DaemonSet pod, a bare pod and emptyDir data, and with the flags evicts
 * the rest through the eviction API, waits until they are gone, leaves the
 * DaemonSet and mirror pods alone, and the Deployment's pods come back on H.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeTempDir,
  run,
  startControllerManager,
  startHollowNodes,
  startScheduler,
  waitFor,
} from '../testing/harness.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

const nkctlJs = path.resolve('dist/cli/main.js');
const manifests = makeTempDir('nkctl-nodes-static-');
let k: KubeletCluster;
let hollow: string;

const nkctl = (args: string[], timeoutMs = 30_000) =>
  run(process.execPath, [nkctlJs, '--kubeconfig', k.kubeconfig, ...args], { timeoutMs });

const podsPath = '/api/v1/namespaces/default/pods';
const livePods = async (selector = '') =>
  ((await k.client.get(`${podsPath}?labelSelector=${encodeURIComponent(selector)}`)).body.items ?? []).filter(
    (p: any) => !p.metadata.deletionTimestamp,
  );
const onNode = (pods: any[], node: string) => pods.filter((p) => p.spec.nodeName === node);

async function create(collection: string, obj: object) {
  const res = await k.client.post(collection, obj);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const sleeper = (app: string, extra: object = {}) => ({
  metadata: { labels: { app } },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [{ name: 'app', image: busybox, command: ['sleep', '3600'] }],
    ...extra,
  },
});

/** Parses `kubectl top`-style rows into cells, header first. */
const rows = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/\s{2,}/));

beforeAll(async () => {
  writeFileSync(
    path.join(manifests, 'static.yaml'),
    `apiVersion: v1\nkind: Pod\nmetadata: {name: static, namespace: kube-system}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: app, image: ${busybox}, command: [sleep, "3600"]}]\n`,
  );
  k = await KubeletCluster.start('nkn', ['--pod-manifest-path', manifests]);
  await startControllerManager({ apiserverUrl: k.apiserverUrl });
  await startScheduler({ apiserverUrl: k.apiserverUrl });
  const h = await startHollowNodes({ apiserverUrl: k.apiserverUrl, prefix: `${k.node}-hollow-` });
  hollow = h.names[0];
}, 90_000);

afterAll(async () => {
  for (const p of [
    '/apis/apps/v1/namespaces/default/deployments',
    '/apis/apps/v1/namespaces/default/daemonsets',
  ])
    await k?.client.del(`${p}?propagationPolicy=Background`).catch(() => undefined);
  rmSync(path.join(manifests, 'static.yaml'), { force: true });
  await k?.stop();
}, 90_000);

describe('nkctl cordon, top and drain', () => {
  it('cordon marks a node unschedulable, twice is safe, and the scheduler keeps new pods off it', async () => {
    const c = await nkctl(['cordon', hollow]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toBe(`node/${hollow} cordoned\n`);
    expect((await nkctl(['cordon', hollow])).stdout).toBe(`node/${hollow} already cordoned\n`);
    expect((await k.client.get(`/api/v1/nodes/${hollow}`)).body.spec.unschedulable).toBe(true);

    await create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: sleeper('web') },
    });
    await create('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'cache' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'cache' } },
        template: sleeper('cache', { volumes: [{ name: 'scratch', emptyDir: {} }] }),
      },
    });
    await create('/apis/apps/v1/namespaces/default/daemonsets', {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: sleeper('agent') },
    });
    // A bare pod, busy: a CPU-bound loop held to 200m, and 24 MiB in /dev/shm, which counts as memory.
    await k.createPod('busy', {
      containers: [
        {
          name: 'burn',
          image: busybox,
          command: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=24 && while :; do :; done'],
          resources: { limits: { cpu: '200m' } },
        },
      ],
    });
    const pods = await waitFor(
      async () => {
        const all = await livePods();
        return all.length === 6 && all.every(running) && all;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'web x2, cache, agent x2 and busy running' },
    );
    expect(
      onNode(pods, k.node)
        .map((p: any) => p.metadata.labels?.app ?? p.metadata.name)
        .sort(),
    ).toEqual(['agent', 'busy', 'cache', 'web', 'web']);
    expect(onNode(pods, hollow).map((p: any) => p.metadata.labels.app)).toEqual(['agent']);

    const u = await nkctl(['uncordon', hollow]);
    expect(u.stdout).toBe(`node/${hollow} uncordoned\n`);
    expect((await nkctl(['uncordon', hollow])).stdout).toBe(`node/${hollow} already uncordoned\n`);
    expect((await k.client.get(`/api/v1/nodes/${hollow}`)).body.spec.unschedulable).toBeUndefined();
  }, 150_000);

  it('top pods shows the busy pod at its CPU limit and its memory, per pod, per container and by label', async () => {
    // The first readings of a new container may predate the loop: wait for the steady figure.
    const table = await waitFor(
      async () => {
        const r = await nkctl(['top', 'pods']);
        const busy = rows(r.stdout).find((cells) => cells[0] === 'busy');
        return r.code === 0 && busy && Number.parseInt(busy[1], 10) >= 120 && rows(r.stdout);
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'top pods to show busy near 200m' },
    );
    expect(table[0]).toEqual(['NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    // The pods N's kubelet runs, by name: agent (N's), busy, cache, web x2.
    const names = table.slice(1).map((c) => c[0]);
    expect(names).toEqual([...names].sort());
    expect(names.map((n) => n.replace(/-[\w-]+$/, ''))).toEqual(['agent', 'busy', 'cache', 'web', 'web']);
    const busy = table.find((c) => c[0] === 'busy')!;
    expect(Number.parseInt(busy[1], 10)).toBeLessThanOrEqual(240); // the CFS quota holds it at 200m
    expect(busy[2]).toMatch(/^\d+Mi$/);
    expect(Number.parseInt(busy[2], 10)).toBeGreaterThanOrEqual(24);

    const c = await nkctl(['top', 'pods', 'busy', '--containers']);
    expect(rows(c.stdout)[0]).toEqual(['POD', 'NAME', 'CPU(cores)', 'MEMORY(bytes)']);
    expect(rows(c.stdout)[1].slice(0, 2)).toEqual(['busy', 'burn']);

    const byLabel = await nkctl(['top', 'pods', '-A', '-l', 'app=web', '--no-headers']);
    expect(rows(byLabel.stdout).map((r) => r.slice(0, 1))).toEqual([['default'], ['default']]);
    expect(rows(byLabel.stdout).every((r) => r[1].startsWith('web-') && /^\d+m$/.test(r[2]))).toBe(true);

    // The agent pod on H has no figures: H's kubelet cannot be reached, and top says so.
    const agents = await nkctl(['top', 'pods', '-l', 'app=agent']);
    expect(agents.code).toBe(0);
    expect(rows(agents.stdout)).toHaveLength(2);
    expect(agents.stderr).toMatch(
      new RegExp(
        `^Warning: metrics not available for node "${hollow}": cannot reach its kubelet: .*ECONNREFUSED.*\\n$`,
      ),
    );
  }, 90_000);

  it('top nodes shows N from its Summary, with percents of allocatable, and H as <unknown> with one warning', async () => {
    const r = await nkctl(['top', 'nodes']);
    expect(r.code, r.stderr).toBe(0);
    const table = rows(r.stdout);
    expect(table[0]).toEqual(['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)']);
    const [name, cpu, cpuPct, mem, memPct] = table.find((c) => c[0] === k.node)!;
    expect(name).toBe(k.node);
    expect(cpu).toMatch(/^\d+m$/);
    expect(Number.parseInt(cpu, 10)).toBeGreaterThanOrEqual(100); // busy alone burns about 200m
    const node = (await k.client.get(`/api/v1/nodes/${k.node}`)).body;
    const alloc: string = node.status.allocatable.cpu;
    const allocMilli = alloc.endsWith('m') ? Number.parseInt(alloc, 10) : Number(alloc) * 1000;
    expect(cpuPct).toBe(`${Math.trunc((Number.parseInt(cpu, 10) / allocMilli) * 100)}%`);
    expect(mem).toMatch(/^\d+Mi$/);
    expect(memPct).toMatch(/^\d+%$/);
    expect(table.find((c) => c[0] === hollow)).toEqual([
      hollow,
      '<unknown>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ]);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^Warning: metrics not available for node "${hollow}": cannot reach its kubelet: `),
      ),
    ]);
    const one = await nkctl(['top', 'node', hollow]);
    expect(one.code).toBe(1);
    expect(one.stdout).toBe('');
    expect(one.stderr).toMatch(
      new RegExp(`^error: metrics not available yet: cannot reach the kubelet of node "${hollow}": .*\\n$`),
    );
  }, 60_000);

  it("drain refuses DaemonSet pods, bare pods and emptyDir data with kubectl's words, after cordoning, and evicts nothing", async () => {
    const before = (await livePods()).map((p: any) => p.metadata.uid).sort();
    const r = await nkctl(['drain', k.node]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`node/${k.node} cordoned\n`);
    const line = r.stderr.trimEnd();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(/^error: \[cannot delete .*\]$/);
    expect(line).toMatch(
      /cannot delete DaemonSet-managed Pods \(use --ignore-daemonsets to ignore\): default\/agent-\w+/,
    );
    expect(line).toContain(
      'cannot delete Pods that declare no controller (use --force to override): default/busy',
    );
    expect(line).toMatch(
      /cannot delete Pods with local storage \(use --delete-emptydir-data to override\): default\/cache-[\w-]+/,
    );

    const two = await nkctl(['drain', k.node, '--ignore-daemonsets', '--delete-emptydir-data']);
    expect(two.code).toBe(1);
    expect(two.stdout).toBe(`node/${k.node} already cordoned\n`);
    expect(two.stderr).toBe(
      'error: cannot delete Pods that declare no controller (use --force to override): default/busy\n',
    );
    expect((await livePods()).map((p: any) => p.metadata.uid).sort()).toEqual(before);
  });

  it('drain evicts the rest, waits until they are gone, and the Deployment pods come back on the other node', async () => {
    const web = onNode(await livePods('app=web'), k.node);
    const r = await nkctl(
      [
        'drain',
        k.node,
        '--ignore-daemonsets',
        '--delete-emptydir-data',
        '--force',
        '--grace-period',
        '1',
        '--timeout',
        '90s',
      ],
      120_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out[0]).toBe(`node/${k.node} already cordoned`);
    expect(out.at(-1)).toBe(`node/${k.node} drained`);
    const evicting = out.filter((l) => l.startsWith('evicting pod ')).sort();
    const evicted = out.filter((l) => l.endsWith(' evicted')).sort();
    const names = [...web.map((p: any) => p.metadata.name), 'busy'];
    for (const n of names) {
      expect(evicting).toContain(`evicting pod default/${n}`);
      expect(evicted).toContain(`pod/${n} evicted`);
    }
    expect(evicting).toHaveLength(4); // web x2, cache, busy: not the DaemonSet's, not the mirror pod
    expect(evicting.some((l) => l.includes('agent') || l.includes('static'))).toBe(false);
    const warning = r.stderr.trimEnd();
    expect(warning.split('\n')).toHaveLength(1);
    expect(warning).toMatch(/^Warning: ignoring DaemonSet-managed Pods: default\/agent-\w+; /);
    expect(warning).toContain('deleting Pods that declare no controller: default/busy');

    // drain returned only once they were gone.
    for (const n of names) expect((await k.client.get(`${podsPath}/${n}`)).status).toBe(404);
    const left = (await k.client.get(`/api/v1/pods?fieldSelector=spec.nodeName%3D${k.node}`)).body.items;
    expect(left.map((p: any) => p.metadata.labels?.app ?? p.metadata.name).sort()).toEqual([
      'agent',
      `static-${k.node}`,
    ]);

    // The replacements run on H; the bare pod is gone for good.
    const moved = await waitFor(
      async () => {
        const pods = await livePods('app in (web,cache)');
        return pods.length === 3 && pods.every((p: any) => p.spec.nodeName === hollow && running(p)) && pods;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'web x2 and cache running on the hollow node' },
    );
    expect(moved).toHaveLength(3);
    expect((await k.client.get(`${podsPath}/busy`)).status).toBe(404);
  }, 150_000);

  it('drain again finds nothing to evict, and uncordon makes the node schedulable', async () => {
    const again = await nkctl(['drain', k.node, '--ignore-daemonsets']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`node/${k.node} already cordoned\nnode/${k.node} drained\n`);
    const u = await nkctl(['uncordon', k.node]);
    expect(u.stdout).toBe(`node/${k.node} uncordoned\n`);
    expect((await k.client.get(`/api/v1/nodes/${k.node}`)).body.spec.unschedulable).toBeUndefined();
  });
});
