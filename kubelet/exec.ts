/**
 * `kubectl exec` and `kubectl attach` on the kubelet: a websocket upgrade of
 * GET /exec/{ns}/{pod}/{container}?command=...&stdin&stdout&stderr&tty (or
 * /attach/... without a command, joining the container's own process),
 * speaking the channel protocols kubectl uses (v5.channel.k8s.io, and
 * v4.channel.k8s.io for older clients). Every binary message starts with a
 * channel byte: 0 stdin, 1 stdout, 2 stderr, 3 the final Status (JSON),
 * 4 terminal resize ({"Width","Height"}); in v5, [255, 0] closes stdin.
 * A non-zero exit is reported as Kubernetes does, so kubectl exits with
 * the same code.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Runtime } from './runtime/runtime.js';
import { HttpError, type KubeletServer, refuse } from './server.js';

const protocols = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export interface ExecHandlerOptions {
  server: () => KubeletServer;
  runtime: Runtime;
  logger: Logger;
}

/** The final Status message of an exec, as the kubelet writes it on channel 3. */
export function exitStatus(command: string[], exitCode: number): object {
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
    handleProtocols: (offered) => protocols.find((p) => offered.has(p)) ?? false,
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
    if (!offered.some((p) => protocols.includes(p))) {
      refuse(
        socket,
        400,
        'BadRequest',
        `none of the offered subprotocols is supported: ${protocols.join(', ')}`,
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
    const [, ns, pod, container] = parts;
    o.server()
      .findContainer(ns, pod, container)
      .then(({ instances, name }) => {
        const latest = instances[0];
        if (latest?.state !== 'running')
          throw new HttpError(400, 'BadRequest', `container ${name} is not running in pod ${pod}`);
        wss.handleUpgrade(req, socket, head, (ws) => {
          runSession(ws, latest.id, attach ? undefined : command, {
            stdin: flag('stdin'),
            tty: flag('tty'),
            stderr: flag('stderr'),
          }).catch((err) => {
            o.logger.warn({ err, pod: `${ns}/${pod}` }, 'exec failed');
            sendStatus(ws, { metadata: {}, status: 'Failure', message: (err as Error).message });
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
    containerId: string,
    /** The command to exec; absent: attach to the container's own process. */
    command: string[] | undefined,
    opts: { stdin: boolean; tty: boolean; stderr: boolean },
  ): Promise<void> {
    const v5 = ws.protocol === 'v5.channel.k8s.io';
    // Messages can arrive before the runtime has started the command: keep them until it has.
    const early: Buffer[] = [];
    let closed = false;
    let onMessage = (data: Buffer) => {
      early.push(data);
    };
    ws.on('message', (raw: Buffer, isBinary: boolean) => onMessage(isBinary ? raw : Buffer.from(raw)));
    ws.on('close', () => {
      closed = true;
    });
    const session = command
      ? await o.runtime.execStream(containerId, command, opts)
      : await o.runtime.attachStream(containerId, opts);
    const send = (channel: number, data: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), data]));
    };
    const drained = (s: NodeJS.ReadableStream | undefined) =>
      new Promise<void>((resolve) => {
        if (!s) return resolve();
        s.on('end', resolve);
        s.on('close', resolve);
      });
    session.stdout.on('data', (d: Buffer) => send(Channel.stdout, d));
    session.stderr?.on('data', (d: Buffer) => send(Channel.stderr, d));
    const outputDone = Promise.all([drained(session.stdout), drained(session.stderr)]);
    onMessage = (data: Buffer) => {
      if (data.length === 0) return;
      const channel = data[0];
      const payload = data.subarray(1);
      if (channel === Channel.stdin) session.stdin?.write(payload);
      else if (channel === Channel.resize) {
        try {
          const size = JSON.parse(payload.toString('utf8')) as { Width?: number; Height?: number };
          void session.resize(size.Height ?? 24, size.Width ?? 80);
        } catch {
          // a malformed resize is ignored, as Kubernetes does
        }
      } else if (v5 && channel === Channel.close && payload[0] === Channel.stdin) session.stdin?.end();
    };
    for (const data of early.splice(0)) onMessage(data);
    if (closed) {
      session.stdin?.end();
      session.detach?.();
    }
    ws.on('close', () => {
      session.stdin?.end();
      session.detach?.();
    });
    const code = await session.wait();
    await outputDone;
    // An attach ends well when the process ends or the client detaches, as in Kubernetes.
    sendStatus(ws, command ? exitStatus(command, code) : exitStatus([], 0));
    ws.close(1000);
  }

  function sendStatus(ws: WebSocket, status: object): void {
    if (ws.readyState === ws.OPEN)
      ws.send(Buffer.concat([Buffer.from([Channel.error]), Buffer.from(JSON.stringify(status))]));
  }
}
