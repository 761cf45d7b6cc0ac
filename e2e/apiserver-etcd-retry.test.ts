// A create whose answer was lost: the etcd client retries a call whose member
// went away after taking it (a leader stopping mid-write), and the retry
// finds the key already written. If those are exactly this call's bytes (its
// own uid), the earlier attempt committed, and the store says so (ok, at that
// revision) rather than AlreadyExists. Updates carry no such mark and stay
// conflicts. Against a real etcd: the "retry" is the same call made twice.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdStore } from '../apiserver/etcd.js';
import { cleanup, type EtcdCluster, startEtcd } from '../testing/harness.js';

let etcd: EtcdCluster;
let store: EtcdStore;

beforeAll(async () => {
  etcd = await startEtcd();
  store = new EtcdStore({ endpoints: etcd.endpoints, logger: pino({ level: 'silent' }) });
});

afterAll(async () => {
  store?.close();
  await cleanup();
});

const cm = (uid: string, data: Record<string, string> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a', namespace: 'default', uid, creationTimestamp: '2026-11-23T00:00:00Z' },
  data,
});

describe('EtcdStore: a retried write that had committed', () => {
  it('create: the same bytes again are the earlier commit (same revision); other bytes are a conflict', async () => {
    const first = await store.create('/registry/configmaps/default/a', cm('u1'));
    expect(first.ok).toBe(true);
    const rv = first.ok ? first.stored.rv : 0;
    const again = await store.create('/registry/configmaps/default/a', cm('u1'));
    expect(again).toMatchObject({ ok: true, stored: { rv } });
    const other = await store.create('/registry/configmaps/default/a', cm('u2'));
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.current?.obj.metadata.uid).toBe('u1');
  });

  it('update: the same bytes at a stale revision stay a conflict (another writer may write the same)', async () => {
    const cur = await store.get('/registry/configmaps/default/a');
    const base = cur!.rv;
    const first = await store.update('/registry/configmaps/default/a', cm('u1', { k: 'v' }), base);
    expect(first.ok).toBe(true);
    const again = await store.update('/registry/configmaps/default/a', cm('u1', { k: 'v' }), base);
    expect(again.ok).toBe(false);
  });
});
