/**
 * The kubelet's own HTTP server (port 10250), which the apiserver proxies
 * `pods/log`, exec, attach and port-forward to. With `--tls-cert-file` it
 * is HTTPS, and with `--client-ca-file` every request must bring a client
 * certificate (auth.ts says who may do what); without them it is plain
 * HTTP and binds where only the apiserver can reach it.
 *
 *   GET /healthz
 *   GET /pods                                   the pods this kubelet runs (a PodList)
 *   GET /containerLogs/{ns}/{pod}/{container}   ?follow&tailLines&sinceSeconds&timestamps&previous
 *   GET /stats/summary                          node, pod and container CPU and memory (see stats.ts)
 *   GET /exec/... and /attach/..., /portforward/...: see exec.ts and portforward.ts
 *                                               (websocket and SPDY/3.1 upgrades)
 *
 * Errors are Kubernetes Status objects, so the apiserver can pass them on.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Pod } from '../api/types/pod.js';
import type { KubeletGate } from './auth.js';
import { readPodState } from './pod-state.js';
import type { Runtime } from './runtime/runtime.js';
import { NodeCpu, summarize } from './stats.js';

export interface KubeletServerOptions {
  bindAddress: string;
  port: number;
  node: string;
  runtime: Runtime;
  /** The pods this kubelet runs, by uid. */
  pods(): ReadonlyMap<string, Pod>;
  logger: Logger;
  /** Serving certificate and key, and the CA of client certificates; absent: plain HTTP. */
  tls?: { cert: Buffer; key: Buffer; clientCA?: Buffer };
  /** Authentication and authorization of every request; absent: all come in. */
  gate?: KubeletGate;
  /** Handles websocket and SPDY upgrades (exec, attach, port-forward); absent: they are refused. */
  onUpgrade?: (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void;
}

export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    /** Response headers besides the Status (a refused upgrade's accepted protocols). */
    readonly headers: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

/** A failure Status as the apiserver passes it on. */
function failureStatus(code: number, reason: string, message: string): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

export function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(failureStatus(code, reason, message));
}

