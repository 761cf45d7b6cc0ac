import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceType } from '../../api/registry.js';
import { builtinRegistry } from '../../api/types/index.js';
import { MemoryStorage } from '../../testing/memory-storage.js';
import { strategyFor } from '../kinds/index.js';
import { ResourceStore } from '../store.js';
import { WatchCache } from '../watch-cache.js';
import { CrdController } from './controller.js';
import { customTypes } from './custom-type.js';
import { type CustomResourceDefinition, cleanupFinalizer, crdType } from './definition.js';
import type { CustomResourceServing } from './serving.js';

const logger = pino({ level: 'silent' });
const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

/** A store over memory whose cache follows it synchronously. */
async function storeOf(rt: ResourceType, etcd: MemoryStorage): Promise<ResourceStore> {
  const stop = new AbortController();
  stops.push(stop);
  const cache = new WatchCache({
    etcd,
    prefix: rt.storagePrefix ?? `/registry/${rt.plural}/`,
    capacity: 100,
    logger,
  });
  void cache.run(stop.signal);
  await cache.ready();
  return new ResourceStore({ rt, etcd, cache, strategy: strategyFor(rt), namespaceGuard: async () => {} });
}

/** Records what the controller asks of serving; `stores` are the served kinds' stores. */
function fakeServing(stores: ResourceStore[] = []) {
  const calls: string[] = [];
  const serving = {
    serve: async (crd: CustomResourceDefinition) => void calls.push(`serve ${crd.metadata?.name}`),
    drop: (name: string) => void calls.push(`drop ${name}`),
    setTerminating: (name: string, on: boolean) => void calls.push(`terminating ${name} ${on}`),
    storesOf: () => stores,
    close: async () => {},
  };
  return { calls, serving: serving as unknown as CustomResourceServing };
}

const crd = (plural: string, group: string, kind: string): CustomResourceDefinition => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${plural}.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: { plural, kind },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
  },
});

async function setup(stores: ResourceStore[] = []) {
  const etcd = new MemoryStorage();
  const crds = await storeOf(crdType, etcd);
  const { calls, serving } = fakeServing(stores);
  const controller = new CrdController({ store: crds, serving, builtins: builtinRegistry.all, logger });
  const sync = (name: string) => controller.sync(name, new AbortController().signal);
  const get = (name: string) => crds.get(undefined, name) as Promise<CustomResourceDefinition>;
  return { etcd, crds, calls, sync, get };
}

const conditions = (c: CustomResourceDefinition) =>
  (c.status?.conditions ?? []).map((x) => `${x.type}=${x.status}`);

describe('CrdController', () => {
  it('accepts names, establishes, then serves; a second sync changes nothing', async () => {
    const t = await setup();
    await t.crds.create(undefined, crd('widgets', 'example.com', 'Widget'));
    await t.sync('widgets.example.com');
    const c = await t.get('widgets.example.com');
    expect(conditions(c)).toEqual(['NamesAccepted=True', 'Established=True']);
    expect(c.status?.storedVersions).toEqual(['v1']);
    expect(t.calls).toEqual([]); // the status write comes back through the cache first
    await t.sync('widgets.example.com');
    expect(t.calls).toEqual(['serve widgets.example.com']);
    const rv = (await t.get('widgets.example.com')).metadata?.resourceVersion;
    await t.sync('widgets.example.com');
    expect((await t.get('widgets.example.com')).metadata?.resourceVersion).toBe(rv);
  });

  it('never serves a CRD that takes a built-in resource', async () => {
    const t = await setup();
    const ingresses = crd('ingresses', 'networking.k8s.io', 'Ingress');
    ingresses.metadata!.annotations = { 'api-approved.kubernetes.io': 'unapproved, hijack' };
    await t.crds.create(undefined, ingresses);
    await t.sync('ingresses.networking.k8s.io');
    await t.sync('ingresses.networking.k8s.io');
    const c = await t.get('ingresses.networking.k8s.io');
    expect(conditions(c)).toEqual(['NamesAccepted=False', 'Established=False']);
    expect(c.status?.conditions?.[0].reason).toBe('PluralConflict');
    expect(t.calls).toEqual(['drop ingresses.networking.k8s.io']);
  });

  it('on delete: refuses creates, deletes every object, then lets the definition go', async () => {
    const etcd = new MemoryStorage();
    const crds = await storeOf(crdType, etcd);
    const def = crd('widgets', 'example.com', 'Widget');
    await crds.create(undefined, def);
    const established = await crds.guaranteedUpdate(
      undefined,
      'widgets.example.com',
      'status',
      {},
      undefined,
      (cur) => {
        cur.status = {
          acceptedNames: { plural: 'widgets', kind: 'Widget' },
          conditions: [{ type: 'Established', status: 'True' }],
        };
        return cur;
      },
    );
    const widgets = await storeOf(customTypes(established as CustomResourceDefinition)[0], etcd);
    const w = (name: string): KubeObject => ({
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name, namespace: 'a' },
    });
    await widgets.create('a', w('one'));
    await widgets.create('a', w('two'));
    const { calls, serving } = fakeServing([widgets]);
    const controller = new CrdController({ store: crds, serving, builtins: [], logger });
    // The first delete marks the definition and adds the cleanup finalizer.
    const marked = await crds.delete(undefined, 'widgets.example.com');
    expect(marked.deleted).toBe(false);
    expect(marked.obj.metadata.finalizers).toEqual([cleanupFinalizer]);
    expect(conditions(marked.obj as CustomResourceDefinition)).toContain('Terminating=True');
    await controller.sync('widgets.example.com', new AbortController().signal);
    expect(calls).toEqual(['terminating widgets.example.com true', 'serve widgets.example.com']);
    expect([...etcd.data.keys()]).toEqual([]);
    await controller.sync('widgets.example.com', new AbortController().signal);
    expect(calls.at(-2)).toBe('drop widgets.example.com');
  });
});
