/**
 * The streaming half of the three-client layer: exec (with and without
 * stdin), attach, port-forward and logs --follow through kubectl 1.32,
 * @kubernetes/client-node 2.x and the official Python client
 * (e2e/clients/streams.py), against one apiserver and a real kubelet on
 * Docker. Each client runs each scenario its own way and reports what it saw;
 * all must see what e2e/clients/streams.ts says Kubernetes gives.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlPath, run, waitFor } from '../testing/harness.js';
import {
  type ClientName,
  type ExecSeen,
  execCommand,
  type LogsSeen,
  type PortForwardSeen,
  type ReplySeen,
  type StreamScenario,
  scenarioClients,
  streamExpected,
  streamPods,
} from './clients/streams.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

const python = '/usr/bin/python3';
const script = path.join(import.meta.dirname, 'clients', 'streams.py');
const hasPython = existsSync(python) && existsSync('/usr/lib/python3/dist-packages/kubernetes/__init__.py');
// setup.sh installs the client; in CI its absence is a failure, not a skip.
const runPython = hasPython || !!process.env.CI;

const { shell, echo, counter } = streamPods;
const webPort = 8080;

let k: KubeletCluster;
let kc: k8s.KubeConfig;
const children: ChildProcess[] = [];

beforeAll(async () => {
  k = await KubeletCluster.start('kcs');
  kc = new k8s.KubeConfig();
  kc.loadFromFile(k.kubeconfig);
  // This cluster speaks plain HTTP, which client-node accepts only with skipTLSVerify.
  kc.clusters = kc.clusters.map((c) => ({ ...c, skipTLSVerify: true }));
  await k.createPod(shell.name, {
    containers: [{ name: shell.container, image: busybox, command: shell.command }],
  });
  await k.createPod(echo.name, {
    containers: [{ name: echo.container, image: busybox, stdin: true, command: echo.command }],
  });
  await k.startWebPod();
  await k.waitPod(shell.name, running, 'Running');
  await k.waitPod(echo.name, running, 'Running');
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await k?.stop();
}, 60_000);

/** Everything a stream has given so far, as text. */
function collect(s: Readable): () => string {
  let text = '';
  s.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return () => text;
}

