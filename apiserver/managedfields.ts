/**
 * Field managers (`metadata.managedFields`): who set which field, recorded
 * on every write, and server-side apply on top of them.
 *
 * - An Update (create, PUT, a non-apply PATCH) gives its manager the fields
 *   whose value it changed and takes them from every other manager: updates
 *   never conflict.
 * - An Apply owns exactly the fields of the configuration applied. A field
 *   another manager owns with a different value is a conflict (409, listing
 *   field and manager) unless forced, which moves ownership. Fields the
 *   manager applied before and no longer applies are removed from the object
 *   when no other manager owns them.
 *
 * Pure functions over plain objects; the apiserver calls them inside its
 * read-modify-write so the result is checked and stored as any update is.
 */

import type { TSchema } from '@sinclair/typebox';
import type { KubeObject } from '../api/meta.js';
import { own, setOwn } from '../api/plain.js';
import { stableJson } from '../api/stable-json.js';
import { StatusError } from '../api/status.js';
import {
  type FieldSet,
  type FieldsV1,
  fieldsOf,
  fromFieldsV1,
  itemKey,
  joinPath,
  lookupIn,
  printPath,
  removeAll,
  splitPath,
  toFieldsV1,
} from './fieldset.js';
import { childSchema, itemSchema } from './strategic-merge.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldsV1;
  subresource?: string;
}

/** Who is writing, and through which path. */
export interface Writer {
  manager: string;
  apiVersion: string;
  /** `status`, `scale`, ... ; undefined for the object itself. */
  subresource?: string;
  /** The kind's status is reset on writes to the object itself (it has a status subresource). */
  resetsStatus: boolean;
  /** RFC 3339 time of the write. */
  now: string;
}

/** Metadata the server sets: never owned by a manager. */
const serverMetadata = new Set(
  [
    'name',
    'namespace',
    'generateName',
    'uid',
    'resourceVersion',
    'generation',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
    'managedFields',
    'selfLink',
  ].map((f) => `f:${f}`),
);

/** The paths a writer through its path may own. */
function ownable(set: FieldSet, w: Writer): FieldSet {
  const out: FieldSet = new Set();
  for (const p of set) {
    const [first, second] = splitPath(p, 2);
    if (first === 'f:apiVersion' || first === 'f:kind') continue;
    if (first === 'f:metadata' && (second === undefined || serverMetadata.has(second))) continue;
    if (w.subresource === 'status' && first !== 'f:status') continue;
    if (w.subresource === 'scale' && !p.startsWith(joinPath(['f:spec', 'f:replicas']))) continue;
    if (w.subresource === undefined && w.resetsStatus && first === 'f:status') continue;
    out.add(p);
  }
  return out;
}

const isItself = (p: string) => p.endsWith('.');

function sameEntry(e: ManagedFieldsEntry, manager: string, op: string, subresource?: string): boolean {
  return e.manager === manager && e.operation === op && (e.subresource ?? '') === (subresource ?? '');
}

function entrySet(e: ManagedFieldsEntry): FieldSet {
  return fromFieldsV1(e.fieldsV1);
}

