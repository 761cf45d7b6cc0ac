// The shared informer, driven through a hand-written fake list/watch whose
// answers the test controls, and a fake clock.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { capturingLogger, eventually, FakeListerWatcher, flush } from '../testing/listwatch-fakes.js';
import { FakeClock } from './clock.js';
import { keyOf } from './indexer.js';
import { type EventHandler, InformerFactory, SharedInformer } from './informer.js';
import { RestClient } from './rest.js';

type Seen = string[];

/** A handler that records `add ns/name@rv`, `update a@1->a@2`, `delete ...`. */
function recorder(seen: Seen = []): EventHandler<KubeObject> & { seen: Seen } {
  const at = (o: KubeObject) => `${keyOf(o)}@${o.metadata.resourceVersion}`;
  return {
    seen,
    onAdd: (o) => void seen.push(`add ${at(o)}`),
    onUpdate: (a, b) => void seen.push(`update ${at(a)}->${at(b)}`),
    onDelete: (o) => void seen.push(`delete ${at(o)}`),
  };
}

const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

function setup(opts: { clock?: FakeClock; seed?: (api: FakeListerWatcher) => void } = {}) {
  const api = new FakeListerWatcher();
  opts.seed?.(api);
  const { logger, lines } = capturingLogger();
  const clock = opts.clock ?? new FakeClock(1_000_000);
  const informer = new SharedInformer({ client: api, logger, clock });
  const stop = new AbortController();
  stops.push(stop);
  const start = () => informer.run(stop.signal);
  return { api, informer, logger, lines, clock, stop, start };
}

describe('SharedInformer notifications', () => {
  it('tells handlers of adds, updates with the old object, and deletes with the final state', async () => {
    const { api, informer, start } = setup({ seed: (a) => a.put('ns', 'seed', {}, false) });
    const h = recorder();
    informer.addEventHandler(h);
    const done = start();
    await eventually(() => api.watches.length === 1, 'watch opened');
    expect(api.current.opts.resourceVersion).toBe('101');
    expect(api.current.opts.allowWatchBookmarks).toBe(true);

    api.put('ns', 'a');
    api.put('ns', 'a', { k: 'v' });
    api.del('ns', 'a');
    await eventually(() => h.seen.length === 4);
    expect(h.seen).toEqual([
      'add ns/seed@101',
      'add ns/a@102',
      'update ns/a@102->ns/a@103',
      'delete ns/a@104',
    ]);
    expect(informer.store.keys()).toEqual(['ns/seed']);
    expect(informer.lastSyncResourceVersion).toBe('104');
    stops[0].abort();
    await done;
  });

  it('on relist tells of what changed only: new objects, moved resourceVersions, vanished objects', async () => {
    const { api, informer, start } = setup({
      seed: (a) => {
        a.put('ns', 'gone', {}, false);
        a.put('ns', 'changed', {}, false);
        a.put('ns', 'same', {}, false);
      },
    });
    const h = recorder();
    informer.addEventHandler(h);
    void start();
    await eventually(() => api.watches.length === 1);
    h.seen.length = 0;
    // Changes the watch never reports, then 410: the informer must relist.
    api.del('ns', 'gone', false);
    api.put('ns', 'changed', { x: '1' }, false);
    api.put('ns', 'new', {}, false);
    api.current.push(new StatusError(410, 'Expired', 'too old resource version'));
    await eventually(() => api.watches.length === 2, 'watch after relist');
    expect(api.listCalls).toHaveLength(2);
    expect(api.current.opts.resourceVersion).toBe(String(api.rv));
    expect(h.seen.sort()).toEqual([
      'add ns/new@106',
      'delete ns/gone@101',
      'update ns/changed@102->ns/changed@105',
    ]);
    expect(informer.store.keys().sort()).toEqual(['ns/changed', 'ns/new', 'ns/same']);
  });

  it('skips a throwing handler and logs it, without stopping it or its neighbours', async () => {
    const { api, informer, lines, start } = setup();
    let calls = 0;
    informer.addEventHandler({
      onAdd: (o) => {
        calls++;
        if (o.metadata.name === 'bad') throw new Error('boom');
      },
    });
    const other = recorder();
    informer.addEventHandler(other);
    void start();
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'bad');
    api.put('ns', 'good');
    await eventually(() => calls === 2 && other.seen.length === 2);
    expect(other.seen).toEqual(['add ns/bad@101', 'add ns/good@102']);
    const logged = lines.find((l) => l.msg === 'informer handler threw; skipping');
    expect(logged).toMatchObject({ key: 'ns/bad', event: 'add' });
  });

  it('a slow async handler delays only itself, and gets its events in order', async () => {
    const { api, informer, start } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: Seen = [];
    informer.addEventHandler({
      onAdd: async (o) => {
        await gate;
        slow.push(o.metadata.name!);
      },
    });
    const fast = recorder();
    informer.addEventHandler(fast);
    void start();
    await eventually(() => api.watches.length === 1);
    for (const n of ['a', 'b', 'c']) api.put('ns', n);
    await eventually(() => fast.seen.length === 3, 'fast handler saw all');
    expect(slow).toEqual([]);
    release();
    await eventually(() => slow.length === 3);
    expect(slow).toEqual(['a', 'b', 'c']);
  });

  it('a handler added late hears of every object already in the store', async () => {
    const { api, informer, start } = setup({
      seed: (a) => {
        a.put('ns', 'x', {}, false);
        a.put('ns', 'y', {}, false);
      },
    });
    void start();
    await informer.waitForSync();
    const late = recorder();
    const reg = informer.addEventHandler(late);
    await eventually(() => reg.hasSynced());
    expect(late.seen.sort()).toEqual(['add ns/x@101', 'add ns/y@102']);
    api.put('ns', 'x', { k: 'v' });
    await eventually(() => late.seen.length === 3);
    expect(late.seen[2]).toBe('update ns/x@101->ns/x@103');
  });

  it('a removed handler hears nothing more', async () => {
    const { api, informer, start } = setup();
    const h = recorder();
    const reg = informer.addEventHandler(h);
    void start();
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'a');
    await eventually(() => h.seen.length === 1);
    reg.remove();
    api.put('ns', 'b');
    await eventually(() => informer.store.size === 2);
    await flush();
    expect(h.seen).toEqual(['add ns/a@101']);
  });
});

