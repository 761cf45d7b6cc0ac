import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { appsTypes } from '../api/types/apps.js';
import { coreTypes } from '../api/types/core.js';
import { fieldsOf, fromFieldsV1, printPath, removeAt, splitPath, toFieldsV1, valueAt } from './fieldset.js';
import { type ManagedFieldsEntry, recordUpdate, serverSideApply, type Writer } from './managedfields.js';

const schema = appsTypes.find((rt) => rt.kind === 'Deployment')!.schema;

const writer = (manager: string, extra: Partial<Writer> = {}): Writer => ({
  manager,
  apiVersion: 'apps/v1',
  resetsStatus: true,
  now: '2026-01-01T00:00:00Z',
  ...extra,
});

function deployment(image: string, extra: { replicas?: number; labels?: Record<string, string> } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels: extra.labels ?? { app: 'web' } },
    spec: {
      replicas: extra.replicas ?? 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 80 }] }] },
      },
    },
  } as KubeObject;
}

const entries = (o: KubeObject) => (o.metadata.managedFields ?? []) as ManagedFieldsEntry[];
const owned = (o: KubeObject, manager: string) =>
  [...fromFieldsV1(entries(o).find((e) => e.manager === manager)?.fieldsV1)].map((p) =>
    printPath(splitPath(p)),
  );

function apply(live: KubeObject | undefined, applied: KubeObject, manager: string, force = false) {
  return serverSideApply({ schema, live, applied, writer: writer(manager), force });
}

function conflictOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('expected a conflict');
}

