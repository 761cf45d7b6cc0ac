/**
 * A watch cache for one resource: the current objects and a window of recent
 * events, fed by one etcd watch on the resource's key prefix. Every watch
 * request for the resource is served from here, never from its own etcd watch.
 *
 * Contract:
 * - `rv` is the revision up to which the cache has applied every event of
 *   this prefix. `items` is the state of the prefix at `rv`.
 * - Events with revision > `oldestRv` are all in the window; a watch that
 *   asks to start before `oldestRv` gets Gone (410).
 * - Listeners are called synchronously, in revision order, once per event;
 *   a listener must not throw (a throwing one is removed and logged).
 * - After `relist` (the etcd watch could not resume), every listener's
 *   `onReset` is called and the listener is dropped: its client must watch
 *   again from its last resourceVersion (and will get 410 if too old).
 */
import type { Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { newResourceExpired, newTimeout } from '../api/status.js';
import { doubledBackoff } from '../client/backoff.js';
import { realClock } from '../client/clock.js';
import type { ObjectStorage, WatchEvent } from './etcd.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEntry {
  key: string;
  obj: KubeObject;
  rv: number;
  /** JSON of obj without apiVersion and kind (itemJson), made once on first use and shared by every reader. */
  json?: string;
  /** JSON of the whole obj (entryJson), likewise made once: every watcher's event sends it. */
  objectJson?: string;
}

export interface CacheEvent {
  type: EventType;
  rv: number;
  key: string;
  /** The new object; for DELETED, the last state with the delete revision. */
  entry: CacheEntry;
  /** The object before this event (for MODIFIED and DELETED). */
  prev?: KubeObject;
}

export interface CacheListener {
  onEvent(ev: CacheEvent): void;
  /** The cache lost continuity; the listener has been removed. */
  onReset(): void;
}

export interface WatchCacheOptions {
  etcd: ObjectStorage;
  prefix: string;
  /** Events kept for watches that resume from an older resourceVersion. */
  capacity: number;
  logger: Logger;
}

/**
 * The object as an item of a list: without apiVersion and kind, as
 * Kubernetes writes the items of a built-in kind's list (the list names
 * the kind once; clients fill it back in, as kubectl does).
 */
export function itemJson(e: CacheEntry): string {
  if (e.json === undefined) {
    const { apiVersion: _a, kind: _k, ...rest } = e.obj;
    e.json = JSON.stringify(rest);
  }
  return e.json;
}

/**
 * The whole object (a watch event's): kind and apiVersion first, as
 * Kubernetes' encoder orders them, then the list item's JSON, so one
 * string serves both.
 */
export function entryJson(e: CacheEntry): string {
  e.objectJson ??= withTypeMeta(e);
  return e.objectJson;
}

function withTypeMeta(e: CacheEntry): string {
  const body = itemJson(e);
  const { kind, apiVersion } = e.obj;
  const head = [
    kind === undefined ? '' : `"kind":${JSON.stringify(kind)}`,
    apiVersion === undefined ? '' : `"apiVersion":${JSON.stringify(apiVersion)}`,
  ]
    .filter(Boolean)
    .join(',');
  if (!head) return body;
  return body === '{}' ? `{${head}}` : `{${head},${body.slice(1)}`;
}

export class WatchCache {
  readonly prefix: string;
  rv = 0;
  oldestRv = 0;
  readonly items = new Map<string, CacheEntry>();
  private events: CacheEvent[] = [];
  private readonly capacity: number;
  private readonly etcd: ObjectStorage;
  private readonly log: Logger;
  private readonly listeners = new Set<CacheListener>();
  private readonly rvWaiters: { rv: number; resolve: () => void }[] = [];
  private watcher?: Watcher;
  private readyPromise: Promise<void>;
  private markReady!: () => void;
  private stopped = false;

  constructor(opts: WatchCacheOptions) {
    if (opts.capacity < 1) throw new Error('watch cache capacity must be at least 1');
    this.etcd = opts.etcd;
    this.prefix = opts.prefix;
    this.capacity = opts.capacity;
    this.log = opts.logger.child({ cache: opts.prefix });
    this.readyPromise = new Promise((r) => {
      this.markReady = r;
    });
  }

