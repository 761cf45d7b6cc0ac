/**
 * Exec in a Docker container: one command run to completion with its
 * output (probes, hooks), or an interactive session with raw streams
 * (kubectl exec). Used by DockerRuntime, which wraps their errors.
 */
import { PassThrough, type Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { demuxDockerStream } from './demux.js';
import type { ExecResult, ExecSession, StreamOptions } from './runtime.js';

export async function execOnce(
  docker: Docker,
  id: string,
  command: string[],
  opts: { timeoutMs: number; maxOutput?: number },
): Promise<ExecResult> {
  const max = opts.maxOutput ?? 64 * 1024;
  const exec = await docker
    .getContainer(id)
    .exec({ Cmd: command, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = (await exec.start({ hijack: true, stdin: false })) as unknown as Readable;
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => {
    if (size < max) chunks.push(d.subarray(0, max - size));
    size += d.length;
  });
  demuxDockerStream(stream, sink, sink);
  let timer: NodeJS.Timeout | undefined;
  const ended = new Promise<boolean>((resolve) => {
    stream.on('end', () => resolve(true));
    stream.on('close', () => resolve(true));
    stream.on('error', () => resolve(true));
    timer = setTimeout(() => resolve(false), opts.timeoutMs);
  });
  const finished = await ended;
  clearTimeout(timer);
  const output = Buffer.concat(chunks).toString('utf8');
  if (!finished) {
    stream.destroy();
    return { exitCode: -1, timedOut: true, output };
  }
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, timedOut: false, output };
}

/**
 * The streams of a hijacked exec or attach connection: stdout and stderr
 * split (unless a TTY), each only if asked for, and its end. Docker sends
 * nothing for a stream that is not attached; the connection is still read
 * to its end.
 */
function hijacked(stream: NodeJS.ReadWriteStream & Readable, opts: StreamOptions) {
  const stdout = opts.stdout ? new PassThrough() : undefined;
  const stderr = opts.stderr && !opts.tty ? new PassThrough() : undefined;
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  if (opts.tty) stream.pipe(stdout ?? discard);
  else demuxDockerStream(stream, stdout ?? discard, stderr ?? discard);
  const ended = new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', () => resolve());
  });
  return { stdin: opts.stdin ? stream : undefined, stdout, stderr, ended };
}

export async function execSession(
  docker: Docker,
  id: string,
  command: string[],
  opts: StreamOptions,
): Promise<ExecSession> {
  const exec = await docker.getContainer(id).exec({
    Cmd: command,
    AttachStdin: opts.stdin,
    AttachStdout: opts.stdout,
    AttachStderr: opts.stderr && !opts.tty,
    Tty: opts.tty,
  });
  const stream = (await exec.start({
    hijack: true,
    stdin: opts.stdin,
    Tty: opts.tty,
  })) as NodeJS.ReadWriteStream & Readable;
  const { stdin, stdout, stderr, ended } = hijacked(stream, opts);
  return {
    stdin,
    stdout,
    stderr,
    resize: async (rows, cols) => {
      await exec.resize({ h: rows, w: cols }).catch(() => undefined);
    },
    wait: async () => {
      await ended;
      // The stream can end a moment before the engine records the exit code.
      for (let i = 0; i < 50; i++) {
        const info = await exec.inspect();
        if (!info.Running) return info.ExitCode ?? -1;
        await new Promise((r) => setTimeout(r, 20));
      }
      return -1;
    },
  };
}

/** Writes through to `target`, but ending it leaves `target` open. */
function keepOpen(target: NodeJS.WritableStream): Writable {
  return new Writable({
    write: (chunk, _encoding, done) => {
      target.write(chunk, (err) => done(err ?? undefined));
    },
    final: (done) => done(),
  });
}

/**
 * Attaches to a running container's own process (kubectl attach): its
 * output from now on, and its stdin if the container keeps one open.
 * Ending the session detaches; the container goes on. `wait` resolves with
 * the exit code if the container ends first, or -1 after a detach.
 */
export async function attachSession(docker: Docker, id: string, opts: StreamOptions): Promise<ExecSession> {
  const c = docker.getContainer(id);
  const stdinOnce = (await c.inspect()).Config.StdinOnce === true;
  const stream = (await c.attach({
    stream: true,
    hijack: true,
    stdin: opts.stdin,
    stdout: opts.stdout,
    stderr: opts.stderr,
  })) as unknown as NodeJS.ReadWriteStream & Readable;
  const { stdin, stdout, stderr, ended } = hijacked(stream, opts);
  return {
    // Docker ends an attach's output when its stdin ends, unless the container
    // closes its stdin after one attach (stdinOnce). Kubernetes keeps the
    // output coming (`echo x | kubectl debug -i ...`): the end of the
    // client's stdin then only stops the writing.
    stdin: stdin && !stdinOnce ? keepOpen(stdin) : stdin,
    stdout,
    stderr,
    resize: async (rows, cols) => {
      await c.resize({ h: rows, w: cols }).catch(() => undefined);
    },
    detach: () => stream.destroy(),
    wait: async () => {
      await ended;
      for (let i = 0; i < 50; i++) {
        const info = await c.inspect().catch(() => undefined);
        if (!info) return -1;
        if (!info.State.Running) return info.State.ExitCode ?? -1;
        await new Promise((r) => setTimeout(r, 20));
      }
      return -1;
    },
  };
}
