import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import type { EtcdStore, WatchEvent } from './etcd.js';
import { type CacheEvent, WatchCache } from './watch-cache.js';

const cm = (name: string, rv: number, data = '1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'ns', resourceVersion: String(rv) },
  data: { v: data },
});
const put = (name: string, rv: number, data?: string): WatchEvent => ({
  type: 'put',
  key: `/registry/configmaps/ns/${name}`,
  rv,
  obj: cm(name, rv, data),
});
const del = (name: string, rv: number): WatchEvent => ({
  type: 'delete',
  key: `/registry/configmaps/ns/${name}`,
  rv,
  obj: cm(name, rv),
});

// apply() and the window logic need no etcd; nothing here calls it.
function newCache(capacity = 100) {
  return new WatchCache({
    etcd: {} as EtcdStore,
    prefix: '/registry/configmaps/',
    capacity,
    logger: pino({ level: 'silent' }),
  });
}

function recorder() {
  const seen: CacheEvent[] = [];
  let resets = 0;
  return {
    seen,
    resets: () => resets,
    listener: { onEvent: (e: CacheEvent) => seen.push(e), onReset: () => resets++ },
  };
}

describe('WatchCache', () => {
  it('turns puts and deletes into ADDED, MODIFIED and DELETED with the previous object', () => {
    const c = newCache();
    const r = recorder();
    c.watchFrom(0, r.listener);
    c.apply([put('a', 2), put('a', 3, '2'), del('a', 4)]);
    expect(r.seen.map((e) => [e.type, e.rv])).toEqual([
      ['ADDED', 2],
      ['MODIFIED', 3],
      ['DELETED', 4],
    ]);
    expect((r.seen[1].prev as unknown as { data: { v: string } }).data.v).toBe('1');
    expect(c.items.size).toBe(0);
    expect(c.rv).toBe(4);
  });

  it('replays only events after the requested resourceVersion', () => {
    const c = newCache();
    c.apply([put('a', 2), put('b', 3), put('c', 4)]);
    const r = recorder();
    const backlog = c.watchFrom(3, r.listener);
    expect(backlog.map((e) => e.rv)).toEqual([4]);
    c.apply([put('d', 5)]);
    expect(r.seen.map((e) => e.rv)).toEqual([5]);
  });

  it('ignores events it has already applied', () => {
    const c = newCache();
    const r = recorder();
    c.watchFrom(0, r.listener);
    c.apply([put('a', 2)]);
    c.apply([put('a', 2), put('b', 3)]);
    expect(r.seen.map((e) => e.rv)).toEqual([2, 3]);
  });

  it('answers Gone for a resourceVersion older than its window', () => {
    const c = newCache(2);
    c.apply([put('a', 2), put('b', 3), put('c', 4), put('d', 5)]);
    expect(c.oldestRv).toBe(3);
    expect(() => c.watchFrom(2, recorder().listener)).toThrow(StatusError);
    try {
      c.watchFrom(1, recorder().listener);
    } catch (err) {
      expect((err as StatusError).code).toBe(410);
    }
    expect(c.watchFrom(3, recorder().listener).map((e) => e.rv)).toEqual([4, 5]);
  });

  it('trims to a compacted revision', () => {
    const c = newCache();
    c.apply([put('a', 2), put('b', 3), put('c', 4)]);
    c.trimTo(3);
    expect(() => c.watchFrom(2, recorder().listener)).toThrow(StatusError);
    expect(c.watchFrom(3, recorder().listener).map((e) => e.rv)).toEqual([4]);
  });

  it('removes a listener that throws and keeps serving the others', () => {
    const c = newCache();
    const good = recorder();
    c.watchFrom(0, {
      onEvent: () => {
        throw new Error('boom');
      },
      onReset: () => undefined,
    });
    c.watchFrom(0, good.listener);
    c.apply([put('a', 2), put('b', 3)]);
    expect(good.seen).toHaveLength(2);
    expect(c.listenerCount).toBe(1);
  });

  it('waitFor resolves when the revision arrives and times out otherwise', async () => {
    const c = newCache();
    const waiting = c.waitFor(3, 1000);
    c.apply([put('a', 3)]);
    await expect(waiting).resolves.toBe(true);
    await expect(c.waitFor(10, 20)).resolves.toBe(false);
  });

  it('refuses to watch from a revision it has not reached, which would replay events up to it', () => {
    const c = newCache();
    c.apply([put('a', 2)]);
    expect(() => c.watchFrom(5, recorder().listener)).toThrow(/Too large resource version: 5/);
    expect(c.listenerCount).toBe(0);
  });

  it('waitUntilFresh proves a revision made under other prefixes instead of waiting for it', async () => {
    let writtenSince = false;
    const etcd = { freshness: async () => ({ revision: 9, writtenSince, count: 1 }) } as unknown as EtcdStore;
    const c = new WatchCache({
      etcd,
      prefix: '/registry/configmaps/',
      capacity: 10,
      logger: pino({ level: 'silent' }),
    });
    c.apply([put('a', 2)]);
    await expect(c.waitUntilFresh(9, 1000)).resolves.toBe(true);
    expect(c.rv).toBe(9);
    // A write under the prefix that the cache has not seen yet cannot be proved away.
    writtenSince = true;
    await expect(c.waitUntilFresh(12, 50)).resolves.toBe(false);
    expect(c.rv).toBe(9);
  });
});
