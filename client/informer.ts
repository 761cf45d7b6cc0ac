/**
 * Shared informers: one reflector and one indexed store per resource (and
 * selector), fanned out to any number of handlers.
 *
 * Contract:
 * - `hasSynced()` is true once the first list has been applied to the store
 *   and every handler registered before then has been told about it. A
 *   registration's `hasSynced()` is true once its handler has handled every
 *   object the store held at the first list (or at registration, if later);
 *   it stays true however many events follow.
 * - Each handler has its own buffer and drains it in order, awaiting async
 *   handlers; a slow handler delays only itself, and a throwing handler is
 *   logged and skipped.
 * - `onUpdate(old, new)` gets both versions; `onDelete` gets the last state
 *   known: the deleted object as the watch reported it, or after a relist
 *   the state from before the object vanished.
 * - A relist notifies only what changed: adds, updates for objects whose
 *   resourceVersion moved, deletes for objects gone.
 * - Resync re-delivers every object as `onUpdate(obj, obj)` to handlers that
 *   asked for a resync period.
 * - Objects are shared and read-only: clone before changing one.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import type { Registry, ResourceType } from '../api/registry.js';
import { type Clock, realClock } from './clock.js';
import { Indexer, type IndexFunc, keyOf, standardIndexers } from './indexer.js';
import { type ListerWatcher, Reflector } from './reflector.js';
import { ResourceClient } from './resource.js';
import type { RestClient } from './rest.js';

export interface EventHandler<T extends KubeObject> {
  onAdd?(obj: T): void | Promise<void>;
  onUpdate?(oldObj: T, newObj: T): void | Promise<void>;
  onDelete?(obj: T): void | Promise<void>;
}

type Notification<T> =
  | { type: 'add'; obj: T }
  | { type: 'update'; old: T; obj: T }
  | { type: 'delete'; obj: T };

class Listener<T extends KubeObject> {
  /** Notifications not yet handled are `buffer[head..]`; the array is dropped when drained. */
  private buffer: Notification<T>[] = [];
  private head = 0;
  private draining = false;
  /** Counts of notifications pushed and handled so far. */
  private pushed = 0;
  private handled = 0;
  /** `handled` must reach this for the handler to count as synced; set once the informer syncs. */
  private syncTarget = Number.POSITIVE_INFINITY;
  /** When the next resync is due on the informer's clock; set once the informer syncs. */
  nextResyncAt = Number.POSITIVE_INFINITY;
  removed = false;

  constructor(
    readonly handler: EventHandler<T>,
    readonly resyncMs: number,
    private readonly log: Logger,
  ) {}

  /** The informer has synced: everything pushed so far is this handler's initial state. */
  markSynced(now: number): void {
    this.syncTarget = this.pushed;
    if (this.resyncMs > 0) this.nextResyncAt = now + this.resyncMs;
  }

  /** True once every notification of the initial state has been handled; stays true. */
  get synced(): boolean {
    return this.handled >= this.syncTarget;
  }

  push(n: Notification<T>): void {
    if (this.removed) return;
    this.buffer.push(n);
    this.pushed++;
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.head < this.buffer.length && !this.removed) {
      const n = this.buffer[this.head];
      this.buffer[this.head++] = undefined as never; // let it be collected
      try {
        if (n.type === 'add') await this.handler.onAdd?.(n.obj);
        else if (n.type === 'update') await this.handler.onUpdate?.(n.old, n.obj);
        else await this.handler.onDelete?.(n.obj);
      } catch (err) {
        this.log.error({ err, key: keyOf(n.obj), event: n.type }, 'informer handler threw; skipping');
      }
      this.handled++;
    }
    this.buffer = [];
    this.head = 0;
    this.draining = false;
  }
}

export interface InformerOptions<T extends KubeObject> {
  client: ListerWatcher<T>;
  logger: Logger;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  clock?: Clock;
  watchTimeoutSeconds?: number;
}

export interface HandlerRegistration {
  /** True once this handler has been told about the first list. */
  hasSynced(): boolean;
  remove(): void;
}

export class SharedInformer<T extends KubeObject = KubeObject> {
  readonly store: Indexer<T>;
  private readonly listeners = new Set<Listener<T>>();
  private readonly reflector: Reflector<T>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private synced = false;
  private started = false;
  private syncWaiters: (() => void)[] = [];

