/**
 * Interactive exec and attach over the websocket channel protocols, as the
 * official clients speak them, through the apiserver to a real kubelet and
 * Docker: @kubernetes/client-node's Exec and Attach (v5.channel.k8s.io, and
 * v4 when only that is offered), the Python client's stream() (v4, text
 * frames, booleans spelled `True`) and the same by hand, v5's close signal
 * (channel 255) that half-closes stdin, base64.channel.k8s.io, and a TTY's
 * resize channel. Each line written must come back before the next one is
 * written: nothing may wait for stdin to end.
 */
import { execFile } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
// Not re-exported by the package's index; its factory parameter chooses the offered subprotocols.
import { WebSocketHandler } from '@kubernetes/client-node/dist/web-socket-handler.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sleep, waitFor } from '../testing/harness.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

let k: KubeletCluster;
let kc: k8s.KubeConfig;

beforeAll(async () => {
  k = await KubeletCluster.start('kex');
  kc = new k8s.KubeConfig();
  kc.loadFromFile(k.kubeconfig);
  // This cluster speaks plain HTTP, which client-node accepts only with skipTLSVerify.
  kc.clusters = kc.clusters.map((c) => ({ ...c, skipTLSVerify: true }));
  await k.createPod('shell', {
    containers: [{ name: 'app', image: busybox, command: ['sleep', '3600'] }],
  });
  await k.waitPod('shell', running, 'Running');
}, 90_000);

afterAll(async () => {
  await k?.stop();
}, 60_000);

/** Everything written to a stream so far, as text. */
function collect(s: NodeJS.ReadableStream): () => string {
  let text = '';
  s.on('data', (d: Buffer) => {
    text += d.toString();
  });
  return () => text;
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms)),
  ]);
}

const exitCode3 = {
  status: 'Failure',
  reason: 'NonZeroExitCode',
  details: { causes: [{ reason: 'ExitCode', message: '3' }] },
};

describe('@kubernetes/client-node Exec', () => {
  it.each([
    { name: 'v5 (offered first)', protocols: undefined, want: 'v5.channel.k8s.io' },
    { name: 'v4 only', protocols: ['v4.channel.k8s.io'], want: 'v4.channel.k8s.io' },
  ])(
    'runs /bin/sh line by line and reports exit 3 on the status channel: $name',
    async ({ protocols, want }) => {
      const handler = protocols
        ? new WebSocketHandler(
            kc,
            (uri: string, _offered: string[], opts: WebSocket.ClientOptions) =>
              new WebSocket(uri, protocols, opts) as any,
          )
        : undefined;
      const stdin = new PassThrough();
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const out = collect(stdout);
      let done!: (s: k8s.V1Status) => void;
      const status = new Promise<k8s.V1Status>((resolve) => {
        done = resolve;
      });
      const ws = await new k8s.Exec(kc, handler).exec(
        'default',
        'shell',
        'app',
        ['/bin/sh'],
        stdout,
        stderr,
        stdin,
        false,
        (s) => done(s),
      );
      expect(ws.protocol).toBe(want);
      stdin.write('echo hi\n');
      await waitFor(() => out() === 'hi\n', { timeoutMs: 5_000, what: 'hi on stdout' });
      stdin.write('echo there\n');
      await waitFor(() => out() === 'hi\nthere\n', { timeoutMs: 5_000, what: 'the second line' });
      stdin.write('exit 3\n');
      expect(await within(status, 5_000, 'status')).toMatchObject(exitCode3);
    },
  );
});

describe('@kubernetes/client-node Attach', () => {
  it('talks to a container started with stdin: true, and its exit ends the session', async () => {
    await k.createPod('console', {
      restartPolicy: 'Never',
      containers: [{ name: 'app', image: busybox, stdin: true, command: ['sh'] }],
    });
    await k.waitPod('console', running, 'Running');
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const ws = await new k8s.Attach(kc).attach('default', 'console', 'app', stdout, stderr, stdin, false);
    const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
    stdin.write('echo hi\n');
    await waitFor(() => out() === 'hi\n', { timeoutMs: 5_000, what: 'hi on stdout' });
    stdin.write('exit 3\n');
    await within(closed, 10_000, 'end of the attach session');
    const pod = await k.waitPod(
      'console',
      (p) => p.status?.containerStatuses?.[0]?.state?.terminated,
      'terminated',
    );
    expect(pod.status.containerStatuses[0].state.terminated.exitCode).toBe(3);
  });
});

