/**
 * The apiserver's calls to kubelets: `pods/log` is proxied to
 * the kubelet of the pod's node (GET /containerLogs/{ns}/{pod}/{container}
 * on the address and port the Node publishes: its InternalIP and
 * status.daemonEndpoints.kubeletEndpoint.Port). The kubelet's answer,
 * streamed (follow) or whole, goes back as it is, errors included (they
 * are Status objects already). `nodes/{name}/proxy/{path}` is a GET of
 * that path on the node's kubelet. With a kubelet client certificate
 * (`--kubelet-client-certificate`/`--kubelet-client-key`) the apiserver
 * speaks TLS to kubelets and proves who it is; with
 * `--kubelet-certificate-authority` it also checks the kubelet's serving
 * certificate. Without them, plain HTTP (clusters without TLS).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../api/meta.js';
import { newBadRequest, StatusError } from '../api/status.js';
import { queryBool, type RequestInfo, requestInfo } from './request.js';
import type { ResourceStore } from './store.js';

type Query = Record<string, string | undefined>;

const logFlags = ['follow', 'previous', 'timestamps'];
const logValues = ['tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes'];

/**
 * The kubelet's query for a log, as Kubernetes' LogLocation writes it: the
 * flags as the apiserver decodes them (queryBool: `follow=True` from the
 * Python client is true) and sent as `true` only when set, the values as given.
 */
export function kubeletLogQuery(query: Query): URLSearchParams {
  const params = new URLSearchParams();
  for (const k of logFlags) if (queryBool(query[k])) params.set(k, 'true');
  for (const k of logValues) if (query[k] !== undefined) params.set(k, query[k]!);
  return params;
}

interface PodLike extends KubeObject {
  spec?: {
    nodeName?: string;
    containers?: { name?: string }[];
    initContainers?: { name?: string }[];
    ephemeralContainers?: { name?: string }[];
  };
}