  /** Resolves once the first list has been loaded. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Lists, then follows the etcd watch; relists if the watch cannot resume. Returns when `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let backoff = 0;
    while (!signal.aborted) {
      try {
        await this.relist();
        backoff = 0;
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => resolve();
          signal.addEventListener('abort', onAbort, { once: true });
          this.etcd
            .watch(
              this.prefix,
              this.rv + 1,
              (evs) => this.apply(evs),
              (err) => {
                signal.removeEventListener('abort', onAbort);
                reject(err);
              },
            )
            .then((w) => {
              this.watcher = w;
              if (signal.aborted) void w.cancel();
            }, reject);
        });
      } catch (err) {
        if (signal.aborted) break;
        this.log.warn({ err }, 'watch cache lost its etcd watch; relisting');
        backoff = doubledBackoff(backoff, 100, 5000);
        await realClock.sleep(backoff, signal);
      } finally {
        const w = this.watcher;
        this.watcher = undefined;
        if (w) await w.cancel().catch(() => undefined);
      }
    }
    this.stopped = true;
    for (const l of this.listeners) l.onReset();
    this.listeners.clear();
  }

  private async relist(): Promise<void> {
    const res = await this.etcd.list(this.prefix);
    const hadState = this.rv > 0;
    this.items.clear();
    for (const s of res.items) this.items.set(s.key, { key: s.key, obj: s.obj, rv: s.rv });
    this.rv = res.revision;
    this.oldestRv = res.revision;
    this.events = [];
    if (hadState) {
      for (const l of this.listeners) l.onReset();
      this.listeners.clear();
    }
    this.resolveWaiters();
    this.markReady();
  }

  /** Applies one batch of etcd events in order and fans them out. */
  apply(evs: WatchEvent[]): void {
    for (const ev of evs) {
      if (ev.rv <= this.rv) continue; // already seen (a resumed watch can repeat)
      const prevEntry = this.items.get(ev.key);
      let ce: CacheEvent;
      if (ev.type === 'put') {
        const entry: CacheEntry = { key: ev.key, obj: ev.obj, rv: ev.rv };
        this.items.set(ev.key, entry);
        ce = { type: prevEntry ? 'MODIFIED' : 'ADDED', rv: ev.rv, key: ev.key, entry, prev: prevEntry?.obj };
      } else {
        this.items.delete(ev.key);
        ce = {
          type: 'DELETED',
          rv: ev.rv,
          key: ev.key,
          entry: { key: ev.key, obj: ev.obj, rv: ev.rv },
          prev: prevEntry?.obj,
        };
      }
      this.rv = ev.rv;
      this.events.push(ce);
      if (this.events.length > this.capacity) {
        const dropped = this.events.splice(0, this.events.length - this.capacity);
        this.oldestRv = dropped[dropped.length - 1].rv;
      }
      for (const l of this.listeners) {
        try {
          l.onEvent(ce);
        } catch (err) {
          this.log.error({ err }, 'watch listener threw; removing it');
          this.listeners.delete(l);
        }
      }
    }
    this.resolveWaiters();
  }

  /**
   * Registers a listener for events after `fromRv`, returning the events
   * already in the window after it. Throws Gone if `fromRv` is older than the
   * window. Backlog and registration happen together, so no event is missed
   * or repeated. `fromRv` must not be ahead of `rv` (wait with
   * `waitUntilFresh` first): the listener would get events up to it.
   */
  watchFrom(fromRv: number, listener: CacheListener): CacheEvent[] {
    if (this.stopped) throw newResourceExpired('the apiserver is shutting down');
    if (fromRv > this.rv) throw newTimeout(`Too large resource version: ${fromRv}, current: ${this.rv}`);
    if (fromRv < this.oldestRv) {
      throw newResourceExpired(`too old resource version: ${fromRv} (${this.oldestRv})`);
    }
    const backlog = this.events.filter((e) => e.rv > fromRv);
    this.listeners.add(listener);
    return backlog;
  }

  /** Registers a listener for events after the current state, which it returns. */
  watchFromNow(listener: CacheListener): { entries: CacheEntry[]; rv: number } {
    if (this.stopped) throw newResourceExpired('the apiserver is shutting down');
    this.listeners.add(listener);
    return { entries: [...this.items.values()], rv: this.rv };
  }

  unwatch(listener: CacheListener): void {
    this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /**
   * Waits until the cache is at `rv` or later; false on timeout. A revision
   * made by writes under other prefixes only (the resourceVersion of a list
   * served from etcd, say) never arrives through this prefix's watch, so it
   * is proved with `syncToLatest` instead of waited for.
   */
  async waitUntilFresh(rv: number, timeoutMs: number): Promise<boolean> {
    if (this.rv >= rv) return true;
    await this.syncToLatest().catch(() => undefined);
    return this.rv >= rv || this.waitFor(rv, timeoutMs);
  }

  /** Waits until the cache has applied every event up to `rv`; false on timeout. */
  waitFor(rv: number, timeoutMs: number): Promise<boolean> {
    if (this.rv >= rv) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { rv, resolve: () => resolve(true) };
      this.rvWaiters.push(waiter);
      setTimeout(() => {
        const i = this.rvWaiters.indexOf(waiter);
        if (i >= 0) {
          this.rvWaiters.splice(i, 1);
          resolve(false);
        }
      }, timeoutMs).unref();
    });
  }

  private resolveWaiters(): void {
    for (let i = this.rvWaiters.length - 1; i >= 0; i--) {
      if (this.rvWaiters[i].rv <= this.rv) this.rvWaiters.splice(i, 1)[0].resolve();
    }
  }

  /**
   * Brings the cache to etcd's current revision if it provably already
   * equals it, and returns that revision; returns undefined if etcd has
   * writes under the prefix the cache has not yet seen.
   *
   * The proof: no key under the prefix was written after `rv`, and the key
   * count matches, so nothing was deleted either.
   */
  async syncToLatest(): Promise<number | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const since = this.rv;
      const f = await this.etcd.freshness(this.prefix, since);
      if (this.rv >= f.revision) return this.rv;
      if (!f.writtenSince && f.count === this.items.size && this.rv === since) {
        this.rv = f.revision;
        this.resolveWaiters();
        return this.rv;
      }
      // Writes under the prefix are on their way through the watch; give it a moment.
      await this.waitFor(this.rv + 1, 300);
    }
    return undefined;
  }

  /** Drops events at or before a compacted revision: watches from there must relist. */
  trimTo(compactedRv: number): void {
    if (compactedRv <= this.oldestRv) return;
    this.events = this.events.filter((e) => e.rv > compactedRv);
    this.oldestRv = Math.min(compactedRv, this.rv);
  }
}
