/**
 * The aggregation proxy: a request under `/apis/{group}/{version}` of a
 * group-version that an APIService with a service claims (and the registry
 * does not serve) goes to that service, after this apiserver has
 * authenticated and authorized it as any other request. The backend gets
 * the caller's identity in the front-proxy headers (headers.ts) over a
 * connection that shows the front-proxy client certificate (backend.ts).
 * Bodies stream both ways (watches, chunked lists, large writes), never
 * held in memory here. As kube-aggregator: an APIService that is not
 * Available answers 503 `service unavailable`, and so does a backend that
 * cannot be reached.
 */

import type http from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { APIService } from '../../api/objects.js';
import { StatusError } from '../../api/status.js';
import { apiServiceCondition, apiServiceName } from '../../api/types/apiregistration.js';
import { isHopByHop } from '../../base/hop-by-hop.js';
import type { UserInfo } from '../authn.js';
import type { RequestInfo } from '../request.js';
import type { ResourceStore } from '../store.js';
import type { BackendClient } from './backend.js';
import { proxyHeaders } from './headers.js';
import { resolveEndpoint, type ServiceLookup } from './target.js';

export const serviceUnavailable = () => new StatusError(503, 'ServiceUnavailable', 'service unavailable');

export interface ProxyOptions {
  apiServices: ResourceStore;
  lookup: ServiceLookup;
  backend: BackendClient;
  /** Whether this apiserver serves the group-version itself (built-in kinds, CRDs). */
  servedLocally: (group: string, version: string) => boolean;
  logger: Logger;
}

export class AggregationProxy {
  constructor(private readonly o: ProxyOptions) {}

  /** The APIService whose service serves `group/version`, if one does and the registry does not. */
  apiServiceFor(group: string, version: string): APIService | undefined {
    if (!group || !version || this.o.servedLocally(group, version)) return undefined;
    const s = this.o.apiServices;
    const a = s.cache.items.get(s.key(undefined, apiServiceName(group, version)))?.obj as
      | APIService
      | undefined;
    return a?.spec?.service ? a : undefined;
  }

  /** Whether `info` names a path this proxy serves: `/apis/{group}/{version}` and below. */
  claims(info: RequestInfo): APIService | undefined {
    const [first, group, version] = info.path.split('/').slice(1);
    if (first !== 'apis' || !group || !version) return undefined;
    return this.apiServiceFor(group, version);
  }

  /**
   * Proxies the request to the APIService's backend. Throws a StatusError
   * (rendered by the error handler) while nothing was sent; once the
   * backend is reached the reply is hijacked and the answer streamed.
   */
  async proxy(req: FastifyRequest, reply: FastifyReply, a: APIService, info: RequestInfo, user: UserInfo) {
    if (apiServiceCondition(a)?.status !== 'True') throw serviceUnavailable();
    const target = resolveEndpoint(a, this.o.lookup);
    if (!target.ok) throw serviceUnavailable();
    if (req.headers.upgrade)
      throw new StatusError(400, 'BadRequest', 'upgrade requests to aggregated APIs are not supported');
    const headers = proxyHeaders(req.raw.headersDistinct, user);
    const upstream = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const out = this.o.backend.request(a, target, { method: req.method, path: info.url, headers }, resolve);
      out.on('error', (err) => {
        this.o.logger.warn({ err, apiService: a.metadata.name }, 'proxy to aggregated API failed');
        reject(serviceUnavailable());
      });
      // The caller went away: so does the backend's request (a watch must not outlive its client).
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) out.destroy();
      });
      req.raw.pipe(out);
    });
    reply.hijack();
    const res = reply.raw;
    for (const [k, v] of Object.entries(upstream.headersDistinct))
      if (!isHopByHop(k) && v) res.setHeader(k, v);
    res.writeHead(upstream.statusCode ?? 502);
    res.flushHeaders();
    upstream.pipe(res);
    upstream.on('error', () => res.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  }
}