interface NodeLike extends KubeObject {
  status?: {
    addresses?: { type?: string; address?: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

export interface KubeletClientTLS {
  cert: Buffer;
  key: Buffer;
  /** The CA that signs kubelet serving certificates; absent: they are not checked. */
  ca?: Buffer;
}

/** How the apiserver reaches kubelets: plain HTTP, or TLS with its client certificate. */
export class KubeletClient {
  private readonly agent?: https.Agent;

  constructor(private readonly tls?: KubeletClientTLS) {
    if (tls) this.agent = new https.Agent({ ...this.tlsOptions(), keepAlive: true });
  }

  private tlsOptions(): tls.ConnectionOptions {
    const t = this.tls!;
    return { cert: t.cert, key: t.key, ca: t.ca, rejectUnauthorized: t.ca !== undefined };
  }

  /** The kubelet URL of a node: InternalIP (else the first address) and the published port. */
  base(node: NodeLike): string {
    const addrs = node.status?.addresses ?? [];
    const ip = addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs[0]?.address;
    if (!ip) throw new StatusError(503, 'ServiceUnavailable', `node "${node.metadata.name}" has no address`);
    const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250;
    return `${this.tls ? 'https' : 'http'}://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  }

  get(url: string, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    return this.tls
      ? https.get(url, { timeout: 30_000, agent: this.agent }, onResponse)
      : http.get(url, { timeout: 30_000 }, onResponse);
  }

  /** A raw connection to the kubelet at `base` (for upgrades), resolved once it is up. */
  dial(base: URL): Promise<Duplex> {
    const port = Number(base.port);
    const host = base.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve, reject) => {
      const s = this.tls
        ? tls.connect({ ...this.tlsOptions(), host, port, servername: net.isIP(host) ? undefined : host })
        : net.connect(port, host);
      s.once(this.tls ? 'secureConnect' : 'connect', () => resolve(s));
      s.once('error', (e) => reject(new StatusError(500, 'InternalError', `dial kubelet: ${e.message}`)));
    });
  }
}

/** Headers that carry the caller's credentials: the kubelet gets the apiserver's, never these. */
const credentialHeaders = /^(authorization|impersonate-.*|cookie)$/i;

export async function proxyPodLog(
  req: FastifyRequest,
  reply: FastifyReply,
  o: {
    pods: ResourceStore;
    nodes: ResourceStore | undefined;
    kubelet: KubeletClient;
    namespace: string;
    name: string;
    query: Query;
  },
): Promise<FastifyReply> {
  const pod = (await o.pods.get(o.namespace, o.name)) as PodLike;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw newBadRequest(`pod ${o.name} does not have a host assigned`);
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '');
  const all = [
    ...(pod.spec?.initContainers ?? []).map((c) => c.name ?? ''),
    ...names,
    ...(pod.spec?.ephemeralContainers ?? []).map((c) => c.name ?? ''),
  ];
  const container = o.query.container || (names.length === 1 ? names[0] : '');
  if (!container)
    throw newBadRequest(
      `a container name must be specified for pod ${o.name}, choose one of: [${names.join(' ')}]`,
    );
  if (!all.includes(container)) throw newBadRequest(`container ${container} is not valid for pod ${o.name}`);
  if (!o.nodes) throw new StatusError(503, 'ServiceUnavailable', 'nodes are not served');
  const base = o.kubelet.base((await o.nodes.get(undefined, nodeName)) as NodeLike);
  const params = kubeletLogQuery(o.query);
  const url = `${base}/containerLogs/${encodeURIComponent(o.namespace)}/${encodeURIComponent(o.name)}/${encodeURIComponent(container)}?${params}`;
  return proxyGet(req, reply, o.kubelet, url);
}

/** GET nodes/{name}/proxy/{path}: the same path on the node's kubelet (stats/summary, pods, healthz). */
export function proxyNode(
  req: FastifyRequest,
  reply: FastifyReply,
  kubelet: KubeletClient,
  node: KubeObject,
  path: string,
): Promise<FastifyReply> {
  return proxyGet(req, reply, kubelet, `${kubelet.base(node as NodeLike)}${path}`);
}

/** Streams a kubelet GET back as it comes, status and content type included. */
async function proxyGet(
  req: FastifyRequest,
  reply: FastifyReply,
  kubelet: KubeletClient,
  url: string,
): Promise<FastifyReply> {
  const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const r = kubelet.get(url, resolve);
    r.on('timeout', () => r.destroy(new Error('timed out waiting for the kubelet')));
    r.on('error', (e) => reject(new StatusError(500, 'InternalError', `Get "${url}": ${e.message}`)));
    req.raw.on('close', () => r.destroy());
  });
  upstream.setTimeout(0);
  reply.code(upstream.statusCode ?? 502);
  reply.header('content-type', upstream.headers['content-type'] ?? 'text/plain');
  return reply.send(upstream);
}

const upgradeSubresources = new Set(['exec', 'attach', 'portforward']);

const optionsKinds: Record<string, string> = {
  exec: 'PodExecOptions',
  attach: 'PodAttachOptions',
  portforward: 'PodPortForwardOptions',
};

/**
 * The options object of a CONNECT, as admission sees it (the AdmissionReview's
 * object): PodExecOptions, PodAttachOptions or PodPortForwardOptions from the query.
 */
export function connectOptions(verb: string, query: URLSearchParams): KubeObject {
  const o: Record<string, unknown> = { kind: optionsKinds[verb] ?? '', apiVersion: 'v1' };
  if (verb === 'portforward') {
    const ports = query
      .getAll('ports')
      .flatMap((p) => p.split(','))
      .map(Number)
      .filter((n) => Number.isInteger(n));
    if (ports.length > 0) o.ports = ports;
  } else {
    for (const name of ['stdin', 'stdout', 'stderr', 'tty'])
      if (queryBool(query.get(name) ?? undefined)) o[name] = true;
    const container = query.get('container');
    if (container) o.container = container;
    if (verb === 'exec') o.command = query.getAll('command');
  }
  return o as unknown as KubeObject;
}

/**
 * The kubelet's query for an exec or attach: the options parsed as the
 * apiserver parses them (queryBool: `stdin=True` from the Python client
 * is true), then written as Kubernetes' streamParams writes
 * them, each requested stream as `1` and the command repeated, so the
 * kubelet reads one spelling whichever client asked. Throws BadRequest
 * for a request that asks for no stream, or an exec without a command.
 */
export function kubeletStreamQuery(verb: 'exec' | 'attach', query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of ['stdin', 'stdout', 'stderr', 'tty'])
    if (queryBool(query.get(name) ?? undefined)) out.set(name, '1');
  if (!out.has('stdin') && !out.has('stdout') && !out.has('stderr'))
    throw newBadRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (verb === 'exec') {
    const command = query.getAll('command');
    if (command.length === 0) throw newBadRequest('you must specify at least 1 command');
    for (const c of command) out.append('command', c);
  }
  // In key order, as Go's url.Values encodes (the command's own order kept).
  out.sort();
  return out;
}

/**
 * Proxies websocket upgrades of pods/exec, pods/attach and pods/portforward
 * to the pod's kubelet: the request head is replayed to the kubelet
 * (/exec/{ns}/{pod}/{container}?...) and then the two connections are
 * joined byte for byte, so the kubelet and the client speak the channel
 * protocol to each other. Errors before the upgrade are Status answers.
 */
export function registerKubeletUpgradeProxy(
  server: http.Server,
  o: {
    pods: ResourceStore;
    nodes: ResourceStore | undefined;
    kubelet: KubeletClient;
    logger: { warn(obj: object, msg: string): void };
    /** Authenticates and authorizes the request; throws a StatusError to refuse it. */
    gate?: (req: http.IncomingMessage) => void;
    /** Called once per upgrade request with the code it got (101 when joined to the kubelet). */
    audited?: (req: http.IncomingMessage, code: number) => void;
    /** Admission of the CONNECT (the webhooks); throws a StatusError to refuse it. */
    admit?: (
      req: http.IncomingMessage,
      c: { namespace: string; name: string; subresource: string; options: KubeObject },
    ) => Promise<void>;
  },
): void {
  server.on('upgrade', (req: http.IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const fail = (err: unknown) => {
      const e =
        err instanceof StatusError ? err : new StatusError(500, 'InternalError', (err as Error).message);
      o.audited?.(req, e.code);
      const body = JSON.stringify(e.toStatus());
      socket.end(
        `HTTP/1.1 ${e.code} ${e.reason || 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    // The same one parse of the target as every other request (request.ts), before anything else.
    let info: RequestInfo;
    try {
      info = requestInfo(req);
      o.gate?.(req);
    } catch (err) {
      return fail(err);
    }
    const rp = info.resourcePath;
    if (
      !(info.isResourceRequest && info.apiGroup === '' && info.apiVersion === 'v1') ||
      !rp ||
      rp.watchPath ||
      rp.plural !== 'pods' ||
      !rp.namespace ||
      !rp.name ||
      !upgradeSubresources.has(rp.subresource ?? '')
    )
      return fail(new StatusError(404, 'NotFound', 'the server could not find the requested resource'));
    const ns = rp.namespace;
    const name = rp.name;
    const verb = rp.subresource!;
    void (async () => {
      const pod = (await o.pods.get(ns, name)) as PodLike;
      await o.admit?.(req, {
        namespace: ns,
        name,
        subresource: verb,
        options: connectOptions(verb, info.query),
      });
      const nodeName = pod.spec?.nodeName;
      if (!nodeName) throw newBadRequest(`pod ${name} does not have a host assigned`);
      if (!o.nodes) throw new StatusError(503, 'ServiceUnavailable', 'nodes are not served');
      const base = new URL(o.kubelet.base((await o.nodes.get(undefined, nodeName)) as NodeLike));
      const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '');
      const container = info.query.get('container') || (names.length === 1 ? names[0] : '');
      if (verb !== 'portforward' && !container)
        throw newBadRequest(
          `a container name must be specified for pod ${name}, choose one of: [${names.join(' ')}]`,
        );
      const target = `/${verb}/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
      const path =
        verb === 'portforward'
          ? `${target}${info.url.slice(info.path.length)}`
          : `${target}/${encodeURIComponent(container)}?${kubeletStreamQuery(verb as 'exec' | 'attach', info.query)}`;
      const upstream = await o.kubelet.dial(base);
      const headers = Object.entries(req.headers)
        .filter(([k]) => k !== 'host' && !credentialHeaders.test(k))
        .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => `${k}: ${x}`) : [`${k}: ${v}`]));
      upstream.write(`GET ${path} HTTP/1.1\r\nhost: ${base.host}\r\n${headers.join('\r\n')}\r\n\r\n`);
      if (head.length) upstream.write(head);
      o.audited?.(req, 101);
      socket.pipe(upstream).pipe(socket);
      const close = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.on('error', close);
      upstream.on('error', close);
      socket.on('close', close);
      upstream.on('close', close);
    })().catch((err) => {
      o.logger.warn({ err, pod: `${ns}/${name}`, verb }, 'proxy to kubelet failed');
      fail(err);
    });
  });
}
