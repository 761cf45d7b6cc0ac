/**
 * Serving custom resources: for each established CustomResourceDefinition,
 * a watch cache and a store per served version (each reading through its
 * version's view of etcd, versioned.ts), in the registry while served.
 * Routes, discovery and OpenAPI read the registry and the stores map, so
 * adding and removing here is all it takes to serve a kind or stop.
 *
 * Contract: `serve` and `drop` are called by the CRD controller, one CRD
 * at a time (its workqueue never hands one key to two workers). A changed
 * definition (versions, schema, names) is served anew: new caches load, then
 * replace the old ones, whose stop ends their watches, as Kubernetes ends
 * them on a CRD update.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../../api/meta.js';
import { apiVersionOf, type Registry, type ResourceType } from '../../api/registry.js';
import { StatusError } from '../../api/status.js';
import type { Storage } from '../storage.js';
import type { ResourceStore } from '../store.js';
import type { WatchCache } from '../watch-cache.js';
import { customTypes, storageVersionOf } from './custom-type.js';
import type { CustomResourceDefinition } from './definition.js';
import { versionedStorage } from './versioned.js';

interface Served {
  fingerprint: string;
  types: ResourceType[];
  caches: WatchCache[];
  stop: AbortController;
  loops: Promise<void>[];
}

export interface ServingOptions {
  registry: Registry;
  storage: Storage;
  logger: Logger;
}

/** What makes the served types differ: spec and accepted names, not conditions. */
function fingerprintOf(crd: CustomResourceDefinition): string {
  return JSON.stringify([crd.spec, crd.status?.acceptedNames]);
}

export class CustomResourceServing {
  private readonly served = new Map<string, Served>();
  /** Being loaded by `serve`, not yet served. */
  private readonly pending = new Set<Served>();
  private readonly terminating = new Set<string>();
  private readonly log: Logger;

  constructor(private readonly o: ServingOptions) {
    this.log = o.logger.child({ component: 'crd-serving' });
  }

  /** The stores of a served CRD (one per served version), for its cleanup. */
  storesOf(name: string): ResourceStore[] {
    const s = this.served.get(name);
    return s ? s.types.map((rt) => this.o.storage.stores.get(rt)!).filter(Boolean) : [];
  }

  /** While terminating, creates are refused (405), as Kubernetes refuses them. */
  setTerminating(name: string, terminating: boolean): void {
    if (terminating) this.terminating.add(name);
    else this.terminating.delete(name);
  }

  /**
   * Serves `crd`'s versions; resolves once their caches are loaded. A changed
   * definition is served anew: the new caches load first and then replace
   * the old ones in one step, so requests never see the kind missing.
   */
  async serve(crd: CustomResourceDefinition, signal: AbortSignal): Promise<void> {
    const name = crd.metadata?.name ?? '';
    const fingerprint = fingerprintOf(crd);
    const current = this.served.get(name);
    if (current?.fingerprint === fingerprint) return;
    const types = customTypes(crd);
    const storageVersion = storageVersionOf(crd);
    if (types.length === 0 || !storageVersion) return this.drop(name);
    const taken = types.find((rt) => {
      const have = this.o.registry.get(rt.group, rt.version, rt.plural);
      return have && !current?.types.includes(have);
    });
    if (taken) {
      this.log.warn({ crd: name, resource: taken.plural }, 'resource already served; not serving the CRD');
      return this.drop(name);
    }
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    stop.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), { once: true });
    const built = types.map((rt) => this.build(rt, name, `${rt.group}/${storageVersion}`));
    const caches = built.map((b) => b.cache);
    const next: Served = { fingerprint, types, caches, stop, loops: caches.map((c) => c.run(stop.signal)) };
    this.pending.add(next);
    await Promise.race([Promise.all(caches.map((c) => c.ready())), aborted(stop.signal)]);
    this.pending.delete(next);
    if (stop.signal.aborted) return;
    this.drop(name);
    for (const [i, rt] of types.entries()) this.o.storage.stores.set(rt, built[i].store);
    this.o.storage.caches.push(...caches);
    this.o.registry.add(types);
    this.served.set(name, next);
    this.log.info({ crd: name, versions: types.map((t) => t.version) }, 'serving custom resource');
  }

  private build(rt: ResourceType, crdName: string, stored: string) {
    const etcd = versionedStorage({
      etcd: this.o.storage.etcd,
      served: apiVersionOf(rt),
      stored,
      defaults: (obj: KubeObject) => rt.defaults?.(obj),
    });
    const admission = {
      mutateOnCreate: async () => {
        if (this.terminating.has(crdName))
          throw new StatusError(
            405,
            'MethodNotAllowed',
            `create not allowed while custom resource definition is terminating`,
          );
      },
    };
    return this.o.storage.build(rt, { etcd, admission });
  }

  /** Stops serving the CRD `name` (nothing if it is not served). */
  drop(name: string): void {
    const s = this.served.get(name);
    if (!s) return;
    this.served.delete(name);
    this.o.registry.remove(s.types);
    for (const rt of s.types) this.o.storage.stores.delete(rt);
    const caches = this.o.storage.caches;
    for (const c of s.caches) {
      const at = caches.indexOf(c);
      if (at >= 0) caches.splice(at, 1);
    }
    s.stop.abort();
    this.log.info({ crd: name }, 'stopped serving custom resource');
  }

  /** Stops everything; resolves when every cache loop has ended. */
  async close(): Promise<void> {
    const loops = [...this.served.values(), ...this.pending].flatMap((s) => s.loops);
    for (const p of this.pending) p.stop.abort();
    for (const name of [...this.served.keys()]) this.drop(name);
    await Promise.allSettled(loops);
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
