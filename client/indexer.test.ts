import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import {
  Indexer,
  keyOf,
  namespaceIndex,
  nodeNameIndex,
  ownerUidIndex,
  splitKey,
  standardIndexers,
} from './indexer.js';

function pod(
  ns: string,
  name: string,
  opts: { node?: string; owners?: string[]; rv?: string } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: ns,
      name,
      resourceVersion: opts.rv ?? '1',
      ownerReferences: opts.owners?.map((uid) => ({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: uid,
        uid,
      })),
    },
    spec: opts.node ? { nodeName: opts.node } : {},
  };
}

const names = (objs: KubeObject[]) => objs.map((o) => keyOf(o)).sort();

describe('keyOf and splitKey', () => {
  it.each([
    { name: 'namespaced', meta: { namespace: 'ns', name: 'a' }, key: 'ns/a' },
    { name: 'cluster-scoped', meta: { name: 'node-1' }, key: 'node-1' },
    { name: 'empty namespace is cluster-scoped', meta: { namespace: '', name: 'n' }, key: 'n' },
  ])('$name', ({ meta, key }) => {
    expect(keyOf({ metadata: meta })).toBe(key);
    const back = splitKey(key);
    expect(back.name).toBe(meta.name);
    expect(back.namespace).toBe(meta.namespace || undefined);
  });

  it('splits at the first slash only', () => {
    expect(splitKey('ns/a/b')).toEqual({ namespace: 'ns', name: 'a/b' });
  });
});

describe('Indexer', () => {
  const make = () => new Indexer(standardIndexers);

  it('indexes by namespace, node and owner as objects are added', () => {
    const s = make();
    s.upsert(pod('a', 'p1', { node: 'n1', owners: ['rs1'] }));
    s.upsert(pod('a', 'p2', { node: 'n2', owners: ['rs1', 'rs2'] }));
    s.upsert(pod('b', 'p3'));
    expect(names(s.byIndex(namespaceIndex, 'a'))).toEqual(['a/p1', 'a/p2']);
    expect(names(s.byIndex(nodeNameIndex, 'n1'))).toEqual(['a/p1']);
    expect(names(s.byIndex(ownerUidIndex, 'rs1'))).toEqual(['a/p1', 'a/p2']);
    expect(names(s.byIndex(ownerUidIndex, 'rs2'))).toEqual(['a/p2']);
    expect(s.byIndex(nodeNameIndex, 'nowhere')).toEqual([]);
    expect(s.indexKeys(namespaceIndex, 'b')).toEqual(['b/p3']);
  });

  it('moves an updated object between index values and returns the old one', () => {
    const s = make();
    const first = pod('a', 'p1', { node: 'n1', rv: '1' });
    s.upsert(first);
    const old = s.upsert(pod('a', 'p1', { node: 'n2', rv: '2' }));
    expect(old).toBe(first);
    expect(s.byIndex(nodeNameIndex, 'n1')).toEqual([]);
    expect(s.byIndex(nodeNameIndex, 'n2').map((o) => o.metadata.resourceVersion)).toEqual(['2']);
    expect(s.size).toBe(1);
  });

  it('forgets a removed object in every index, by object or by key', () => {
    const s = make();
    s.upsert(pod('a', 'p1', { node: 'n1', owners: ['rs1'] }));
    s.upsert(pod('a', 'p2', { node: 'n1' }));
    expect(s.remove(pod('a', 'p1'))?.metadata.name).toBe('p1');
    expect(s.remove('a/p2')?.metadata.name).toBe('p2');
    expect(s.remove('a/p2')).toBeUndefined();
    expect(s.size).toBe(0);
    expect(s.byIndex(nodeNameIndex, 'n1')).toEqual([]);
    expect(s.byIndex(ownerUidIndex, 'rs1')).toEqual([]);
    expect(s.byIndex(namespaceIndex, 'a')).toEqual([]);
  });

  it('replace swaps the contents, rebuilds the indexes and returns what was dropped', () => {
    const s = make();
    s.upsert(pod('a', 'stays', { node: 'n1' }));
    s.upsert(pod('a', 'goes', { node: 'n1' }));
    const dropped = s.replace([pod('a', 'stays', { node: 'n2', rv: '5' }), pod('c', 'new', { node: 'n1' })]);
    expect(names(dropped)).toEqual(['a/goes']);
    expect(s.keys().sort()).toEqual(['a/stays', 'c/new']);
    expect(names(s.byIndex(nodeNameIndex, 'n1'))).toEqual(['c/new']);
    expect(names(s.byIndex(nodeNameIndex, 'n2'))).toEqual(['a/stays']);
    expect(s.byIndex(namespaceIndex, 'a').map((o) => o.metadata.resourceVersion)).toEqual(['5']);
  });

  it('gets by key and by namespace and name', () => {
    const s = make();
    const p = pod('a', 'p1');
    s.upsert(p);
    s.upsert({ metadata: { name: 'node-1' } });
    expect(s.get('a/p1')).toBe(p);
    expect(s.getByName('a', 'p1')).toBe(p);
    expect(s.getByName(undefined, 'node-1')?.metadata.name).toBe('node-1');
    expect(s.get('a/none')).toBeUndefined();
  });

  it('indexes existing objects when an index is added later', () => {
    const s = new Indexer();
    s.upsert({ metadata: { namespace: 'a', name: 'x', labels: { app: 'web' } } });
    s.upsert({ metadata: { namespace: 'a', name: 'y', labels: { app: 'db' } } });
    const byApp = (o: KubeObject) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []);
    s.addIndexers({ app: byApp });
    expect(s.hasIndex('app')).toBe(true);
    expect(names(s.byIndex('app', 'web'))).toEqual(['a/x']);
    // The same function again is fine; another function under the same name is not.
    s.addIndexers({ app: byApp });
    expect(() => s.addIndexers({ app: () => [] })).toThrow(/already exists/);
  });

  it('refuses an index that does not exist', () => {
    expect(() => make().byIndex('nope', 'x')).toThrow(/does not exist/);
    expect(() => make().indexKeys('nope', 'x')).toThrow(/does not exist/);
  });
});
