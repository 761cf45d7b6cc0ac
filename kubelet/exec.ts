/**
 * `kubectl exec` and `kubectl attach` on the kubelet: a websocket upgrade of
 * GET /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty (or
 * /attach/... without a command, joining the container's own process;
 * only the streams asked for are attached, at least one),
 * speaking the channel protocols of wsstream.ts (v5.channel.k8s.io for
 * kubectl, v4 and the older and base64 ones for other clients). Channels:
 * 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize
 * ({"Width","Height"}); in v5, [255, 0] closes stdin. Each message of
 * stdin is written to the process as it arrives, and each chunk of output
 * is sent as it comes, with flow control both ways (stream-flow.ts): a
 * process that does not read its stdin stops the client's connection being
 * read, and a client that does not read stops the process's output. A
 * non-zero exit is reported as Kubernetes does, so kubectl exits with the
 * same code.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { ExecSession, Runtime, StreamOptions } from './runtime/runtime.js';
import { HttpError, type KubeletServer, refuse } from './server.js';
import {
  forwardOutput,
  type InboundHandler,
  InboundQueue,
  maxHeldBytes,
  writeOrWait,
} from './stream-flow.js';
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
}

/** The final Status message of an exec, as the kubelet writes it on channel 3. */
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

export function execUpgradeHandler(o: ExecHandlerOptions) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (offered) => negotiate(offered)?.name || false,
  });
  return (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const attach = parts[0] === 'attach';
    if ((parts[0] !== 'exec' && !attach) || parts.length < 3 || parts.length > 4) {
      refuse(socket, 404, 'NotFound', `${url.pathname} not found`);
      return;
    }
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim());
    if (!negotiate(offered)) {
      refuse(
        socket,
        400,
        'BadRequest',
        `none of the offered subprotocols is supported: ${servedProtocols.join(', ')}`,
      );
      return;
    }
    const q = url.searchParams;
    const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
    const command = q.getAll('command');
    if (command.length === 0 && !attach) {
      refuse(socket, 400, 'BadRequest', 'you must specify at least 1 command');
      return;
    }
    // As Kubernetes' remotecommand options: a session must ask for a stream.
    if (!flag('stdin') && !flag('stdout') && !flag('stderr')) {
      refuse(socket, 400, 'BadRequest', 'you must specify at least 1 of stdin, stdout, stderr');
      return;
    }
    const [, ns, pod, container] = parts;
    o.server()
      .findContainer(ns, pod, container)
      .then(({ instances, name }) => {
        const latest = instances[0];
        if (latest?.state !== 'running')
          throw new HttpError(400, 'BadRequest', `container ${name} is not running in pod ${pod}`);
        wss.handleUpgrade(req, socket, head, (ws) => {
          const p = protocolNamed(ws.protocol);
          runSession(ws, p, latest.id, attach ? undefined : command, {
            stdin: flag('stdin'),
            stdout: flag('stdout'),
            stderr: flag('stderr'),
            tty: flag('tty'),
          }).catch((err) => {
            o.logger.warn({ err, pod: `${ns}/${pod}` }, 'exec failed');
            sendStatus(ws, p, { metadata: {}, status: 'Failure', message: (err as Error).message });
            ws.close(1000);
          });
        });
      })
      .catch((err) => {
        if (err instanceof HttpError) refuse(socket, err.code, err.reason, err.message);
        else {
          o.logger.error({ err }, 'exec upgrade failed');
          refuse(socket, 500, 'InternalError', (err as Error).message);
        }
      });
  };

  async function runSession(
    ws: WebSocket,
    p: ChannelProtocol,
    containerId: string,
    /** The command to exec; absent: attach to the container's own process. */
    command: string[] | undefined,
    opts: StreamOptions,
  ): Promise<void> {
    let closed = false;
    // Until the runtime has started the command, the connection is not read (a few messages held at most).
    const inbound = new InboundQueue({
      source: ws,
      maxHeldBytes,
      onOverflow: (bytes) => {
        o.logger.warn({ bytes }, 'exec: too much input before the session was up');
        sendStatus(ws, p, {
          metadata: {},
          status: 'Failure',
          message: 'too much input before the session was up',
        });
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
    });
    const send = (channel: number, data: Buffer, done?: (err?: Error) => void) => {
      if (ws.readyState !== ws.OPEN) return false;
      ws.send(encodeFrame(p, channel, data), done);
      return true;
    };
    // An empty message on the lowest output channel asked for tells the client the session is up, as Kubernetes does.
    send(opts.stdout ? Channel.stdout : opts.stderr ? Channel.stderr : Channel.error, Buffer.alloc(0));
    const session = command
      ? await o.runtime.execStream(containerId, command, opts)
      : await o.runtime.attachStream(containerId, opts);
    const outputs = [
      { stream: session.stdout, channel: Channel.stdout },
      { stream: session.stderr, channel: Channel.stderr },
    ];
    for (const { stream, channel } of outputs)
      if (stream) forwardOutput(stream, ws, (chunk, done) => send(channel, chunk, done));
    const outputDone = Promise.all(outputs.map(({ stream }) => drained(stream)));
    inbound.start(clientInput(p, session));
    const detach = () => {
      session.stdin?.end();
      session.detach?.();
    };
    if (closed) detach();
    ws.on('close', detach);
    const code = await session.wait();
    await outputDone;
    // An attach ends well when the process ends or the client detaches, as in Kubernetes.
    sendStatus(ws, p, command ? exitStatus(command, code) : exitStatus([], 0));
    ws.close(1000);
  }

  function sendStatus(ws: WebSocket, p: ChannelProtocol, status: StreamStatus): void {
    const payload = statusPayload(p, status);
    if (payload && ws.readyState === ws.OPEN) ws.send(encodeFrame(p, Channel.error, payload));
  }
}

function drained(s: NodeJS.ReadableStream | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!s) return resolve();
    s.on('end', resolve);
    s.on('close', resolve);
  });
}

/**
 * What each client message does to the session: stdin is written (a
 * promise while the process's stdin is full), a resize resizes, v5's close
 * of stdin ends it. After that close, more stdin is dropped, as Kubernetes
 * drops writes to a closed pipe.
 */
function clientInput(p: ChannelProtocol, session: ExecSession): InboundHandler {
  let stdinClosed = false;
  return (message) => {
    const frame = decodeFrame(p, message);
    if (!frame) return undefined;
    if ('close' in frame) {
      if (frame.close === Channel.stdin && !stdinClosed) {
        stdinClosed = true;
        session.stdin?.end();
      }
    } else if (frame.channel === Channel.stdin) {
      if (!stdinClosed && session.stdin) return writeOrWait(session.stdin, frame.data);
    } else if (frame.channel === Channel.resize) {
      try {
        const size = JSON.parse(frame.data.toString('utf8')) as { Width?: number; Height?: number };
        void session.resize(size.Height ?? 24, size.Width ?? 80);
      } catch {
        // a malformed resize is ignored, as Kubernetes does
      }
    }
    return undefined;
  };
}
