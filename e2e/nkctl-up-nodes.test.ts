// `nkctl up --nodes 3`: this host's node and two more nodes, each a container
// with its own network namespace, Docker engine, kubelet and kube-proxy, its
// own pod range and address; pods spread over them, reach each other across
// nodes both ways, through a Service and by name; `down --purge` leaves nothing.
// Its own home folder, ports and pod ranges, so it never meets another
// cluster; this host's iptables get kube-proxy's rules while it runs.
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, kubectl, run, waitFor } from '../testing/harness.js';
import {
  docker,
  nkctlEnv,
  nodeContainers,
  removeNodeContainers,
  testNodeName,
} from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let env: NodeJS.ProcessEnv;
let kubeconfig: string;
let node: string;
let nodes: string[];

const nkctl = (args: string[], timeoutMs = 180_000) =>
  run(process.execPath, [nkctlJs, ...args], { env, timeoutMs });
const k = (args: string[], timeoutMs = 30_000) => kubectl(args, { kubeconfig, timeoutMs });

/** Three consecutive free /24s in 10.244.100-249. */
async function threeFreeRanges(): Promise<string> {
  const nets = await docker.listNetworks();
  const used = new Set(nets.flatMap((n) => n.IPAM?.Config?.map((c) => c.Subnet) ?? []));
  for (let i = 0; i < 200; i++) {
    const n = 100 + Math.floor(Math.random() * 147);
    if ([0, 1, 2].every((d) => !used.has(`10.244.${n + d}.0/24`))) return `10.244.${n}.0/24`;
  }
  throw new Error('no three free pod ranges');
}

beforeAll(async () => {
  node = testNodeName('nk3');
  nodes = [node, `${node}-2`, `${node}-3`];
  ({ env, kubeconfig } = await nkctlEnv({ prefix: 'nkctl-nodes3-', node, podCIDR: await threeFreeRanges() }));
});

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
  for (const n of nodes) await removeNodeContainers(n);
  // Should down have failed: the node containers (with their engines' data) and their network.
  for (const c of await docker.listContainers({ all: true, filters: { name: [`nanokube-node-${node}`] } }))
    await docker.getContainer(c.Id).remove({ force: true, v: true });
  await docker
    .getNetwork(`nanokube-${node}-nodes`)
    .remove()
    .catch(() => undefined);
});

