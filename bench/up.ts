/**
 * The `up` benchmark: on a warm machine (images built, etcd and Docker
 * installed), the time from `nkctl up` to a Ready node and to `up` having
 * finished (DNS and ingress available), then from `nkctl apply` of a
 * 3-replica Deployment to all 3 pods Ready. Beside them, in the same run,
 * the references: etcd alone started to healthy, and the same three
 * containers started straight through Docker.
 *
 * The cluster is nkctl's own one-host cluster with a home folder, ports,
 * node name and pod range of the bench's; `nkctl down --purge` runs after
 * each round, also on error. This host's iptables get kube-proxy's rules
 * while it runs, so run it alone.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { componentArgs } from '../base/command-lines.js';
import { freePorts, makeTempDir, run } from '../testing/harness.js';
import { docker, nkctlEnv, removeNodeContainers } from '../testing/kubelet-helpers.js';
import { percentile } from './apiserver.js';
import { table } from './table.js';

const nkctlJs = path.resolve('dist/cli/main.js');
const node = 'nkbench-up';
const rounds = 3;
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: 3
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      containers:
        - name: c
          image: nanokube/busybox:1
          command: [sleep, "3600"]
          readinessProbe: {exec: {command: ["true"]}, periodSeconds: 1}
`;

export interface UpBenchResult {
  rounds: number;
  upToNodeReadyMs: Figures;
  upDoneMs: Figures;
  applyToReadyMs: Figures;
  reference: { etcdStartMs: Figures; docker3ContainersMs: Figures };
}
interface Figures {
  p50: number;
  max: number;
}

const figures = (xs: number[]): Figures => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(percentile(s, 50)), max: Math.round(s[s.length - 1]) };
};

async function clusterEnv(): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, ...(await nkctlEnv({ prefix: 'nkbench-up-', node })).env, CI: 'true' };
}

const nkctl = (env: NodeJS.ProcessEnv, args: string[], timeoutMs = 240_000) =>
  run(process.execPath, [nkctlJs, ...args], { env, timeoutMs });

async function must(env: NodeJS.ProcessEnv, args: string[]): Promise<string> {
  const r = await nkctl(env, args);
  if (r.code !== 0) throw new Error(`nkctl ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** Polls `check` every 100 ms until it holds; bounded. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A GET as the cluster's admin (its certificate in `pki`); the parsed body of a 200, else it rejects. */
function adminGet(url: string, pki: string): Promise<unknown> {
  const file = (f: string) => readFileSync(path.join(pki, f));
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      { ca: file('ca.crt'), cert: file('admin.crt'), key: file('admin.key'), timeout: 2000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(body))));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function clusterRound(): Promise<{ nodeReady: number; upDone: number; apply: number }> {
  const env = await clusterEnv();
  try {
    const t0 = performance.now();
    let upError: Error | undefined;
    const upDone = must(env, ['up']).then(
      () => performance.now() - t0,
      (err: Error) => {
        upError = err;
        return 0;
      },
    );
    // The node's Ready condition, read straight from the apiserver (TLS on the pod bridge's address,
    // as the cluster's admin once `up` has made the certificates) while `up` works.
    const [a, b, c] = String(env.NANOKUBE_POD_CIDR).split('.');
    const nodeUrl = `https://${a}.${b}.${c}.1:${env.NANOKUBE_API_PORT}/api/v1/nodes/${node}`;
    const pki = path.join(env.NANOKUBE_HOME as string, 'pki');
    await until('the node to be Ready', async () => {
      if (upError) throw upError;
      if (!existsSync(path.join(pki, 'admin.key'))) return false;
      const n = (await adminGet(nodeUrl, pki).catch(() => undefined)) as
        | { status?: { conditions?: { type: string; status: string }[] } }
        | undefined;
      return n?.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') ?? false;
    });
    const nodeReady = performance.now() - t0;
    const done = await upDone;
    if (upError) throw upError;

    const file = path.join(env.NANOKUBE_HOME as string, 'bench.yaml');
    writeFileSync(file, deployment);
    const t1 = performance.now();
    await must(env, ['apply', '-f', file]);
    await until('3 ready replicas', async () => {
      const r = await nkctl(env, ['get', 'deployment', 'bench', '-o', 'json'], 5000);
      return r.code === 0 && JSON.parse(r.stdout).status?.readyReplicas === 3;
    });
    return { nodeReady, upDone: done, apply: performance.now() - t1 };
  } finally {
    await nkctl(env, ['down', '--purge']);
    await removeNodeContainers(node);
  }
}

