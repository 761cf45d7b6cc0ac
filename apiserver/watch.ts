/**
 * Serving one watch request from a resource's watch cache: newline-delimited
 * JSON events, selector transitions (an object that stops matching is
 * DELETED for this watcher), bookmarks, timeout, and teardown when the
 * client goes away.
 *
 * States: open → (events…) → closed. Closing happens once, for any reason:
 * timeout, client disconnect, cache reset, or a client too slow to read.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf } from '../api/registry.js';
import { StatusError } from '../api/status.js';
import type { ObjectFilter } from './filter.js';
import type { Representation } from './request.js';
import type { ResourceStore } from './store.js';
import { partialMetadata, toTable } from './table.js';
import { type CacheEntry, type CacheEvent, type CacheListener, entryJson } from './watch-cache.js';

export interface WatchRequest {
  namespace?: string;
  filter: ObjectFilter;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  representation: Representation;
  bookmarkIntervalMs: number;
}

/** Unread bytes a watcher may owe before it is cut off. */
const maxBufferedBytes = 32 * 1024 * 1024;

export async function serveWatch(
  req: FastifyRequest,
  reply: FastifyReply,
  store: ResourceStore,
  w: WatchRequest,
  log: Logger,
): Promise<void> {
  const cache = store.cache;
  await cache.ready();
  const rt = store.rt;
  const res = reply.raw;

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
  let sentColumns = false;
  let closed = false;
  let lastRv = 0;
  let timeoutTimer: NodeJS.Timeout | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;

  const write = (chunk: string) => {
    if (closed) return;
    res.write(chunk);
    if (res.writableLength > maxBufferedBytes) {
      log.warn({ resource: rt.plural }, 'watcher too slow; closing its watch');
      close();
    }
  };

  const deliver = (ev: CacheEvent) => {
    const f = w.filter;
    const nowMatch = f.matches(ev.entry.obj);
    lastRv = ev.rv;
    if (ev.type === 'DELETED') {
      if (nowMatch) write(render('DELETED', ev.entry));
      return;
    }
    const wasMatch = ev.prev !== undefined && f.matches(ev.prev);
    if (nowMatch && wasMatch) write(render('MODIFIED', ev.entry));
    else if (nowMatch) write(render('ADDED', ev.entry));
    else if (wasMatch) write(render('DELETED', ev.entry));
  };

  const listener: CacheListener = {
    onEvent: deliver,
    onReset: () => close(),
  };

  const close = () => {
    if (closed) return;
    closed = true;
    cache.unwatch(listener);
    clearTimeout(timeoutTimer);
    clearTimeout(bookmarkTimer);
    res.end();
  };

  const bookmark = () => {
    const rv = Math.max(lastRv, cache.rv);
    if (!w.allowBookmarks || rv <= 0 || w.representation.as !== 'object') return;
    lastRv = rv;
    write(
      `${JSON.stringify({ type: 'BOOKMARK', object: { kind: rt.kind, apiVersion: apiVersionOf(rt), metadata: { resourceVersion: String(rv) } } })}\n`,
    );
  };

  reply.hijack();
  res.writeHead(200, {
    'content-type':
      w.representation.as === 'object' && w.representation.yaml ? 'application/yaml' : 'application/json',
    'cache-control': 'no-cache, private',
    'transfer-encoding': 'chunked',
  });
  res.flushHeaders();
  req.raw.on('close', close);
  res.on('close', close);
  res.on('error', close);

  try {
    const rv = w.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') {
      if (rv !== '0') await cache.syncToLatest().catch(() => undefined);
      if (closed) return;
      const { entries, rv: at } = cache.watchFromNow(listener);
      lastRv = at;
      entries.sort((a, b) => (a.key < b.key ? -1 : 1));
      for (const e of entries) if (w.filter.matches(e.obj)) write(render('ADDED', e));
    } else {
      const from = Number(rv);
      if (!Number.isInteger(from) || from < 0)
        throw new StatusError(400, 'BadRequest', `invalid resourceVersion "${rv}"`);
      // A revision this apiserver's cache has not reached yet (written through
      // another apiserver, or our etcd watch lags): events up to it are not ours to send.
      await cache.waitUntilFresh(from, 3000);
      if (closed) return;
      lastRv = from;
      for (const ev of cache.watchFrom(from, listener)) deliver(ev);
    }
  } catch (err) {
    const status =
      err instanceof StatusError
        ? err.toStatus()
        : new StatusError(500, 'InternalError', String((err as Error).message)).toStatus();
    write(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
    close();
    return;
  }

  const timeoutMs = (w.timeoutSeconds ?? 1800 + Math.floor(Math.random() * 1800)) * 1000;
  timeoutTimer = setTimeout(() => {
    bookmark();
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
