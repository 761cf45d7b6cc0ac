/**
 * One exec or attach session, whatever carries it to the client: the
 * websocket channel protocols (exec.ts) or SPDY streams (exec-spdy.ts). The
 * carrier is a SessionTransport; this module starts the process (or joins
 * the container's own), hands its output to the transport with flow control
 * (stream-flow.ts), hands the client's input to the process, and ends with
 * the Status Kubernetes writes: Success, or NonZeroExitCode with the exit
 * code as a cause, so that kubectl exits with the same code.
 */
import type { ExecSession, Runtime, StreamOptions } from './runtime/runtime.js';
import { forwardOutput, writeOrWait } from './stream-flow.js';
import type { StreamStatus } from './wsstream.js';

/** Where one of the process's outputs goes. */
export interface OutputSink {
  /** Bytes handed to `send` and not yet written to the client (flow control reads it). */
  readonly bufferedAmount: number;
  /** Sends one chunk; false when the client is gone; `done` once it is written or failed. */
  send(chunk: Buffer, done: (err?: Error) => void): boolean;
}

/** What the client's input does to the session; a transport calls these in the order they came. */
export interface SessionInput {
  /** Bytes for the process's stdin; a promise while its stdin is full, settling when it takes more. */
  stdin(chunk: Buffer): Promise<void> | undefined;
  /** The client's stdin ended: the process reads end of file. More stdin is dropped. */
  closeStdin(): void;
  /** The client's terminal has a new size. */
  resize(size: TerminalSize): void;
}

/** A terminal's size as clients send it (client-go's TerminalSize). */
export interface TerminalSize {
  Width?: number;
  Height?: number;
}

/**
 * The client's end of a session. Contract: the transport holds the
 * client's input (reading no more than a bounded amount) until
 * `startInput`; `output` is asked once per output the runtime gives;
 * `finish` is called once, last, and ends the connection once the client
 * has had what was sent.
 */
export interface SessionTransport {
  output(stream: 'stdout' | 'stderr'): OutputSink;
  startInput(input: SessionInput): void;
  finish(status: StreamStatus): void;
  /** Calls `cb` once the client has gone (at once if it has). */
  onClose(cb: () => void): void;
}

/** The final Status of an exec, as the kubelet writes it (Kubernetes' ServeExec). */
export function exitStatus(command: string[], exitCode: number): StreamStatus {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** A terminal size from its JSON; undefined when it is not one (a malformed resize is ignored, as Kubernetes does). */
export function parseTerminalSize(json: string): TerminalSize | undefined {
  try {
    const size = JSON.parse(json) as unknown;
    if (typeof size !== 'object' || size === null || Array.isArray(size)) return undefined;
    const { Width, Height } = size as Record<string, unknown>;
    return {
      Width: typeof Width === 'number' ? Width : undefined,
      Height: typeof Height === 'number' ? Height : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * Runs one session to its end: exec `command` in the container (or attach
 * to its process when there is none), stream both ways, and finish with
 * the exit Status. Rejects when the runtime cannot start it; the caller
 * then finishes the transport with the failure.
 */
export async function runSession(
  t: SessionTransport,
  runtime: Runtime,
  containerId: string,
  /** The command to exec; absent: attach to the container's own process. */
  command: string[] | undefined,
  opts: StreamOptions,
): Promise<void> {
  const session = command
    ? await runtime.execStream(containerId, command, opts)
    : await runtime.attachStream(containerId, opts);
  // The runtime gives only the outputs asked for (no stderr with a TTY).
  const outputs = [
    { stream: session.stdout, name: 'stdout' as const },
    { stream: session.stderr, name: 'stderr' as const },
  ];
  for (const { stream, name } of outputs) {
    if (!stream) continue;
    const sink = t.output(name);
    forwardOutput(stream, sink, (chunk, done) => sink.send(chunk, done));
  }
  const outputDone = Promise.all(outputs.map(({ stream }) => drained(stream)));
  t.startInput(sessionInput(session));
  t.onClose(() => {
    session.stdin?.end();
    session.detach?.();
  });
  const code = await session.wait();
  await outputDone;
  // An attach ends well when the process ends or the client detaches, as in Kubernetes.
  t.finish(command ? exitStatus(command, code) : exitStatus([], 0));
}

function drained(s: NodeJS.ReadableStream | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!s) return resolve();
    s.on('end', resolve);
    s.on('close', resolve);
  });
}

/**
 * The session's side of SessionInput. After the client closes stdin, more
 * stdin is dropped, as Kubernetes drops writes to a closed pipe.
 */
function sessionInput(session: ExecSession): SessionInput {
  let stdinClosed = false;
  return {
    stdin: (chunk) => (!stdinClosed && session.stdin ? writeOrWait(session.stdin, chunk) : undefined),
    closeStdin: () => {
      if (stdinClosed) return;
      stdinClosed = true;
      session.stdin?.end();
    },
    resize: (size) => {
      session.resize(size.Height ?? 24, size.Width ?? 80).catch(() => undefined);
    },
  };
}