/** The entries an update starts from: those in the body when the client changed them, else the stored ones. */
function baseEntries(obj: KubeObject, old: KubeObject | undefined): ManagedFieldsEntry[] {
  const sent = obj.metadata.managedFields as ManagedFieldsEntry[] | undefined;
  const stored = (old?.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  if (sent === undefined || stableJson(sent) === stableJson(stored)) return structuredClone(stored);
  return structuredClone(sent).filter((e) => e && typeof e.manager === 'string');
}

/**
 * Records an Update by `w` that turned `old` (undefined on create) into
 * `obj`: sets `obj.metadata.managedFields`.
 */
export function recordUpdate(schema: TSchema, old: KubeObject | undefined, obj: KubeObject, w: Writer): void {
  const entries = baseEntries(obj, old);
  const before = ownable(old ? fieldsOf(old, schema) : new Set(), w);
  const after = ownable(fieldsOf(obj, schema), w);
  const changed: FieldSet = new Set();
  const inOld = lookupIn(old, schema);
  const inObj = lookupIn(obj, schema);
  for (const p of after) {
    if (!before.has(p)) changed.add(p);
    else if (!isItself(p)) {
      const path = splitPath(p);
      if (stableJson(inOld(path)) !== stableJson(inObj(path))) changed.add(p);
    }
  }
  const removed = [...before].filter((p) => !after.has(p));
  const out: ManagedFieldsEntry[] = [];
  let own: ManagedFieldsEntry | undefined;
  for (const e of entries) {
    if (sameEntry(e, w.manager, 'Update', w.subresource)) {
      own = e;
      continue;
    }
    out.push(withSet(e, minus(entrySet(e), changed, removed)));
  }
  if (changed.size > 0 || own) {
    const ownSet = own ? entrySet(own) : new Set<string>();
    const set = minus(new Set([...ownSet, ...changed]), removed);
    const touched = changed.size > 0 || removed.some((p) => ownSet.has(p));
    out.push({
      manager: w.manager,
      operation: 'Update',
      apiVersion: w.apiVersion,
      time: touched || !own?.time ? w.now : own.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(set),
      ...(w.subresource ? { subresource: w.subresource } : {}),
    });
  }
  setEntries(obj, out);
}

function sameSet(a: FieldSet, b: FieldSet): boolean {
  return a.size === b.size && [...a].every((p) => b.has(p));
}

function minus(set: FieldSet, ...remove: Iterable<string>[]): FieldSet {
  const out = new Set(set);
  for (const r of remove) for (const p of r) out.delete(p);
  return out;
}

function withSet(e: ManagedFieldsEntry, set: FieldSet): ManagedFieldsEntry {
  return { ...e, fieldsV1: toFieldsV1(set) };
}

function setEntries(obj: KubeObject, entries: ManagedFieldsEntry[]): void {
  const kept = entries.filter((e) => Object.keys(e.fieldsV1).length > 0);
  if (kept.length > 0) obj.metadata.managedFields = kept as KubeObject['metadata']['managedFields'];
  else delete obj.metadata.managedFields;
}

/**
 * An applied configuration's fields as structured-merge-diff's ToFieldSet
 * makes them: the leaves and list items, never a map itself (`.` under an
 * `f:` field), which only an update that adds the map owns. So a manager
 * whose every leaf another takes by force is left with nothing, and goes.
 */
function withoutMapNodes(set: FieldSet): FieldSet {
  const out: FieldSet = new Set();
  for (const p of set) {
    const path = splitPath(p);
    const parent = path[path.length - 2];
    if (path[path.length - 1] === '.' && parent?.startsWith('f:')) continue;
    out.add(p);
  }
  return out;
}

/** How a conflicting manager is named in messages, as Kubernetes does. */
function describeManager(e: ManagedFieldsEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

interface Conflict {
  entry: ManagedFieldsEntry;
  path: string;
}

function conflictError(conflicts: Conflict[]): StatusError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${describeManager(c.entry)}`,
    field: printPath(splitPath(c.path)),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0];
    message = `Apply failed with 1 conflict: conflict with ${describeManager(c.entry)}: ${printPath(splitPath(c.path))}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const m = describeManager(c.entry);
      byManager.set(m, [...(byManager.get(m) ?? []), printPath(splitPath(c.path))]);
    }
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${m}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/** Drops nulls: in an applied configuration a null sets nothing. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) setOwn(out, k, withoutNulls(x));
    return out;
  }
  return v;
}

/** Merges an applied configuration into the live object, list items by their keys. */
export function mergeApplied(live: unknown, applied: unknown, schema: TSchema | undefined): unknown {
  const atomic = schema?.['x-kubernetes-map-type'] === 'atomic';
  if (typeof applied === 'object' && applied !== null && !Array.isArray(applied) && !atomic) {
    const out: Record<string, unknown> =
      typeof live === 'object' && live !== null && !Array.isArray(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied))
      setOwn(out, k, mergeApplied(own(out, k), v, childSchema(schema, k)));
    return out;
  }
  if (Array.isArray(applied) && Array.isArray(live)) {
    const type = schema?.['x-kubernetes-list-type'];
    const keys = schema?.['x-kubernetes-list-map-keys'] as string[] | undefined;
    const items = itemSchema(schema);
    if (type === 'map' && keys) {
      // Items found through a map by key: a long list stays linear.
      const out = [...live];
      const at = new Map<string, number>();
      const index = (x: unknown, i: number) => {
        const key = itemKey(x, keys, items);
        if (key !== undefined && !at.has(key)) at.set(key, i);
      };
      out.forEach(index);
      for (const item of applied) {
        const key = itemKey(item, keys, items);
        const i = key === undefined ? undefined : at.get(key);
        if (i !== undefined) out[i] = mergeApplied(out[i], item, items);
        else {
          out.push(structuredClone(item));
          index(item, out.length - 1);
        }
      }
      return out;
    }
    if (type === 'set') {
      const seen = new Set(live.map((x) => JSON.stringify(x)));
      return [...live, ...applied.filter((x) => !seen.has(JSON.stringify(x)))];
    }
  }
  return structuredClone(applied);
}

