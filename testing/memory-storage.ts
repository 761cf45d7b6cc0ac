/**
 * An in-memory ObjectStorage for unit tests of stores and watch caches: keys
 * with revisions, compare-and-swap, prefix lists and watches that are told
 * of every write at once. Not etcd: no compaction, no pagination.
 */
import type { KubeObject } from '../api/meta.js';
import type { CasResult, ObjectStorage, StoredObject, WatchEvent } from '../apiserver/etcd.js';

type Watch = { prefix: string; onEvents: (evs: WatchEvent[], rev: number) => void };

export class MemoryStorage implements ObjectStorage {
  readonly data = new Map<string, StoredObject>();
  private rev = 1;
  private readonly watches = new Set<Watch>();

  private copy(s: StoredObject): StoredObject {
    return { key: s.key, rv: s.rv, obj: structuredClone(s.obj) };
  }

  private write(key: string, obj: KubeObject): CasResult {
    const prev = this.data.get(key);
    const rv = ++this.rev;
    obj.metadata.resourceVersion = String(rv);
    this.data.set(key, { key, obj: structuredClone(obj), rv });
    this.emit({ type: 'put', key, rv, obj: structuredClone(obj), prev: prev && structuredClone(prev.obj) });
    return { ok: true, stored: { key, obj, rv } };
  }

  private emit(ev: WatchEvent): void {
    for (const w of this.watches) if (ev.key.startsWith(w.prefix)) w.onEvents([ev], ev.rv);
  }

  get: ObjectStorage['get'] = async (key) => {
    const s = this.data.get(key);
    return s && this.copy(s);
  };

  create: ObjectStorage['create'] = async (key, obj) => {
    const cur = this.data.get(key);
    return cur ? { ok: false, current: this.copy(cur) } : this.write(key, obj);
  };

  update: ObjectStorage['update'] = async (key, obj, expectedRv) => {
    const cur = this.data.get(key);
    if (!cur || cur.rv !== expectedRv) return { ok: false, current: cur && this.copy(cur) };
    return this.write(key, obj);
  };

  delete: ObjectStorage['delete'] = async (key, expectedRv) => {
    const cur = this.data.get(key);
    if (!cur || cur.rv !== expectedRv) return { ok: false, current: cur && this.copy(cur) };
    this.data.delete(key);
    const rv = ++this.rev;
    const obj = structuredClone(cur.obj);
    obj.metadata.resourceVersion = String(rv);
    this.emit({ type: 'delete', key, rv, obj: structuredClone(obj) });
    return { ok: true, stored: { key, obj, rv } };
  };

  list: ObjectStorage['list'] = async (prefix) => {
    const items = [...this.data.values()].filter((s) => s.key.startsWith(prefix)).map((s) => this.copy(s));
    items.sort((a, b) => (a.key < b.key ? -1 : 1));
    return { items, revision: this.rev, more: false, remaining: 0, lastKey: items.at(-1)?.key };
  };

  watch: ObjectStorage['watch'] = async (prefix, _fromRv, onEvents) => {
    const w = { prefix, onEvents };
    this.watches.add(w);
    return { cancel: async () => void this.watches.delete(w) } as never;
  };

  freshness: ObjectStorage['freshness'] = async (prefix, sinceRv) => {
    const under = [...this.data.values()].filter((s) => s.key.startsWith(prefix));
    return { revision: this.rev, writtenSince: under.some((s) => s.rv > sinceRv), count: under.length };
  };
}
