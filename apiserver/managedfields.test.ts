import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { appsTypes } from '../api/types/apps.js';
import { fieldsOf, fromFieldsV1, printPath, splitPath, toFieldsV1 } from './fieldset.js';
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
