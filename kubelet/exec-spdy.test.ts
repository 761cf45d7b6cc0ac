import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { execUpgradeHandler } from './exec.js';
import { expectedStreams, spdyExecProtocols } from './exec-spdy.js';
import type { ExecSession, Runtime, StreamOptions } from './runtime/runtime.js';
import type { KubeletServer } from './server.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';

const v4 = spdyExecProtocols['v4.channel.k8s.io'];
const v2 = spdyExecProtocols['v2.channel.k8s.io'];
const opts = (o: Partial<StreamOptions>): StreamOptions => ({
  stdin: false,
  stdout: false,
  stderr: false,
  tty: false,
  ...o,
});

describe('expectedStreams', () => {
  it.each([
    { name: 'exec', p: v4, o: opts({ stdout: true, stderr: true }), want: ['error', 'stdout', 'stderr'] },
    {
      name: 'exec -i',
      p: v4,
      o: opts({ stdin: true, stdout: true, stderr: true }),
      want: ['error', 'stdin', 'stdout', 'stderr'],
    },
    {
      name: 'exec -it: no stderr, a resize stream',
      p: v4,
      o: opts({ stdin: true, stdout: true, stderr: true, tty: true }),
      want: ['error', 'stdin', 'stdout', 'resize'],
    },
    {
      name: 'a TTY in v2: no resize stream',
      p: v2,
      o: opts({ stdout: true, tty: true }),
      want: ['error', 'stdout'],
    },
  ])('$name', ({ p, o, want }) => {
    expect(expectedStreams(p, o)).toEqual(want);
  });
});

/** A runtime whose one exec is a process the test plays: it sees stdin and writes output. */
class FakeProcess {
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly resizes: [number, number][] = [];
  command: string[] = [];
  private exit!: (code: number) => void;
  private readonly exited = new Promise<number>((resolve) => {
    this.exit = resolve;
  });

  runtime(): Runtime {
    return {
      execStream: async (_id: string, command: string[], o: StreamOptions): Promise<ExecSession> => {
        this.command = command;
        return {
          stdin: o.stdin ? this.stdin : undefined,
          stdout: o.stdout ? this.stdout : undefined,
          stderr: o.stderr && !o.tty ? this.stderr : undefined,
          resize: async (rows, cols) => {
            this.resizes.push([rows, cols]);
          },
          wait: () => this.exited,
        };
      },
    } as unknown as Runtime;
  }

  end(code: number): void {
    this.stdout.end();
    this.stderr.end();
    this.exit(code);
  }
}

const servers: http.Server[] = [];
const clients: SpdyConnection[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.close();
});

