/**
 * The data path of the ingress controller, on Node's own HTTP stack: an
 * HTTP and an HTTPS server (certificates by SNI from `kubernetes.io/tls`
 * Secrets) that route each request by host and path (routes.ts) straight to
 * a ready endpoint, round robin, over keep-alive connections; a failed
 * connect is retried on the next endpoint (only connect failures, so a
 * request is never sent twice); WebSocket upgrades are joined byte for
 * byte; X-Forwarded-For/-Proto/-Host are set. 503 when the Service is
 * unknown or has no ready endpoint, 404 when no rule matches.
 *
 * The table is swapped as a whole when the watched objects change, so a
 * request in flight keeps the endpoint it was given.
 */

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { isHopByHop } from '../base/hop-by-hop.js';
import {
  type Backend,
  endpointsOf,
  type IngressObj,
  route,
  type ServiceObj,
  type SliceObj,
  type Target,
  tlsSecretFor,
} from './routes.js';

export interface RoutingState {
  ingresses: IngressObj[];
  services: Map<string, ServiceObj>;
  slicesByService: Map<string, SliceObj[]>;
  /** PEM cert and key by namespace/name of `kubernetes.io/tls` Secrets. */
  certs: Map<string, { cert: string; key: string }>;
}

export interface ProxyOptions {
  logger: Logger;
  /** How many endpoints to try when connecting fails; default 3. */
  connectAttempts?: number;
}

