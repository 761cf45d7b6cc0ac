/**
 * `kubectl port-forward` on the kubelet: GET /portforward/{ns}/{pod},
 * upgraded in one of three ways, all of which end in a TCP connection to
 * the pod's IP and port (a container listening on the pod's address; the
 * kubelet reaches pod IPs over the node's bridge):
 *
 * - `Upgrade: SPDY/3.1` with X-Stream-Protocol-Version portforward.k8s.io
 *   (kubectl up to 1.30, and the fallback of later ones; the upgrade as
 *   httpstream.ts answers it): every forwarded
 *   connection is a pair of SPDY streams with headers streamtype
 *   (data|error), port and requestid. Data flows on the data stream; a
 *   failure is written as text on the error stream.
 * - a websocket with subprotocol `SPDY/3.1+portforward.k8s.io` (kubectl
 *   1.31+): the same SPDY bytes, tunnelled in binary websocket messages.
 * - a websocket with subprotocol `v4.channel.k8s.io` and ?ports=... (the
 *   JavaScript and Python clients): per port two channels, data (2i) and
 *   error (2i+1); the first message on each channel is the port number
 *   (uint16, little-endian), then channel-prefixed payloads as in exec.
 */
import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createWebSocketStream, type WebSocket, WebSocketServer } from 'ws';
import type { Pod } from '../api/types/pod.js';
import { handshake, isSpdyUpgrade, upgradeToSpdy } from './httpstream.js';
import { HttpError, type KubeletServer, refuse } from './server.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';
import { forwardOutput, InboundQueue, maxHeldBytes, writeOrWait } from './stream-flow.js';
import { maxFrameBytes } from './wsstream.js';

const spdyTunnel = 'SPDY/3.1+portforward.k8s.io';
const tunnelAlias = 'nanokube-spdy-tunnel';
const channelProtocol = 'v4.channel.k8s.io';
const streamProtocol = 'portforward.k8s.io';

export interface PortForwardOptions {
  server: () => KubeletServer;
  logger: Logger;
}

function parsePort(raw: string | undefined): number {
  const port = Number(raw);
  if (!raw || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new HttpError(400, 'BadRequest', `invalid port ${JSON.stringify(raw ?? '')}`);
  return port;
}

function podAddress(pod: Pod): string {
  const ip = pod.status?.podIP;
  if (!ip) throw new HttpError(400, 'BadRequest', `pod ${pod.metadata?.name} has no IP yet`);
  return ip;
}

/** Dials the pod's port; resolves with the socket or rejects with the dial error. */
function dial(ip: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: ip, port });
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve(sock);
    });
    sock.once('error', reject);
  });
}

export function portForwardUpgradeHandler(o: PortForwardOptions) {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    handleProtocols: (offered) =>
      (offered.has(tunnelAlias) ? spdyTunnel : undefined) ??
      [channelProtocol].find((p) => offered.has(p)) ??
      // no subprotocol at all: the channel protocol, as Kubernetes does
      (offered.size === 0 ? '' : false),
  });

  return (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      upgrade(req, socket, head);
    } catch (err) {
      if (err instanceof HttpError) refuse(socket, err.code, err.reason, err.message, err.headers);
      else {
        o.logger.error({ err }, 'port-forward upgrade failed');
        refuse(socket, 500, 'InternalError', (err as Error).message);
      }
    }
  };

  /** Switches protocols and starts serving, or throws an HttpError to refuse. */
  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const [, ns, podName] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const pod = o.server().findPod(ns, podName);
    const ip = podAddress(pod);
    const log = o.logger.child({ pod: `${ns}/${podName}` });

    if (isSpdyUpgrade(req)) {
      const protocol = handshake(req, [streamProtocol]);
      serveSpdy(upgradeToSpdy(socket, head, protocol), pod, ip, log);
      return;
    }
    if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
      throw new HttpError(400, 'BadRequest', 'port-forward needs a websocket or SPDY/3.1 upgrade');
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (offered.length > 0 && !offered.some((p) => p === spdyTunnel || p === channelProtocol))
      throw new HttpError(
        400,
        'BadRequest',
        `none of the offered subprotocols is supported: ${spdyTunnel}, ${channelProtocol}`,
      );
    let ports: number[] = [];
    if (!offered.includes(spdyTunnel)) {
      ports = url.searchParams
        .getAll('ports')
        .flatMap((p) => p.split(','))
        .map((p) => parsePort(p.trim()));
      if (ports.length === 0) throw new HttpError(400, 'BadRequest', 'query parameter "ports" is required');
    }
    // `ws` accepts only RFC 6455 tokens as subprotocols, and the tunnel's name has a '/':
    // offer it under an alias; the answer carries the real name.
    if (offered.includes(spdyTunnel))
      req.headers['sec-websocket-protocol'] = offered
        .map((p) => (p === spdyTunnel ? tunnelAlias : p))
        .join(', ');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (ws.protocol === spdyTunnel) {
        const stream = createWebSocketStream(ws);
        serveSpdy(new SpdyConnection(stream, 'server'), pod, ip, log);
      } else serveChannels(ws, ports, pod, ip, log);
    });
  }
}