/** Answers an upgrade request with a Status instead of switching protocols. */
export function refuse(
  socket: Duplex,
  code: number,
  reason: string,
  message: string,
  headers: Record<string, string[]> = {},
): void {
  const body = failureStatus(code, reason, message);
  const extra = Object.entries(headers).flatMap(([name, values]) => values.map((v) => `${name}: ${v}\r\n`));
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra.join('')}connection: close\r\n\r\n${body}`,
  );
}

export class KubeletServer {
  private server?: http.Server | https.Server;
  private readonly startTime = new Date().toISOString();
  private readonly nodeCpu = new NodeCpu();

  constructor(private readonly o: KubeletServerOptions) {}

  private async admit(req: http.IncomingMessage) {
    if (!this.o.gate) return undefined;
    try {
      return await this.o.gate.check(req);
    } catch (err) {
      this.o.logger.warn({ err, url: req.url }, 'could not authorize a kubelet request');
      return { code: 500, reason: 'InternalError', message: `authorization: ${(err as Error).message}` };
    }
  }

  /** Finds a pod this kubelet runs by namespace and name. */
  findPod(ns: string, podName: string): Pod {
    const pod = [...this.o.pods().values()].find(
      (p) => p.metadata?.namespace === ns && p.metadata?.name === podName,
    );
    if (!pod) throw new HttpError(404, 'NotFound', `pod "${podName}" not found on node ${this.o.node}`);
    return pod;
  }

  /** Finds a pod by namespace and name, and a container's instances in it (newest first). */
  async findContainer(ns: string, podName: string, container: string | undefined) {
    const pod = this.findPod(ns, podName);
    const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
      (c) => c.name ?? '',
    );
    const name = container || (pod.spec?.containers?.length === 1 ? names[names.length - 1] : '');
    if (!name)
      throw new HttpError(
        400,
        'BadRequest',
        `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`,
      );
    // Ephemeral containers are reachable by name (exec, attach, logs), never the default.
    names.push(...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name ?? ''));
    if (!names.includes(name))
      throw new HttpError(400, 'BadRequest', `container ${name} is not valid for pod ${podName}`);
    const state = await readPodState(this.o.runtime, this.o.node, pod.metadata?.uid ?? '');
    return { pod, name, instances: state.containers.get(name) ?? [] };
  }

  private async containerLogs(req: http.IncomingMessage, res: http.ServerResponse, parts: string[]) {
    const [ns, podName, container] = parts.map(decodeURIComponent);
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    const flag = (k: string) => q.get(k) === 'true' || q.get(k) === '1';
    const { name, instances } = await this.findContainer(ns, podName, container);
    const previous = flag('previous');
    const inst = previous ? instances[1] : instances[0];
    if (!inst) {
      const why = previous
        ? `previous terminated container "${name}" in pod "${podName}" not found`
        : `container "${name}" in pod "${podName}" is waiting to start`;
      throw new HttpError(400, 'BadRequest', why);
    }
    const num = (k: string) => (q.has(k) && q.get(k) !== '' ? Number(q.get(k)) : undefined);
    const tailLines = num('tailLines');
    const sinceSeconds = num('sinceSeconds');
    const since = q.get('sinceTime') ? Math.floor(Date.parse(q.get('sinceTime')!) / 1000) : undefined;
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const stream = await this.o.runtime.logs(inst.id, {
      follow: flag('follow') && !previous && inst.state === 'running',
      tailLines: tailLines !== undefined && tailLines >= 0 ? tailLines : undefined,
      since: sinceSeconds !== undefined ? Math.floor(Date.now() / 1000) - sinceSeconds : since,
      timestamps: flag('timestamps'),
      signal: ac.signal,
    });
    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    const limit = num('limitBytes');
    let sent = 0;
    stream.on('data', (chunk: Buffer) => {
      if (limit !== undefined && sent >= limit) return;
      const part = limit !== undefined ? chunk.subarray(0, limit - sent) : chunk;
      sent += part.length;
      res.write(part);
      if (limit !== undefined && sent >= limit) stream.destroy();
    });
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', resolve);
    });
    res.end();
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method !== 'GET') throw new HttpError(405, 'MethodNotAllowed', `${req.method} is not supported`);
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname === '/pods') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: {},
          items: [...this.o.pods().values()],
        }),
      );
      return;
    }
    if (url.pathname === '/stats/summary') {
      const summary = await summarize({
        node: this.o.node,
        startTime: this.startTime,
        runtime: this.o.runtime,
        pods: this.o.pods().values(),
        nodeCpu: this.nodeCpu,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(summary));
      return;
    }
    if (parts[0] === 'containerLogs' && (parts.length === 4 || parts.length === 3))
      return this.containerLogs(req, res, parts.slice(1));
    throw new HttpError(404, 'NotFound', `${url.pathname} not found`);
  }

  listen(): Promise<number> {
    const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.admit(req)
        .then((refusal) => {
          if (refusal) return sendStatus(res, refusal.code, refusal.reason, refusal.message);
          return this.route(req, res);
        })
        .catch((err) => {
          if (err instanceof HttpError) return sendStatus(res, err.code, err.reason, err.message);
          this.o.logger.error({ err, url: req.url }, 'kubelet server request failed');
          sendStatus(res, 500, 'InternalError', (err as Error).message);
        });
    };
    const t = this.o.tls;
    this.server = t
      ? https.createServer(
          {
            cert: t.cert,
            key: t.key,
            // Asked for, not required in the handshake: a caller without one gets a 401 Status.
            ...(t.clientCA ? { ca: t.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
          },
          handle,
        )
      : http.createServer(handle);
    const onUpgrade = this.o.onUpgrade;
    if (onUpgrade)
      this.server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
        this.admit(req)
          .then((refusal) => {
            if (refusal) return refuse(socket, refusal.code, refusal.reason, refusal.message);
            onUpgrade(req, socket, head);
          })
          .catch((err) => refuse(socket, 500, 'InternalError', (err as Error).message));
      });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.bindAddress, () => {
        const a = this.server!.address();
        resolve(typeof a === 'object' && a ? a.port : this.o.port);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
