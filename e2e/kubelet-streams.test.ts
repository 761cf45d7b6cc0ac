/**
 * Streams through the apiserver to a pod on a real kubelet and Docker:
 * `kubectl port-forward` with kubectl 1.32 (SPDY tunnelled in a websocket)
 * and 1.27 (a SPDY upgrade), the websocket channel protocol the JavaScript
 * and Python clients speak, the error a closed port gives;
 * `kubectl attach` to a container's own output and stdin; and the
 * kubelet's stats Summary through the apiserver's node proxy.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { kubectl, kubectlPath } from '../testing/harness.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

let k: KubeletCluster;
const children: ChildProcess[] = [];

beforeAll(async () => {
  k = await KubeletCluster.start('kst');
  await k.startWebPod();
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await k?.stop();
}, 60_000);

/** Starts `kubectl port-forward` and resolves with its local port once it listens. */
function portForward(args: string[], version?: number) {
  const child = spawn(kubectlPath(version), ['--kubeconfig', k.kubeconfig, 'port-forward', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const port = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`port-forward did not start: ${stderr}`)), 20_000);
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => reject(new Error(`port-forward exited ${code}: ${stderr}`)));
  });
  return { child, port, output: () => ({ stdout, stderr }) };
}

async function get(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
  return res.text();
}

describe('kubectl port-forward', () => {
  for (const version of [undefined, 27]) {
    it(`forwards local connections to the pod (kubectl ${version ? `1.${version}` : 'default'})`, async () => {
      const pf = portForward(['pod/web', ':8080', '-v=7'], version);
      const port = await pf.port;
      // several connections, some at once, over the one upgraded connection
      expect(await get(port)).toBe('hello-from-pod\n');
      const many = await Promise.all(Array.from({ length: 5 }, () => get(port)));
      expect(many).toEqual(Array(5).fill('hello-from-pod\n'));
      expect(pf.output().stdout).toMatch(new RegExp(`Handling connection for ${port}`));
      // -v=7 shows which path kubectl took: the websocket tunnel (1.31+) with no fallback, or SPDY
      if (version === undefined) {
        expect(pf.output().stderr).toMatch(/negotiated protocol: portforward\.k8s\.io/);
        expect(pf.output().stderr).not.toMatch(/fallback/);
      } else expect(pf.output().stderr).toMatch(/Response Status: 101 Switching Protocols/);
      pf.child.kill('SIGTERM');
    });
  }

  it('reports a port nothing listens on as kubectl does', async () => {
    const pf = portForward(['pod/web', ':9999']);
    const port = await pf.port;
    await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
    const deadline = Date.now() + 10_000;
    while (!/error forwarding port 9999 to pod web/.test(pf.output().stderr) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(pf.output().stderr).toMatch(
      /error forwarding port 9999 to pod web, uid [0-9a-f-]+: dial tcp4 [\d.]+:9999: connect: connection refused/,
    );
    pf.child.kill('SIGTERM');
  });
});

describe('port-forward websocket channel protocol (v4.channel.k8s.io)', () => {
  it('sends the port on both channels first, then the pod’s bytes on the data channel', async () => {
    const url = `${k.apiserverUrl.replace(/^http/, 'ws')}/api/v1/namespaces/default/pods/web/portforward?ports=8080`;
    const ws = new WebSocket(url, ['v4.channel.k8s.io']);
    const messages: Buffer[] = [];
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    ws.on('message', (m: Buffer) => messages.push(m));
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('GET / HTTP/1.0\r\n\r\n')]));
    await closed;
    const port8080 = Buffer.from([0x90, 0x1f]);
    expect(messages[0]).toEqual(Buffer.concat([Buffer.from([0]), port8080]));
    expect(messages[1]).toEqual(Buffer.concat([Buffer.from([1]), port8080]));
    const data = Buffer.concat(
      messages
        .slice(2)
        .filter((m) => m[0] === 0)
        .map((m) => m.subarray(1)),
    );
    expect(data.toString()).toMatch(/^HTTP\/1\.[01] 200 OK[\s\S]*hello-from-pod\n$/);
  });

  it('refuses a request without ports with a Status', async () => {
    const url = `${k.apiserverUrl.replace(/^http/, 'ws')}/api/v1/namespaces/default/pods/web/portforward`;
    const ws = new WebSocket(url, ['v4.channel.k8s.io']);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => resolve(-1));
    });
    expect(status).toBe(400);
  });
});

