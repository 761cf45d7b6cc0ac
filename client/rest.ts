/**
 * The one REST client: requests to one of several apiserver endpoints with
 * failover, retries only where a retry cannot apply a write twice, Status
 * errors decoded into `StatusError`, and line streams for watch and logs.
 *
 * Retry rules:
 * - the connection was never made (refused, unreachable): any verb, next endpoint;
 * - the server answered 429, or 5xx with Retry-After: any verb (it did not act);
 * - anything else without a response (reset, timeout) or a bare 5xx: GET/HEAD only.
 * A request whose own `signal` aborted fails at once with code 499, without
 * moving to another endpoint.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { StatusError } from '../api/status.js';
import { exponentialBackoff } from './backoff.js';
import { type Clock, realClock } from './clock.js';

export interface RestConfig {
  /** Base URLs of apiservers, tried in turn: `http://127.0.0.1:6443`. */
  servers: string[];
  token?: string;
  /**
   * A file holding the bearer token, read again at most once a minute
   * because its token rotates (a pod's projected service account token);
   * it wins over `token`, which is used only while the file cannot be read.
   */
  tokenFile?: string;
  username?: string;
  password?: string;
  /** PEM data for TLS: the cluster CA (in place of the system's), and a client certificate and key. */
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecureSkipTLSVerify?: boolean;
  userAgent?: string;
  /** Deadline for one non-streaming request; default 30 s. */
  timeoutMs?: number;
  /** Attempts beyond the first; default 4. */
  maxRetries?: number;
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Query;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface StreamOptions extends Omit<RequestOptions, 'method' | 'body'> {
  /**
   * A stream with no bytes for this long is broken off (StatusError 503), so
   * a server gone silent cannot hold it forever; unset, it waits as long as
   * the connection lives.
   */
  idleTimeoutMs?: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** Network errors where the request never reached a server. */
const neverSent = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

class NetworkError extends Error {
  constructor(
    readonly server: string,
    readonly err: Error & { code?: string },
  ) {
    super(`${server}: ${err.message}`);
  }
  get neverSent(): boolean {
    return neverSent.has(this.err.code ?? '');
  }
}

export function buildQuery(q: Query | undefined): string {
  if (!q) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** How long a token read from `tokenFile` is used before the file is read again (client-go's period). */
export const tokenFileCacheMs = 60_000;

/**
 * The bearer token in a file, read on use and at most once per `periodMs`
 * (client-go's cachingTokenSource re-reads it every minute): a token
 * rotated in the file is picked up within a period; a file that cannot be
 * read keeps the last token it gave.
 */
export class FileTokenSource {
  private current?: string;
  private readAt = Number.NEGATIVE_INFINITY;

  constructor(
    readonly path: string,
    private readonly o: { clock: Clock; periodMs?: number; logger?: Logger },
  ) {}

  /** The token; undefined while the file has never been read. */
  token(): string | undefined {
    const now = this.o.clock.now();
    if (now - this.readAt < (this.o.periodMs ?? tokenFileCacheMs)) return this.current;
    this.readAt = now;
    try {
      const token = readFileSync(this.path, 'utf8').trim();
      if (!token) throw new Error('the file is empty');
      this.current = token;
    } catch (err) {
      this.o.logger?.warn(
        { file: this.path, err: (err as Error).message },
        this.current ? 'cannot read the token file; keeping the last token' : 'cannot read the token file',
      );
    }
    return this.current;
  }
}

export class RestClient {
  readonly config: RestConfig;
  private readonly log?: Logger;
  private current = 0;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly httpsAgent: https.Agent;
  private readonly tokenSource?: FileTokenSource;

  /** `clock` paces re-reads of `config.tokenFile`. */
  constructor(config: RestConfig, logger?: Logger, clock: Clock = realClock) {
    if (config.servers.length === 0) throw new Error('RestClient needs at least one server URL');
    for (const s of config.servers) {
      if (!/^https?:\/\/[^/]+/.test(s)) throw new Error(`server "${s}" is not an http(s) URL`);
    }
    this.config = { ...config, servers: config.servers.map((s) => s.replace(/\/+$/, '')) };
    this.log = logger;
    if (config.tokenFile) this.tokenSource = new FileTokenSource(config.tokenFile, { clock, logger });
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 64,
      ca: config.ca,
      cert: config.cert,
      key: config.key,
      rejectUnauthorized: !config.insecureSkipTLSVerify,
    });
  }

  /** The endpoint requests go to now; it moves on after a network failure. */
  get server(): string {
    return this.config.servers[this.current % this.config.servers.length];
  }

  /** Sends a request and returns the decoded JSON body; a non-2xx answer throws StatusError. */
  async request<T = unknown>(opts: RequestOptions): Promise<T> {
    const res = await this.requestRaw(opts);
    if (res.status < 200 || res.status >= 300) throw toStatusError(res);
    if (res.body.length === 0) return undefined as T;
    const type = String(res.headers['content-type'] ?? '');
    return (type.includes('json') ? JSON.parse(res.body.toString('utf8')) : res.body.toString('utf8')) as T;
  }

  /** Sends a request with failover and the retry rules above; any HTTP answer is returned. */
  async requestRaw(opts: RequestOptions): Promise<RawResponse> {
    const idempotent = opts.method === 'GET' || opts.method === 'HEAD';
    const maxRetries = this.config.maxRetries ?? 4;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      if (opts.signal?.aborted) throw new StatusError(499, '', 'request aborted');
      if (attempt > 0)
        await sleep(exponentialBackoff(50, attempt, 2000) * (0.5 + Math.random() / 2), opts.signal);
      const server = this.server;
      try {
        const res = await this.once(server, opts);
        const retryAfter = Number(res.headers['retry-after']);
        const serverSaysRetry = res.status === 429 || (res.status >= 500 && Number.isFinite(retryAfter));
        if ((serverSaysRetry || (idempotent && res.status >= 500)) && attempt < maxRetries) {
          this.log?.debug({ server, status: res.status, path: opts.path }, 'retrying after server answer');
          if (Number.isFinite(retryAfter)) await sleep(Math.min(retryAfter, 10) * 1000, opts.signal);
          lastErr = toStatusError(res);
          continue;
        }
        return res;
      } catch (err) {
        if (!(err instanceof NetworkError)) throw err;
        // Our own abort says nothing about the server: no failover, no retry.
        if (opts.signal?.aborted) throw abortOr(err, opts.signal);
        lastErr = err;
        this.failover(server, err);
        if (!err.neverSent && !idempotent) {
          // The server may have acted on it; a blind retry could apply a write twice.
          throw new StatusError(
            503,
            'ServiceUnavailable',
            `request to ${err.server} failed and was not retried: ${err.err.message}`,
          );
        }
      }
    }
    if (lastErr instanceof StatusError) throw lastErr;
    throw new StatusError(
      503,
      'ServiceUnavailable',
      `no apiserver answered: ${(lastErr as Error)?.message ?? 'unknown error'}`,
    );
  }

  private failover(server: string, err: NetworkError): void {
    if (this.server === server) this.current++;
    this.log?.warn(
      { server, err: err.err.message, next: this.server },
      'apiserver unreachable; failing over',
    );
  }

  private once(server: string, opts: RequestOptions): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      const req = this.open(server, opts, opts.timeoutMs ?? this.config.timeoutMs ?? 30_000);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', (e) => reject(new NetworkError(server, e)));
      });
      req.on('error', (e) => reject(e instanceof StatusError ? e : new NetworkError(server, e)));
    });
  }

  /**
   * The headers that name and authenticate this client, for connections
   * made outside `request`, such as websocket upgrades.
   */
  identityHeaders(): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.config.userAgent ?? 'nanokube' };
    const token = this.tokenSource?.token() ?? this.config.token;
    if (token) headers.authorization = `Bearer ${token}`;
    else if (this.config.username) {
      headers.authorization = `Basic ${Buffer.from(`${this.config.username}:${this.config.password ?? ''}`).toString('base64')}`;
    }
    return headers;
  }

  private open(server: string, opts: RequestOptions, timeoutMs: number): http.ClientRequest {
    const url = new URL(server + opts.path + buildQuery(opts.query));
    const isHttps = url.protocol === 'https:';
    const headers: Record<string, string> = {
      accept: opts.accept ?? 'application/json',
      ...this.identityHeaders(),
    };
    let payload: Buffer | undefined;
    if (opts.body !== undefined) {
      payload = Buffer.isBuffer(opts.body)
        ? opts.body
        : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
      headers['content-type'] = opts.contentType ?? 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const req = (isHttps ? https : http).request(url, {
      method: opts.method,
      headers,
      agent: isHttps ? this.httpsAgent : this.httpAgent,
      signal: opts.signal,
    });
    if (timeoutMs > 0) {
      req.setTimeout(timeoutMs, () =>
        req.destroy(Object.assign(new Error(`timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
    }
    req.end(payload);
    return req;
  }

  /**
   * Opens a long-lived GET (watch, log follow) and yields its body line by
   * line. A non-2xx answer throws StatusError before the first line. The
   * stream ends when the server ends it or `signal` aborts. Opening fails
   * over like any GET; a stream that breaks after it opened is not resumed
   * here (the caller knows where to resume from) but throws StatusError 503.
   * A server that accepts the connection but sends no headers within the
   * request timeout counts as unreachable.
   */
  async *streamLines(opts: StreamOptions): AsyncGenerator<string> {
    // A decoder keeps a multi-byte character split across chunks whole.
    const decoder = new StringDecoder('utf8');
    let buf = '';
    for await (const chunk of this.streamChunks(opts)) {
      buf += decoder.write(chunk);
      let start = 0;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n', start)) {
        const line = buf.slice(start, nl);
        start = nl + 1;
        if (line.trim()) yield line;
      }
      buf = buf.slice(start);
    }
    buf += decoder.end();
    if (buf.trim()) yield buf;
  }

  /**
   * The same long-lived GET as `streamLines`, with the same errors, yielding
   * the body's bytes as they arrive (pod logs, where every byte counts).
   */
  async *streamChunks(opts: StreamOptions): AsyncGenerator<Buffer> {
    const res = await this.openStream(opts);
    if ((res.statusCode ?? 0) >= 300) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw toStatusError({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
    }
    try {
      for await (const chunk of res) yield chunk as Buffer;
    } catch (err) {
      if (opts.signal?.aborted) return;
      throw new StatusError(
        503,
        'ServiceUnavailable',
        `stream from ${this.server} broke: ${(err as Error).message}`,
      );
    } finally {
      res.destroy();
    }
  }

  /** Opens a stream on the first endpoint that answers, failing over past unreachable ones. */
  private async openStream(opts: StreamOptions): Promise<http.IncomingMessage> {
    const headerTimeoutMs = opts.timeoutMs ?? this.config.timeoutMs ?? 30_000;
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.config.servers.length; attempt++) {
      const server = this.server;
      try {
        return await new Promise<http.IncomingMessage>((resolve, reject) => {
          const req = this.open(server, { ...opts, method: 'GET' }, opts.idleTimeoutMs ?? 0);
          const timer =
            headerTimeoutMs > 0
              ? setTimeout(() => {
                  const err = new Error(`no response headers within ${headerTimeoutMs} ms`);
                  req.destroy(Object.assign(err, { code: 'ETIMEDOUT' }));
                }, headerTimeoutMs)
              : undefined;
          req.on('response', (res) => {
            clearTimeout(timer);
            resolve(res);
          });
          req.on('error', (e) => {
            clearTimeout(timer);
            reject(new NetworkError(server, e));
          });
        });
      } catch (err) {
        if (!(err instanceof NetworkError) || opts.signal?.aborted) throw abortOr(err, opts.signal);
        lastErr = err;
        this.failover(server, err);
      }
    }
    throw new StatusError(
      503,
      'ServiceUnavailable',
      `no apiserver answered: ${(lastErr as Error)?.message ?? 'unknown error'}`,
    );
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function abortOr(err: unknown, signal?: AbortSignal): unknown {
  return signal?.aborted ? new StatusError(499, '', 'request aborted') : err;
}

/** Turns a failed HTTP answer into the StatusError the server meant. */
export function toStatusError(res: RawResponse): StatusError {
  const text = res.body.toString('utf8');
  try {
    const body = JSON.parse(text);
    if (body && body.kind === 'Status') return StatusError.fromStatus(body, res.status);
  } catch {
    // not JSON: fall through
  }
  if (res.status === 404)
    return new StatusError(404, 'NotFound', text || 'the server could not find the requested resource');
  if (res.status >= 500)
    return new StatusError(res.status, 'InternalError', text || `the server answered ${res.status}`);
  return new StatusError(res.status, '', text || `the server answered ${res.status}`);
}
