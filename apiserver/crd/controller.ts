/**
 * The CRD controller, run in every apiserver process as Kubernetes runs
 * apiextensions' controllers in-process: for each CustomResourceDefinition
 * it writes the status (names, NamesAccepted, Established, storedVersions;
 * status.ts), serves the definition once Established (serving.ts), and on
 * deletion removes every custom object before it lets the definition go
 * (the customresourcecleanup finalizer).
 *
 * It reads the CRDs from this apiserver's own watch cache (no client), and
 * each write is a compare-and-swap computed from the current object, so
 * any number of apiservers on one etcd converge on the same status and
 * finish the same cleanup, whoever gets there first.
 */

import type { Logger } from 'pino';
import { stableJson } from '../../api/stable-json.js';
import { isNotFound } from '../../api/status.js';
import { DelayingQueue, ItemExponentialFailureRateLimiter } from '../../client/workqueue.js';
import type { ResourceStore } from '../store.js';
import type { CacheListener } from '../watch-cache.js';
import { type CustomResourceDefinition, cleanupFinalizer } from './definition.js';
import type { CustomResourceServing } from './serving.js';
import { conditionTrue, desiredStatus, setCondition, takenNames } from './status.js';

export interface CrdControllerOptions {
  /** The store of CustomResourceDefinitions. */
  store: ResourceStore;
  serving: CustomResourceServing;
  /** The built-in kinds, whose names no CRD may take. */
  builtins: readonly {
    group: string;
    plural: string;
    singular: string;
    shortNames: string[];
    kind: string;
  }[];
  logger: Logger;
  now?: () => Date;
}

/** How soon a cleanup that left objects behind (finalizers on them) looks again. */
const cleanupRecheckMs = 2000;

/** What of a CRD decides the names it and the others of its group get. */
const namesOf = (crd: CustomResourceDefinition | undefined) =>
  stableJson({ group: crd?.spec?.group, names: crd?.spec?.names, accepted: crd?.status?.acceptedNames });

export class CrdController {
  private readonly queue = new DelayingQueue<string>();
  private readonly limiter = new ItemExponentialFailureRateLimiter<string>({ baseMs: 100, maxMs: 10_000 });
  private readonly log: Logger;
  private readonly now: () => Date;
  /** Names of the CRDs found at start not synced yet; `synced` resolves when it empties. */
  private initial: Set<string> | undefined;
  private markSynced!: () => void;
  /** Resolves once every CRD there at start was synced once (served, if established). */
  readonly synced = new Promise<void>((resolve) => {
    this.markSynced = resolve;
  });

  constructor(private readonly o: CrdControllerOptions) {
    this.log = o.logger.child({ controller: 'crd' });
    this.now = o.now ?? (() => new Date());
  }

  private crds(): CustomResourceDefinition[] {
    return [...this.o.store.cache.items.values()].map((e) => e.obj as CustomResourceDefinition);
  }

