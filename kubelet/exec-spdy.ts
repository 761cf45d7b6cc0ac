/**
 * exec and attach over SPDY/3.1, as kubectl up to 1.29 (and later ones with
 * KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) and Go programs using client-go's
 * SPDY executor speak them (Kubernetes' kubelet
 * `cri/streaming/remotecommand/httpstream.go`, client-go
 * `tools/remotecommand` v2.go to v4.go):
 *
 * - After the upgrade (httpstream.ts) the client opens one stream per
 *   channel, named by its `streamtype` header: `error` always, then
 *   `stdin`, `stdout`, `stderr` as asked (no stderr with a TTY), and
 *   `resize` with a TTY from v3 on. Every stream is replied to, as Go's
 *   server does; the session starts once each expected one has its reply,
 *   and a client that has not opened them all within the stream creation
 *   timeout is dropped.
 * - stdin is read only once the process is there, and only as fast as it
 *   takes it (until then the stream, and past its buffer the connection,
 *   is not read: spdy.ts); its FIN is the process's end of file.
 * - resize carries JSON terminal sizes, one a line (Go's json.Encoder).
 * - At the end the error stream gets the Status (v4: a v1 Status as JSON,
 *   `{"metadata":{},"status":"Success"}` or NonZeroExitCode with the
 *   ExitCode cause; before v4 the message of a failure only), then every
 *   stream is half-closed: client-go reads stdout and stderr to their end,
 *   then the error stream, then closes the connection itself.
 */
import type { Logger } from 'pino';
import type { OutputSink, SessionInput, SessionTransport } from './exec-session.js';
import { parseTerminalSize } from './exec-session.js';
import type { StreamOptions } from './runtime/runtime.js';
import type { SpdyConnection, SpdyStream } from './spdy.js';
import { statusPayload } from './wsstream.js';

/** A stream protocol version of exec and attach over SPDY. */
export interface SpdyExecProtocol {
  name: string;
  /** v4: the error stream carries a Status as JSON (with the exit code). */
  statusJSON: boolean;
  /** v3 and later: a TTY has a resize stream. */
  resize: boolean;
}

/**
 * The versions the kubelet serves, newest first (remotecommand's
 * SupportedStreamingProtocols). v1 (channel.k8s.io) is served as v2: its
 * only difference, closing stdin's server half at once, is invisible to a
 * client that never reads stdin.
 */
export const spdyExecProtocols: Readonly<Record<string, SpdyExecProtocol>> = {
  'v4.channel.k8s.io': { name: 'v4.channel.k8s.io', statusJSON: true, resize: true },
  'v3.channel.k8s.io': { name: 'v3.channel.k8s.io', statusJSON: false, resize: true },
  'v2.channel.k8s.io': { name: 'v2.channel.k8s.io', statusJSON: false, resize: false },
  'channel.k8s.io': { name: 'channel.k8s.io', statusJSON: false, resize: false },
};

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';
type Streams = Partial<Record<StreamType, SpdyStream>>;
const streamTypes: readonly string[] = ['error', 'stdin', 'stdout', 'stderr', 'resize'];

/** The streams a client opens for these options in protocol `p` (createHTTPStreamStreams' expectedStreams). */
export function expectedStreams(p: SpdyExecProtocol, opts: StreamOptions): StreamType[] {
  const types: StreamType[] = ['error'];
  if (opts.stdin) types.push('stdin');
  if (opts.stdout) types.push('stdout');
  // Kubernetes drops stderr with a TTY: it is all on stdout.
  if (opts.stderr && !opts.tty) types.push('stderr');
  if (opts.tty && p.resize) types.push('resize');
  return types;
}

/** How long, after the Status, the client has to close the connection before the kubelet does. */
const clientCloseGraceMs = 30_000;
/** The longest resize line kept while waiting for its end. */
const maxResizeLine = 4096;

/**
 * Accepts the client's streams on a new connection and resolves with the
 * session's transport once every expected stream has its reply; resolves
 * with undefined (the connection closed) when the client goes or is too slow.
 */
