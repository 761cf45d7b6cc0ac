/**
 * `nkctl exec`: runs a command in a container over the pods/exec websocket
 * (v5.channel.k8s.io, else v4), as kubectl does: stdout and stderr come
 * back on their channels, `-i` sends stdin (and half-closes it at its end,
 * where v5 can), `-t` with a terminal on stdin makes a raw TTY that
 * follows the window's size, and the remote command's exit code becomes
 * nkctl's ("command terminated with exit code N" on stderr). What it
 * changes is whatever the command changes.
 */
import { Command } from 'commander';
import { boolFlag, parseDuration } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { chooseContainer, podFor } from '../pods.js';
import {
  type ChannelSocket,
  ExecChannel,
  execOutcome,
  exitWhenReaderCloses,
  openChannels,
} from '../stream.js';

export interface ExecFlags {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  quiet?: boolean;
  podRunningTimeout?: string;
}

export interface ExecIO {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

const processIO: ExecIO = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };

/**
 * Sends the terminal's size now and whenever it changes; returns how to
 * stop. A burst of changes (a window dragged, `stty cols 120 rows 40`) is
 * sent once, when it settles: the server may apply resizes out of order.
 */
function followWindowSize(socket: ChannelSocket, out: NodeJS.WriteStream): () => void {
  const send = () =>
    socket.send(ExecChannel.resize, JSON.stringify({ Width: out.columns ?? 80, Height: out.rows ?? 24 }));
  let timer: NodeJS.Timeout | undefined;
  const settle = () => {
    clearTimeout(timer);
    timer = setTimeout(send, 50);
  };
  send();
  out.on('resize', settle);
  return () => {
    clearTimeout(timer);
    out.off('resize', settle);
  };
}

/** Copies stdin to the stdin channel, pausing while the socket is behind, and half-closes it at the end. */
function pipeStdin(socket: ChannelSocket, stdin: NodeJS.ReadStream): void {
  stdin.on('data', (d: Buffer) => {
    stdin.pause();
    socket.send(ExecChannel.stdin, d, () => stdin.resume());
  });
  stdin.on('end', () => socket.closeChannel(ExecChannel.stdin));
}

/** Runs the command; resolves with its exit code. */
export async function exec(
  ctx: CliContext,
  args: string[],
  f: ExecFlags,
  io: ExecIO = processIO,
): Promise<number> {
  const [target, ...command] = args;
  if (!target) throw new CliError('pod or type/name must be specified');
  if (command.length === 0) throw new CliError('you must specify at least one command for the container');
  const timeoutMs = parseDuration('--pod-running-timeout', f.podRunningTimeout ?? '1m');
  const { pod } = await podFor(ctx, target, 'attach', timeoutMs);
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed')
    throw new CliError(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  const warn = f.quiet ? undefined : (line: string) => io.stderr.write(`${line}\n`);
  const container = chooseContainer(pod, f.container, warn);
  let tty = !!f.tty && !!f.stdin;
  if (tty && !io.stdin.isTTY) {
    tty = false;
    warn?.('Unable to use a TTY - input is not a terminal or the right kind of file');
  }
  const socket = await openChannels(ctx.rest, {
    path: `/api/v1/namespaces/${encodeURIComponent(pod.metadata.namespace!)}/pods/${encodeURIComponent(pod.metadata.name!)}/exec`,
    query: { command, container, stdin: !!f.stdin, stdout: true, stderr: !tty, tty },
    protocols: ['v5.channel.k8s.io', 'v4.channel.k8s.io'],
  });
  let outcome: ReturnType<typeof execOutcome> | undefined;
  socket.on(ExecChannel.stdout, (d) => io.stdout.write(d));
  socket.on(ExecChannel.stderr, (d) => io.stderr.write(d));
  socket.on(ExecChannel.status, (d) => {
    outcome = execOutcome(d);
  });
  const stopResize = tty ? followWindowSize(socket, io.stdout) : () => {};
  if (tty) io.stdin.setRawMode(true);
  if (f.stdin) pipeStdin(socket, io.stdin);
  try {
    await socket.closed;
  } finally {
    stopResize();
    if (tty) io.stdin.setRawMode(false);
    // stdin would keep the process alive after the command has ended.
    if (f.stdin) io.stdin.destroy();
  }
  if (!outcome) throw new CliError('the connection to the container ended before the command finished');
  if ('error' in outcome) throw new CliError(outcome.error);
  if (outcome.exitCode !== 0) io.stderr.write(`command terminated with exit code ${outcome.exitCode}\n`);
  return outcome.exitCode;
}

export function newExecCommand(): Command {
  return new Command('exec')
    .description(
      'Run a command in a container: nkctl exec POD [-c CONTAINER] -- COMMAND [ARGS...]. Changes what the command changes.',
    )
    .argument('<args...>', 'POD or TYPE/NAME, then -- and the command')
    .option('-c, --container <name>', 'the container to run the command in (default: the first)')
    .addOption(boolFlag('-i, --stdin', 'send stdin to the command'))
    .addOption(boolFlag('-t, --tty', 'with -i and a terminal, run the command on a TTY'))
    .addOption(boolFlag('-q, --quiet', 'print only the command’s own output'))
    .option('--pod-running-timeout <duration>', 'how long to wait for a pod of TYPE/NAME to exist', '1m')
    .action(async (args: string[], f: ExecFlags, cmd: Command) => {
      exitWhenReaderCloses();
      process.exitCode = await exec(cliContext(cmd), args, f);
    });
}
