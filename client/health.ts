/**
 * The health and metrics endpoint every component other than the apiserver
 * serves: `/healthz`, `/livez`, `/readyz` (each named check, `?verbose` lists
 * them as Kubernetes does) and Prometheus `/metrics`.
 */
import http from 'node:http';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Registry } from 'prom-client';

export type HealthCheck = () => boolean | Promise<boolean>;

export interface HealthServerOptions {
  bindAddress: string;
  /** 0 picks a free port (tests); the chosen one is returned by `listen`. */
  port: number;
  logger: Logger;
  /** Checks for /healthz and /livez. */
  live?: Record<string, HealthCheck>;
  /** Extra checks for /readyz (the live ones are included). */
  ready?: Record<string, HealthCheck>;
  metrics?: Registry;
}

/** A metrics registry with the process defaults, one per component. */
export function newMetricsRegistry(component: string): Registry {
  const r = new Registry();
  r.setDefaultLabels({ component });
  collectDefaultMetrics({ register: r });
  return r;
}

async function runChecks(checks: Record<string, HealthCheck>): Promise<[string, boolean][]> {
  return Promise.all(
    Object.entries(checks).map(async ([name, fn]): Promise<[string, boolean]> => {
      try {
        return [name, await fn()];
      } catch {
        return [name, false];
      }
    }),
  );
}

/**
 * One health endpoint's answer, as Kubernetes' healthz writes it: `ok`, or
 * with `verbose` (or any failed check) a line per check and a verdict; 500
 * when a check failed. The apiserver serves its endpoints with this too.
 */
export async function healthResponse(
  checks: Record<string, HealthCheck>,
  name: string,
  verbose: boolean,
): Promise<{ code: number; body: string }> {
  const results = await runChecks(checks);
  const ok = results.every(([, v]) => v);
  if (!verbose && ok) return { code: 200, body: 'ok' };
  const lines = results.map(([n, v]) => `[${v ? '+' : '-'}]${n} ${v ? 'ok' : 'failed'}`);
  return { code: ok ? 200 : 500, body: `${lines.join('\n')}\n${name} check ${ok ? 'passed' : 'failed'}\n` };
}

export class HealthServer {
  private readonly o: HealthServerOptions;
  private server?: http.Server;

  constructor(opts: HealthServerOptions) {
    this.o = opts;
  }

  /** Starts listening; resolves to the bound port. */
  listen(): Promise<number> {
    const live = { ping: () => true, ...(this.o.live ?? {}) };
    const ready = { ...live, ...(this.o.ready ?? {}) };
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      const send = (code: number, type: string, body: string) => {
        res.writeHead(code, { 'content-type': type });
        res.end(body);
      };
      const health = async (checks: Record<string, HealthCheck>, name: string) => {
        const { code, body } = await healthResponse(checks, name, url.searchParams.has('verbose'));
        send(code, 'text/plain; charset=utf-8', body);
      };
      const route = async () => {
        if (url.pathname === '/healthz' || url.pathname === '/livez')
          return health(live, url.pathname.slice(1));
        if (url.pathname === '/readyz') return health(ready, 'readyz');
        if (url.pathname === '/metrics' && this.o.metrics) {
          return send(200, this.o.metrics.contentType, await this.o.metrics.metrics());
        }
        send(404, 'text/plain; charset=utf-8', 'not found\n');
      };
      route().catch((err) => {
        this.o.logger.error({ err }, 'health endpoint failed');
        if (!res.headersSent) send(500, 'text/plain; charset=utf-8', 'internal error\n');
      });
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.port, this.o.bindAddress, () => {
        const addr = this.server!.address();
        resolve(typeof addr === 'object' && addr ? addr.port : this.o.port);
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
