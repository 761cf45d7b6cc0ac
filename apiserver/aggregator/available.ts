/**
 * The Available condition of every APIService, kept by each apiserver as
 * kube-aggregator's AvailableConditionController: a local one is always
 * available; one with a service is available when the service exists,
 * listens on the port, has ready endpoints, and the backend answers its
 * discovery (`GET /apis/{group}/{version}`, 2xx, in 5 s). A pass checks
 * them all, every `periodMs` and at once when an APIService, or a Service or
 * Endpoints one names, changes; the status is written only when the
 * condition changed, conditionally on the resourceVersion read (a lost race
 * is settled by the next pass). A successful check also refreshes the
 * group-version's discovery (discovery.ts).
 */
import type { Logger } from 'pino';
import type { APIService } from '../../api/objects.js';
import { isConflict, isNotFound } from '../../api/status.js';
import { type Clock, realClock } from '../../client/clock.js';
import { Wakeup } from '../../client/wakeup.js';
import type { ResourceStore } from '../store.js';
import type { CacheListener } from '../watch-cache.js';
import type { BackendClient } from './backend.js';
import { type AggregatedDiscovery, maxDiscoveryBytes, parseResourceList } from './discovery.js';
import { availableCondition, resolveEndpoint, type ServiceLookup, withCondition } from './target.js';

export const discoveryTimeoutMs = 5_000;

export interface AvailableControllerOptions {
  apiServices: ResourceStore;
  services: ResourceStore;
  endpoints: ResourceStore;
  lookup: ServiceLookup;
  backend: BackendClient;
  discovery: AggregatedDiscovery;
  logger: Logger;
  periodMs?: number;
  clock?: Clock;
}

export class AvailableController {
  private readonly wakeup = new Wakeup();
  /** `namespace/name` of the services the APIServices name, as of the last pass. */
  private watched = new Set<string>();

  constructor(private readonly o: AvailableControllerOptions) {}

  /** Checks every APIService until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const clock = this.o.clock ?? realClock;
    const stops = [
      this.listen(this.o.apiServices, () => true, signal),
      this.listen(this.o.services, (key) => this.watched.has(key), signal),
      this.listen(this.o.endpoints, (key) => this.watched.has(key), signal),
    ];
    try {
      while (!signal.aborted) {
        await this.syncAll().catch((err) =>
          this.o.logger.warn({ err }, 'APIService availability pass failed'),
        );
        await this.wakeup.wait(clock, this.o.periodMs ?? 30_000, signal);
      }
    } finally {
      for (const stop of stops) stop();
    }
  }

  /** Pokes the loop on events of `store` whose `ns/name` key `matters`; re-registers after a reset. */
  private listen(store: ResourceStore, matters: (key: string) => boolean, signal: AbortSignal): () => void {
    const prefix = store.prefix();
    const listener: CacheListener = {
      onEvent: (ev) => {
        if (matters(ev.key.slice(prefix.length))) this.wakeup.poke();
      },
      onReset: () => {
        if (signal.aborted) return;
        this.wakeup.poke();
        try {
          store.cache.watchFromNow(listener);
        } catch {}
      },
    };
    store.cache.watchFromNow(listener);
    return () => store.cache.unwatch(listener);
  }

  /** One pass over every APIService (exported for tests). */
  async syncAll(): Promise<void> {
    const all = [...this.o.apiServices.cache.items.values()].map((e) => e.obj as APIService);
    this.watched = new Set(
      all.flatMap((a) => (a.spec?.service ? [`${a.spec.service.namespace}/${a.spec.service.name}`] : [])),
    );
    const names = new Set(all.map((a) => a.metadata.name!));
    for (const n of this.o.discovery.names()) if (!names.has(n)) this.o.discovery.delete(n);
    await Promise.all(all.map((a) => this.sync(a)));
  }

  private async sync(a: APIService): Promise<void> {
    const name = a.metadata.name!;
    const res = resolveEndpoint(a, this.o.lookup, () => 0);
    let discoveryError: string | undefined;
    if (res.ok) {
      discoveryError = await this.checkDiscovery(a, res);
    }
    if (!res.ok || discoveryError !== undefined) this.o.discovery.delete(name);
    const status = withCondition(
      a,
      availableCondition(res, discoveryError),
      new Date((this.o.clock ?? realClock).now()),
    );
    if (!status) return;
    // Cached objects are read-only: the write gets a copy.
    const body = { ...structuredClone(a), status };
    try {
      await this.o.apiServices.update(undefined, name, body, 'status', {});
      this.o.logger.info(
        { apiService: name, available: status.conditions?.find((c) => c.type === 'Available') },
        'APIService availability changed',
      );
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }

  /** The error of the discovery check, as kube-aggregator words it; undefined when it passed. */
  private async checkDiscovery(a: APIService, target: { url: URL; serverName: string }) {
    const path = `/apis/${a.spec?.group}/${a.spec?.version}`;
    const url = `${target.url.origin}${path}`;
    try {
      const r = await this.o.backend.get(a, target, path, {
        maxBytes: maxDiscoveryBytes,
        timeoutMs: discoveryTimeoutMs,
      });
      if (r.code < 200 || r.code >= 300)
        return `failing or missing response from ${url}: bad status from ${url}: ${r.code}`;
      try {
        this.o.discovery.set(a, parseResourceList(r.body, `${a.spec?.group}/${a.spec?.version}`));
      } catch (err) {
        return `failing or missing response from ${url}: ${(err as Error).message}`;
      }
      return undefined;
    } catch (err) {
      return `failing or missing response from ${url}: Get "${url}": ${(err as Error).message}`;
    }
  }
}