describe('nkctl up --nodes 3', () => {
  it('starts three Ready nodes with their own pod ranges and addresses, and status shows each', async () => {
    const r = await nkctl(['up', '--nodes', '3'], 300_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('nanokube is up');
    const got = await k([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.spec.podCIDR}{"\\n"}{end}',
    ]);
    const ranges = new Map(
      got.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    expect([...ranges.keys()].sort()).toEqual([...nodes].sort());
    expect(new Set(ranges.values()).size).toBe(3);
    const ready = await k(['get', 'nodes', '--no-headers']);
    for (const n of nodes) expect(ready.stdout).toMatch(new RegExp(`^${n}\\s+Ready`, 'm'));
    // The extra nodes are containers on a network of their own: their addresses are theirs.
    const addrs = await k([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.addresses[?(@.type=="InternalIP")].address}{"\\n"}{end}',
    ]);
    const ips = new Map(
      addrs.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    expect(new Set(ips.values()).size).toBe(3);
    for (const n of nodes.slice(1)) expect(ips.get(n)).toMatch(/^10\.243\.\d+\.\d+$/);
    const s = await nkctl(['status']);
    expect(s.code, s.stdout).toBe(0);
    expect(s.stdout).toMatch(/^kubelet\s+\d+\s+healthy/m);
    expect(s.stdout).toMatch(/^kube-proxy\s+\d+\s+healthy/m);
    for (const n of nodes.slice(1)) expect(s.stdout).toMatch(new RegExp(`^node ${n}\\s+-\\s+running`, 'm'));
  }, 320_000);

  it('the node containers joined with a bootstrap token: each asked for its certificate, approved and signed automatically', async () => {
    const home = env.NANOKUBE_HOME as string;
    const token = readFileSync(path.join(home, 'pki', 'bootstrap-token'), 'utf8').trim();
    const id = token.split('.')[0];
    // They were given nothing but the CA and the token.
    for (const n of nodes.slice(1))
      expect(readdirSync(path.join(home, 'pki', 'nodes', n)).sort()).toEqual([
        'bootstrap-kubelet.kubeconfig',
        'ca.crt',
      ]);
    const csrs = JSON.parse((await k(['get', 'csr', '-o', 'json'])).stdout).items;
    const mine = csrs.filter((c: any) => c.spec.username === `system:bootstrap:${id}`);
    const subjectOf = (c: any) =>
      c.status.certificate
        ? new X509Certificate(Buffer.from(c.status.certificate, 'base64').toString()).subject
            .split('\n')
            .sort()
        : [];
    // Every joined node has an issued certificate for itself alone.
    for (const n of nodes.slice(1))
      expect(
        mine.filter((c: any) => subjectOf(c).join() === ['CN=system:node:' + n, 'O=system:nodes'].join()),
        n,
      ).not.toHaveLength(0);
    for (const c of mine) {
      expect(c.spec.signerName).toBe('kubernetes.io/kube-apiserver-client-kubelet');
      expect(c.status.conditions).toEqual([
        expect.objectContaining({ type: 'Approved', reason: 'AutoApproved' }),
      ]);
    }
    const table = await k(['get', 'csr']);
    expect(table.stdout.split('\n')[0]).toMatch(
      /^NAME\s+AGE\s+SIGNERNAME\s+REQUESTOR\s+REQUESTEDDURATION\s+CONDITION$/,
    );
    expect(table.stdout).toMatch(new RegExp(`system:bootstrap:${id}\\s+<none>\\s+Approved,Issued`));
  }, 60_000);

  it('runs the ingress DaemonSet on every node, each on its own address', async () => {
    await waitFor(
      async () => {
        const ds = await k([
          '-n',
          'kube-system',
          'get',
          'ds',
          'nk-ingress',
          '-o',
          'jsonpath={.status.numberReady}',
        ]);
        return ds.stdout === '3';
      },
      { timeoutMs: 120_000, what: 'an ingress pod Ready on each node' },
    );
  }, 130_000);

  it('spreads a Deployment over the nodes; a Service reaches every pod, and pods reach each other across nodes', async () => {
    const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - labelSelector: {matchLabels: {app: web}}
              topologyKey: kubernetes.io/hostname
      containers:
        - name: web
          image: nanokube/busybox:1
          command: [sh, -c, 'hostname > /tmp/index.html && exec httpd -f -p 8080 -h /tmp']
          readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;
    const a = await run('kubectl', ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: manifest });
    expect(a.code, a.stderr).toBe(0);
    const rolled = await k(['rollout', 'status', 'deployment/web', '--timeout=90s'], 100_000);
    expect(rolled.code, rolled.stderr).toBe(0);
    const pods = (
      await k([
        'get',
        'pods',
        '-l',
        'app=web',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName} {.status.podIP}{"\\n"}{end}',
      ])
    ).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    expect(pods.map((p) => p[1]).sort()).toEqual([...nodes].sort());

    // Through the Service from this host: every pod answers.
    const ip = (await k(['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    const seen = new Set<string>();
    for (let i = 0; i < 60 && seen.size < 3; i++) {
      const r = await run('curl', ['-s', '--max-time', '2', `http://${ip}/`]);
      if (r.code === 0) seen.add(r.stdout.trim());
    }
    expect([...seen].sort()).toEqual(pods.map((p) => p[0]).sort());

    // From the pod on the first node to the pod on the third, by pod IP (busybox's wget -T crashes).
    const [from] = pods.filter((p) => p[1] === nodes[0]);
    const [to] = pods.filter((p) => p[1] === nodes[2]);
    const across = await k([
      'exec',
      from[0],
      '--',
      'timeout',
      '5',
      'wget',
      '-q',
      '-O',
      '-',
      `http://${to[2]}:8080/`,
    ]);
    expect(across.code, across.stderr).toBe(0);
    expect(across.stdout.trim()).toBe(to[0]);
    // And back, from a node container's pod to this host's pod, and by the Service's name.
    const back = await k([
      'exec',
      to[0],
      '--',
      'timeout',
      '5',
      'wget',
      '-q',
      '-O',
      '-',
      `http://${from[2]}:8080/`,
    ]);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout.trim()).toBe(from[0]);
    const byName = await k([
      'exec',
      to[0],
      '--',
      'timeout',
      '5',
      'wget',
      '-q',
      '-O',
      '-',
      'http://web.default.svc.cluster.local/',
    ]);
    expect(byName.code, byName.stderr).toBe(0);
    expect(pods.map((p) => p[0])).toContain(byName.stdout.trim());
  }, 200_000);

  it('up again keeps three nodes; asking for another count while up is refused in one line', async () => {
    const again = await nkctl(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already up');
    const two = await nkctl(['up', '--nodes', '2']);
    expect(two.code).toBe(1);
    expect(two.stderr.trim()).toBe('error: this cluster runs 3 nodes; run nkctl down first to change that');
  }, 200_000);

  it('down --purge removes the node containers, stops the kubelet, and leaves no container or network', async () => {
    const d = await nkctl(['down', '--purge']);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('removed 2 node containers\n');
    expect(d.stdout).toContain('stopped kubelet\n');
    for (const n of nodes) expect(await nodeContainers(n)).toEqual([]);
    const left = await docker.listContainers({ all: true, filters: { name: [`nanokube-node-${node}`] } });
    expect(left).toEqual([]);
    const nets = await docker.listNetworks();
    expect(
      nets.map((n) => n.Name).filter((n) => n === `nanokube-${node}` || n === `nanokube-${node}-nodes`),
    ).toEqual([]);
  }, 120_000);
});