export interface ApplyRequest {
  schema: TSchema;
  /** The stored object, or undefined when apply creates it. */
  live: KubeObject | undefined;
  applied: KubeObject;
  writer: Writer;
  force: boolean;
}

/**
 * Server-side apply: the object `applied` makes of `live`, with its
 * managedFields. Throws a 409 listing every conflict unless forced.
 */
export function serverSideApply({ schema, live, applied, writer, force }: ApplyRequest): KubeObject {
  const config = withoutNulls(applied) as KubeObject;
  if (config.metadata) delete config.metadata.managedFields;
  const appliedSet = withoutMapNodes(ownable(fieldsOf(config, schema), writer));
  const entries = structuredClone((live?.metadata.managedFields ?? []) as ManagedFieldsEntry[]);
  const prev = entries.find((e) => sameEntry(e, writer.manager, 'Apply', writer.subresource));
  const conflicts: Conflict[] = [];
  const inLive = lookupIn(live, schema);
  const inConfig = lookupIn(config, schema);
  for (const e of entries) {
    if (e === prev) continue;
    for (const p of entrySet(e)) {
      if (!appliedSet.has(p) || isItself(p)) continue;
      const path = splitPath(p);
      if (stableJson(inLive(path)) !== stableJson(inConfig(path))) conflicts.push({ entry: e, path: p });
    }
  }
  if (conflicts.length > 0 && !force) throw conflictError(conflicts);
  const obj = mergeApplied(live ?? {}, config, schema) as KubeObject;
  const lost = conflicts.map((c) => c.path);
  const updated = new Map<ManagedFieldsEntry, ManagedFieldsEntry>();
  for (const e of entries) if (e !== prev) updated.set(e, withSet(e, minus(entrySet(e), lost)));
  const ownedByOthers = new Set([...updated.values()].flatMap((e) => [...entrySet(e)]));
  // A map node an older entry may hold is no field of its own: dropping it must not drop the map.
  const dropped = prev
    ? [...withoutMapNodes(entrySet(prev))].filter((p) => !appliedSet.has(p) && !ownedByOthers.has(p))
    : [];
  removeAll(
    obj,
    dropped.map((p) => splitPath(p)),
    schema,
  );
  const unchanged = prev && sameSet(entrySet(prev), appliedSet) && stableJson(obj) === stableJson(live);
  const own: ManagedFieldsEntry = {
    manager: writer.manager,
    operation: 'Apply',
    apiVersion: writer.apiVersion,
    time: unchanged && prev?.time ? prev.time : writer.now,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(appliedSet),
    ...(writer.subresource ? { subresource: writer.subresource } : {}),
  };
  // The applier's entry keeps its place; a new applier goes first.
  const out = prev ? entries.map((e) => (e === prev ? own : updated.get(e)!)) : [own, ...updated.values()];
  obj.metadata = { ...(obj.metadata ?? {}) };
  setEntries(obj, out);
  return obj;
}