describe('kubectl attach', () => {
  it('shows the output of the running process from now on', async () => {
    await k.createPod('ticker', {
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done'],
        },
      ],
    });
    await k.waitPod('ticker', running, 'Running');
    const child = spawn(kubectlPath(), ['--kubeconfig', k.kubeconfig, 'attach', 'ticker', '-c', 'app'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    const deadline = Date.now() + 15_000;
    while ((out.match(/tick \d+/g) ?? []).length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const ticks = (out.match(/tick (\d+)/g) ?? []).map((t) => Number(t.split(' ')[1]));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    // consecutive lines of the one process
    expect(ticks[1] - ticks[0]).toBe(1);
    child.kill('SIGTERM');
    // detaching leaves the container running
    await new Promise((r) => setTimeout(r, 500));
    const pod = (await k.client.get('/api/v1/namespaces/default/pods/ticker')).body;
    expect(pod.status.containerStatuses[0]).toMatchObject({ restartCount: 0, state: { running: {} } });
  });

  it('-i sends stdin to a container that keeps it open', async () => {
    await k.createPod('reader', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'app',
          image: busybox,
          stdin: true,
          stdinOnce: true,
          command: ['sh', '-c', 'read line; echo got:$line'],
        },
      ],
    });
    await k.waitPod('reader', running, 'Running');
    const res = await kubectl(['attach', '-i', 'reader', '-c', 'app'], {
      kubeconfig: k.kubeconfig,
      input: 'hello\n',
    });
    expect(res.stdout + res.stderr).toContain('got:hello');
    const done = await k.waitPod('reader', (p) => p.status?.phase === 'Succeeded', 'Succeeded');
    expect(done.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
  });
});

describe('stats', () => {
  it('serves the Summary API through nodes/{name}/proxy: node and per-pod CPU and memory from Docker', async () => {
    await k.createPod('burner', {
      containers: [{ name: 'app', image: busybox, command: ['sh', '-c', 'while true; do :; done'] }],
    });
    await k.waitPod('burner', running, 'Running');
    const res = await kubectl(['get', '--raw', `/api/v1/nodes/${k.node}/proxy/stats/summary`], {
      kubeconfig: k.kubeconfig,
    });
    expect(res.code, res.stderr).toBe(0);
    const summary = JSON.parse(res.stdout);
    expect(summary.node.nodeName).toBe(k.node);
    expect(summary.node.memory.workingSetBytes).toBeGreaterThan(0);
    expect(summary.node.cpu.usageCoreNanoSeconds).toBeGreaterThan(0);
    const burner = summary.pods.find((p: any) => p.podRef.name === 'burner');
    expect(burner.podRef.namespace).toBe('default');
    expect(burner.containers.map((c: any) => c.name)).toEqual(['app']);
    // a busy loop uses a good part of a core; shared machines give it less than all of one
    expect(burner.cpu.usageNanoCores).toBeGreaterThan(50_000_000);
    expect(burner.containers[0].cpu.usageCoreNanoSeconds).toBeGreaterThan(0);
    expect(burner.memory.workingSetBytes).toBeGreaterThan(0);
    await k.deletePod('burner');
  });

  it('answers a node that does not exist with NotFound', async () => {
    const res = await kubectl(['get', '--raw', '/api/v1/nodes/nope/proxy/stats/summary'], {
      kubeconfig: k.kubeconfig,
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/NotFound|not found/);
  });
});
