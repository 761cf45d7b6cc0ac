/**
 * `kubectl exec` and `kubectl attach` on the kubelet: an upgrade of
 * GET /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty (or
 * /attach/... without a command, joining the container's own process;
 * only the streams asked for are attached, at least one), in one of two
 * ways, both ending in the same session (exec-session.ts):
 *
 * - a websocket speaking the channel protocols of wsstream.ts
 *   (v5.channel.k8s.io for kubectl, v4 and the older and base64 ones for
 *   other clients). Channels: 0 stdin, 1 stdout, 2 stderr, 3 the final
 *   Status, 4 terminal resize ({"Width","Height"}); in v5, [255, 0] closes
 *   stdin.
 * - `Upgrade: SPDY/3.1` (kubectl up to 1.29, and Go programs using
 *   client-go's SPDY executor): one SPDY stream per channel; see
 *   exec-spdy.ts.
 *
 * Each message of stdin is written to the process as it arrives, and each
 * chunk of output is sent as it comes, with flow control both ways
 * (stream-flow.ts): a process that does not read its stdin stops the
 * client's connection being read, and a client that does not read stops
 * the process's output. A non-zero exit is reported as Kubernetes does, so
 * kubectl exits with the same code.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import { parseTerminalSize, runSession, type SessionInput, type SessionTransport } from './exec-session.js';
import { serveSpdySession, spdyExecProtocols } from './exec-spdy.js';
import { handshake, isSpdyUpgrade, upgradeToSpdy } from './httpstream.js';
import type { Runtime, StreamOptions } from './runtime/runtime.js';
import { HttpError, type KubeletServer, refuse } from './server.js';
import { type InboundHandler, InboundQueue, maxHeldBytes } from './stream-flow.js';
import {
  Channel,
  type ChannelProtocol,
  decodeFrame,
  encodeFrame,
  maxFrameBytes,
  negotiate,
  protocolNamed,
  type StreamStatus,
  servedProtocols,
  statusPayload,
} from './wsstream.js';

export interface ExecHandlerOptions {
  server: () => KubeletServer;
  runtime: Runtime;
  logger: Logger;
  /** How long a SPDY client has to open its streams (Kubernetes' streamCreationTimeout); default 30 s. */
  streamCreationTimeoutMs?: number;
}

/** One exec or attach request, as the kubelet's URL says it. */
interface StreamRequest {
  ns: string;
  pod: string;
  container: string | undefined;
  /** The command to exec; absent: attach. */
  command: string[] | undefined;
  opts: StreamOptions;
}

/** Reads an exec or attach URL; throws an HttpError for one Kubernetes would refuse. */
function parseStreamRequest(rawUrl: string | undefined): StreamRequest {
  const url = new URL(rawUrl ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const attach = parts[0] === 'attach';
  if ((parts[0] !== 'exec' && !attach) || parts.length < 3 || parts.length > 4)
    throw new HttpError(404, 'NotFound', `${url.pathname} not found`);
  const q = url.searchParams;
  const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
  const command = q.getAll('command');
  if (command.length === 0 && !attach)
    throw new HttpError(400, 'BadRequest', 'you must specify at least 1 command');
  // As Kubernetes' remotecommand options: a session must ask for a stream.
  if (!flag('stdin') && !flag('stdout') && !flag('stderr'))
    throw new HttpError(400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr');
  const [, ns, pod, container] = parts;
  return {
    ns,
    pod,
    container,
    command: attach ? undefined : command,
    opts: { stdin: flag('stdin'), stdout: flag('stdout'), stderr: flag('stderr'), tty: flag('tty') },
  };
}

export function execUpgradeHandler(o: ExecHandlerOptions) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (offered) => negotiate(offered)?.name || false,
  });
  const streamCreationTimeoutMs = o.streamCreationTimeoutMs ?? 30_000;

  return (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    upgrade(req, socket, head).catch((err) => {
      if (err instanceof HttpError) refuse(socket, err.code, err.reason, err.message, err.headers);
      else {
        o.logger.error({ err }, 'exec upgrade failed');
        refuse(socket, 500, 'InternalError', (err as Error).message);
      }
    });
  };

  /** Switches protocols and starts the session, or throws an HttpError to refuse. */
  async function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const r = parseStreamRequest(req.url);
    // The protocol is agreed on before anything is looked up, as in Kubernetes' handshakes.
    const spdy = isSpdyUpgrade(req)
      ? spdyExecProtocols[handshake(req, Object.keys(spdyExecProtocols))]
      : undefined;
    if (!spdy && !negotiate(websocketProtocols(req)))
      throw new HttpError(
        400,
        'BadRequest',
        `none of the offered subprotocols is supported: ${servedProtocols.join(', ')}`,
      );
    const { instances, name } = await o.server().findContainer(r.ns, r.pod, r.container);
    const latest = instances[0];
    if (latest?.state !== 'running')
      throw new HttpError(400, 'BadRequest', `container ${name} is not running in pod ${r.pod}`);
    const log = o.logger.child({ pod: `${r.ns}/${r.pod}` });
    const run = (t: SessionTransport) =>
      runSession(t, o.runtime, latest.id, r.command, r.opts).catch((err) => {
        log.warn({ err }, 'exec failed');
        t.finish({ metadata: {}, status: 'Failure', message: (err as Error).message });
      });
    if (spdy) {
      const conn = upgradeToSpdy(socket, head, spdy.name);
      void serveSpdySession(conn, spdy, r.opts, { timeoutMs: streamCreationTimeoutMs, logger: log }).then(
        (t) => t && run(t),
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      void run(websocketTransport(ws, protocolNamed(ws.protocol), r.opts, log));
    });
  }
}