describe('field sets', () => {
  it('are written as Kubernetes writes FieldsV1: maps with ".", keyed items with their key', () => {
    const set = fieldsOf(deployment('nginx'), schema);
    const v1 = toFieldsV1(set) as any;
    expect(v1['f:metadata']['f:labels']).toEqual({ '.': {}, 'f:app': {} });
    const container = v1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'];
    expect(container['.']).toEqual({});
    // protocol is a key with a default, so the key names it even when the item does not
    expect(Object.keys(container['f:ports'])).toEqual(['k:{"containerPort":80,"protocol":"TCP"}']);
    // a label selector is atomic: owned as one field
    expect(v1['f:spec']['f:selector']).toEqual({});
    expect(fromFieldsV1(v1)).toEqual(set);
  });

  it('print as Kubernetes prints a conflicting field', () => {
    expect(printPath(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'])).toBe(
      '.spec.template.spec.containers[name="app"].image',
    );
    expect(printPath(['f:metadata', 'f:finalizers', 'v:"x"'])).toBe('.metadata.finalizers[="x"]');
  });
});

describe('server-side apply', () => {
  it('creates the object with one Apply entry owning what was applied', () => {
    const obj = apply(undefined, deployment('nginx'), 'alice');
    expect(entries(obj).map((e) => [e.manager, e.operation])).toEqual([['alice', 'Apply']]);
    expect(owned(obj, 'alice')).toContain('.spec.template.spec.containers[name="app"].image');
    expect(owned(obj, 'alice')).not.toContain('.metadata.name');
  });

  it('applying the same configuration twice changes nothing, not even the time', () => {
    const first = apply(undefined, deployment('nginx'), 'alice');
    const second = serverSideApply({
      schema,
      live: first,
      applied: deployment('nginx'),
      writer: writer('alice', { now: '2030-01-01T00:00:00Z' }),
      force: false,
    });
    expect(second).toEqual(first);
  });

  it('another manager setting a field to a different value conflicts, naming field and manager', () => {
    const live = apply(undefined, deployment('nginx'), 'alice');
    const err = conflictOf(() => apply(live, deployment('httpd'), 'bob'));
    expect(err.code).toBe(409);
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "alice": .spec.template.spec.containers[name="app"].image',
    );
    expect(err.details?.causes).toEqual([
      {
        reason: 'FieldManagerConflict',
        message: 'conflict with "alice"',
        field: '.spec.template.spec.containers[name="app"].image',
      },
    ]);
  });

  it('the same value is shared, not a conflict; the field stays while one owner still applies it', () => {
    const live = apply(undefined, deployment('nginx'), 'alice');
    const shared = apply(live, deployment('nginx'), 'bob');
    expect(owned(shared, 'bob')).toContain('.spec.template.spec.containers[name="app"].image');
    const aliceDrops = deployment('nginx', { labels: {} });
    const after = apply(shared, aliceDrops, 'alice');
    expect(after.metadata.labels).toEqual({ app: 'web' });
  });

  it('force takes the field over: the value changes and the old owner loses it', () => {
    const live = apply(undefined, deployment('nginx'), 'alice');
    const obj = apply(live, deployment('httpd'), 'bob', true);
    const c = (obj.spec as any).template.spec.containers[0];
    expect(c.image).toBe('httpd');
    expect(owned(obj, 'alice')).not.toContain('.spec.template.spec.containers[name="app"].image');
    expect(owned(obj, 'bob')).toContain('.spec.template.spec.containers[name="app"].image');
    expect(entries(obj).map((e) => e.manager)).toEqual(['bob', 'alice']);
  });

  it('force that takes every field of a manager drops its entry, as structured-merge-diff does', () => {
    const cmSchema = coreTypes.find((rt) => rt.kind === 'ConfigMap')!.schema;
    const cm = (a: string) =>
      ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a } }) as KubeObject;
    const ssa = (live: KubeObject | undefined, applied: KubeObject, manager: string, force = false) =>
      serverSideApply({
        schema: cmSchema,
        live,
        applied,
        writer: writer(manager, { apiVersion: 'v1' }),
        force,
      });
    const live = ssa(undefined, cm('1'), 'mgr-a');
    const obj = ssa(live, cm('2'), 'mgr-b', true);
    expect(entries(obj).map((e) => [e.manager, e.fieldsV1])).toEqual([
      ['mgr-b', { 'f:data': { 'f:a': {} } }],
    ]);
  });

  it('a field the manager stops applying is removed', () => {
    const live = apply(undefined, deployment('nginx', { labels: { app: 'web', tier: 'front' } }), 'alice');
    const obj = apply(live, deployment('nginx'), 'alice');
    expect(obj.metadata.labels).toEqual({ app: 'web' });
    const noPorts = deployment('nginx');
    delete (noPorts.spec as any).template.spec.containers[0].ports;
    const after = apply(obj, noPorts, 'alice');
    expect((after.spec as any).template.spec.containers[0].ports).toBeUndefined();
  });

  it('an update takes the fields it changes; applying the old value then conflicts with it', () => {
    const live = apply(undefined, deployment('nginx'), 'alice');
    const edited = structuredClone(live);
    (edited.spec as any).template.spec.containers[0].image = 'edited';
    recordUpdate(schema, live, edited, writer('kubectl-edit'));
    expect(owned(edited, 'kubectl-edit')).toEqual(['.spec.template.spec.containers[name="app"].image']);
    expect(owned(edited, 'alice')).not.toContain('.spec.template.spec.containers[name="app"].image');
    const err = conflictOf(() => apply(edited, deployment('nginx'), 'alice'));
    expect(err.message).toContain('conflict with "kubectl-edit" using apps/v1');
  });

  it('a scale through the scale subresource conflicts with apply; force takes replicas back', () => {
    const live = apply(undefined, deployment('nginx'), 'kubectl');
    const scaled = structuredClone(live);
    (scaled.spec as any).replicas = 5;
    recordUpdate(schema, live, scaled, writer('kubectl', { subresource: 'scale' }));
    const err = conflictOf(() => apply(scaled, deployment('nginx'), 'kubectl'));
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    const forced = apply(scaled, deployment('nginx'), 'kubectl', true);
    expect((forced.spec as any).replicas).toBe(2);
    expect(entries(forced).map((e) => [e.manager, e.operation])).toEqual([['kubectl', 'Apply']]);
    expect(owned(forced, 'kubectl')).toContain('.spec.replicas');
  });

  it('an update that changes nothing leaves managedFields as they were', () => {
    const live = apply(undefined, deployment('nginx'), 'alice');
    const same = structuredClone(live);
    recordUpdate(schema, live, same, writer('bob'));
    expect(same.metadata.managedFields).toEqual(live.metadata.managedFields);
  });
});

