/**
 * Prometheus metrics of the apiserver and `/metrics`: requests by verb,
 * resource and code, latency, open watches, and the request log line.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import type { Registry, ResourceType } from '../../api/registry.js';
import { type RequestInfo, requestInfo } from '../request.js';
import type { ResourceStore } from '../store.js';
import type { WatchLimiter } from '../watch-limiter.js';
import { appWide } from './app-wide.js';

/** The apiserver's metrics, registered in the order /metrics lists them. */
export class ApiserverMetrics {
  readonly registry = new MetricsRegistry();
  readonly decodeErrors = new Counter({
    name: 'apiserver_storage_decode_errors_total',
    help: 'Stored values a list or watch left out because they cannot be decoded, by resource.',
    labelNames: ['resource'],
    registers: [this.registry],
  });
  readonly requests: Counter<'verb' | 'resource' | 'code'>;
  readonly latency: Histogram<'verb' | 'resource'>;
  readonly terminatedWatchers: Counter<'group' | 'resource'>;

  /** `stores` and `watchLimiter` are read when /metrics is scraped. */
  constructor(o: {
    stores: () => ReadonlyMap<ResourceType, ResourceStore>;
    watchLimiter: WatchLimiter;
  }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Requests by verb, resource and code.',
      labelNames: ['verb', 'resource', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Request latency by verb and resource (watches excluded).',
      labelNames: ['verb', 'resource'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    new Gauge({
      name: 'apiserver_registered_watchers',
      help: 'Open watches by resource.',
      labelNames: ['resource'],
      registers,
      collect() {
        for (const [rt, s] of o.stores()) this.set({ resource: rt.plural }, s.cache.listenerCount);
      },
    });
    this.terminatedWatchers = new Counter({
      name: 'apiserver_terminated_watchers_total',
      help: 'Watchers closed for falling too far behind, by resource.',
      labelNames: ['group', 'resource'],
      registers,
    });
    new Gauge({
      name: 'apiserver_longrunning_requests',
      help: 'Open watches, each holding a slot of --max-watches until it ends.',
      labelNames: ['verb'],
      registers,
      collect() {
        this.set({ verb: 'WATCH' }, o.watchLimiter.inUse);
      },
    });
  }
}

export interface MetricsPluginOptions {
  metrics: ApiserverMetrics;
  /** The resources served: any other resource is counted as `other`. */
  registry: Registry;
}

/** `/metrics`, and every request counted, timed and logged once answered. */
export const metricsPlugin = appWide<MetricsPluginOptions>('metrics', async (app, { metrics, registry }) => {
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  // Labels from the parsed request only: a resource this server serves, or `other`.
  const served = registry.derived(
    (r) => new Set(r.all.map((rt) => `${rt.group}/${rt.version}/${rt.plural}`)),
  );
  app.addHook('onResponse', (req, reply, done) => {
    let info: RequestInfo | undefined;
    try {
      info = requestInfo(req.raw);
    } catch {}
    const resource = !info?.isResourceRequest
      ? ''
      : served().has(`${info.apiGroup}/${info.apiVersion}/${info.resource}`)
        ? info.resource
        : 'other';
    const verb = req.method;
    const ms = reply.elapsedTime;
    metrics.requests.inc({ verb, resource, code: String(reply.statusCode) });
    if (info?.verb !== 'watch') metrics.latency.observe({ verb, resource }, ms / 1000);
    req.log.info(
      {
        method: verb,
        path: info?.path ?? '-',
        code: reply.statusCode,
        latencyMs: Math.round(ms * 100) / 100,
      },
      'request',
    );
    done();
  });
});