  /** Follows the CRD cache and syncs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const cache = this.o.store.cache;
    const listener: CacheListener = {
      // A CRD's names free or take names of others in its group: when they change (or the
      // CRD comes or goes), every CRD of the group is looked at again.
      onEvent: (ev) => {
        const crd = ev.entry.obj as CustomResourceDefinition;
        this.queue.add(crd.metadata?.name ?? '');
        if (ev.type === 'MODIFIED' && namesOf(crd) === namesOf(ev.prev as CustomResourceDefinition)) return;
        for (const { obj } of this.o.store.cache.items.values())
          if ((obj as CustomResourceDefinition).spec?.group === crd.spec?.group)
            this.queue.add(obj.metadata.name ?? '');
      },
      onReset: () => {
        if (!signal.aborted) setImmediate(follow);
      },
    };
    const follow = () => {
      try {
        const { entries } = cache.watchFromNow(listener);
        for (const e of entries) this.queue.add(e.obj.metadata.name ?? '');
      } catch (err) {
        // Only a stopped cache refuses, and it stops when `signal` aborts.
        this.log.warn({ err }, 'cannot follow the CRD cache');
      }
    };
    await cache.ready();
    follow();
    this.initial = new Set([...cache.items.values()].map((e) => e.obj.metadata.name ?? ''));
    if (this.initial.size === 0) this.markSynced();
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    for (;;) {
      const name = await this.queue.get();
      if (name === undefined) break;
      try {
        await this.sync(name, signal);
        this.limiter.forget(name);
        if (this.initial?.delete(name) && this.initial.size === 0) this.markSynced();
      } catch (err) {
        if (!signal.aborted) {
          this.log.warn({ crd: name, err }, 'sync failed; will retry');
          this.queue.addAfter(name, this.limiter.when(name));
        }
      } finally {
        this.queue.done(name);
      }
    }
    cache.unwatch(listener);
    await this.o.serving.close();
  }

  /** Brings one CRD's status and serving in line with the CRD as cached. */
  async sync(name: string, signal: AbortSignal): Promise<void> {
    const { store, serving } = this.o;
    const crd = store.cache.items.get(store.key(undefined, name))?.obj as
      | CustomResourceDefinition
      | undefined;
    if (!crd) {
      serving.drop(name);
      serving.setTerminating(name, false);
      return;
    }
    if (crd.metadata?.deletionTimestamp) return this.cleanup(crd, signal);
    const taken = takenNames(crd.spec?.group ?? '', name, this.crds(), this.o.builtins);
    const status = desiredStatus(crd, taken, this.now());
    if (JSON.stringify(status) !== JSON.stringify(crd.status)) {
      await this.writeStatus(name, (cur) => desiredStatus(cur, taken, this.now()));
      return; // the write comes back through the cache, and is served from there
    }
    if (conditionTrue(crd, 'Established')) await serving.serve(crd, signal);
    else serving.drop(name);
  }

  private async writeStatus(
    name: string,
    status: (cur: CustomResourceDefinition) => CustomResourceDefinition['status'],
  ): Promise<void> {
    await this.o.store
      .guaranteedUpdate(undefined, name, 'status', {}, undefined, (cur) => {
        cur.status = status(cur as CustomResourceDefinition);
        return cur;
      })
      .catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  }

  /**
   * Kubernetes' CRDFinalizer: refuse new objects (Terminating), delete every
   * object, and once none is left remove the finalizer; the store then
   * deletes the definition and the cache event stops serving it.
   */
  private async cleanup(crd: CustomResourceDefinition, signal: AbortSignal): Promise<void> {
    const name = crd.metadata?.name ?? '';
    if (!(crd.metadata?.finalizers ?? []).includes(cleanupFinalizer)) return;
    this.o.serving.setTerminating(name, true);
    // Served while terminating, as Kubernetes does (reads and deletes go on), and so that
    // an apiserver that never served it (just started) still finds its objects.
    if (conditionTrue(crd, 'Established')) await this.o.serving.serve(crd, signal);
    const store = this.o.serving.storesOf(name)[0];
    if (store) {
      await store.deleteCollection(undefined, {}, {});
      const { entries } = await store.list(undefined, {});
      if (entries.length > 0) {
        await this.writeStatus(name, (cur) =>
          terminating(cur, `${entries.length} instances remain`, this.now()),
        );
        this.queue.addAfter(name, cleanupRecheckMs);
        return;
      }
    }
    await this.o.store
      .guaranteedUpdate(undefined, name, undefined, {}, undefined, (cur) => {
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== cleanupFinalizer);
        return cur;
      })
      .catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    this.log.info({ crd: name }, 'removed every custom object; the definition goes');
  }
}

function terminating(
  crd: CustomResourceDefinition,
  message: string,
  now: Date,
): CustomResourceDefinition['status'] {
  const status = structuredClone(crd.status ?? {});
  status.conditions ??= [];
  setCondition(
    status.conditions,
    { type: 'Terminating', status: 'True', reason: 'InstanceDeletionInProgress', message },
    now,
  );
  return status;
}
