/**
 * The cluster harness of the e2e tests and the benchmarks: real etcd and
 * apiserver processes on free loopback ports, a kubeconfig, the real
 * kubectl, small HTTP and watch helpers.
 *
 * Contract: everything these helpers start (processes, temp dirs, watches) is
 * tracked by this module, and `cleanup()` ends all of it: watches aborted,
 * processes sent SIGTERM and, after a grace period, SIGKILL, temp dirs
 * removed. Call it from `afterAll`. Each test file gets its own copy of this
 * module (vitest isolates files), so files never see each other's processes.
 * If the test process exits without `cleanup()`, an exit hook still SIGKILLs
 * the children and removes the dirs.
 *
 * Traffic goes only to 127.0.0.1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { type ApiAccess, componentArgs } from '../base/command-lines.js';

/** How long a process has after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;
/**
 * etcd's WAL is fsynced, so a kill loses nothing committed. A leader that is
 * stopped while it still believes a just-stopped peer is up waits about 5 s
 * trying to hand leadership over to it; a short grace keeps teardown quick.
 */
const ETCD_STOP_GRACE_MS = 1_500;

// ---------------------------------------------------------------------------
// Tracking and cleanup

interface Tracked {
  child: ChildProcess;
  exited: Promise<void>;
  graceMs: number;
}

const processes = new Set<Tracked>();
const tempDirs = new Set<string>();
const watches = new Set<AbortController>();
/** Logs of the components started here, read at cleanup for a crash (cli/component.ts exitOnUncaught). */
const componentLogs = new Set<string>();

