import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import type { ObjectStorage, StoredObject, WatchEvent } from '../etcd.js';
import { versionedStorage } from './versioned.js';

/** A map-backed ObjectStorage that records what was written. */
function fakeEtcd() {
  const data = new Map<string, StoredObject>();
  let rv = 0;
  let onEvents: ((evs: WatchEvent[], rev: number) => void) | undefined;
  const put = (key: string, obj: KubeObject) => {
    rv++;
    obj.metadata.resourceVersion = String(rv);
    const s = { key, obj: structuredClone(obj), rv };
    data.set(key, s);
    onEvents?.([{ type: 'put', key, rv, obj: structuredClone(obj) }], rv);
    return { ok: true as const, stored: { key, obj, rv } };
  };
  const etcd = {
    get: async (key: string) => data.get(key) && structuredClone(data.get(key)),
    create: async (key: string, obj: KubeObject) => put(key, obj),
    update: async (key: string, obj: KubeObject) => put(key, obj),
    delete: async (key: string) => {
      const s = data.get(key)!;
      data.delete(key);
      return { ok: true as const, stored: s };
    },
    list: async () => ({
      items: [...data.values()].map((s) => structuredClone(s)),
      revision: rv,
      more: false,
      remaining: 0,
    }),
    watch: async (_p: string, _from: number, cb: (evs: WatchEvent[], rev: number) => void) => {
      onEvents = cb;
      return undefined as never;
    },
    freshness: async () => ({ revision: rv, changed: false, count: data.size }),
  } as unknown as ObjectStorage;
  return { etcd, data };
}

describe('a served version of a custom resource', () => {
  const defaults = (o: KubeObject) => {
    o.spec ??= {};
    const spec = o.spec as Record<string, unknown>;
    spec.color ??= 'blue';
  };

  it('writes the storage version and reads its own, defaulted', async () => {
    const { etcd, data } = fakeEtcd();
    const beta = versionedStorage({
      etcd,
      served: 'example.com/v1beta1',
      stored: 'example.com/v1',
      defaults,
    });
    const res = await beta.create('/k', {
      apiVersion: 'example.com/v1beta1',
      kind: 'W',
      metadata: { name: 'w' },
    });
    expect(res.ok && res.stored.obj.apiVersion).toBe('example.com/v1beta1');
    expect(data.get('/k')?.obj.apiVersion).toBe('example.com/v1');
    // Stored before the default existed: the read fills it in.
    expect(data.get('/k')?.obj.spec).toBeUndefined();
    const got = await beta.get('/k');
    expect(got?.obj).toMatchObject({ apiVersion: 'example.com/v1beta1', spec: { color: 'blue' } });
    const page = await beta.list('/', {});
    expect(page.items.map((s) => s.obj.apiVersion)).toEqual(['example.com/v1beta1']);
  });

  it('converts watch events', async () => {
    const { etcd } = fakeEtcd();
    const v1 = versionedStorage({ etcd, served: 'example.com/v1', stored: 'example.com/v1', defaults });
    const beta = versionedStorage({
      etcd,
      served: 'example.com/v1beta1',
      stored: 'example.com/v1',
      defaults,
    });
    const seen: string[] = [];
    await beta.watch(
      '/',
      1,
      (evs) => seen.push(...evs.map((e) => String(e.obj.apiVersion))),
      () => {},
    );
    await v1.create('/k', { apiVersion: 'example.com/v1', kind: 'W', metadata: { name: 'w' } });
    expect(seen).toEqual(['example.com/v1beta1']);
  });
});
