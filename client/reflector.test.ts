// The reflector's list-and-watch loop, driven through a hand-written fake
// list/watch and a fake clock, into a sink that records what it is told.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeList, KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { capturingLogger, eventually, FakeListerWatcher, flush } from '../testing/listwatch-fakes.js';
import { FakeClock } from './clock.js';
import { keyOf } from './indexer.js';
import { type ListerWatcher, Reflector, type ReflectorSink } from './reflector.js';
import type { ListOptions } from './resource.js';

/** A sink that records `replace a@1,b@2 @rv`, `add a@1`, `update a@2`, `delete a@3`. */
function recordingSink(): ReflectorSink<KubeObject> & { calls: string[] } {
  const at = (o: KubeObject) => `${keyOf(o)}@${o.metadata.resourceVersion}`;
  const calls: string[] = [];
  return {
    calls,
    replace: (objs, rv) => void calls.push(`replace ${objs.map(at).join(',')} @${rv}`),
    add: (o) => void calls.push(`add ${at(o)}`),
    update: (o) => void calls.push(`update ${at(o)}`),
    delete: (o) => void calls.push(`delete ${at(o)}`),
  };
}

const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

interface SetupOptions {
  client?: ListerWatcher<KubeObject>;
  labelSelector?: string;
  fieldSelector?: string;
  /** Errors the first lists throw. */
  listErrors?: Error[];
}

function setup(opts: SetupOptions = {}) {
  const api = new FakeListerWatcher();
  api.listErrors.push(...(opts.listErrors ?? []));
  const sink = recordingSink();
  const { logger, lines } = capturingLogger();
  const clock = new FakeClock(0);
  const reflector = new Reflector({
    client: opts.client ?? api,
    sink,
    logger,
    clock,
    labelSelector: opts.labelSelector,
    fieldSelector: opts.fieldSelector,
  });
  const stop = new AbortController();
  stops.push(stop);
  const running = reflector.run(stop.signal);
  const backoffs = () =>
    lines.filter((l) => l.msg === 'list/watch failed; backing off').map((l) => l.retryInMs);
  return { api, sink, reflector, clock, lines, backoffs, stop, running };
}