// The Python client as scripts use it: stream() with _preload_content=False, writing and reading lines.
const pythonExec = `
import json, sys
from kubernetes import client, config
from kubernetes.stream import stream
config.load_kube_config(config_file=sys.argv[1])
s = stream(client.CoreV1Api().connect_get_namespaced_pod_exec, 'shell', 'default', container='app',
           command=['/bin/sh'], stdin=True, stdout=True, stderr=True, tty=False, _preload_content=False)
s.write_stdin('echo hi\\n')
line = s.readline_stdout(timeout=5)
s.write_stdin('exit 3\\n')
s.run_forever(timeout=5)
print(json.dumps({'line': line, 'returncode': s.returncode}))
`;

describe('the Python client (Debian’s python3-kubernetes)', () => {
  it('stream(): a line written to /bin/sh is answered within 5 s, and exit 3 is its returncode', async () => {
    const { stdout } = await promisify(execFile)('/usr/bin/python3', ['-c', pythonExec, k.kubeconfig], {
      timeout: 30_000,
    });
    expect(JSON.parse(stdout)).toEqual({ line: 'hi', returncode: 3 });
  });
});

/** A raw channel connection through the apiserver; messages are kept by channel, decoded as given. */
async function connect(path: string, protocols: string[]) {
  const ws = new WebSocket(`${k.apiserverUrl.replace(/^http/, 'ws')}${path}`, protocols);
  const messages: { channel: number; data: Buffer }[] = [];
  const base64 = () => ws.protocol.includes('base64');
  ws.on('message', (raw: Buffer) => {
    if (raw.length === 0) return;
    if (base64()) {
      const text = raw.toString();
      messages.push({ channel: text.charCodeAt(0) - 48, data: Buffer.from(text.slice(1), 'base64') });
    } else messages.push({ channel: raw[0], data: raw.subarray(1) });
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  const text = (channel: number) =>
    Buffer.concat(messages.filter((m) => m.channel === channel).map((m) => m.data)).toString();
  return { ws, messages, closed, text };
}

const execPath = (query: string) => `/api/v1/namespaces/default/pods/shell/exec?container=app&${query}`;

describe('channel protocols', () => {
  it('v4 with text frames and the Python client’s booleans (stdin=True): each line answered, exit 3 reported', async () => {
    const c = await connect(execPath('command=%2Fbin%2Fsh&stdin=True&stdout=True&stderr=True&tty=False'), [
      'v4.channel.k8s.io',
    ]);
    c.ws.send('\x00echo hi\n');
    await waitFor(() => c.text(1) === 'hi\n', { timeoutMs: 5_000, what: 'hi on stdout' });
    c.ws.send('\x00exit 3\n');
    await within(c.closed, 5_000, 'close');
    expect(JSON.parse(c.text(3))).toMatchObject(exitCode3);
  });

  it('v5: the close signal [255, 0] half-closes stdin, so cat ends and its output arrives', async () => {
    const c = await connect(execPath('command=cat&stdin=true&stdout=true&stderr=true'), [
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
    ]);
    expect(c.ws.protocol).toBe('v5.channel.k8s.io');
    c.ws.send(Buffer.from('\x00one\n'));
    await waitFor(() => c.text(1) === 'one\n', { timeoutMs: 5_000, what: 'one echoed before the close' });
    c.ws.send(Buffer.from('\x00two\n'));
    c.ws.send(Buffer.from([255, 0]));
    await within(c.closed, 5_000, 'close');
    expect(c.text(1)).toBe('one\ntwo\n');
    expect(JSON.parse(c.text(3))).toMatchObject({ status: 'Success' });
  });

  it('v4.base64.channel.k8s.io: channel digits and base64 payloads in text frames', async () => {
    const c = await connect(execPath('command=cat&stdin=1&stdout=1'), ['v4.base64.channel.k8s.io']);
    expect(c.ws.protocol).toBe('v4.base64.channel.k8s.io');
    c.ws.send(`0${Buffer.from('hi\n').toString('base64')}`);
    await waitFor(() => c.text(1) === 'hi\n', { timeoutMs: 5_000, what: 'hi on stdout' });
    c.ws.close();
    await within(c.closed, 5_000, 'close');
  });

  it('hostile frames: a bare close signal, an unknown channel, bad resizes, then a frame over 32 MiB closes only that session', async () => {
    const c = await connect(execPath('command=cat&stdin=true&stdout=true&tty=true'), ['v5.channel.k8s.io']);
    c.ws.send(Buffer.from([255]));
    c.ws.send(Buffer.from([9, 1, 2, 3]));
    c.ws.send(Buffer.from('\x04{not json'));
    c.ws.send(Buffer.from('\x04{"Width":-1,"Height":1e12,"__proto__":{"x":1}}'));
    c.ws.send(Buffer.from('\x00still here\n'));
    await waitFor(() => c.text(1).includes('still here'), { timeoutMs: 5_000, what: 'cat still echoing' });
    const code = new Promise<number>((resolve) => c.ws.on('close', (n: number) => resolve(n)));
    c.ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(32 * 1024 * 1024 + 1, 0x61)]));
    // 1009 from the kubelet, or 1006 when the connection is cut while the client still writes.
    expect([1006, 1009]).toContain(await within(code, 15_000, 'close after the big frame'));
    // The kubelet is fine: a new session answers.
    const again = await connect(execPath('command=cat&stdin=true&stdout=true'), ['v5.channel.k8s.io']);
    again.ws.send(Buffer.from('\x00ok\n'));
    await waitFor(() => again.text(1) === 'ok\n', { timeoutMs: 5_000, what: 'a new session' });
    again.ws.close();
    await within(again.closed, 5_000, 'close');
  });

  it('a TTY takes its size from the resize channel', async () => {
    const c = await connect(execPath('command=sh&stdin=true&stdout=true&tty=true'), ['v5.channel.k8s.io']);
    c.ws.send(Buffer.from(`\x04${JSON.stringify({ Width: 123, Height: 45 })}`));
    // The resize reaches the runtime by its own call: ask until the shell sees it.
    await waitFor(
      () => {
        if (/^45 123\r?$/m.test(c.text(1))) return true;
        c.ws.send(Buffer.from('\x00stty size\n'));
        return false;
      },
      { timeoutMs: 5_000, intervalMs: 300, what: 'the new size' },
    );
    c.ws.send(Buffer.from('\x00exit 0\n'));
    await within(c.closed, 5_000, 'close');
    expect(JSON.parse(c.text(3))).toMatchObject({ status: 'Success' });
  });
});

