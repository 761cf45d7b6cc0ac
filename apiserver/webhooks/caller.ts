/**
 * Reaching a webhook: where `clientConfig` points (a URL, or a Service
 * resolved to a ready endpoint address from the apiserver's own caches of
 * Services and Endpoints, dialled directly as Kubernetes does with
 * endpoint routing: the apiserver reaches pod IPs), and one HTTPS POST
 * with the TLS identity checked against the caBundle (a Service's
 * certificate must name `<svc>.<ns>.svc`), a deadline that aborts the
 * call, and a bound on the answer's size. Failures are WebhookCallErrors
 * worded as Go's HTTP client words them (`Post "URL": ...`).
 */
import https from 'node:https';
import type { KubeObject } from '../../api/meta.js';
import { WebhookCallError } from './review.js';

/** Where one call goes. */
export interface WebhookTarget {
  /** The URL as Kubernetes names it in errors (`https://svc.ns.svc:443/path?timeout=10s`). */
  url: string;
  /** The address dialled: the URL's host, or a Service's endpoint address. */
  host: string;
  port: number;
  path: string;
  /** The name the serving certificate must carry (SNI too). */
  servername: string;
  /** PEM CA bundle; absent: the system's roots. */
  ca?: string;
}

/** Answers larger than this are a failed call (Kubernetes bounds webhook responses the same way). */
export const maxResponseBytes = 3 * 1024 * 1024;

export interface ClientConfig {
  url?: string;
  service?: { namespace?: string; name?: string; path?: string; port?: number };
  caBundle?: string;
}

interface ServiceLike extends KubeObject {
  spec?: { type?: string; ports?: { name?: string; port?: number }[] };
}

interface EndpointsLike extends KubeObject {
  subsets?: { addresses?: { ip?: string }[]; ports?: { name?: string; port?: number }[] }[];
}

/** The Services and Endpoints the apiserver holds (its watch caches). */
export interface ServiceLookup {
  service(namespace: string, name: string): ServiceLike | undefined;
  endpoints(namespace: string, name: string): EndpointsLike | undefined;
}

function decodeCA(caBundle: string | undefined): string | undefined {
  if (!caBundle) return undefined;
  return Buffer.from(caBundle, 'base64').toString('utf8');
}

/**
 * Where `cc` points, Kubernetes' `ResolveEndpoint` for a Service: the
 * service port named in clientConfig, then the Endpoints port of the same
 * name and a random ready address.
 */
export function resolveTarget(
  cc: ClientConfig,
  timeoutSeconds: number,
  lookup: ServiceLookup,
): WebhookTarget {
  const timeout = `timeout=${timeoutSeconds}s`;
  const ca = decodeCA(cc.caBundle);
  if (cc.url !== undefined) {
    const u = new URL(cc.url);
    const port = u.port ? Number(u.port) : 443;
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    const path = `${u.pathname}?${timeout}`;
    return { url: `${u.origin}${path}`, host, port, path, servername: host, ca };
  }
  const ref = cc.service ?? {};
  const ns = ref.namespace ?? '';
  const name = ref.name ?? '';
  const wantPort = ref.port ?? 443;
  const path = `${ref.path || '/'}?${timeout}`;
  const servername = `${name}.${ns}.svc`;
  const url = `https://${servername}:${wantPort}${path}`;
  const fail = (why: string) => new WebhookCallError(`failed to call webhook: Post "${url}": ${why}`);
  const svc = lookup.service(ns, name);
  if (!svc) throw fail(`service "${name}" not found`);
  const type = svc.spec?.type ?? 'ClusterIP';
  if (!['ClusterIP', 'NodePort', 'LoadBalancer'].includes(type))
    throw fail(`unsupported service type "${type}"`);
  const svcPort = (svc.spec?.ports ?? []).find((p) => p.port === wantPort);
  if (!svcPort) throw fail(`no service port ${wantPort} found for service "${name}"`);
  const portName = svcPort.name ?? '';
  for (const ss of lookup.endpoints(ns, name)?.subsets ?? []) {
    for (const p of ss.ports ?? []) {
      if ((p.name ?? '') !== portName) continue;
      const addrs = (ss.addresses ?? []).filter((a) => a.ip);
      if (addrs.length === 0 || !p.port) continue;
      const ip = addrs[Math.floor(Math.random() * addrs.length)].ip!;
      return { url, host: ip, port: p.port, path, servername, ca };
    }
  }
  throw fail(`no endpoints available for service "${name}"`);
}

/**
 * POSTs `body` and resolves with the answer's bytes. Rejects with a
 * WebhookCallError on any failure: TLS, a deadline of `timeoutMs` (the call
 * is aborted, connection and all), a status other than 200, or an answer
 * over `maxBytes`.
 */
export function postReview(
  t: WebhookTarget,
  body: Buffer,
  timeoutMs: number,
  maxBytes: number = maxResponseBytes,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(new WebhookCallError(`failed to call webhook: Post "${t.url}": ${why}`));
    };
    const req = https.request(
      {
        host: t.host,
        port: t.port,
        path: t.path,
        method: 'POST',
        servername: /^[\d.]+$|:/.test(t.servername) ? undefined : t.servername,
        ca: t.ca,
        rejectUnauthorized: true,
        agent: false,
        headers: {
          host: t.port === 443 ? t.servername : `${t.servername}:${t.port}`,
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': body.length,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) fail(`response body larger than ${maxBytes} bytes`);
          else chunks.push(c);
        });
        res.on('error', (err) => fail(err.message));
        res.on('end', () => {
          if (settled) return;
          if (res.statusCode !== 200) {
            const text = Buffer.concat(chunks).toString('utf8').slice(0, 256);
            return fail(`the server responded with HTTP ${res.statusCode}${text ? `: ${text}` : ''}`);
          }
          settled = true;
          clearTimeout(timer);
          resolve(Buffer.concat(chunks));
        });
      },
    );
    const timer = setTimeout(() => fail('context deadline exceeded'), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ECONNREFUSED'
          ? `dial tcp ${t.host}:${t.port}: connect: connection refused`
          : err.message,
      ),
    );
    req.end(body);
  });
}