async function kubelet(proc: FakeProcess, streamCreationTimeoutMs = 5_000): Promise<number> {
  const server = {
    findContainer: async () => ({ name: 'app', instances: [{ id: 'c1', state: 'running' }] }),
  } as unknown as KubeletServer;
  const handler = execUpgradeHandler({
    server: () => server,
    runtime: proc.runtime(),
    logger: pino({ level: 'silent' }),
    streamCreationTimeoutMs,
  });
  const srv = http.createServer();
  srv.on('upgrade', handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return (srv.address() as net.AddressInfo).port;
}

/** Sends a SPDY upgrade of `path`; resolves with the response head and the socket after it. */
async function upgrade(port: number, path: string, versions: string) {
  const sock = net.connect(port, '127.0.0.1');
  sock.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${versions}\r\n\r\n`,
  );
  let buf = Buffer.alloc(0);
  const head = await new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.pause();
      const rest = buf.subarray(end + 4);
      if (rest.length) sock.unshift(rest);
      resolve(buf.subarray(0, end).toString());
    };
    sock.on('data', onData);
    sock.on('error', reject);
  });
  return { head, sock, body: () => buf.subarray(buf.indexOf('\r\n\r\n') + 4).toString() };
}

function readAll(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

const execPath = '/exec/default/shell/app?command=sh&command=-c&command=exit+3';

describe('exec over SPDY', () => {
  it('answers 101 with the agreed version, takes the client’s streams, and writes v4’s exit Status', async () => {
    const proc = new FakeProcess();
    const port = await kubelet(proc);
    const { head, sock } = await upgrade(
      port,
      `${execPath}&stdin=1&stdout=1&stderr=1`,
      'v4.channel.k8s.io, v3.channel.k8s.io',
    );
    expect(head.split('\r\n')).toEqual([
      'HTTP/1.1 101 Switching Protocols',
      'Connection: Upgrade',
      'Upgrade: SPDY/3.1',
      'X-Stream-Protocol-Version: v4.channel.k8s.io',
    ]);
    const conn = new SpdyConnection(sock, 'client');
    clients.push(conn);
    sock.resume();
    // In client-go's order, each awaited: error, stdin, stdout, stderr.
    const error = await conn.open({ streamType: 'error' });
    const stdin = await conn.open({ streamType: 'stdin' });
    const stdout = await conn.open({ streamType: 'stdout' });
    const stderr = await conn.open({ streamType: 'stderr' });
    const [status, out, err] = [readAll(error), readAll(stdout), readAll(stderr)];
    stdin.write('hello\n');
    const got = await new Promise<string>((resolve) =>
      proc.stdin.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(got).toBe('hello\n');
    stdin.end();
    await new Promise<void>((resolve) => proc.stdin.on('end', resolve).resume());
    proc.stdout.write('out\n');
    proc.stderr.write('err\n');
    proc.end(3);
    expect(await out).toBe('out\n');
    expect(await err).toBe('err\n');
    expect(await status).toBe(
      '{"metadata":{},"status":"Failure","message":"command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
    );
    expect(proc.command).toEqual(['sh', '-c', 'exit 3']);
  });

  it('v4 success is {"metadata":{},"status":"Success"}; resizes are JSON lines, split anywhere', async () => {
    const proc = new FakeProcess();
    const port = await kubelet(proc);
    const { sock } = await upgrade(port, `${execPath}&stdin=1&stdout=1&stderr=1&tty=1`, 'v4.channel.k8s.io');
    const conn = new SpdyConnection(sock, 'client');
    clients.push(conn);
    sock.resume();
    const error = await conn.open({ streamType: 'error' });
    await conn.open({ streamType: 'stdin' });
    const stdout = await conn.open({ streamType: 'stdout' });
    const resize = await conn.open({ streamType: 'resize' });
    const status = readAll(error);
    resize.write('{"Width":123,"Hei');
    resize.write('ght":45}\n{not json}\n{"Width":100,"Height":50}\n');
    await expectSoon(() => proc.resizes.length === 2);
    expect(proc.resizes).toEqual([
      [45, 123],
      [50, 100],
    ]);
    const out = readAll(stdout);
    proc.end(0);
    expect(await out).toBe('');
    expect(await status).toBe('{"metadata":{},"status":"Success"}');
  });

  it('before v4, the error stream carries only a failure’s message', async () => {
    const proc = new FakeProcess();
    const port = await kubelet(proc);
    const { head, sock } = await upgrade(port, `${execPath}&stdout=1`, 'v2.channel.k8s.io');
    expect(head).toContain('X-Stream-Protocol-Version: v2.channel.k8s.io');
    const conn = new SpdyConnection(sock, 'client');
    clients.push(conn);
    sock.resume();
    const error = await conn.open({ streamType: 'error' });
    await conn.open({ streamType: 'stdout' });
    const status = readAll(error);
    proc.end(3);
    expect(await status).toBe(
      'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
    );
  });

  it('refuses a version it does not serve with 403 and the versions it does', async () => {
    const port = await kubelet(new FakeProcess());
    const { head, sock, body } = await upgrade(port, `${execPath}&stdout=1`, 'v5.channel.k8s.io');
    await new Promise((resolve) => sock.on('end', resolve).resume());
    expect(head).toMatch(/^HTTP\/1.1 403 Forbidden\r\n/);
    expect(head.match(/X-Accepted-Stream-Protocol-Versions: .*/g)).toEqual([
      'X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io',
      'X-Accepted-Stream-Protocol-Versions: v3.channel.k8s.io',
      'X-Accepted-Stream-Protocol-Versions: v2.channel.k8s.io',
      'X-Accepted-Stream-Protocol-Versions: channel.k8s.io',
    ]);
    expect(JSON.parse(body())).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
  });

  it('drops a client that does not open every stream it asked for in time, and runs nothing', async () => {
    const proc = new FakeProcess();
    const port = await kubelet(proc, 200);
    const { sock } = await upgrade(port, `${execPath}&stdout=1&stderr=1`, 'v4.channel.k8s.io');
    const conn = new SpdyConnection(sock, 'client');
    clients.push(conn);
    sock.resume();
    await conn.open({ streamType: 'error' });
    await conn.open({ streamType: 'stdout' });
    await new Promise<void>((resolve) => conn.once('close', resolve));
    expect(proc.command).toEqual([]);
  });
});

describe('exec over SPDY: flow control', () => {
  async function session(proc: FakeProcess) {
    const port = await kubelet(proc);
    const { sock } = await upgrade(port, `${execPath}&stdin=1&stdout=1`, 'v4.channel.k8s.io');
    const conn = new SpdyConnection(sock, 'client');
    clients.push(conn);
    sock.resume();
    const error = await conn.open({ streamType: 'error' });
    const stdin = await conn.open({ streamType: 'stdin' });
    const stdout = await conn.open({ streamType: 'stdout' });
    return { error, stdin, stdout };
  }
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const total = 64 * 1024 * 1024;

  it('output a client does not read stops the process’s writes, then every byte arrives', async () => {
    const proc = new FakeProcess();
    const { stdout } = await session(proc);
    stdout.pause();
    let written = 0;
    let more = true;
    while (written < total && more) {
      more = proc.stdout.write(chunk);
      written += chunk.length;
    }
    // The buffers on the way (socket, stream) hold far less than 64 MiB: the writer was told to wait.
    expect(written).toBeLessThan(total / 2);
    let received = 0;
    stdout.on('data', (d: Buffer) => {
      received += d.length;
    });
    const ended = new Promise((resolve) => stdout.on('end', resolve));
    stdout.resume();
    while (written < total) {
      if (!proc.stdout.write(chunk)) await new Promise((r) => proc.stdout.once('drain', r));
      written += chunk.length;
    }
    proc.end(0);
    await ended;
    expect(received).toBe(total);
  });

  it('stdin a process does not read stays with the client, then every byte arrives', async () => {
    const proc = new FakeProcess();
    const { stdin } = await session(proc);
    for (let sent = 0; sent < total; sent += chunk.length) stdin.write(chunk);
    stdin.end();
    await new Promise((r) => setTimeout(r, 300));
    // What the kubelet took is bounded: most is still in the client's stream.
    expect(stdin.writableLength).toBeGreaterThan(total / 2);
    let received = 0;
    proc.stdin.on('data', (d: Buffer) => {
      received += d.length;
    });
    await new Promise<void>((resolve) => proc.stdin.on('end', resolve));
    expect(received).toBe(total);
    proc.end(0);
  });
});

async function expectSoon(check: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}
