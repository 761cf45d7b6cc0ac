/**
 * Builders and helpers shared by the core/v1 kind tests (core.test.ts,
 * core-validation.test.ts, core-columns.test.ts). Test support only.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { coreTypes } from '../api/types/core.js';

export const now = new Date('2024-05-01T12:00:00Z');
export const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
export const b64 = (s: string) => Buffer.from(s).toString('base64');

export function rt(kind: string): ResourceType {
  const found = coreTypes.find((t) => t.kind === kind);
  if (!found) throw new Error(`no kind ${kind}`);
  return found;
}

const namespacedKinds = new Set([
  'Service',
  'Endpoints',
  'Secret',
  'Event',
  'ServiceAccount',
  'PersistentVolumeClaim',
]);

/** An object of `kind` named `x`, created 5 minutes ago, with `fields` on top. */
export function obj(
  kind: string,
  fields: Record<string, unknown> = {},
  meta: Record<string, unknown> = {},
): KubeObject {
  const metadata = { name: 'x', creationTimestamp: ago(5), ...meta };
  if (namespacedKinds.has(kind)) Object.assign(metadata, { namespace: 'default', ...meta });
  return structuredClone({ apiVersion: 'v1', kind, metadata, ...fields });
}

export function defaulted(o: KubeObject): KubeObject {
  const copy = structuredClone(o);
  rt(o.kind!).defaults?.(copy);
  return copy;
}

/** Errors after defaulting, as `field: FieldValueX`. */
export function problems(o: KubeObject, old?: KubeObject): string[] {
  const errs = rt(o.kind!).validate?.(defaulted(o), old && defaulted(old)) ?? [];
  return errs.map((e) => `${e.field}: ${e.type}`);
}

export function cell(o: KubeObject, column: string): unknown {
  const col = rt(o.kind!).columns.find((c) => c.name === column);
  if (!col) throw new Error(`no column ${column}`);
  return col.cell(o, now);
}

export const port = (p: number, extra: Record<string, unknown> = {}) => ({ port: p, ...extra });
export const svc = (spec: Record<string, unknown>, status?: Record<string, unknown>) =>
  obj('Service', { spec: { selector: { app: 'web' }, ...spec }, ...(status ? { status } : {}) });
export const secret = (fields: Record<string, unknown>, meta: Record<string, unknown> = {}) =>
  obj('Secret', fields, meta);
export const node = (spec: Record<string, unknown>, status: Record<string, unknown> = {}, labels = {}) =>
  obj('Node', { spec, status }, { labels });
export const pv = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
  obj('PersistentVolume', {
    spec: {
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: '/data' },
      ...spec,
    },
    status,
  });
export const pvc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) =>
  obj('PersistentVolumeClaim', {
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec },
    status,
  });
export const ev = (fields: Record<string, unknown>) =>
  obj('Event', { involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' }, ...fields });