function websocketProtocols(req: http.IncomingMessage): string[] {
  return String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim());
}

/** A session's client on a websocket, in channel protocol `p`. */
function websocketTransport(
  ws: WebSocket,
  p: ChannelProtocol,
  opts: StreamOptions,
  log: Logger,
): SessionTransport {
  const closers: (() => void)[] = [];
  let closed = false;
  const send = (channel: number, data: Buffer, done?: (err?: Error) => void) => {
    if (ws.readyState !== ws.OPEN) return false;
    ws.send(encodeFrame(p, channel, data), done);
    return true;
  };
  const sendStatus = (status: StreamStatus) => {
    const payload = statusPayload(p, status);
    if (payload) send(Channel.error, payload);
  };
  // Until the runtime has started the command, the connection is not read (a few messages held at most).
  const inbound = new InboundQueue({
    source: ws,
    maxHeldBytes,
    onOverflow: (bytes) => {
      log.warn({ bytes }, 'exec: too much input before the session was up');
      sendStatus({ metadata: {}, status: 'Failure', message: 'too much input before the session was up' });
      ws.close(1008);
    },
  });
  inbound.hold();
  // Text or binary alike: the Python client writes its stdin as text frames.
  ws.on('message', (raw: Buffer) => inbound.push(raw));
  // A protocol error (a frame over maxFrameBytes, invalid UTF-8 in a text frame) closes
  // this connection, and ws then closes it; unheard, the error would end the kubelet.
  ws.on('error', () => undefined);
  ws.on('close', () => {
    closed = true;
    for (const cb of closers.splice(0)) cb();
  });
  // An empty message on the lowest output channel asked for tells the client the session is up, as Kubernetes does.
  send(opts.stdout ? Channel.stdout : opts.stderr ? Channel.stderr : Channel.error, Buffer.alloc(0));
  const sink = (channel: number) => ({
    get bufferedAmount() {
      return ws.bufferedAmount;
    },
    send: (chunk: Buffer, done: (err?: Error) => void) => send(channel, chunk, done),
  });
  return {
    output: (stream) => sink(stream === 'stdout' ? Channel.stdout : Channel.stderr),
    startInput: (input) => inbound.start(channelInput(p, input)),
    finish: (status) => {
      sendStatus(status);
      ws.close(1000);
    },
    onClose: (cb) => (closed ? cb() : closers.push(cb)),
  };
}

/** What each client message does to the session: stdin, v5's close of stdin, a resize. */
function channelInput(p: ChannelProtocol, input: SessionInput): InboundHandler {
  return (message) => {
    const frame = decodeFrame(p, message);
    if (!frame) return undefined;
    if ('close' in frame) {
      if (frame.close === Channel.stdin) input.closeStdin();
    } else if (frame.channel === Channel.stdin) return input.stdin(frame.data);
    else if (frame.channel === Channel.resize) {
      const size = parseTerminalSize(frame.data.toString('utf8'));
      if (size) input.resize(size);
    }
    return undefined;
  };
}
