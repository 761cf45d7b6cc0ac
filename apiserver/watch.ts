/**
 * Serving one watch request from a resource's watch cache: newline-delimited
 * JSON events, selector transitions (an object that stops matching is
 * DELETED for this watcher), bookmarks, timeout, and teardown when the
 * client goes away.
 *
 * States: open → (events…) → closed. Closing happens once, for any reason:
 * timeout, client disconnect, cache reset, an error, or a client too slow to
 * read; the watch's slot in the WatchLimiter is given back then.
 *
 * A slow client: events go to the socket only while it takes them (the
 * response's high-water mark); the rest wait in the watcher's outbox, as
 * unrendered cache entries. An outbox past `maxPendingEvents` or
 * `maxPendingBytes` cuts the watcher off, its socket destroyed (what waits is
 * dropped, nothing half-sent is ended as if complete), as Kubernetes' cacher
 * terminates a watcher whose channel stays full; the client watches again
 * from the last resourceVersion it read, or relists on 410. Counted in
 * apiserver_terminated_watchers_total.
 */
import type { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceType } from '../api/registry.js';
import { StatusError } from '../api/status.js';
import { loopbackUser, type UserInfo } from './authn.js';
import type { ObjectFilter } from './filter.js';
import type { Representation } from './request.js';
import type { ResourceStore } from './store.js';
import { partialMetadata, toTable } from './table.js';
import { type CacheEntry, type CacheEvent, type CacheListener, entryJson } from './watch-cache.js';
import type { WatchLimiter } from './watch-limiter.js';

export interface WatchRequest {
  namespace?: string;
  filter: ObjectFilter;
  resourceVersion?: string;
  /**
   * sendInitialEvents (with resourceVersionMatch=NotOlderThan, checked by the
   * caller): true sends the current objects, at least as new as
   * resourceVersion, then a bookmark annotated `k8s.io/initial-events-end`;
   * false from no resourceVersion starts at the latest with nothing to replay.
   * Unset: the legacy rules (initial events only from no resourceVersion or 0).
   */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  representation: Representation;
  bookmarkIntervalMs: number;
  /** Who watches, for the per-user cap; unset: the loopback admin. */
  user?: UserInfo;
}

function revisionOf(rv: string): number {
  const n = Number(rv);
  if (!Number.isInteger(n) || n < 0)
    throw new StatusError(400, 'BadRequest', `invalid resourceVersion "${rv}"`);
  return n;
}

/** The annotation of the bookmark that ends a watch's initial events (metav1.InitialEventsAnnotationKey). */
export const initialEventsEndAnnotation = 'k8s.io/initial-events-end';

/** What bounds watches, shared by every watch the apiserver serves. */
export interface WatchLimits {
  /** Admits each watch (or refuses it with 429) and is told when it ends. */
  limiter?: WatchLimiter;
  /** A watcher was cut off for falling behind. */
  onTerminated?(rt: ResourceType): void;
}

/**
 * Events a watcher may owe beyond what its socket holds before it is cut off.
 * Kubernetes gives a watcher a channel of 10 to 1,000 events (and 100 ms to
 * make room); a Node socket cannot block the cache, so the bound is the
 * larger count, plus a byte bound well above the largest object etcd takes
 * (1.5 MiB), so that one big object never trips it.
 */
export const maxPendingEvents = 1000;
export const maxPendingBytes = 4 * 1024 * 1024;

/** One line owed to a watcher: its size (an estimate, in bytes), rendered only when it is sent. */
export interface PendingLine {
  bytes: number;
  render(): string;
}

/** The part of a writable stream the outbox uses: `write` returns false when full, then 'drain'. */
export interface LineSink extends EventEmitter {
  write(chunk: string): boolean;
}

export interface WatchOutboxOptions {
  out: LineSink;
  maxEvents: number;
  maxBytes: number;
  /** Called once, when a push would leave more than a bound waiting; the outbox is closed by then. */
  onOverflow(pending: { events: number; bytes: number }): void;
}

/**
 * The lines one watcher is owed, between the watch cache and its socket.
 *
 * - Lines reach `out` in the order given: the initial ones (`start`) first,
 *   then those pushed, and each is rendered as it is written.
 * - `out` is written only while it takes data (`write` returned true, or it
 *   emitted 'drain'), so what Node buffers for the socket stays near its
 *   high-water mark, and the rest waits here.
 * - Pushed lines that wait are bounded: more than `maxEvents`, or more than
 *   `maxBytes` by their estimates, and the outbox closes and calls
 *   `onOverflow`. Initial lines are not counted: they are already in memory
 *   (the cache's list or window) and go out at the socket's pace.
 * - After `close` nothing more is written and what waits is dropped.
 */