process.once('exit', () => {
  // Last resort when a test run dies without cleanup(): no await possible here.
  for (const p of processes)
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Ends everything this module started. Safe to call more than once. */
export async function cleanup(): Promise<void> {
  for (const w of watches) w.abort();
  watches.clear();
  // Newest first, one at a time: clients stop before the etcd they use, and an
  // etcd leader stopped together with its followers waits out its grace period
  // trying to hand over leadership.
  for (const p of [...processes].reverse()) await stopProcess(p);
  const crashes = [...componentLogs].flatMap(crashesIn);
  componentLogs.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
  // No error may escape a component unnoticed: a test run that saw one fails, whatever its tests said.
  if (crashes.length) throw new Error(`a component met an error no code caught:\n${crashes.join('\n')}`);
}

/** The lines of a component's log where it exited on an uncaught exception or unhandled rejection. */
export function crashesIn(logPath: string): string[] {
  let text: string;
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(
      (line) =>
        line.startsWith('{"level":60') &&
        /"msg":"(uncaught exception|unhandled promise rejection); exiting"/.test(line),
    )
    .map((line) => `${logPath}: ${line}`);
}

/** A new empty directory under the OS temp dir, removed by `cleanup()`. */
export function makeTempDir(prefix = 'nanokube-e2e-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

function track(child: ChildProcess, graceMs = STOP_GRACE_MS): Tracked {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const t: Tracked = { child, exited, graceMs };
  processes.add(t);
  void exited.then(() => processes.delete(t));
  return t;
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; resolves once it has exited. */
async function stopProcess(p: Tracked, graceMs = p.graceMs): Promise<void> {
  if (!isRunning(p.child)) return p.exited;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  const late = await Promise.race([p.exited.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late && isRunning(p.child)) p.child.kill('SIGKILL');
  await p.exited;
}

async function killProcess(p: Tracked): Promise<void> {
  if (isRunning(p.child)) p.child.kill('SIGKILL');
  await p.exited;
}

/** Spawns `cmd` with stdout and stderr appended to `logPath`, tracked for cleanup. */
function spawnLogged(
  cmd: string,
  args: string[],
  logPath: string,
  { env, graceMs }: { env?: NodeJS.ProcessEnv; graceMs?: number } = {},
): Tracked {
  const fd = openSync(logPath, 'a');
  if (cmd === process.execPath) componentLogs.add(logPath);
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...env } });
    return track(child, graceMs);
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------
// Small utilities

type Server = ReturnType<typeof createServer>;

/** A listener on 127.0.0.1:port (0 for any free port), or undefined when that port is taken. */
function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

function portOf(s: Server): number {
  const addr = s.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

/**
 * Free TCP ports on 127.0.0.1, all held open together so they are distinct.
 * With `firstPair` the second port is the first plus one, for etcd, whose
 * peer port nkctl puts next to its client port.
 */
export async function freePorts(n: number, opts: { firstPair?: boolean } = {}): Promise<number[]> {
  const servers: Server[] = [];
  try {
    if (opts.firstPair) {
      for (let attempt = 0; servers.length === 0; attempt++) {
        if (attempt === 50) throw new Error('found no two free consecutive ports in 50 tries');
        const first = await listenOn(0);
        if (!first) continue;
        const next = portOf(first) < 65535 ? await listenOn(portOf(first) + 1) : undefined;
        if (next) servers.push(first, next);
        else await new Promise((resolve) => first.close(resolve));
      }
    }
    while (servers.length < n) {
      const s = await listenOn(0);
      if (!s) throw new Error('could not listen on a free port');
      servers.push(s);
    }
    return servers.map(portOf);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0];
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `intervalMs` until it returns a value other than
 * undefined/false, and returns that value; throws after `timeoutMs` with the
 * last error `check` threw, if any.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 10_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** The last `lines` lines of a log file, for error messages. */
export function logTail(logPath: string, lines = 30): string {
  try {
    return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/** Waits for GET `url` to answer 200 while `p` runs; the error carries the log tail. */
async function waitHttpReady(p: Tracked, url: string, logPath: string, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await httpOk(url))) {
    const died = !isRunning(p.child);
    if (died || Date.now() >= deadline) {
      const why = died
        ? `exited (code ${p.child.exitCode}, signal ${p.child.signalCode})`
        : `not ready after ${timeoutMs}ms`;
      await stopProcess(p);
      throw new Error(`${what} ${why} (${url}); last lines of ${logPath}:\n${logTail(logPath)}`);
    }
    await sleep(100);
  }
}

/** A kubeconfig when the test gives one, else plain HTTP to the apiserver. */
const apiAccess = (apiserverUrl: string, kubeconfig?: string): ApiAccess =>
  kubeconfig ? { kubeconfig } : { master: apiserverUrl };

const repoRoot = (() => {
  // Works from testing/ (vitest) and from dist/testing/ (compiled).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('harness: cannot find the repository root');
    dir = parent;
  }
  return dir;
})();

// ---------------------------------------------------------------------------
// etcd

export interface EtcdMember {
  name: string;
  /** PID of the current process; changes after `start()`. */
  readonly pid: number;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logPath: string;
  /** SIGTERM, then SIGKILL after 1.5 s. Keeps the data dir. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would. Keeps the data dir. */
  kill(): Promise<void>;
  /** Starts a stopped member again on the same ports and data; waits until it answers /health. */
  start(): Promise<void>;
}

export interface EtcdCluster {
  /** Client URLs of all members, for `--etcd-servers` (comma-joined). */
  endpoints: string[];
  members: EtcdMember[];
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts a real etcd of 1 or 3 members on free 127.0.0.1 ports with data in
 * a temp dir, and resolves once every member reports healthy (/health, which
 * needs an elected leader).
 */
export async function startEtcd({ members = 1 }: { members?: 1 | 3 } = {}): Promise<EtcdCluster> {
  // A port picked free can be taken before etcd binds it; try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startEtcdOnce(members);
    } catch (err) {
      if (attempt >= 3 || !String(err).includes('address already in use')) throw err;
    }
  }
}

async function startEtcdOnce(count: number): Promise<EtcdCluster> {
  const dir = makeTempDir('nanokube-etcd-');
  const ports = await freePorts(count * 2);
  const token = `nk-${path.basename(dir)}`;
  const specs = Array.from({ length: count }, (_, i) => ({
    name: `etcd-${i}`,
    clientUrl: `http://127.0.0.1:${ports[2 * i]}`,
    peerUrl: `http://127.0.0.1:${ports[2 * i + 1]}`,
    dataDir: path.join(dir, `etcd-${i}`),
    logPath: path.join(dir, `etcd-${i}.log`),
  }));
  const initialCluster = specs.map((s) => `${s.name}=${s.peerUrl}`).join(',');

  const started = specs.map((spec) => {
    const args = componentArgs({
      component: 'etcd',
      name: spec.name,
      dataDir: spec.dataDir,
      listenClientUrls: spec.clientUrl,
      advertiseClientUrls: spec.clientUrl,
      listenPeerUrls: spec.peerUrl,
      initialAdvertisePeerUrls: spec.peerUrl,
      initialCluster,
      initialClusterState: 'new',
      initialClusterToken: token,
      logger: 'zap',
    });
    let proc = spawnLogged('etcd', args, spec.logPath, { graceMs: ETCD_STOP_GRACE_MS });
    const healthy = () =>
      waitHttpReady(proc, `${spec.clientUrl}/health`, spec.logPath, 20_000, `etcd member ${spec.name}`);
    const member: EtcdMember = {
      ...spec,
      get pid() {
        return proc.child.pid ?? -1;
      },
      stop: () => stopProcess(proc),
      kill: () => killProcess(proc),
      async start() {
        if (isRunning(proc.child)) return;
        // The data dir already holds the membership; the --initial-* flags are ignored.
        proc = spawnLogged('etcd', args, spec.logPath, { graceMs: ETCD_STOP_GRACE_MS });
        await healthy();
      },
    };
    return { member, healthy };
  });

  const members = started.map((s) => s.member);
  // One at a time: see cleanup().
  const stop = async () => {
    for (const m of members) await m.stop();
  };
  try {
    await Promise.all(started.map((s) => s.healthy()));
  } catch (err) {
    await stop();
    throw err;
  }
  return { endpoints: specs.map((s) => s.clientUrl), members, dir, stop };
}

/**
 * Runs `etcdctl` (API v3) against `endpoints`, over TLS with `tls` (etcd's
 * CA and a client certificate) when given; resolves with its output whatever
 * the exit code.
 */
export function etcdctl(
  args: string[],
  { endpoints, tls }: { endpoints: string[]; tls?: { ca: string; cert: string; key: string } },
): Promise<RunResult> {
  const tlsArgs = tls ? ['--cacert', tls.ca, '--cert', tls.cert, '--key', tls.key] : [];
  return run('etcdctl', ['--endpoints', endpoints.join(','), ...tlsArgs, ...args], {
    env: { ETCDCTL_API: '3' },
    timeoutMs: 30_000,
  });
}

// ---------------------------------------------------------------------------
// apiserver

export interface Apiserver {
  url: string;
  port: number;
  pid: number;
  logPath: string;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would. */
  kill(): Promise<void>;
}

/**
 * Starts `node dist/apiserver/main.js` (build first: `npm run build`) on a
 * free 127.0.0.1 port (or on `port`, to bring a stopped one back at the same
 * address) against `etcdServers`, and resolves once GET /readyz answers 200
 * (20 s at most; the error carries the log tail).
 */
export async function startApiserver({
  etcdServers,
  extraArgs = [],
  env,
  port: fixedPort,
}: {
  etcdServers: string[] | string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  port?: number;
}): Promise<Apiserver> {
  const main = path.join(repoRoot, 'dist/apiserver/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = makeTempDir('nanokube-apiserver-');
  const logPath = path.join(dir, 'apiserver.log');
  const port = fixedPort ?? (await freePort());
  const args = [
    main,
    ...componentArgs({
      component: 'apiserver',
      etcdServers,
      bindAddress: '127.0.0.1',
      port,
      extra: extraArgs,
    }),
  ];
  const proc = spawnLogged(process.execPath, args, logPath, { env });
  const url = `http://127.0.0.1:${port}`;
  await waitHttpReady(proc, `${url}/readyz`, logPath, 20_000, 'apiserver');
  return {
    url,
    port,
    pid: proc.child.pid ?? -1,
    logPath,
    stop: () => stopProcess(proc),
    kill: () => killProcess(proc),
  };
}

// ---------------------------------------------------------------------------
// hollow nodes and the scheduler

export interface HollowNodes {
  names: string[];
  pid: number;
  logPath: string;
  /** SIGTERM, then SIGKILL after 5 s. The Node objects stay. */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts `node dist/kubelet/hollow-main.js` (nk-hollow-nodes) against
 * `apiserverUrl` (or `kubeconfig`, when given) and resolves once every one of
 * its `nodes` Nodes is Ready in the API (the error carries the log tail).
 */
export async function startHollowNodes({
  apiserverUrl,
  kubeconfig,
  nodes = 1,
  prefix = 'hollow-node-',
  firstIndex = 0,
  cpu = '4',
  memory = '16Gi',
  pods = 110,
  labels = {},
  taints = [],
  extraArgs = [],
}: {
  apiserverUrl: string;
  kubeconfig?: string;
  nodes?: number;
  prefix?: string;
  firstIndex?: number;
  cpu?: string;
  memory?: string;
  pods?: number;
  labels?: Record<string, string>;
  /** As `--register-with-taints`: `key=value:Effect`. */
  taints?: string[];
  extraArgs?: string[];
}): Promise<HollowNodes> {
  const main = path.join(repoRoot, 'dist/kubelet/hollow-main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = makeTempDir('nanokube-hollow-');
  const logPath = path.join(dir, 'hollow-nodes.log');
  const args = [
    main,
    ...componentArgs({
      component: 'hollow-nodes',
      api: apiAccess(apiserverUrl, kubeconfig),
      nodes,
      nodeNamePrefix: prefix,
      firstIndex,
      cpu,
      memory,
      pods,
      nodeLabels: labels,
      registerWithTaints: taints,
      extra: extraArgs,
    }),
  ];
  const proc = spawnLogged(process.execPath, args, logPath);
  const names = Array.from({ length: nodes }, (_, i) => `${prefix}${firstIndex + i}`);
  const want = new Set(names);
  const client = api(apiserverUrl);
  const deadline = Date.now() + 30_000 + nodes * 30;
  for (;;) {
    const res = await client
      .get('/api/v1/nodes?labelSelector=nanokube.io%2Fhollow%3Dtrue')
      .catch(() => undefined);
    const ready = (res?.body?.items ?? []).filter(
      (n: any) =>
        want.has(n.metadata.name) &&
        n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
    ).length;
    if (ready === nodes) break;
    const died = !isRunning(proc.child);
    if (died || Date.now() >= deadline) {
      await stopProcess(proc);
      throw new Error(
        `hollow nodes ${died ? 'exited' : `not Ready in time (${ready}/${nodes})`}; last lines of ${logPath}:\n${logTail(logPath)}`,
      );
    }
    await sleep(200);
  }
  return {
    names,
    pid: proc.child.pid ?? -1,
    logPath,
    stop: () => stopProcess(proc),
    kill: () => killProcess(proc),
  };
}

export interface Scheduler {
  /** Health and metrics URL, http://127.0.0.1:<port>. */
  url: string;
  pid: number;
  logPath: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts `node dist/scheduler/main.js` (nk-scheduler) against `apiserverUrl`
 * (or `kubeconfig`) with health and metrics on a free port, and resolves once
 * its /healthz answers 200. Leader election is off unless `leaderElect`, which
 * passes `--leader-elect` bare, as pflag and Kubernetes' manifests spell it.
 */
export async function startScheduler({
  apiserverUrl,
  kubeconfig,
  leaderElect = false,
  extraArgs = [],
}: {
  apiserverUrl: string;
  kubeconfig?: string;
  leaderElect?: boolean;
  extraArgs?: string[];
}): Promise<Scheduler> {
  const main = path.join(repoRoot, 'dist/scheduler/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = makeTempDir('nanokube-scheduler-');
  const logPath = path.join(dir, 'scheduler.log');
  const port = await freePort();
  const args = [
    main,
    ...componentArgs({
      component: 'scheduler',
      api: apiAccess(apiserverUrl, kubeconfig),
      leaderElect,
      bindAddress: '127.0.0.1',
      securePort: port,
      extra: extraArgs,
    }),
  ];
  const proc = spawnLogged(process.execPath, args, logPath);
  const url = `http://127.0.0.1:${port}`;
  await waitHttpReady(proc, `${url}/healthz`, logPath, 20_000, 'scheduler');
  return {
    url,
    pid: proc.child.pid ?? -1,
    logPath,
    stop: () => stopProcess(proc),
    kill: () => killProcess(proc),
  };
}

export interface ControllerManager {
  /** Health and metrics URL, http://127.0.0.1:<port>. */
  url: string;
  pid: number;
  logPath: string;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/**
 * Starts `node dist/controller-manager/main.js` (nk-controller-manager)
 * against `apiserverUrl` (or `kubeconfig`) with health and metrics on a free
 * port, and resolves once its /healthz answers 200. Leader election is off
 * unless `leaderElect` (`--leader-elect` bare); `controllers` is the
 * `--controllers` list.
 */
export async function startControllerManager({
  apiserverUrl,
  kubeconfig,
  leaderElect = false,
  controllers = ['*'],
  extraArgs = [],
}: {
  apiserverUrl: string;
  kubeconfig?: string;
  leaderElect?: boolean;
  controllers?: string[];
  extraArgs?: string[];
}): Promise<ControllerManager> {
  const main = path.join(repoRoot, 'dist/controller-manager/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = makeTempDir('nanokube-controller-manager-');
  const logPath = path.join(dir, 'controller-manager.log');
  const port = await freePort();
  const args = [
    main,
    ...componentArgs({
      component: 'controller-manager',
      api: apiAccess(apiserverUrl, kubeconfig),
      leaderElect,
      controllers,
      bindAddress: '127.0.0.1',
      securePort: port,
      extra: extraArgs,
    }),
  ];
  const proc = spawnLogged(process.execPath, args, logPath);
  const url = `http://127.0.0.1:${port}`;
  await waitHttpReady(proc, `${url}/healthz`, logPath, 20_000, 'controller-manager');
  return {
    url,
    pid: proc.child.pid ?? -1,
    logPath,
    stop: () => stopProcess(proc),
    kill: () => killProcess(proc),
  };
}

// ---------------------------------------------------------------------------
// kubelet

export interface Kubelet {
  nodeName: string;
  /** The kubelet server (logs, exec), http://127.0.0.1:<port>. */
  url: string;
  /** Health, readiness and metrics, http://127.0.0.1:<port>. */
  healthUrl: string;
  rootDir: string;
  readonly pid: number;
  logPath: string;
  /** SIGTERM, then SIGKILL after 5 s. Containers keep running. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would. */
  kill(): Promise<void>;
  /** Starts a stopped kubelet again with the same flags, ports and root dir; waits until ready. */
  start(): Promise<void>;
}

/**
 * Starts `node dist/kubelet/main.js` (nk-kubelet) as node `nodeName` with
 * node IP 127.0.0.1, its server and health on free loopback ports, a temp
 * root dir and `--pod-cidr podCIDR`, and resolves once /readyz answers 200
 * (the Node is registered, the pod network made, the pod informer synced).
 * Needs Docker; the containers and network it makes carry the label
 * nanokube.io/node=<nodeName>, and removing them is the test's job
 * (testing/kubelet-helpers.ts removeNodeContainers).
 */
export async function startKubelet({
  apiserverUrl,
  kubeconfig,
  nodeName,
  podCIDR,
  extraArgs = [],
}: {
  apiserverUrl: string;
  kubeconfig?: string;
  nodeName: string;
  podCIDR: string;
  extraArgs?: string[];
}): Promise<Kubelet> {
  const main = path.join(repoRoot, 'dist/kubelet/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = makeTempDir('nanokube-kubelet-');
  const logPath = path.join(dir, 'kubelet.log');
  const rootDir = path.join(dir, 'root');
  const [port, healthPort] = await freePorts(2);
  const args = [
    main,
    ...componentArgs({
      component: 'kubelet',
      api: apiAccess(apiserverUrl, kubeconfig),
      nodeName,
      nodeIP: '127.0.0.1',
      podCIDR,
      rootDir,
      port,
      healthzPort: healthPort,
      extra: extraArgs,
    }),
  ];
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  let proc = spawnLogged(process.execPath, args, logPath);
  await waitHttpReady(proc, `${healthUrl}/readyz`, logPath, 30_000, 'kubelet');
  return {
    nodeName,
    url: `http://127.0.0.1:${port}`,
    healthUrl,
    rootDir,
    get pid() {
      return proc.child.pid ?? -1;
    },
    logPath,
    stop: () => stopProcess(proc),
    kill: () => killProcess(proc),
    async start() {
      if (isRunning(proc.child)) return;
      proc = spawnLogged(process.execPath, args, logPath);
      await waitHttpReady(proc, `${healthUrl}/readyz`, logPath, 30_000, 'kubelet');
    },
  };
}

// ---------------------------------------------------------------------------
// kubeconfig and kubectl

/** Writes `dir/kubeconfig` for a plain-HTTP `url` (context nanokube, namespace default); returns its path. */
export async function writeKubeconfig(
  dir: string,
  url: string,
  { namespace = 'default' } = {},
): Promise<string> {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'nanokube', cluster: { server: url } }],
    users: [{ name: 'nanokube', user: {} }],
    contexts: [{ name: 'nanokube', context: { cluster: 'nanokube', user: 'nanokube', namespace } }],
    'current-context': 'nanokube',
  };
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, 'kubeconfig');
  await writeFile(file, YAML.stringify(config));
  return file;
}

export interface RunResult {
  /** Exit code; -1 when killed (for example by the timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The kubectl binary: /usr/bin/kubectl, or for `version` ('1.29' or 29) the
 * `kubectl.1.NN` beside the real path of /usr/bin/kubectl.
 */
export function kubectlPath(version?: string | number): string {
  const system = '/usr/bin/kubectl';
  const base = existsSync(system) ? system : 'kubectl';
  if (version === undefined) return base;
  const minor = String(version).replace(/^v?1\./, '');
  if (!/^\d+$/.test(minor)) throw new Error(`kubectl version must look like 1.29, got ${version}`);
  const file = path.join(path.dirname(realpathSync(system)), `kubectl.1.${minor}`);
  if (!existsSync(file)) throw new Error(`no kubectl 1.${minor} at ${file}`);
  return file;
}

/**
 * Runs the real kubectl with `--kubeconfig` (30 s timeout unless `timeoutMs`).
 * Its discovery cache lives beside the kubeconfig so runs never share a stale one.
 */
export function kubectl(
  args: string[],
  {
    kubeconfig,
    input,
    version,
    timeoutMs = 30_000,
  }: { kubeconfig: string; input?: string; version?: string | number; timeoutMs?: number },
): Promise<RunResult> {
  const cacheDir = path.join(path.dirname(kubeconfig), 'kube-cache');
  return run(kubectlPath(version), ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
    input,
    env: { KUBECONFIG: kubeconfig },
    timeoutMs,
  });
}

/** Runs a command to completion, tracked for cleanup; never rejects on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  { input, env, timeoutMs = 30_000 }: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    track(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (timedOut) stderr += `\n(${path.basename(cmd)} killed after ${timeoutMs}ms)`;
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(input ?? '');
  });
}

// ---------------------------------------------------------------------------
// HTTP

export interface ApiResponse<T = any> {
  status: number;
  /** Parsed JSON when the body is JSON, else the text ('' when empty). */
  body: T;
  headers: Record<string, string>;
}

type Body = unknown;
type Headers = Record<string, string>;

export interface Api {
  request<T = any>(method: string, path: string, body?: Body, headers?: Headers): Promise<ApiResponse<T>>;
  get<T = any>(path: string, headers?: Headers): Promise<ApiResponse<T>>;
  post<T = any>(path: string, body: Body, headers?: Headers): Promise<ApiResponse<T>>;
  put<T = any>(path: string, body: Body, headers?: Headers): Promise<ApiResponse<T>>;
  /** Content-Type defaults to application/merge-patch+json. */
  patch<T = any>(path: string, body: Body, headers?: Headers): Promise<ApiResponse<T>>;
  del<T = any>(path: string, body?: Body, headers?: Headers): Promise<ApiResponse<T>>;
}

/**
 * Small fetch helpers against `baseUrl`. Objects are sent as JSON; strings
 * and Buffers are sent as they are. Never throws on an HTTP error status.
 */
export function api(baseUrl: string): Api {
  const request = async (method: string, p: string, body?: Body, headers: Headers = {}) => {
    const h: Headers = { accept: 'application/json', ...headers };
    let payload: string | Buffer | undefined;
    if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) {
      h['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    }
    const res = await fetch(new URL(p, baseUrl), {
      method,
      headers: h,
      body: payload,
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let parsed: any = text;
    try {
      if (text !== '') parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, headers: Object.fromEntries(res.headers) };
  };
  return {
    request,
    get: (p, headers) => request('GET', p, undefined, headers),
    post: (p, body, headers) => request('POST', p, body, headers),
    put: (p, body, headers) => request('PUT', p, body, headers),
    patch: (p, body, headers) => request('PATCH', p, body, headers),
    del: (p, body, headers) => request('DELETE', p, body, headers),
  };
}

// ---------------------------------------------------------------------------
// Watch

export interface WatchEvent<T = any> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * An open watch. Events are buffered as they arrive; `next()` and the async
 * iterator take them in order (use one or the other). The stream ends when
 * the server closes it or on `abort()`; `next()` then rejects.
 */
export interface WatchStream<T = any> extends AsyncIterable<WatchEvent<T>> {
  /** HTTP status of the watch response; on non-200, `error` has the body and no events come. */
  status: number;
  error?: any;
  /** The next event; rejects after `timeoutMs` or when the stream has ended. */
  next(timeoutMs?: number): Promise<WatchEvent<T>>;
  /** The next `n` events, within `timeoutMs` in total. */
  take(n: number, timeoutMs?: number): Promise<WatchEvent<T>[]>;
  abort(): void;
}

/** Opens GET `baseUrl + path` as a watch (add `watch=1` yourself) and resolves once headers arrive. */
export async function watchStream<T = any>(
  baseUrl: string,
  p: string,
  headers: Headers = {},
): Promise<WatchStream<T>> {
  const ac = new AbortController();
  watches.add(ac);
  const res = await fetch(new URL(p, baseUrl), { headers, signal: ac.signal });
  const queue: WatchEvent<T>[] = [];
  const waiters: (() => void)[] = [];
  let ended: Error | undefined;
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };

  const stream: WatchStream<T> = {
    status: res.status,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (queue.length === 0) {
        if (ended) throw ended;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no watch event within ${timeoutMs}ms on ${p}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return queue.shift()!;
    },
    async take(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      const out: WatchEvent<T>[] = [];
      while (out.length < n) out.push(await stream.next(Math.max(1, deadline - Date.now())));
      return out;
    },
    abort() {
      ac.abort();
      watches.delete(ac);
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length === 0) {
          if (ended) return;
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
        yield queue.shift()!;
      }
    },
  };

  if (res.status !== 200) {
    const text = await res.text();
    try {
      stream.error = JSON.parse(text);
    } catch {
      stream.error = text;
    }
    ended = new Error(`watch ${p} answered ${res.status}`);
    watches.delete(ac);
    return stream;
  }

  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line !== '') queue.push(JSON.parse(line));
          nl = buf.indexOf('\n');
        }
        wake();
      }
      ended = new Error(`watch ${p} closed by the server`);
    } catch (err) {
      ended = ac.signal.aborted ? new Error(`watch ${p} aborted`) : (err as Error);
    } finally {
      watches.delete(ac);
      wake();
    }
  })();
  return stream;
}
