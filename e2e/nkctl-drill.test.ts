// The `nkctl up` drill (issue 23): a one-host cluster with a node serving a
// web Deployment behind a ClusterIP Service, under steady load (ConfigMap
// creates, and requests from the host to the ClusterIP) while each part is
// killed in turn: kill -9 of every component process, of the DNS and
// ingress pods' containers, then a restart of the Docker engine. Between
// kills it waits for the cluster to be whole again (`nkctl status` exits 0,
// every pod Running and Ready, the Service answering) and records how long
// that took, how long the killed part took to be healthy, and what the load
// saw meanwhile; the figures are printed as a table and one JSON line.
// Asserted: every killed component is healthy within 15 s (issue 23), the
// cluster whole within 120 s, no acknowledged write lost. Restarting
// dockerd is only safe while this file holds /tmp/nk-e2e.lock (CI runs e2e
// files one at a time). Traffic goes to the node's own pod network and
// service addresses only.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRestConfig } from '../cli/cluster-pki.js';
import {
  type ComponentSpec,
  componentHealthy,
  components,
  defaultLaunchOptions,
  type LaunchOptions,
  runningPid,
} from '../cli/launcher.js';
import { formatTable } from '../cli/table.js';
import { RestClient } from '../client/rest.js';
import { cleanup, crashesIn, kubectl, run, sleep, waitFor } from '../testing/harness.js';
import {
  docker,
  nkctlEnv,
  nodeContainers,
  removeNodeContainers,
  testNodeName,
} from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
/** Issue 23: a component killed with -9 answers its health check again within this. */
const COMPONENT_BOUND_S = 15;
/**
 * Whole again after any kill: the slowest step is the Docker restart, after
 * which the kubelet makes every pod's sandbox and containers again (4 pods,
 * a pod worker each) and the readiness probes pass; measured at well under
 * half of this. Beyond it the cluster did not come back by itself.
 */
const WHOLE_BOUND_S = 120;
const NS = 'drill';

let env: NodeJS.ProcessEnv;
let kubeconfig: string;
let node: string;
let o: LaunchOptions;
let rest: RestClient;
let clusterIP: string;

const nkctl = (args: string[], timeoutMs = 90_000) =>
  run(process.execPath, [nkctlJs, ...args], { env, timeoutMs });
const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input, timeoutMs: 60_000 });
const log = (line: string) => console.log(`drill: ${line}`);

// ---- the load: counters read before and after each step ----

interface Counter {
  sent: number;
  failed: number;
}
const writes: Counter = { sent: 0, failed: 0 };
const requests: Counter = { sent: 0, failed: 0 };
const acknowledged: string[] = [];
const stopLoad = new AbortController();
let loops: Promise<void>[] = [];

/** Creates ConfigMaps one at a time, every 100 ms, until stopped (at most 20 000, 40 min). */
async function writeLoop(): Promise<void> {
  const client = new RestClient({ ...adminRestConfig(o), timeoutMs: 5000, maxRetries: 0 });
  const deadline = Date.now() + 40 * 60_000;
  try {
    for (let i = 0; i < 20_000 && !stopLoad.signal.aborted && Date.now() < deadline; i++) {
      const next = Date.now() + 100;
      const name = `w-${i}`;
      writes.sent++;
      const status = await client
        .requestRaw({
          method: 'POST',
          path: `/api/v1/namespaces/${NS}/configmaps`,
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { i: String(i) } },
        })
        .then(
          (r) => r.status,
          () => 0,
        );
      if (status === 201) acknowledged.push(name);
      else writes.failed++;
      await sleep(Math.max(0, next - Date.now()));
    }
  } finally {
    client.close();
  }
}

/** One GET of the Service's ClusterIP from this host (kube-proxy's nat OUTPUT rules), 1 s deadline. */
function getService(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(
      { host: clusterIP, port: 80, path: '/index.html', timeout: 1000, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve(res.statusCode === 200 && body === 'drill\n'));
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(false));
  });
}

/** Requests the Service every 100 ms until stopped (at most 30 000, 40 min). */
async function requestLoop(): Promise<void> {
  const deadline = Date.now() + 40 * 60_000;
  for (let i = 0; i < 30_000 && !stopLoad.signal.aborted && Date.now() < deadline; i++) {
    const next = Date.now() + 100;
    requests.sent++;
    if (!(await getService())) requests.failed++;
    await sleep(Math.max(0, next - Date.now()));
  }
}

// ---- the cluster's state ----

async function pods(): Promise<any[]> {
  const list = await rest.request<any>({ method: 'GET', path: '/api/v1/pods' });
  return list.items;
}

const ready = (p: any) =>
  p.status?.phase === 'Running' &&
  p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

