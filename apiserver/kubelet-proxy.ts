/**
 * The apiserver's one call to another component: `pods/log` is proxied to
 * the kubelet of the pod's node (GET /containerLogs/{ns}/{pod}/{container}
 * on the address and port the Node publishes: its InternalIP and
 * status.daemonEndpoints.kubeletEndpoint.Port). The kubelet's answer,
 * streamed (follow) or whole, goes back as it is, errors included (they
 * are Status objects already). Plain HTTP until TLS lands.
 */
import http from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../api/meta.js';
import { newBadRequest, StatusError } from '../api/status.js';
import type { ResourceStore } from './store.js';

type Query = Record<string, string | undefined>;

const logParams = [
  'follow',
  'previous',
  'timestamps',
  'tailLines',
  'sinceSeconds',
  'sinceTime',
  'limitBytes',
];

interface PodLike extends KubeObject {
  spec?: { nodeName?: string; containers?: { name?: string }[]; initContainers?: { name?: string }[] };
}

interface NodeLike extends KubeObject {
  status?: {
    addresses?: { type?: string; address?: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

/** The kubelet URL of a node: InternalIP (else the first address) and the published port. */
export function kubeletBase(node: NodeLike): string {
  const addrs = node.status?.addresses ?? [];
  const ip = addrs.find((a) => a.type === 'InternalIP')?.address ?? addrs[0]?.address;
  if (!ip) throw new StatusError(503, 'ServiceUnavailable', `node "${node.metadata.name}" has no address`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || 10250;
  return `http://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

export async function proxyPodLog(
  req: FastifyRequest,
  reply: FastifyReply,
  o: { pods: ResourceStore; nodes: ResourceStore | undefined; namespace: string; name: string; query: Query },
): Promise<FastifyReply> {
  const pod = (await o.pods.get(o.namespace, o.name)) as PodLike;
  const nodeName = pod.spec?.nodeName;
  if (!nodeName) throw newBadRequest(`pod ${o.name} does not have a host assigned`);
  const names = (pod.spec?.containers ?? []).map((c) => c.name ?? '');
  const all = [...(pod.spec?.initContainers ?? []).map((c) => c.name ?? ''), ...names];
  const container = o.query.container || (names.length === 1 ? names[0] : '');
  if (!container)
    throw newBadRequest(
      `a container name must be specified for pod ${o.name}, choose one of: [${names.join(' ')}]`,
    );
  if (!all.includes(container)) throw newBadRequest(`container ${container} is not valid for pod ${o.name}`);
  if (!o.nodes) throw new StatusError(503, 'ServiceUnavailable', 'nodes are not served');
  const base = kubeletBase((await o.nodes.get(undefined, nodeName)) as NodeLike);
  const params = new URLSearchParams();
  for (const k of logParams) if (o.query[k] !== undefined) params.set(k, o.query[k]!);
  const url = `${base}/containerLogs/${encodeURIComponent(o.namespace)}/${encodeURIComponent(o.name)}/${encodeURIComponent(container)}?${params}`;
  const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const r = http.get(url, { timeout: 30_000 }, resolve);
    r.on('timeout', () => r.destroy(new Error('timed out waiting for the kubelet')));
    r.on('error', (e) => reject(new StatusError(500, 'InternalError', `Get "${url}": ${e.message}`)));
    req.raw.on('close', () => r.destroy());
  });
  upstream.setTimeout(0);
  reply.code(upstream.statusCode ?? 502);
  reply.header('content-type', upstream.headers['content-type'] ?? 'text/plain');
  return reply.send(upstream);
}