/** The first line of the text within `ms`, or null: a missing answer is an observation, not a hang. */
async function firstLine(text: () => string, ms: number): Promise<string | null> {
  return waitFor(() => (text().includes('\n') ? text().split('\n')[0] : undefined), {
    timeoutMs: ms,
    intervalMs: 50,
    what: 'a line',
  }).catch(() => null);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The exit code a Status on channel 3 stands for, as kubectl and the Python client read it. */
function exitCodeOf(status: k8s.V1Status): number {
  if (status.status === 'Success') return 0;
  return Number(status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message ?? -1);
}

/** A counter pod for one client's logs scenario, Running. */
async function startCounter(client: ClientName): Promise<string> {
  const name = `counter-${client}`;
  await k.createPod(name, {
    restartPolicy: 'Never',
    containers: [{ name: counter.container, image: busybox, command: counter.command }],
  });
  await k.waitPod(name, running, 'Running');
  return name;
}

/** Lets a counter pod finish: it writes `bye` and exits. */
async function stopCounter(pod: string): Promise<void> {
  const res = await kubectl(['exec', pod, '-c', counter.container, '--', 'touch', '/tmp/stop'], {
    kubeconfig: k.kubeconfig,
  });
  expect(res.code, res.stderr).toBe(0);
}

const lines = (text: string) => text.split('\n').filter(Boolean);

/** What a client must do for each scenario; `pod` is the scenario's own pod where it has one. */
interface StreamClient {
  exec(opts: { stdout: boolean }): Promise<ExecSeen>;
  execStdin(): Promise<ReplySeen>;
  attach(): Promise<ReplySeen>;
  portForward(): Promise<PortForwardSeen>;
  logsFollow(pod: string): Promise<LogsSeen>;
}

/** kubectl with pipes, tracked so that afterAll kills whatever is left. */
function spawnKubectl(args: string[]) {
  const child = spawn(kubectlPath(), ['--kubeconfig', k.kubeconfig, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  const stdout = collect(child.stdout!);
  const stderr = collect(child.stderr!);
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, stdout, stderr, exited };
}

const kubectlClient: StreamClient = {
  async exec() {
    const res = await kubectl(['exec', shell.name, '-c', shell.container, '--', ...execCommand], {
      kubeconfig: k.kubeconfig,
    });
    // kubectl's own last word on a non-zero exit is not the container's stderr.
    const stderr = res.stderr.replace(/^command terminated with exit code \d+\n/m, '');
    return { stdout: res.stdout, stderr, exitCode: res.code };
  },

  async execStdin() {
    const c = spawnKubectl(['exec', '-i', shell.name, '-c', shell.container, '--', '/bin/sh']);
    c.child.stdin!.write('echo hi\n');
    const reply = await firstLine(c.stdout, 5_000);
    c.child.stdin!.end('exit 0\n');
    const exitCode = await within(c.exited, 10_000, 'kubectl exec exiting');
    return { reply, exitCode };
  },

  async attach() {
    const c = spawnKubectl(['attach', '-i', echo.name, '-c', echo.container]);
    c.child.stdin!.write('hello\n');
    const reply = await firstLine(c.stdout, 5_000);
    c.child.kill('SIGTERM');
    await within(c.exited, 10_000, 'kubectl attach exiting');
    return { reply };
  },

  async portForward() {
    const c = spawnKubectl(['port-forward', 'pod/web', `:${webPort}`]);
    try {
      const port = await waitFor(() => /Forwarding from 127\.0\.0\.1:(\d+)/.exec(c.stdout())?.[1], {
        timeoutMs: 20_000,
        what: `kubectl port-forward listening (${c.stderr()})`,
      });
      return await get(Number(port));
    } finally {
      c.child.kill('SIGTERM');
      await within(c.exited, 10_000, 'kubectl port-forward exiting');
    }
  },

  async logsFollow(pod) {
    const c = spawnKubectl(['logs', '-f', pod, '-c', counter.container]);
    await waitFor(() => lines(c.stdout()).length >= 3, { timeoutMs: 15_000, what: 'three lines' });
    const first = lines(c.stdout()).slice(0, 3);
    await stopCounter(pod);
    const ended = (await within(c.exited, 20_000, 'kubectl logs -f ending')) === 0;
    return { first, last: lines(c.stdout()).at(-1)!, ended };
  },
};

/** GET / on a local port that forwards to the web pod. */
async function get(port: number): Promise<PortForwardSeen> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

const nodeClient: StreamClient = {
  async exec({ stdout: withStdout }) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    let done!: (s: k8s.V1Status) => void;
    const status = new Promise<k8s.V1Status>((resolve) => {
      done = resolve;
    });
    await new k8s.Exec(kc).exec(
      'default',
      shell.name,
      shell.container,
      execCommand,
      withStdout ? stdout : null,
      stderr,
      null,
      false,
      (s) => done(s),
    );
    const exitCode = exitCodeOf(await within(status, 20_000, 'the exec status'));
    return { stdout: out(), stderr: err(), exitCode };
  },

  async execStdin() {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const out = collect(stdout);
    let done!: (s: k8s.V1Status) => void;
    const status = new Promise<k8s.V1Status>((resolve) => {
      done = resolve;
    });
    const ws = await new k8s.Exec(kc).exec(
      'default',
      shell.name,
      shell.container,
      ['/bin/sh'],
      stdout,
      new PassThrough(),
      stdin,
      false,
      (s) => done(s),
    );
    try {
      stdin.write('echo hi\n');
      const reply = await firstLine(out, 5_000);
      stdin.end('exit 0\n');
      const exitCode = exitCodeOf(await within(status, 10_000, 'the exec status'));
      return { reply, exitCode };
    } finally {
      ws.close();
    }
  },

  async attach() {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const out = collect(stdout);
    const ws = await new k8s.Attach(kc).attach(
      'default',
      echo.name,
      echo.container,
      stdout,
      new PassThrough(),
      stdin,
      false,
    );
    try {
      stdin.write('hello\n');
      return { reply: await firstLine(out, 5_000) };
    } finally {
      ws.close();
    }
  },

  async portForward() {
    // As client-node's users do: a local server, one forwarded websocket per accepted connection.
    const forward = new k8s.PortForward(kc);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      forward.portForward('default', 'web', [webPort], socket, null, socket).catch(() => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      return await get((server.address() as net.AddressInfo).port);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  },

  async logsFollow(pod) {
    const sink = new PassThrough();
    const out = collect(sink);
    const ended = new Promise<boolean>((resolve) => sink.on('end', () => resolve(true)));
    const abort = await new k8s.Log(kc).log('default', pod, counter.container, sink, { follow: true });
    try {
      await waitFor(() => lines(out()).length >= 3, { timeoutMs: 15_000, what: 'three lines' });
      const first = lines(out()).slice(0, 3);
      await stopCounter(pod);
      const end = await within(ended, 20_000, 'the end of the follow');
      return { first, last: lines(out()).at(-1)!, ended: end };
    } finally {
      abort.abort();
    }
  },
};

/** The Python client: one process per scenario, its observation printed as JSON. */
function pythonScenario(scenario: StreamScenario, args: Record<string, unknown>) {
  return async () => {
    if (!hasPython)
      throw new Error(`python3-kubernetes is missing for ${python}: bash deploy/setup.sh installs it`);
    const res = await run(python, [script, k.kubeconfig, scenario, JSON.stringify(args)], {
      timeoutMs: 60_000,
    });
    if (res.code !== 0)
      throw new Error(`streams.py ${scenario} exited ${res.code}\n${res.stderr}\n${res.stdout}`);
    return JSON.parse(res.stdout);
  };
}

const shellArgs = { pod: shell.name, container: shell.container, command: execCommand };
const pythonClient: StreamClient = {
  exec: ({ stdout }) => pythonScenario(stdout ? 'exec' : 'execWithoutStdout', shellArgs)(),
  execStdin: pythonScenario('execStdin', shellArgs),
  attach: pythonScenario('attach', { pod: echo.name, container: echo.container }),
  portForward: pythonScenario('portForward', { pod: 'web', port: webPort }),
  logsFollow: (pod) => pythonScenario('logsFollow', { pod, container: counter.container })(),
};

const clients: Record<ClientName, StreamClient> = {
  kubectl: kubectlClient,
  'client-node': nodeClient,
  python: pythonClient,
};

async function observe(client: ClientName, scenario: StreamScenario): Promise<unknown> {
  const c = clients[client];
  switch (scenario) {
    case 'exec':
      return c.exec({ stdout: true });
    case 'execWithoutStdout':
      return c.exec({ stdout: false });
    case 'execStdin':
      return c.execStdin();
    case 'attach':
      return c.attach();
    case 'portForward':
      return c.portForward();
    case 'logsFollow': {
      const pod = await startCounter(client);
      try {
        return await c.logsFollow(pod);
      } finally {
        await k.deletePod(pod);
      }
    }
  }
}

describe.each(Object.keys(streamExpected) as StreamScenario[])('%s', (scenario) => {
  for (const client of scenarioClients[scenario])
    it.skipIf(client === 'python' && !runPython)(
      client,
      async () => {
        expect(await observe(client, scenario)).toEqual(streamExpected[scenario]);
      },
      90_000,
    );
});