describe('Reflector', () => {
  it('lists, then watches from the list, and tells the sink of each event', async () => {
    const { api, sink, reflector, stop, running } = setup();
    await eventually(() => api.watches.length === 1);
    expect(api.current.opts).toMatchObject({ resourceVersion: '100', allowWatchBookmarks: true });
    api.put('ns', 'a');
    api.put('ns', 'a', { k: 'v' });
    api.del('ns', 'a');
    await eventually(() => sink.calls.length === 4);
    expect(sink.calls).toEqual(['replace  @100', 'add ns/a@101', 'update ns/a@102', 'delete ns/a@103']);
    expect(reflector.lastSyncResourceVersion).toBe('103');
    stop.abort();
    await running; // ends when told to, and only then
  });

  it('watches again from the last resourceVersion seen when a watch ends, bookmarks included', async () => {
    const { api, sink } = setup();
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'a');
    api.current.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '150' } } });
    api.current.push('end');
    await eventually(() => api.watches.length === 2);
    expect(api.current.opts.resourceVersion).toBe('150');
    expect(api.listCalls).toHaveLength(1);
    expect(sink.calls).toEqual(['replace  @100', 'add ns/a@101']);
  });

  it('relists at once on 410, and backs off if the next watch is too old as well', async () => {
    const { api, sink, clock, lines } = setup();
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'a', {}, false);
    api.current.push(new StatusError(410, 'Expired', 'too old resource version'));
    await eventually(() => api.watches.length === 2);
    expect(sink.calls).toEqual(['replace  @100', 'replace ns/a@101 @101']);
    expect(api.current.opts.resourceVersion).toBe('101');

    api.current.push(new StatusError(410, 'Expired', 'too old again'));
    await flush();
    expect(api.listCalls).toHaveLength(2); // waiting, not spinning
    clock.step(1000);
    await eventually(() => api.listCalls.length === 3);
    expect(lines.filter((l) => l.msg === 'watch expired (410); relisting')).toHaveLength(2);
  });

  it('backs off after a failed list, doubling, and lists again until it works', async () => {
    const { api, sink, clock, backoffs } = setup({
      listErrors: [new StatusError(503, 'ServiceUnavailable', 'down'), new Error('still down')],
    });
    await eventually(() => api.listCalls.length === 1);
    await flush();
    expect(api.listCalls).toHaveLength(1);
    clock.step(1000); // first backoff: 800 ms ± 20%
    await eventually(() => api.listCalls.length === 2);
    await flush();
    clock.step(1000);
    await flush();
    expect(api.listCalls).toHaveLength(2); // the second is 1600 ms ± 20%
    clock.step(1000);
    await eventually(() => sink.calls.length === 1);
    expect(backoffs()).toEqual([800, 1600]);
  });

  it('resumes a broken watch from where it was, without a list', async () => {
    const { api, sink, clock } = setup();
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'a');
    api.current.push(new StatusError(503, 'ServiceUnavailable', 'stream broke'));
    await flush();
    clock.step(1000);
    await eventually(() => api.watches.length === 2);
    expect(api.current.opts.resourceVersion).toBe('101');
    expect(api.listCalls).toHaveLength(1);
    expect(sink.calls).toEqual(['replace  @100', 'add ns/a@101']);
  });

  it('starts the backoff over after an attempt that made progress', async () => {
    const { api, clock, backoffs } = setup({ listErrors: [new Error('down')] });
    await eventually(() => api.listCalls.length === 1);
    await flush();
    clock.step(1000);
    await eventually(() => api.watches.length === 1);
    api.put('ns', 'a');
    api.current.push(new Error('broke'));
    await eventually(() => backoffs().length === 2);
    // Without the reset the second would be 1600: a watch that broke after an
    // hour would wait as long as one that never worked.
    expect(backoffs()).toEqual([800, 800]);
  });

  it('does not spin on watches that end at once with nothing', async () => {
    const { api, clock } = setup();
    for (let i = 1; i <= 3; i++) {
      await eventually(() => api.watches.length === i);
      api.current.push('end');
      await flush();
      expect(api.watches).toHaveLength(i);
      clock.step(200 * 2 ** (i - 1));
    }
    await eventually(() => api.watches.length === 4);
  });

  it('passes its selectors to list and watch, pages through a large list, and fills in kind', async () => {
    const api = new FakeListerWatcher();
    const pages: KubeList<KubeObject>[] = [
      {
        apiVersion: 'v1',
        kind: 'List',
        metadata: { continue: 'p2', resourceVersion: '7' },
        items: [{ metadata: { namespace: 'a', name: 'one', resourceVersion: '5' } }],
      },
      {
        apiVersion: 'v1',
        kind: 'List',
        metadata: { resourceVersion: '7' },
        items: [{ metadata: { namespace: 'a', name: 'two', resourceVersion: '6' } }],
      },
    ];
    const seen: ListOptions[] = [];
    const client: ListerWatcher<KubeObject> = {
      rt: api.rt,
      list: async (o = {}) => {
        seen.push(o);
        return pages[seen.length - 1];
      },
      watch: (o) => api.watch(o),
    };
    const { sink } = setup({ client, labelSelector: 'app=web', fieldSelector: 'metadata.name!=x' });
    await eventually(() => api.watches.length === 1);
    expect(seen.map((o) => [o.labelSelector, o.fieldSelector, o.limit, o.continue])).toEqual([
      ['app=web', 'metadata.name!=x', 500, undefined],
      ['app=web', 'metadata.name!=x', 500, 'p2'],
    ]);
    expect(api.current.opts).toMatchObject({ resourceVersion: '7', labelSelector: 'app=web' });
    expect(sink.calls).toEqual(['replace a/one@5,a/two@6 @7']);
    expect(pages[1].items[0]).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
  });
});