describe('flow control', () => {
  it('stdin a process does not read yet stays with the client (the kubelet stops reading), then every byte arrives', async () => {
    const script = encodeURIComponent('sleep 6; wc -c');
    const c = await connect(
      execPath(`command=sh&command=-c&command=${script}&stdin=true&stdout=true&stderr=true`),
      ['v5.channel.k8s.io'],
    );
    const chunk = Buffer.concat([Buffer.from([0]), Buffer.alloc(64 * 1024, 0x61)]);
    const total = 64 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += 64 * 1024) c.ws.send(chunk);
    await sleep(3_000);
    // What the socket buffers on the way hold is far less than 64 MiB: the rest is still the client's.
    expect(c.ws.bufferedAmount).toBeGreaterThan(16 * 1024 * 1024);
    c.ws.send(Buffer.from([255, 0]));
    await within(c.closed, 60_000, 'close');
    expect(c.text(1).trim()).toBe(String(total));
    expect(JSON.parse(c.text(3))).toMatchObject({ status: 'Success' });
  }, 90_000);

  it('output a client does not read stays in the container (the process blocks), then every byte arrives', async () => {
    const total = 64 * 1024 * 1024;
    const script = encodeURIComponent(`head -c ${total} /dev/zero; echo written >&2`);
    const c = await connect(execPath(`command=sh&command=-c&command=${script}&stdout=true&stderr=true`), [
      'v5.channel.k8s.io',
    ]);
    c.ws.pause();
    await sleep(3_000);
    // The buffers on the way hold far less than 64 MiB: the writer must still be blocked.
    const ps = await connect(execPath('command=ps&stdout=true'), ['v5.channel.k8s.io']);
    await within(ps.closed, 10_000, 'ps');
    expect(ps.text(1)).toMatch(/head -c/);
    expect(c.text(2)).toBe('');
    c.ws.resume();
    await within(c.closed, 60_000, 'close');
    expect(c.messages.filter((m) => m.channel === 1).reduce((n, m) => n + m.data.length, 0)).toBe(total);
    expect(c.text(2)).toBe('written\n');
  }, 90_000);
});
