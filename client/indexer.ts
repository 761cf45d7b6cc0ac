/**
 * A thread-safe-in-spirit store of objects by key with named indexes, as
 * client-go's Indexer. Keys are `namespace/name` (or `name` for
 * cluster-scoped objects): `keyOf` and `splitKey` are the one key format for
 * caches, queues and expectations alike.
 *
 * Contract: objects in the store are shared and read-only; clone before
 * changing one. Index functions are pure and see every object once per write.
 */
import type { KubeObject } from '../api/meta.js';

export function keyOf(obj: KubeObject | { metadata: { namespace?: string; name?: string } }): string {
  const { namespace, name } = obj.metadata;
  return namespace ? `${namespace}/${name}` : (name ?? '');
}

export function splitKey(key: string): { namespace?: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export type IndexFunc<T extends KubeObject = KubeObject> = (obj: T) => string[];

export const namespaceIndex = 'namespace';
export const nodeNameIndex = 'spec.nodeName';
export const ownerUidIndex = 'ownerUid';

/** Standard index functions for the indexes most components ask for. */
export const standardIndexers: Record<string, IndexFunc> = {
  [namespaceIndex]: (o) => (o.metadata.namespace ? [o.metadata.namespace] : []),
  [nodeNameIndex]: (o) => {
    const n = (o.spec as { nodeName?: string } | undefined)?.nodeName;
    return n ? [n] : [];
  },
  [ownerUidIndex]: (o) => (o.metadata.ownerReferences ?? []).map((r) => r.uid ?? '').filter(Boolean),
};

export class Indexer<T extends KubeObject = KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.addIndexers(indexers);
  }

  hasIndex(name: string): boolean {
    return this.indexers.has(name);
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.get(name) === fn) continue;
      if (this.indexers.has(name)) throw new Error(`indexer "${name}" already exists with another function`);
      this.indexers.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(index, v, key);
    }
  }

  /** Adds or replaces; returns the object it replaced. */
  upsert(obj: T): T | undefined {
    const key = keyOf(obj);
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  /** Removes by the object's key; returns what was stored. */
  remove(obj: T | string): T | undefined {
    const key = typeof obj === 'string' ? obj : keyOf(obj);
    const old = this.items.get(key);
    if (old) {
      this.unindex(key, old);
      this.items.delete(key);
    }
    return old;
  }

  /** Replaces everything; returns the objects that were dropped. */
  replace(objs: T[]): T[] {
    const next = new Map(objs.map((o) => [keyOf(o), o]));
    const dropped = [...this.items].filter(([k]) => !next.has(k)).map(([, o]) => o);
    this.items.clear();
    for (const index of this.indices.values()) index.clear();
    for (const [k, o] of next) {
      this.items.set(k, o);
      this.index(k, o);
    }
    return dropped;
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  /** Objects whose index function gave `value` for index `name`. */
  byIndex(name: string, value: string): T[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return [...(index.get(value) ?? [])].map((k) => this.items.get(k)!);
  }

  indexKeys(name: string, value: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return [...(index.get(value) ?? [])];
  }

  private index(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) for (const v of fn(obj)) addTo(this.indices.get(name)!, v, key);
  }

  private unindex(key: string, obj: T): void {
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = index.get(v);
        set?.delete(key);
        if (set?.size === 0) index.delete(v);
      }
    }
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let set = index.get(value);
  if (!set) {
    set = new Set();
    index.set(value, set);
  }
  set.add(key);
}