export class IngressProxy {
  private state: RoutingState = {
    ingresses: [],
    services: new Map(),
    slicesByService: new Map(),
    certs: new Map(),
  };
  private readonly contexts = new Map<string, tls.SecureContext>();
  private readonly next = new Map<string, number>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64 });
  private servers: net.Server[] = [];

  constructor(private readonly o: ProxyOptions) {}

  /** Replaces the routing state (a new table; requests in flight keep theirs). */
  update(state: RoutingState): void {
    this.state = state;
    for (const key of this.contexts.keys()) if (!state.certs.has(key)) this.contexts.delete(key);
  }

  private context(secret: string): tls.SecureContext | undefined {
    const pem = this.state.certs.get(secret);
    if (!pem) return undefined;
    let ctx = this.contexts.get(secret);
    if (!ctx) {
      try {
        ctx = tls.createSecureContext({ cert: pem.cert, key: pem.key });
      } catch (err) {
        this.o.logger.warn({ err, secret }, 'TLS secret unusable');
        return undefined;
      }
      this.contexts.set(secret, ctx);
    }
    return ctx;
  }

  private pick(backend: Backend): Target[] | 'no-service' {
    const eps = endpointsOf(backend, this.state.services, this.state.slicesByService);
    if (eps === 'no-service' || eps.length === 0) return eps;
    const key = `${backend.namespace}/${backend.service}:${backend.port}`;
    const start = (this.next.get(key) ?? 0) % eps.length;
    this.next.set(key, start + 1);
    return [...eps.slice(start), ...eps.slice(0, start)];
  }

  private resolve(
    req: http.IncomingMessage,
  ): { targets: Target[]; backend: Backend } | { code: number; body: string } {
    const host = req.headers.host ?? '';
    const path = (req.url ?? '/').split('?')[0];
    const backend = route(this.state.ingresses, host, path);
    if (!backend) return { code: 404, body: 'default backend - 404\n' };
    const targets = this.pick(backend);
    if (targets === 'no-service')
      return { code: 503, body: `service ${backend.namespace}/${backend.service} not found\n` };
    if (targets.length === 0)
      return { code: 503, body: `no ready endpoints for ${backend.namespace}/${backend.service}\n` };
    return { targets, backend };
  }

  private forwardedHeaders(req: http.IncomingMessage, secure: boolean): http.OutgoingHttpHeaders {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!isHopByHop(k) && v !== undefined) headers[k] = v;
    const client = req.socket.remoteAddress ?? '';
    const prior = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = prior ? `${prior}, ${client}` : client;
    headers['x-forwarded-proto'] = secure ? 'https' : 'http';
    headers['x-forwarded-host'] = req.headers.host ?? '';
    return headers;
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, secure: boolean): void {
    const r = this.resolve(req);
    if ('code' in r) {
      res.writeHead(r.code, { 'content-type': 'text/plain' });
      res.end(r.body);
      return;
    }
    const headers = this.forwardedHeaders(req, secure);
    // A body can be sent once: only bodyless requests move on to another endpoint.
    const hasBody =
      req.headers['transfer-encoding'] !== undefined ||
      (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const attempts = hasBody ? 1 : Math.min(r.targets.length, this.o.connectAttempts ?? 3);
    const tryAt = (i: number) => {
      const t = r.targets[i];
      let connected = false;
      const up = http.request(
        { host: t.ip, port: t.port, method: req.method, path: req.url, headers, agent: this.agent },
        (upRes) => {
          const out: http.OutgoingHttpHeaders = {};
          for (const [k, v] of Object.entries(upRes.headers))
            if (!isHopByHop(k) && v !== undefined) out[k] = v;
          res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, out);
          upRes.pipe(res);
        },
      );
      up.on('socket', (s) => {
        if (!s.connecting) connected = true;
        else s.once('connect', () => (connected = true));
      });
      up.on('error', (err) => {
        // Only a connect that failed is retried: nothing reached the backend.
        if (!connected && i + 1 < attempts) {
          this.o.logger.debug({ err: err.message, target: t }, 'connect failed; trying the next endpoint');
          tryAt(i + 1);
          return;
        }
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`bad gateway: ${err.message}\n`);
        } else res.destroy();
      });
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      if (hasBody) req.pipe(up);
      else up.end();
    };
    tryAt(0);
  }

  /** WebSocket (and any other) upgrades: the request head is replayed to the endpoint, then bytes flow both ways. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, secure: boolean): void {
    const r = this.resolve(req);
    if ('code' in r) {
      socket.end(
        `HTTP/1.1 ${r.code} ${http.STATUS_CODES[r.code]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`,
      );
      return;
    }
    const t = r.targets[0];
    const up = net.connect(t.port, t.ip);
    up.once('connect', () => {
      const headers = this.forwardedHeaders(req, secure);
      headers.connection = 'Upgrade';
      headers.upgrade = req.headers.upgrade;
      const lines = Object.entries(headers).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`],
      );
      up.write(`${req.method} ${req.url} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      socket.pipe(up).pipe(socket);
    });
    const close = () => {
      socket.destroy();
      up.destroy();
    };
    up.on('error', (err) => {
      if (socket.writable && up.bytesRead === 0)
        socket.end(
          `HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nbad gateway: ${err.message}\n`,
        );
      else close();
    });
    socket.on('error', close);
    socket.on('close', () => up.destroy());
  }

  /** Listens for HTTP (and HTTPS when `httpsPort` is set); resolves with the bound ports. */
  async listen(o: {
    host: string;
    httpPort: number;
    httpsPort?: number;
  }): Promise<{ http: number; https?: number }> {
    const plain = http.createServer((req, res) => this.handle(req, res, false));
    plain.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head, false));
    plain.keepAliveTimeout = 65_000;
    const bound = { http: await listenOn(plain, o.host, o.httpPort) } as { http: number; https?: number };
    this.servers.push(plain);
    if (o.httpsPort !== undefined) {
      const secure = https.createServer(
        {
          SNICallback: (servername, cb) => {
            const secret = tlsSecretFor(this.state.ingresses, servername) ?? this.firstCert();
            cb(null, secret ? this.context(secret) : undefined);
          },
        },
        (req, res) => this.handle(req, res, true),
      );
      secure.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head, true));
      bound.https = await listenOn(secure, o.host, o.httpsPort);
      this.servers.push(secure);
    }
    return bound;
  }

  /** A certificate for clients that send no SNI: the first one we have. */
  private firstCert(): string | undefined {
    return this.state.certs.keys().next().value;
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            (s as http.Server).closeAllConnections?.();
            s.close(() => resolve());
          }),
      ),
    );
  }
}

function listenOn(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}