const dialErrors: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'no route to host',
  ENETUNREACH: 'network is unreachable',
  ECONNRESET: 'connection reset by peer',
};

/** The line Kubernetes writes on the error stream, with the dial error worded as Go words it. */
function failure(ip: string, port: number, pod: Pod, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const why = dialErrors[code]
    ? `dial tcp4 ${ip}:${port}: connect: ${dialErrors[code]}`
    : (err as Error).message;
  return `error forwarding port ${port} to pod ${pod.metadata?.name}, uid ${pod.metadata?.uid}: ${why}`;
}

/** Pairs data and error streams by requestid and forwards each pair. */
function serveSpdy(conn: SpdyConnection, pod: Pod, ip: string, log: Logger): void {
  const pending = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
  conn.on('error', (err) => log.debug({ err }, 'port-forward connection error'));
  conn.on('stream', (stream) => {
    const type = stream.headers.streamtype;
    const id = stream.headers.requestid ?? stream.headers.port ?? '';
    if (type !== 'data' && type !== 'error') {
      stream.reset();
      return;
    }
    void stream.reply();
    const pair = pending.get(id) ?? {};
    pair[type] = stream;
    pending.set(id, pair);
    if (!pair.data || !pair.error) return;
    pending.delete(id);
    const { data, error } = pair;
    error.resume(); // the client sends nothing on it
    let port: number;
    try {
      port = parsePort(data.headers.port);
    } catch (err) {
      error.end((err as Error).message);
      data.end();
      return;
    }
    dial(ip, port).then(
      (sock) => {
        log.debug({ port, requestId: id }, 'port-forward connection');
        data.pipe(sock);
        sock.pipe(data);
        const done = () => {
          sock.destroy();
          if (!error.writableEnded) error.end();
        };
        sock.on('close', done);
        sock.on('error', () => done());
        data.on('close', () => sock.destroy());
        data.on('error', () => sock.destroy());
      },
      (err) => {
        error.end(failure(ip, port, pod, err));
        data.end();
      },
    );
  });
}

/**
 * The websocket channel protocol: one TCP connection per requested port.
 * The client's messages wait, unread, until every port is dialed; each then
 * goes to its port's socket, with flow control both ways (stream-flow.ts).
 */
function serveChannels(ws: WebSocket, ports: number[], pod: Pod, ip: string, log: Logger): void {
  const send = (channel: number, payload: Buffer, done?: (err?: Error) => void) => {
    if (ws.readyState !== ws.OPEN) return false;
    ws.send(Buffer.concat([Buffer.from([channel]), payload]), done);
    return true;
  };
  const portBytes = (port: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(port);
    return b;
  };
  const sockets: (net.Socket | undefined)[] = [];
  const inbound = new InboundQueue({
    source: ws,
    maxHeldBytes,
    onOverflow: (bytes) => {
      log.warn({ bytes }, 'port-forward: too much input before the ports were dialed');
      ws.close(1008);
    },
  });
  inbound.hold();
  let open = ports.length;
  const finished = () => {
    open--;
    if (open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };
  const dials = ports.map((port, i) => {
    send(2 * i, portBytes(port));
    send(2 * i + 1, portBytes(port));
    return dial(ip, port).then(
      (sock) => {
        sockets[i] = sock;
        forwardOutput(sock, ws, (d, done) => send(2 * i, d, done));
        sock.on('close', finished);
        sock.on('error', (err) => send(2 * i + 1, Buffer.from(failure(ip, port, pod, err))));
      },
      (err) => {
        send(2 * i + 1, Buffer.from(failure(ip, port, pod, err)));
        finished();
      },
    );
  });
  // A protocol error closes this connection only (ws closes it); unheard, it would end the kubelet.
  ws.on('error', () => undefined);
  ws.on('message', (raw: Buffer) => inbound.push(raw));
  void Promise.all(dials).then(() =>
    inbound.start((raw) => {
      if (raw.length === 0) return undefined;
      const channel = raw[0];
      if (channel % 2 !== 0) return undefined; // nothing is read from error channels
      const sock = sockets[channel / 2];
      if (!sock || sock.destroyed) return undefined;
      return writeOrWait(sock, raw.subarray(1));
    }),
  );
  ws.on('close', () => {
    for (const s of sockets) s?.destroy();
    log.debug('port-forward websocket closed');
  });
}