export class WatchOutbox {
  closed = false;
  private initial: Iterator<PendingLine> | undefined;
  private queue: PendingLine[] = [];
  private head = 0;
  private queuedBytes = 0;
  private full = false;
  private readonly o: WatchOutboxOptions;
  private readonly onDrain = () => {
    this.full = false;
    this.pump();
  };

  constructor(opts: WatchOutboxOptions) {
    if (opts.maxEvents < 1 || opts.maxBytes < 1) throw new Error('watch outbox bounds must be positive');
    this.o = opts;
    opts.out.on('drain', this.onDrain);
  }

  /** Lines that go out before any pushed one, at the socket's pace. */
  start(lines: Iterable<PendingLine>): void {
    this.initial = lines[Symbol.iterator]();
    this.pump();
  }

  push(line: PendingLine): void {
    if (this.closed) return;
    if (this.idle && !this.full) {
      this.send(line);
      return;
    }
    this.queue.push(line);
    this.queuedBytes += line.bytes;
    const events = this.queue.length - this.head;
    if (events > this.o.maxEvents || this.queuedBytes > this.o.maxBytes) {
      const bytes = this.queuedBytes;
      this.close();
      this.o.onOverflow({ events, bytes });
    }
  }

  /** Nothing waits to be written. */
  get idle(): boolean {
    return this.initial === undefined && this.head === this.queue.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.initial = undefined;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    this.o.out.off('drain', this.onDrain);
  }

  private send(line: PendingLine): void {
    if (!this.o.out.write(line.render())) this.full = true;
  }

  private pump(): void {
    while (!this.closed && !this.full) {
      if (this.initial) {
        const next = this.initial.next();
        if (next.done) this.initial = undefined;
        else this.send(next.value);
        continue;
      }
      if (this.head === this.queue.length) break;
      const line = this.queue[this.head++];
      this.queuedBytes -= line.bytes;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head >= 1024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.send(line);
    }
  }
}