describe('managed fields of long lists', () => {
  // Looking up each item's fields by scanning its list made every write to an object with
  // 8000 ownerReferences take tens of seconds. Counted as reads of the items' properties: a
  // few dozen per item when lists are indexed once per write, thousands when scanned per path.
  it('records and applies 10000 keyed items reading each item a bounded number of times', () => {
    const n = 10_000;
    let reads = 0;
    const counted = <T extends object>(o: T): T =>
      new Proxy(o, {
        get(target, key, receiver) {
          reads++;
          return Reflect.get(target, key, receiver);
        },
      });
    const refs = (from: number) =>
      Array.from({ length: n }, (_, i) => ({ apiVersion: 'v1', kind: 'K', name: 'n', uid: `u${from + i}` }));
    const withRefs = (ownerReferences: object[]) => {
      const d = deployment('nginx');
      d.metadata.ownerReferences = ownerReferences as any;
      return d;
    };
    const created = withRefs(refs(0).map(counted));
    recordUpdate(schema, undefined, created, writer('creator'));
    const edited = withRefs(refs(0).map(counted));
    (edited.metadata.ownerReferences as any)[n - 1].name = 'last';
    reads = 0;
    recordUpdate(schema, created, edited, writer('editor'));
    expect(owned(edited, 'editor')).toEqual(['.metadata.ownerReferences[uid="u9999"].name']);
    expect(reads).toBeLessThan(100 * n);

    const live = apply(undefined, withRefs(refs(0)), 'alice');
    live.metadata.ownerReferences = live.metadata.ownerReferences!.map(counted);
    reads = 0;
    const moved = apply(live, withRefs(refs(n)), 'alice');
    expect(moved.metadata.ownerReferences?.map((r) => r.uid)).toEqual(refs(n).map((r) => r.uid));
    expect(reads).toBeLessThan(100 * n);
  }, 60_000);
});

describe('managed fields: objects from the wire cannot reach prototypes', () => {
  const proto = Object.prototype as Record<string, unknown>;
  afterEach(() => {
    for (const k of ['polluted', 'x', 'nkCanary']) delete proto[k];
  });
  const canary = () =>
    Object.defineProperty(Object.prototype, 'nkCanary', { value: 1, configurable: true, writable: true });

  it('field paths read own properties only', () => {
    canary();
    const obj = deployment('nginx:1');
    expect(valueAt(obj, ['f:__proto__'], schema)).toBeUndefined();
    expect(valueAt(obj, ['f:metadata', 'f:constructor'], schema)).toBeUndefined();
    expect(valueAt(obj, ['f:metadata', 'f:nkCanary'], schema)).toBeUndefined();
    removeAt(obj, ['f:__proto__', 'f:nkCanary'], schema);
    removeAt(obj, ['f:metadata', 'f:__proto__', 'f:nkCanary'], schema);
    expect(proto.nkCanary).toBe(1);
  });

  it('an apply that drops a stored __proto__ path removes nothing from Object.prototype', () => {
    canary();
    const live = deployment('nginx:1');
    live.metadata.managedFields = [
      {
        manager: 'x',
        operation: 'Apply',
        apiVersion: 'apps/v1',
        fieldsType: 'FieldsV1',
        fieldsV1: JSON.parse(
          '{"f:__proto__":{"f:nkCanary":{}},"f:metadata":{"f:__proto__":{"f:nkCanary":{}}}}',
        ),
      },
    ] as KubeObject['metadata']['managedFields'];
    apply(live, deployment('nginx:2'), 'x');
    expect(proto.nkCanary).toBe(1);
  });

  it('applies __proto__ and constructor keys at every depth as data', () => {
    const applied = JSON.parse(
      JSON.stringify(deployment('nginx:1')).replace(
        '"labels":{"app":"web"}',
        '"labels":{"app":"web","__proto__":{"polluted":"yes"},"constructor":{"prototype":{"x":"yes"}}},"__proto__":{"x":"yes"}',
      ),
    );
    applied.spec.template.spec.containers[0] = JSON.parse(
      '{"name":"app","image":"nginx:1","__proto__":{"polluted":"yes"}}',
    );
    const first = apply(undefined, applied, 'a');
    const second = apply(first, applied, 'b', true);
    const obj = structuredClone(second);
    recordUpdate(schema, second, obj, writer('c'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    for (const o of [first, second, obj]) {
      expect(Object.getPrototypeOf(o.metadata.labels)).toBe(Object.prototype);
      expect(Object.hasOwn(o.metadata.labels!, '__proto__')).toBe(true);
    }
  });
});