/** What is still missing for the cluster to be whole; empty when it is. */
async function notWhole(): Promise<string[]> {
  const missing: string[] = [];
  const s = await nkctl(['status'], 30_000);
  if (s.code !== 0)
    missing.push(
      `status: ${s.stdout
        .split('\n')
        .filter((l) => /unhealthy|stopped/.test(l))
        .join('; ')}`,
    );
  const all = await pods().catch((err) => {
    missing.push(`pods: ${(err as Error).message}`);
    return [];
  });
  for (const p of all)
    if (!ready(p)) missing.push(`pod ${p.metadata.namespace}/${p.metadata.name} ${p.status?.phase}`);
  if (!(await getService())) missing.push('the Service does not answer');
  return missing;
}

async function waitWhole(what: string): Promise<void> {
  let last: string[] = [];
  await waitFor(
    async () => {
      last = await notWhole();
      return last.length === 0;
    },
    { timeoutMs: WHOLE_BOUND_S * 1000, intervalMs: 250, what },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last seen missing: ${last.join(', ')}`);
  });
}

// ---- what is killed, and how its health is seen ----

interface Step {
  name: string;
  /** Kills it; returns the check that says it is healthy again. */
  kill(): Promise<() => Promise<boolean>>;
  /** Held to COMPONENT_BOUND_S (the Docker restart is not a kill -9). */
  bounded: boolean;
}

function processStep(spec: ComponentSpec): Step {
  return {
    name: spec.name,
    bounded: true,
    kill: async () => {
      const pid = Number(readFileSync(path.join(o.home, 'run', `${spec.name}.pid`), 'utf8'));
      process.kill(pid, 'SIGKILL');
      return async () => {
        const now = runningPid(o, spec);
        return now !== undefined && now !== pid && (await componentHealthy(spec));
      };
    },
  };
}

/** kill -9 of the main process of a kube-system pod's container (by the kubelet's labels). */
function podContainerStep(name: string, selector: string): Step {
  return {
    name,
    bounded: true,
    kill: async () => {
      const list = await rest.request<any>({
        method: 'GET',
        path: '/api/v1/namespaces/kube-system/pods',
        query: { labelSelector: selector },
      });
      const pod = list.items[0];
      const restarts = pod.status.containerStatuses[0].restartCount;
      const running = (await nodeContainers(node, pod.metadata.name)).filter(
        (c) => c.State === 'running' && c.Labels['io.kubernetes.docker.type'] === 'container',
      );
      expect(running, `${name}: one running container`).toHaveLength(1);
      const killedAt = Date.now();
      await docker.getContainer(running[0].Id).kill({ signal: 'SIGKILL' });
      return async () => {
        const p = await rest.request<any>({
          method: 'GET',
          path: `/api/v1/namespaces/kube-system/pods/${pod.metadata.name}`,
        });
        const back = ready(p) && p.status.containerStatuses[0].restartCount > restarts;
        if (back) {
          const at = (t: string) => `+${((Date.parse(t) - killedAt) / 1000).toFixed(0)}s`;
          const readyAt = p.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime;
          log(
            `${name}: container started ${at(p.status.containerStatuses[0].state.running.startedAt)}, Ready ${at(readyAt)}`,
          );
        }
        return back;
      };
    },
  };
}

const dockerAnswers = () =>
  docker.ping().then(
    () => true,
    () => false,
  );

/** SIGTERM to dockerd, wait for it to exit, start it again as deploy/setup.sh does (same log). */
const dockerStep: Step = {
  name: 'docker engine',
  bounded: false,
  kill: async () => {
    const t0 = Date.now();
    const pid = Number(readFileSync('/var/run/docker.pid', 'utf8'));
    const logPath = readlinkSync(`/proc/${pid}/fd/1`);
    process.kill(pid, 'SIGTERM');
    await waitFor(
      () => {
        try {
          process.kill(pid, 0);
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'dockerd to exit' },
    );
    const stoppedS = (Date.now() - t0) / 1000;
    const fd = openSync(logPath, 'a');
    const child = spawn('setsid', ['dockerd'], { detached: true, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.unref();
    await waitFor(dockerAnswers, { timeoutMs: 60_000, intervalMs: 200, what: 'docker info' });
    log(`dockerd took ${stoppedS}s to stop, answered ${(Date.now() - t0) / 1000}s after SIGTERM`);
    return dockerAnswers;
  },
};

interface Figures {
  killed: string;
  healthyS: number;
  wholeS: number;
  writesFailed: number;
  writesSent: number;
  requestsFailed: number;
  requestsSent: number;
}
const figures: Figures[] = [];

async function drill(step: Step): Promise<Figures> {
  const w0 = { ...writes };
  const r0 = { ...requests };
  const t0 = Date.now();
  const healthyNow = await step.kill();
  await waitFor(healthyNow, {
    timeoutMs: WHOLE_BOUND_S * 1000,
    intervalMs: 100,
    what: `${step.name} healthy again`,
  });
  const healthyS = (Date.now() - t0) / 1000;
  // Whole includes the killed part: a pod whose container died looks Ready until the kubelet's relist.
  await waitWhole(`the cluster whole again after killing ${step.name}`);
  const f: Figures = {
    killed: step.name,
    healthyS,
    wholeS: (Date.now() - t0) / 1000,
    writesFailed: writes.failed - w0.failed,
    writesSent: writes.sent - w0.sent,
    requestsFailed: requests.failed - r0.failed,
    requestsSent: requests.sent - r0.sent,
  };
  log(JSON.stringify(f));
  return f;
}

function printFigures(): void {
  const rows = figures.map((f) => [
    f.killed,
    f.healthyS.toFixed(1),
    f.wholeS.toFixed(1),
    `${f.writesFailed}/${f.writesSent}`,
    `${f.requestsFailed}/${f.requestsSent}`,
  ]);
  const header = [
    'KILLED',
    'HEALTHY AFTER (S)',
    'WHOLE AFTER (S)',
    'WRITES FAILED/SENT',
    'REQUESTS FAILED/SENT',
  ];
  console.log(`nkctl drill figures:\n${formatTable(header, rows)}`);
  console.log(
    `nkctl-drill ${JSON.stringify({ steps: figures, writes, requests, acknowledged: acknowledged.length })}`,
  );
}

// ---- the file ----

beforeAll(async () => {
  node = testNodeName('drill');
  ({ env, kubeconfig } = await nkctlEnv({ prefix: 'nkctl-drill-', node }));
  const up = await nkctl(['up'], 300_000);
  expect(up.code, up.stderr).toBe(0);
  o = defaultLaunchOptions({ ...process.env, ...env });
  rest = new RestClient({ ...adminRestConfig(o), timeoutMs: 5000, maxRetries: 0 });
}, 320_000);

afterAll(async () => {
  stopLoad.abort();
  await Promise.all(loops);
  if (figures.length) printFigures();
  rest?.close();
  await nkctl(['down', '--purge'], 120_000);
  await removeNodeContainers(node);
  await cleanup();
}, 200_000);

describe('nkctl up drill: kill -9 each part under load', () => {
  it('serves a web Deployment behind a ClusterIP Service that the host reaches', async () => {
    const manifest = `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: web
          image: nanokube/busybox:1
          command: [sh, -c, 'mkdir -p /www && echo drill > /www/index.html && exec httpd -f -p 8080 -h /www']
          ports: [{containerPort: 8080}]
          readinessProbe:
            httpGet: {path: /index.html, port: 8080}
            periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: ${NS}}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`;
    const c = await k(['apply', '-f', '-'], manifest);
    expect(c.code, c.stderr).toBe(0);
    const rolled = await kubectl(['-n', NS, 'rollout', 'status', 'deployment/web', '--timeout=90s'], {
      kubeconfig,
      timeoutMs: 100_000,
    });
    expect(rolled.code, rolled.stderr).toBe(0);
    clusterIP = (await k(['-n', NS, 'get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}'])).stdout;
    expect(clusterIP).toMatch(/^10\.96\./);
    await waitFor(getService, { timeoutMs: 30_000, what: `the host to reach ${clusterIP}:80` });
    await waitWhole('the cluster whole before the drill');
  }, 150_000);

  it(`brings every part back after kill -9 under load: healthy within ${COMPONENT_BOUND_S}s, whole within ${WHOLE_BOUND_S}s`, async () => {
    loops = [writeLoop(), requestLoop()];
    await sleep(3000); // the load's baseline
    const steps: Step[] = [
      ...['apiserver', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy', 'etcd'].map((name) =>
        processStep(components(o).find((s) => s.name === name) as ComponentSpec),
      ),
      podContainerStep('dns pod', 'k8s-app=kube-dns'),
      podContainerStep('ingress pod', 'app.kubernetes.io/name=nk-ingress'),
      dockerStep,
    ];
    for (const step of steps) {
      const f = await drill(step);
      figures.push(f);
      await sleep(3000); // the load sees the whole cluster before the next kill
    }
    stopLoad.abort();
    await Promise.all(loops);
    for (const [i, f] of figures.entries())
      if (steps[i].bounded) expect(f.healthyS, `${f.killed} healthy again`).toBeLessThan(COMPONENT_BOUND_S);
    for (const f of figures) expect(f.wholeS, `whole after ${f.killed}`).toBeLessThan(WHOLE_BOUND_S);
  }, 1_800_000);

  it('saw no component die of an error no code caught', () => {
    const dir = path.join(o.home, 'logs');
    expect(readdirSync(dir).flatMap((f) => crashesIn(path.join(dir, f)))).toEqual([]);
  });

  it('lost no acknowledged write', async () => {
    expect(acknowledged.length).toBeGreaterThan(100);
    const list = await rest.request<any>({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps` });
    const stored = new Set(list.items.map((c: any) => c.metadata.name));
    const lost = acknowledged.filter((n) => !stored.has(n));
    log(`${acknowledged.length} acknowledged writes, ${stored.size} ConfigMaps stored, ${lost.length} lost`);
    expect(lost).toEqual([]);
  });
});