/** The reference for up: etcd alone, from spawn to a healthy /health. */
async function etcdStart(): Promise<number> {
  const dir = makeTempDir('nkbench-etcd-');
  const [client, peer] = await freePorts(2);
  const url = `http://127.0.0.1:${client}`;
  const t0 = performance.now();
  const etcd = spawn(
    'etcd',
    componentArgs({
      component: 'etcd',
      dataDir: path.join(dir, 'data'),
      listenClientUrls: url,
      advertiseClientUrls: url,
      listenPeerUrls: `http://127.0.0.1:${peer}`,
      initialAdvertisePeerUrls: `http://127.0.0.1:${peer}`,
      initialCluster: `default=http://127.0.0.1:${peer}`,
    }),
    { stdio: 'ignore' },
  );
  try {
    await until(
      'etcd health',
      () =>
        fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        ),
      30_000,
    );
    return performance.now() - t0;
  } finally {
    etcd.kill('SIGKILL');
  }
}

/** The reference for apply: three busybox containers started through Docker, until all run. */
async function dockerThree(): Promise<number> {
  const label = `bench.nanokube.io/up=${process.pid}`;
  const t0 = performance.now();
  try {
    await Promise.all(
      [0, 1, 2].map(async () => {
        const c = await docker.createContainer({
          Image: 'nanokube/busybox:1',
          Cmd: ['sleep', '3600'],
          Labels: { 'bench.nanokube.io/up': String(process.pid) },
        });
        await c.start();
      }),
    );
    return performance.now() - t0;
  } finally {
    const list = await docker.listContainers({ all: true, filters: { label: [label] } });
    await Promise.all(list.map((x) => docker.getContainer(x.Id).remove({ force: true, v: true })));
  }
}

export async function runUpBench(): Promise<UpBenchResult> {
  const nodeReady: number[] = [];
  const upDone: number[] = [];
  const apply: number[] = [];
  const etcd: number[] = [];
  const dockers: number[] = [];
  for (let i = 0; i < rounds; i++) {
    process.stderr.write(`up bench: round ${i + 1} of ${rounds}...\n`);
    etcd.push(await etcdStart());
    dockers.push(await dockerThree());
    const r = await clusterRound();
    nodeReady.push(r.nodeReady);
    upDone.push(r.upDone);
    apply.push(r.apply);
  }
  return {
    rounds,
    upToNodeReadyMs: figures(nodeReady),
    upDoneMs: figures(upDone),
    applyToReadyMs: figures(apply),
    reference: { etcdStartMs: figures(etcd), docker3ContainersMs: figures(dockers) },
  };
}

export function report(r: UpBenchResult): string {
  const f = (x: Figures) => `${x.p50} ms (max ${x.max})`;
  const rows = [
    ['measure', 'nanokube p50', 'reference p50'],
    ['nkctl up to a Ready node', f(r.upToNodeReadyMs), `${f(r.reference.etcdStartMs)} etcd alone`],
    ['nkctl up finished (DNS, ingress available)', f(r.upDoneMs), ''],
    [
      'nkctl apply of 3 replicas to all Ready',
      f(r.applyToReadyMs),
      `${f(r.reference.docker3ContainersMs)} 3 containers via Docker`,
    ],
  ];
  return `${table(rows)}\n(${r.rounds} rounds on a warm machine)\n${JSON.stringify({ bench: 'up', ...r })}`;
}
