// The docker-compose lab on this machine, as a user runs it: the image built
// (offline where the base image cannot be pulled), `docker compose up` (or
// docker-compose 1.29), the host's kubectl and nkctl through the kubeconfig
// the lab wrote, pods on different workers reaching each other and every
// kind of Service address, then every failure drill, each printing what it
// measured. A project name, port, subnet and HOME of its own, so a lab
// someone runs by hand is never touched; `down -v` removes it all.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exec, type Lab } from '../lab/compose.js';
import { type DrillName, drillNames, runDrill } from '../lab/drills.js';
import { down, up } from '../lab/lab.js';
import { table } from '../lab/table.js';
import { freePort, kubectl, makeTempDir, run } from '../testing/harness.js';
import { docker } from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let lab: Lab;
let kubeconfig: string;
const log = (line: string) => console.log(`lab: ${line}`);
const k = (args: string[], timeoutMs = 60_000, input?: string) =>
  kubectl(['--context', 'nanokube-lab', ...args], { kubeconfig, timeoutMs, input });

/** A /24 in 172.29.0.0/16 that no Docker network uses. */
async function freeSubnet(): Promise<string> {
  const used = new Set(
    (await docker.listNetworks()).flatMap((n) => n.IPAM?.Config?.map((c) => c.Subnet) ?? []),
  );
  for (let n = 10; n < 250; n++) if (!used.has(`172.29.${n}.0/24`)) return `172.29.${n}.0/24`;
  throw new Error('no free subnet in 172.29.0.0/16');
}

beforeAll(async () => {
  const home = makeTempDir('nanokube-lab-');
  mkdirSync(path.join(home, '.kube'), { recursive: true });
  kubeconfig = path.join(home, '.kube', 'config');
  lab = {
    repo: path.resolve('.'),
    project: 'nanokube-lab-e2e',
    port: await freePort(),
    home,
    subnet: await freeSubnet(),
  };
  await down(lab, log).catch(() => undefined);
  await up(lab, log);
}, 1_500_000);

afterAll(async () => {
  if (lab) await down(lab, log);
}, 600_000);

describe('the docker-compose lab', () => {
  it('has 3 Ready workers with their own pod ranges, seen by the host kubectl and nkctl through the kubeconfig it wrote', async () => {
    const r = await k(['get', 'nodes', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const nodes = JSON.parse(r.stdout).items;
    expect(nodes.map((n: any) => n.metadata.name).sort()).toEqual(['worker-1', 'worker-2', 'worker-3']);
    for (const n of nodes)
      expect(n.status.conditions.find((c: any) => c.type === 'Ready')?.status, n.metadata.name).toBe('True');
    expect(new Set(nodes.map((n: any) => n.spec.podCIDR)).size).toBe(3);
    const nk = await run(
      process.execPath,
      [nkctlJs, '--kubeconfig', kubeconfig, '--context', 'nanokube-lab', 'get', 'nodes'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(nk.code, nk.stderr).toBe(0);
    for (const w of ['worker-1', 'worker-2', 'worker-3'])
      expect(nk.stdout).toMatch(new RegExp(`^${w}\\s+Ready`, 'm'));
  });

  it("keeps etcd to the apiservers: a worker reaches it neither in plain HTTP nor over TLS without etcd's own client certificate", async () => {
    const tryFrom = async (args: string[]) =>
      exec(lab, 'worker-1', args, 30_000).then(
        (out) => `answered: ${out.slice(0, 80)}`,
        () => 'refused',
      );
    expect(await tryFrom(['curl', '-fsS', '-m', '5', 'http://etcd-1:2379/version'])).toBe('refused');
    expect(await tryFrom(['curl', '-fsSk', '-m', '5', 'https://etcd-1:2379/version'])).toBe('refused');
    // The apiservers' certificate does get in: the refusals above are etcd's, not a dead member.
    const ok = await exec(lab, 'etcd-1', [
      ...['etcdctl', '--endpoints', 'https://etcd-1:2379'],
      ...['get', '/registry/', '--prefix', '--keys-only', '--limit', '1'],
    ]);
    expect(ok).toMatch(/^\/registry\//);
  });

  it('lets pods on different workers reach each other, a ClusterIP, a service name and the kubernetes Service', async () => {
    const ds = {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: 'nanokube/busybox:1',
                command: ['sh', '-c', 'hostname > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    };
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    const list = { apiVersion: 'v1', kind: 'List', items: [ds, svc] };
    const create = await k(['apply', '-f', '-'], 60_000, JSON.stringify(list));
    expect(create.code, create.stderr).toBe(0);
    const st = await k(['rollout', 'status', 'daemonset/web', '--timeout', '180s'], 200_000);
    expect(st.code, st.stdout + st.stderr).toBe(0);
    const pods = JSON.parse((await k(['get', 'pods', '-l', 'app=web', '-o', 'json'])).stdout).items;
    const byNode = new Map<string, any>(pods.map((p: any) => [p.spec.nodeName, p]));
    expect([...byNode.keys()].sort()).toEqual(['worker-1', 'worker-2', 'worker-3']);
    const from = byNode.get('worker-1').metadata.name;
    const get = async (host: string, port: number, path = '/') => {
      const r = await k([
        'exec',
        from,
        '--',
        'sh',
        '-c',
        `printf 'GET ${path} HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' | timeout 5 nc ${host} ${port}`,
      ]);
      return r.stdout;
    };
    for (const node of ['worker-2', 'worker-3']) {
      const p = byNode.get(node);
      expect(await get(p.status.podIP, 8080), `pod on ${node}`).toContain(p.metadata.name);
    }
    const clusterIP = JSON.parse((await k(['get', 'service', 'web', '-o', 'json'])).stdout).spec.clusterIP;
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 3; i++) {
      const body = await get(clusterIP, 80);
      for (const p of pods) if (body.includes(p.metadata.name)) seen.add(p.metadata.name);
    }
    expect(seen.size, `the ClusterIP ${clusterIP} reached ${[...seen].join(', ')}`).toBe(3);
    expect(await get('web.default.svc.cluster.local', 80)).toMatch(/web-/);
    expect(await get('kubernetes.default', 443, '/version')).toContain('gitVersion');
    expect((await k(['delete', 'daemonset/web', 'service/web'])).code).toBe(0);
  }, 300_000);

  for (const name of drillNames) {
    it(`drill: ${name}`, async () => {
      const result = await runDrill(lab, name as DrillName, log);
      console.log(`${table([result])}\n${JSON.stringify(result)}`);
      expect(result.problems).toEqual([]);
    }, 600_000);
  }
});
