/**
 * exec and attach over SPDY/3.1, as kubectl up to 1.29 and every Go program
 * using client-go's SPDY executor speak them, through the apiserver to a
 * real kubelet and Docker: one SPDY stream per channel (error, stdin,
 * stdout, stderr, resize), the exit status as a v4 Status on the error
 * stream. Two real clients: kubectl 1.32 told to with
 * KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, and kubectl 1.29, which speaks
 * nothing else. Each must behave exactly as against Kubernetes: output on
 * its own stream, piped stdin to the end, a pseudo-terminal with its
 * resizes, and the command's exit code as kubectl's.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlPath, type RunResult, run } from '../testing/harness.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

let k: KubeletCluster;
const children: ChildProcess[] = [];

beforeAll(async () => {
  k = await KubeletCluster.start('kspdy');
  await k.createPod('shell', {
    containers: [{ name: 'app', image: busybox, command: ['sleep', '3600'] }],
  });
  await k.waitPod('shell', running, 'Running');
}, 90_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await k?.stop();
}, 60_000);

const spdyEnv = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };

const clients = [
  { name: 'kubectl 1.32 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false', version: undefined, id: 'new' },
  { name: 'kubectl 1.29', version: 29, id: 'old' },
];

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

describe.each(clients)('$name', ({ version, id }) => {
  const kubectlArgs = (args: string[]) => [kubectlPath(version), '--kubeconfig', k.kubeconfig, ...args];
  const spdyKubectl = (args: string[], input?: string): Promise<RunResult> => {
    const [cmd, ...rest] = kubectlArgs(args);
    return run(cmd, rest, { input, env: spdyEnv, timeoutMs: 30_000 });
  };

  it('exec: stdout and stderr each on its own stream, and exit 3 is kubectl’s exit code', async () => {
    const res = await spdyKubectl([
      'exec',
      'shell',
      '-c',
      'app',
      '--',
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    ]);
    expect(res.stdout).toBe('out\n');
    expect(res.stderr).toContain('err\n');
    expect(res.stderr).toContain('command terminated with exit code 3');
    expect(res.code).toBe(3);
  });

  it('exec: a command that succeeds exits 0 with nothing on stderr', async () => {
    const res = await spdyKubectl(['exec', 'shell', '-c', 'app', '--', 'echo', 'hello']);
    expect(res).toMatchObject({ code: 0, stdout: 'hello\n', stderr: '' });
  });

  it('exec -i: piped stdin reaches the process to the end, then its end of file', async () => {
    const input = `${'a'.repeat(1023)}\n`.repeat(4 * 1024);
    const res = await spdyKubectl(
      ['exec', '-i', 'shell', '-c', 'app', '--', 'sh', '-c', 'wc -c; echo done >&2'],
      input,
    );
    expect(res.stderr).toBe('done\n');
    expect(res.stdout.trim()).toBe(String(input.length));
    expect(res.code).toBe(0);
  });

  it('exec -it on a pseudo-terminal: the terminal’s size, a resize while it runs, keys typed, exit 3', async () => {
    // The remote shell waits for kubectl's first size, says so, waits for the resize, reads a line.
    const remote = [
      'until [ "$(stty size)" = "45 123" ]; do sleep 0.2; done; echo ready $(stty size)',
      'until [ "$(stty size)" = "50 100" ]; do sleep 0.2; done; echo resized $(stty size)',
      'read line; echo got:$line; exit 3',
    ].join('; ');
    const line = [
      'stty rows 45 cols 123',
      // In 4 s the terminal shrinks: kubectl gets SIGWINCH and sends the new size.
      // (A background job's stdin is /dev/null: the terminal is named.)
      '(sleep 4; stty rows 50 cols 100 < /dev/tty) &',
      `KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false ${kubectlArgs(['exec', '-it', 'shell', '-c', 'app', '--', 'sh', '-c', remote]).map(quote).join(' ')}`,
    ].join('\n');
    const child = spawn('script', ['-qec', line, '/dev/null']);
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
    const deadline = Date.now() + 20_000;
    while (!/resized 50 100/.test(out) && child.exitCode === null && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/ready 45 123\r?\n/);
    expect(out).toMatch(/resized 50 100\r?\n/);
    child.stdin.write('typed\r');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    expect(out).toMatch(/got:typed\r?\n/);
    expect(code).toBe(3);
  }, 45_000);

  it('attach -i: stdin reaches the container’s own process, and its output comes back', async () => {
    const pod = `reader-${id}`;
    await k.createPod(pod, {
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
    await k.waitPod(pod, running, 'Running');
    const res = await spdyKubectl(['attach', '-i', pod, '-c', 'app'], 'hello\n');
    expect(res.stdout + res.stderr).toContain('got:hello');
    const done = await k.waitPod(pod, (p) => p.status?.phase === 'Succeeded', 'Succeeded');
    expect(done.status.containerStatuses[0].state.terminated.exitCode).toBe(0);
  });
});