  constructor(opts: InformerOptions<T>) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger.child({ informer: opts.client.rt.plural });
    this.store = new Indexer<T>({
      ...(standardIndexers as Record<string, IndexFunc<T>>),
      ...(opts.indexers ?? {}),
    });
    this.reflector = new Reflector<T>({
      client: opts.client,
      logger: opts.logger,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      clock: this.clock,
      watchTimeoutSeconds: opts.watchTimeoutSeconds,
      sink: {
        replace: (objs) => this.onReplace(objs),
        add: (obj) => this.onUpsert(obj),
        update: (obj) => this.onUpsert(obj),
        delete: (obj) => {
          // The event carries the final state, newer than the store's copy.
          this.store.remove(obj);
          this.notify({ type: 'delete', obj });
        },
      },
    });
  }

  get lastSyncResourceVersion(): string {
    return this.reflector.lastSyncResourceVersion;
  }

  /**
   * Adds a handler, which first hears of every object already in the store
   * as an add. `resyncMs` > 0 re-delivers the whole store to it as updates
   * that often (checked about once a second).
   */
  addEventHandler(handler: EventHandler<T>, resyncMs = 0): HandlerRegistration {
    const l = new Listener<T>(handler, resyncMs, this.log);
    this.listeners.add(l);
    for (const obj of this.store.list()) l.push({ type: 'add', obj });
    if (this.synced) l.markSynced(this.clock.now());
    return {
      hasSynced: () => this.synced && l.synced,
      remove: () => {
        l.removed = true;
        this.listeners.delete(l);
      },
    };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        resolve(false);
      };
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      this.syncWaiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs the reflector and resync timers until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error('informer already started');
    this.started = true;
    const resync = this.runResync(signal);
    await this.reflector.run(signal);
    await resync;
  }

  private onUpsert(obj: T): void {
    const old = this.store.upsert(obj);
    this.notify(old ? { type: 'update', old, obj } : { type: 'add', obj });
  }

  private onReplace(objs: T[]): void {
    const before = new Map(this.store.list().map((o) => [keyOf(o), o]));
    const dropped = this.store.replace(objs);
    for (const obj of objs) {
      const old = before.get(keyOf(obj));
      if (!old) this.notify({ type: 'add', obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion)
        this.notify({ type: 'update', old, obj });
    }
    for (const obj of dropped) this.notify({ type: 'delete', obj });
    if (!this.synced) {
      this.synced = true;
      const now = this.clock.now();
      for (const l of this.listeners) l.markSynced(now);
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private notify(n: Notification<T>): void {
    for (const l of this.listeners) l.push(n);
  }

  private async runResync(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Wake at the next due resync, and at least once a second for handlers added since.
      let next = this.clock.now() + 1000;
      for (const l of this.listeners) next = Math.min(next, l.nextResyncAt);
      await this.clock.sleep(Math.max(0, next - this.clock.now()), signal);
      if (signal.aborted) break;
      const now = this.clock.now();
      for (const l of this.listeners) {
        if (now < l.nextResyncAt) continue;
        l.nextResyncAt = now + l.resyncMs;
        for (const obj of this.store.list()) l.push({ type: 'update', old: obj, obj });
      }
    }
  }
}

export interface InformerFactoryOptions {
  rest: RestClient;
  registry: Registry;
  logger: Logger;
  /** Watch only this namespace; all namespaces when unset. */
  namespace?: string;
  clock?: Clock;
}

/**
 * One shared informer per resource and selector. `start` runs every
 * informer made so far (and any made later, once `start` was called).
 */
export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer<any>>();
  private readonly running: Promise<void>[] = [];
  private signal?: AbortSignal;

  constructor(private readonly o: InformerFactoryOptions) {}

  /** The informer for a resource, e.g. `forResource('pods')` or `forResource(podType, { fieldSelector })`. */
  forResource<T extends KubeObject = KubeObject>(
    resource: string | ResourceType,
    opts: { labelSelector?: string; fieldSelector?: string; indexers?: Record<string, IndexFunc<T>> } = {},
  ): SharedInformer<T> {
    const rt = typeof resource === 'string' ? this.o.registry.resolve(resource) : resource;
    if (!rt) throw new Error(`unknown resource "${String(resource)}"`);
    const key = `${rt.group}/${rt.plural}?l=${opts.labelSelector ?? ''}&f=${opts.fieldSelector ?? ''}`;
    let inf = this.informers.get(key) as SharedInformer<T> | undefined;
    if (!inf) {
      inf = new SharedInformer<T>({
        client: new ResourceClient<T>(this.o.rest, rt, rt.namespaced ? this.o.namespace : undefined),
        logger: this.o.logger,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        indexers: opts.indexers,
        clock: this.o.clock,
      });
      this.informers.set(key, inf);
      if (this.signal) this.running.push(inf.run(this.signal));
    } else if (opts.indexers) {
      inf.store.addIndexers(opts.indexers);
    }
    return inf;
  }

  start(signal: AbortSignal): void {
    if (this.signal) return;
    this.signal = signal;
    for (const inf of this.informers.values()) this.running.push(inf.run(signal));
  }

  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  /** Resolves when every running informer has stopped. */
  async done(): Promise<void> {
    await Promise.all(this.running);
  }
}