export function serveSpdySession(
  conn: SpdyConnection,
  p: SpdyExecProtocol,
  opts: StreamOptions,
  o: { timeoutMs: number; logger: Logger },
): Promise<SessionTransport | undefined> {
  const want = expectedStreams(p, opts);
  const streams: Streams = {};
  const replies: Promise<void>[] = [];
  let closed = false;
  conn.on('error', (err) => o.logger.debug({ err }, 'exec: SPDY connection error'));
  conn.on('close', () => {
    closed = true;
  });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      o.logger.warn(
        { want, got: Object.keys(streams) },
        'exec: timed out waiting for client to create streams',
      );
      conn.close();
    }, o.timeoutMs);
    conn.once('close', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    conn.on('stream', (stream) => {
      stream.on('error', () => undefined);
      const reply = stream.reply();
      const type = stream.headers.streamtype as StreamType;
      if (!streamTypes.includes(type) || streams[type] || closed) {
        // Unknown or repeated: replied to, as Go's server does, and otherwise ignored.
        stream.resume();
        return;
      }
      streams[type] = stream;
      // The error stream is only written to; stdin and resize are read once the session is up.
      if (type === 'error' || type === 'stdout' || type === 'stderr') stream.resume();
      replies.push(reply);
      if (!want.every((t) => streams[t])) return;
      void Promise.all(replies).then(() => {
        clearTimeout(timer);
        if (!closed) resolve(spdyTransport(conn, streams, p, () => closed));
      });
    });
  });
}

function spdyTransport(
  conn: SpdyConnection,
  streams: Streams,
  p: SpdyExecProtocol,
  isClosed: () => boolean,
): SessionTransport {
  return {
    output: (name) => {
      const s = streams[name];
      return s ? outputSink(s) : { bufferedAmount: 0, send: () => false };
    },
    startInput: (input) => {
      if (streams.stdin) readStdin(streams.stdin, input);
      if (streams.resize) readResizes(streams.resize, input);
    },
    finish: (status) => {
      const payload = statusPayload(p, status);
      const error = streams.error;
      if (error && !error.writableEnded && !error.destroyed) error.end(payload);
      const ends = Object.values(streams).map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.writableFinished || s.destroyed) return resolve();
            s.once('finish', resolve);
            s.once('close', resolve);
            if (!s.writableEnded) s.end();
          }),
      );
      // Everything is handed to the connection: the client closes it once it has read it all.
      void Promise.all(ends).then(() => {
        if (isClosed()) return;
        const timer = setTimeout(() => conn.close(), clientCloseGraceMs);
        conn.once('close', () => clearTimeout(timer));
      });
    },
    onClose: (cb) => (isClosed() ? cb() : void conn.once('close', cb)),
  };
}

/** A stream's writes are done once the connection has taken them: its writable buffer is what waits. */
function outputSink(s: SpdyStream): OutputSink {
  return {
    get bufferedAmount() {
      return s.writableLength;
    },
    send: (chunk, done) => {
      if (s.destroyed || s.writableEnded) return false;
      s.write(chunk, (err) => done(err ?? undefined));
      return true;
    },
  };
}

/** Hands stdin on as the process takes it; its end is the process's end of file. */
function readStdin(stdin: SpdyStream, input: SessionInput): void {
  stdin.on('data', (chunk: Buffer) => {
    const full = input.stdin(chunk);
    if (!full) return;
    stdin.pause();
    void full.then(() => stdin.resume());
  });
  stdin.on('end', () => input.closeStdin());
}

/** Reads JSON terminal sizes, one a line; a malformed one is skipped. */
function readResizes(resize: SpdyStream, input: SessionInput): void {
  let pending = '';
  resize.setEncoding('utf8');
  resize.on('data', (text: string) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    if (pending.length > maxResizeLine) pending = '';
    for (const line of lines) {
      const size = line.trim() ? parseTerminalSize(line) : undefined;
      if (size) input.resize(size);
    }
  });
}
