/**
 * One served version's view of a custom resource's objects in etcd, for
 * `conversion: None`: objects are written in the storage version and read
 * in this one, the only change being apiVersion, with this version's
 * defaults applied on every read (as Kubernetes defaults what it decodes
 * from etcd). The store and watch cache of the version use this in place
 * of etcd itself, so nothing else in them knows about versions.
 */
import type { KubeObject } from '../../api/meta.js';
import type { EtcdStore, ObjectStorage, StoredObject, WatchEvent } from '../etcd.js';

export interface VersionedOptions {
  etcd: ObjectStorage;
  /** apiVersion of what is read: `group/version` of this store. */
  served: string;
  /** apiVersion of what is written: `group/storageVersion`. */
  stored: string;
  /** This version's defaults, applied in place to what is read. */
  defaults(obj: KubeObject): void;
}

export function versionedStorage(o: VersionedOptions): ObjectStorage {
  const { etcd } = o;
  const decode = (obj: KubeObject): KubeObject => {
    const out = obj.apiVersion === o.served ? obj : { ...obj, apiVersion: o.served };
    o.defaults(out);
    return out;
  };
  const encode = (obj: KubeObject): KubeObject =>
    obj.apiVersion === o.stored ? obj : { ...obj, apiVersion: o.stored };
  const stored = (s: StoredObject): StoredObject => ({ ...s, obj: decode(s.obj) });
  const cas = (r: Awaited<ReturnType<EtcdStore['create']>>) =>
    r.ok
      ? { ok: true as const, stored: stored(r.stored) }
      : { ok: false as const, current: r.current && stored(r.current) };
  const event = (e: WatchEvent): WatchEvent => ({ ...e, obj: decode(e.obj), prev: e.prev && decode(e.prev) });
  return {
    get: async (key) => {
      const s = await etcd.get(key);
      return s && stored(s);
    },
    create: async (key, obj) => cas(await etcd.create(key, encode(obj))),
    update: async (key, obj, rv) => cas(await etcd.update(key, encode(obj), rv)),
    delete: async (key, rv) => cas(await etcd.delete(key, rv)),
    list: async (prefix, opts) => {
      const page = await etcd.list(prefix, opts);
      return { ...page, items: page.items.map(stored) };
    },
    watch: (prefix, fromRv, onEvents, onError) =>
      etcd.watch(prefix, fromRv, (evs, rev) => onEvents(evs.map(event), rev), onError),
    freshness: (prefix, since) => etcd.freshness(prefix, since),
  };
}