describe('SharedInformer hasSynced', () => {
  it('is false until the first list is in the store, then true', async () => {
    const { api, informer, clock, start } = setup({ seed: (a) => a.put('ns', 'a', {}, false) });
    api.listErrors.push(new StatusError(503, 'ServiceUnavailable', 'not yet'));
    expect(informer.hasSynced()).toBe(false);
    void start();
    await eventually(() => api.listCalls.length === 1);
    await flush();
    expect(informer.hasSynced()).toBe(false);
    expect(informer.store.size).toBe(0);
    clock.step(1000); // the reflector's backoff
    await eventually(() => informer.hasSynced(), 'synced after the second list');
    expect(informer.store.keys()).toEqual(['ns/a']);
  });

  it('a registration is synced once its handler has handled the first list, and stays so', async () => {
    const { api, informer, start } = setup({
      seed: (a) => {
        for (let i = 0; i < 5; i++) a.put('ns', `o${i}`, {}, false);
      },
    });
    const gates: (() => void)[] = [];
    const reg = informer.addEventHandler({
      onAdd: () => new Promise<void>((r) => gates.push(r)),
      onUpdate: () => new Promise<void>((r) => gates.push(r)),
    });
    void start();
    expect(await informer.waitForSync()).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(reg.hasSynced()).toBe(false);
    for (let i = 0; i < 5; i++) {
      await eventually(() => gates.length > 0);
      // Events keep arriving while the handler works through the list.
      api.put('ns', `o${i}`, { n: String(i) });
      expect(reg.hasSynced()).toBe(false);
      gates.shift()!();
    }
    await eventually(() => reg.hasSynced(), 'registration synced');
    // Still busy with the updates that came meanwhile, but synced all the same.
    await eventually(() => gates.length > 0);
    api.put('ns', 'more');
    expect(reg.hasSynced()).toBe(true);
    for (const g of gates.splice(0)) g();
  });

  it('waitForSync resolves false when its signal aborts first', async () => {
    const { informer } = setup();
    const ac = new AbortController();
    const waiting = informer.waitForSync(ac.signal);
    ac.abort();
    expect(await waiting).toBe(false);
  });

  it('refuses to run twice', async () => {
    const { start } = setup();
    void start();
    await expect(start()).rejects.toThrow(/already started/);
  });
});

describe('SharedInformer resync', () => {
  it('re-delivers the store as updates every resync period, to the handlers that asked', async () => {
    const clock = new FakeClock(1_000_000);
    const { api, informer, start } = setup({
      clock,
      seed: (a) => {
        a.put('ns', 'a', {}, false);
        a.put('ns', 'b', {}, false);
      },
    });
    const withResync = recorder();
    const without = recorder();
    informer.addEventHandler(withResync, 30_000);
    informer.addEventHandler(without);
    void start();
    await informer.waitForSync();
    await eventually(() => withResync.seen.length === 2 && without.seen.length === 2);
    const stepSeconds = async (n: number) => {
      for (let i = 0; i < n; i++) {
        clock.step(1000);
        await flush(5);
      }
    };
    await stepSeconds(29);
    expect(withResync.seen).toHaveLength(2);
    await stepSeconds(2);
    expect(withResync.seen.slice(2).sort()).toEqual([
      'update ns/a@101->ns/a@101',
      'update ns/b@102->ns/b@102',
    ]);
    await stepSeconds(30);
    expect(withResync.seen).toHaveLength(6);
    expect(without.seen).toHaveLength(2);
    expect(api.listCalls).toHaveLength(1);
  });
});

describe('InformerFactory', () => {
  it('shares one informer per resource and selector, and merges indexers', () => {
    const rest = new RestClient({ servers: ['http://127.0.0.1:9'] });
    const f = new InformerFactory({ rest, registry: builtinRegistry, logger: capturingLogger().logger });
    const a = f.forResource('pods');
    expect(f.forResource('po')).toBe(a);
    expect(f.forResource(builtinRegistry.resolve('pods')!)).toBe(a);
    expect(f.forResource('pods', { fieldSelector: 'spec.nodeName=n1' })).not.toBe(a);
    const byPhase = (o: KubeObject) => [String((o.status as { phase?: string } | undefined)?.phase ?? '')];
    expect(f.forResource('pods', { indexers: { phase: byPhase } })).toBe(a);
    expect(a.store.hasIndex('phase')).toBe(true);
    expect(() => f.forResource('nosuchthings')).toThrow(/unknown resource/);
    rest.close();
  });
});