export async function serveWatch(
  req: FastifyRequest,
  reply: FastifyReply,
  store: ResourceStore,
  w: WatchRequest,
  log: Logger,
  limits: WatchLimits = {},
): Promise<void> {
  const cache = store.cache;
  await cache.ready();
  const rt = store.rt;
  const res = reply.raw;
  // Refused before anything is sent: the 429 is an ordinary error answer.
  const release = limits.limiter?.acquire(w.user ?? loopbackUser);

  const render = (type: string, entry: CacheEntry | KubeObject): string => {
    const obj = 'key' in entry && 'rv' in entry ? (entry as CacheEntry).obj : (entry as KubeObject);
    const r = w.representation;
    if (r.as === 'object') {
      const json = 'key' in entry && 'rv' in entry ? entryJson(entry as CacheEntry) : JSON.stringify(obj);
      return `{"type":"${type}","object":${json}}\n`;
    }
    if (r.as === 'Table') {
      const t = toTable(rt, [obj], {
        include: 'Metadata',
        version: r.version,
        resourceVersion: obj.metadata.resourceVersion,
        withColumns: !sentColumns,
      });
      sentColumns = true;
      return `${JSON.stringify({ type, object: t })}\n`;
    }
    return `${JSON.stringify({ type, object: partialMetadata(obj, r.version) })}\n`;
  };
  /** A line owed: sized by the entry's JSON (made once, shared by every watcher), rendered when sent. */
  const line = (type: string, entry: CacheEntry): PendingLine => ({
    bytes: entryJson(entry).length + 32,
    render: () => render(type, entry),
  });
  let sentColumns = false;
  let closed = false;
  let lastRv = 0;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;

  /** The line `ev` makes for this watcher, if any. */
  const lineFor = (ev: CacheEvent): PendingLine | undefined => {
    const f = w.filter;
    const nowMatch = f.matches(ev.entry.obj);
    lastRv = ev.rv;
    if (ev.type === 'DELETED') return nowMatch ? line('DELETED', ev.entry) : undefined;
    const wasMatch = ev.prev !== undefined && f.matches(ev.prev);
    if (nowMatch && wasMatch) return line('MODIFIED', ev.entry);
    if (nowMatch) return line('ADDED', ev.entry);
    if (wasMatch) return line('DELETED', ev.entry);
    return undefined;
  };

  const listener: CacheListener = {
    onEvent: (ev) => {
      const l = lineFor(ev);
      if (l) outbox.push(l);
    },
    onReset: () => close(),
  };

  /** Ends the watch once: the response is ended, or with `destroy` its connection goes. */
  const close = (how: 'end' | 'destroy' = 'end') => {
    if (closed) return;
    closed = true;
    cache.unwatch(listener);
    clearTimeout(timeoutTimer);
    clearTimeout(bookmarkTimer);
    outbox.close();
    release?.();
    if (how === 'destroy') res.destroy();
    else res.end();
  };

  const outbox = new WatchOutbox({
    out: res,
    maxEvents: maxPendingEvents,
    maxBytes: maxPendingBytes,
    onOverflow: (pending) => {
      log.warn(
        { resource: rt.plural, group: rt.group, user: w.user?.name, ...pending },
        'watcher fell too far behind; closing its watch',
      );
      limits.onTerminated?.(rt);
      // What the socket still holds is not ended as if complete: the connection goes.
      close('destroy');
    },
  });

  const bookmark = (initialEventsEnd = false) => {
    const rv = Math.max(lastRv, cache.rv);
    if (!w.allowBookmarks || rv <= 0 || w.representation.as !== 'object') return;
    lastRv = rv;
    const metadata = {
      resourceVersion: String(rv),
      ...(initialEventsEnd ? { annotations: { [initialEventsEndAnnotation]: 'true' } } : {}),
    };
    const text = `${JSON.stringify({ type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata } })}\n`;
    outbox.push({ bytes: text.length, render: () => text });
  };

  try {
    reply.hijack();
    res.writeHead(200, {
      'content-type':
        w.representation.as === 'object' && w.representation.yaml ? 'application/yaml' : 'application/json',
      'cache-control': 'no-cache, private',
      'transfer-encoding': 'chunked',
    });
    res.flushHeaders();
    req.raw.on('close', () => close());
    res.on('close', () => close());
    res.on('error', () => close());
    // Gone while the cache got ready: no close event is coming.
    if (req.raw.socket?.destroyed !== false) close();
  } catch (err) {
    close();
    throw err;
  }
  if (closed) return;

  try {
    const rv = w.resourceVersion;
    const fromNow = rv === undefined || rv === '' || rv === '0';
    if (w.sendInitialEvents === true || (fromNow && w.sendInitialEvents === undefined)) {
      // NotOlderThan: a state at least as new as rv; none given, a consistent read.
      if (w.sendInitialEvents && !fromNow) await cache.waitUntilFresh(revisionOf(rv), 3000);
      else if (rv !== '0') await cache.syncToLatest().catch(() => undefined);
      if (closed) return;
      const { entries, rv: at } = cache.watchFromNow(listener);
      lastRv = at;
      entries.sort((a, b) => (a.key < b.key ? -1 : 1));
      outbox.start(
        (function* () {
          for (const e of entries) if (w.filter.matches(e.obj)) yield line('ADDED', e);
        })(),
      );
      // After the initial lines and before any event: the listener cannot run in between.
      if (w.sendInitialEvents) bookmark(true);
    } else if (fromNow) {
      cache.watchFromNow(listener);
      lastRv = cache.rv;
      outbox.start([]);
    } else {
      const from = revisionOf(rv);
      // A revision this apiserver's cache has not reached yet (written through
      // another apiserver, or our etcd watch lags): events up to it are not ours to send.
      await cache.waitUntilFresh(from, 3000);
      if (closed) return;
      lastRv = from;
      const backlog = cache.watchFrom(from, listener);
      outbox.start(
        (function* () {
          for (const ev of backlog) {
            const l = lineFor(ev);
            if (l) yield l;
          }
        })(),
      );
    }
  } catch (err) {
    const status =
      err instanceof StatusError
        ? err.toStatus()
        : new StatusError(500, 'InternalError', String((err as Error).message)).toStatus();
    if (!closed) res.write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    close();
    return;
  }
  if (closed) return;

  const timeoutMs = (w.timeoutSeconds ?? 1800 + Math.floor(Math.random() * 1800)) * 1000;
  timeoutTimer = setTimeout(() => {
    // A bookmark only from a watcher that is not behind: closing drops what waits.
    if (outbox.idle) bookmark();
    close();
  }, timeoutMs);
  if (w.allowBookmarks) {
    const tick = () => {
      bookmark();
      if (!closed) bookmarkTimer = setTimeout(tick, w.bookmarkIntervalMs);
    };
    bookmarkTimer = setTimeout(tick, w.bookmarkIntervalMs);
  }
}
