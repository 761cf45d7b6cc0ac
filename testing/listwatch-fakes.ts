/**
 * Test helpers for the informer and reflector: a fake list/watch for one
 * resource whose answers a test drives, a logger whose lines it can read,
 * and ways to let pending promises run. No sockets, no timers.
 */
import pino from 'pino';
import type { KubeList, KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import type { ListerWatcher } from '../client/reflector.js';
import type { ListOptions, WatchEvent, WatchOptions } from '../client/resource.js';

/** Lets pending promises and I/O callbacks run until `check` holds. */
export async function eventually(check: () => boolean, what = 'condition'): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never happened: ${what}`);
}

export const flush = async (rounds = 20) => {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
};

/** One open watch: the test pushes events, ends it or breaks it. */
export class FakeWatch {
  private queue: (WatchEvent | Error | 'end')[] = [];
  private wake?: () => void;
  constructor(readonly opts: WatchOptions) {}

  push(item: WatchEvent | Error | 'end'): void {
    this.queue.push(item);
    this.wake?.();
  }

  async *events(): AsyncGenerator<WatchEvent> {
    const signal = this.opts.signal;
    const onAbort = () => this.wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        while (this.queue.length === 0) {
          if (signal?.aborted) return;
          await new Promise<void>((r) => {
            this.wake = r;
          });
        }
        const item = this.queue.shift()!;
        if (item === 'end') return;
        if (item instanceof Error) throw item;
        yield item;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}

/** A fake API for one resource: objects at revisions, lists and watches on demand. */
export class FakeListerWatcher implements ListerWatcher<KubeObject> {
  readonly rt = builtinRegistry.resolve('configmaps')!;
  readonly objects = new Map<string, KubeObject>();
  rv = 100;
  listCalls: ListOptions[] = [];
  watches: FakeWatch[] = [];
  /** Errors the next lists throw, in order. */
  listErrors: Error[] = [];

  async list(opts: ListOptions = {}): Promise<KubeList<KubeObject>> {
    this.listCalls.push(opts);
    const err = this.listErrors.shift();
    if (err) throw err;
    return {
      apiVersion: 'v1',
      kind: 'ConfigMapList',
      metadata: { resourceVersion: String(this.rv) },
      items: [...this.objects.values()].map((o) => structuredClone(o)),
    };
  }

  watch(opts: WatchOptions = {}): AsyncGenerator<WatchEvent<KubeObject>> {
    const w = new FakeWatch(opts);
    this.watches.push(w);
    return w.events();
  }

  get current(): FakeWatch {
    return this.watches[this.watches.length - 1];
  }

  /** Writes an object at the next revision; `announce` sends the event to the open watch. */
  put(ns: string, name: string, data: Record<string, string> = {}, announce = true): KubeObject {
    const key = `${ns}/${name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { namespace: ns, name, resourceVersion: String(++this.rv) },
      data,
    };
    this.objects.set(key, obj);
    if (announce) this.current.push({ type, object: structuredClone(obj) });
    return obj;
  }

  del(ns: string, name: string, announce = true): void {
    const key = `${ns}/${name}`;
    const obj = structuredClone(this.objects.get(key)!);
    this.objects.delete(key);
    obj.metadata.resourceVersion = String(++this.rv);
    if (announce) this.current.push({ type: 'DELETED', object: obj });
  }
}

/** A pino logger whose lines the test can read. */
export function capturingLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}
