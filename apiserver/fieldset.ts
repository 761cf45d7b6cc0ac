/**
 * Field sets for server-side apply: which fields of an object a value sets,
 * in the FieldsV1 form Kubernetes stores in `metadata.managedFields`.
 *
 * A path is a list of segments as FieldsV1 spells them: `f:<field>`,
 * `k:<json of the key fields>` for an item of a keyed list, `v:<json>` for a
 * value of a set list, and `.` for a list item (or a map) itself. A set holds
 * the paths that are owned: leaves, and the `.` of every item and map. The
 * schema's `x-kubernetes-list-type` and `x-kubernetes-list-map-keys` say how
 * a list is split; a list without them is atomic (one leaf), as is a struct
 * marked `x-kubernetes-map-type: atomic` (a label selector).
 */
import type { TSchema } from '@sinclair/typebox';
import { childSchema, itemSchema } from './strategic-merge.js';

export type Path = string[];
/** A set of paths, each joined with NUL. */
export type FieldSet = Set<string>;
/** The FieldsV1 trie: `{"f:spec":{"f:replicas":{}}}`. */
export type FieldsV1 = { [segment: string]: FieldsV1 };

const sep = '\u0000';
export const joinPath = (p: Path) => p.join(sep);
export const splitPath = (s: string): Path => (s === '' ? [] : s.split(sep));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON with object keys sorted, so equal values compare equal. */
export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (isObj(v))
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** A map-valued field (labels, data): its keys are not declared by the schema. */
function isMapSchema(s: TSchema | undefined): boolean {
  return !!s && s.type === 'object' && !s.properties && (!!s.patternProperties || !!s.additionalProperties);
}

/** The key of an item of a keyed list, its missing key fields taken from their schema default. */
export function itemKey(item: unknown, keys: string[], schema: TSchema | undefined): string | undefined {
  if (!isObj(item)) return undefined;
  const key: Obj = {};
  for (const k of keys) {
    const v = item[k] ?? childSchema(schema, k)?.default;
    if (v === undefined) continue;
    key[k] = v;
  }
  if (Object.keys(key).length === 0) return undefined;
  return `k:${stableJson(key)}`;
}

function listKeys(s: TSchema | undefined): string[] | undefined {
  const keys = s?.['x-kubernetes-list-map-keys'];
  return s?.['x-kubernetes-list-type'] === 'map' && Array.isArray(keys) ? (keys as string[]) : undefined;
}

/** Every path `value` sets, under `prefix`. */
export function fieldsOf(value: unknown, schema: TSchema | undefined, prefix: Path = []): FieldSet {
  const out: FieldSet = new Set();
  walk(value, schema, prefix, false, out);
  return out;
}

function walk(v: unknown, s: TSchema | undefined, path: Path, item: boolean, out: FieldSet): void {
  if (isObj(v) && s?.['x-kubernetes-map-type'] !== 'atomic') {
    const keys = Object.keys(v).filter((k) => v[k] !== null && v[k] !== undefined);
    if (keys.length === 0) {
      out.add(joinPath(item ? [...path, '.'] : path));
      return;
    }
    if (item || isMapSchema(s)) out.add(joinPath([...path, '.']));
    for (const k of keys) walk(v[k], childSchema(s, k), [...path, `f:${k}`], false, out);
    return;
  }
  if (Array.isArray(v) && v.length > 0) {
    const type = s?.['x-kubernetes-list-type'];
    const items = itemSchema(s);
    const keys = listKeys(s);
    if (keys) {
      const segs = v.map((x) => itemKey(x, keys, items));
      if (segs.every((x) => x !== undefined) && new Set(segs).size === segs.length) {
        v.forEach((x, i) => {
          walk(x, items, [...path, segs[i]!], true, out);
        });
        return;
      }
    } else if (type === 'set' && v.every((x) => !isObj(x) && !Array.isArray(x))) {
      for (const x of v) out.add(joinPath([...path, `v:${JSON.stringify(x)}`]));
      return;
    }
  }
  out.add(joinPath(item ? [...path, '.'] : path));
}

export function toFieldsV1(set: FieldSet): FieldsV1 {
  const root: FieldsV1 = {};
  for (const p of [...set].sort()) {
    let node = root;
    for (const seg of splitPath(p)) {
      node[seg] ??= {};
      node = node[seg];
    }
  }
  return root;
}

export function fromFieldsV1(trie: unknown, prefix: Path = [], out: FieldSet = new Set()): FieldSet {
  if (!isObj(trie)) return out;
  for (const [seg, child] of Object.entries(trie)) {
    const path = [...prefix, seg];
    if (seg === '.' || !isObj(child) || Object.keys(child).length === 0) out.add(joinPath(path));
    else fromFieldsV1(child, path, out);
  }
  return out;
}

/** Finds the value a path names in an object, or undefined. A `.` names the item itself. */
export function valueAt(obj: unknown, path: Path, schema: TSchema | undefined): unknown {
  let cur: unknown = obj;
  let s = schema;
  for (const seg of path) {
    if (seg === '.') return cur;
    if (seg.startsWith('f:')) {
      if (!isObj(cur)) return undefined;
      cur = cur[seg.slice(2)];
      s = childSchema(s, seg.slice(2));
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return undefined;
      const keys = listKeys(s) ?? Object.keys(JSON.parse(seg.slice(2)));
      const items = itemSchema(s);
      cur = cur.find((x) => itemKey(x, keys, items) === seg);
      s = items;
    } else if (seg.startsWith('v:')) {
      if (!Array.isArray(cur)) return undefined;
      const want = seg.slice(2);
      cur = cur.find((x) => JSON.stringify(x) === want);
    } else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/**
 * Removes what a path names from an object, in place. A list or map that
 * this leaves empty goes too, as Kubernetes removes fields on apply.
 */
export function removeAt(obj: unknown, path: Path, schema: TSchema | undefined): void {
  const target = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  if (target.length === 0) return;
  const last = target[target.length - 1];
  const parentPath = target.slice(0, -1);
  const parent = valueAt(obj, parentPath, schema);
  if (last.startsWith('f:')) {
    if (!isObj(parent) || !(last.slice(2) in parent)) return;
    delete parent[last.slice(2)];
    if (Object.keys(parent).length === 0 && parentPath.length > 1) removeAt(obj, parentPath, schema);
    return;
  }
  if (!Array.isArray(parent)) return;
  const i = parent.indexOf(valueAt(obj, target, schema));
  if (i < 0) return;
  parent.splice(i, 1);
  if (parent.length === 0) removeAt(obj, parentPath, schema);
}

/** `.spec.template.spec.containers[name="app"].image`, as Kubernetes prints a conflicting field. */
export function printPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (seg === '.') continue;
    if (seg.startsWith('f:')) out += `.${seg.slice(2)}`;
    else if (seg.startsWith('k:')) {
      const key = JSON.parse(seg.slice(2)) as Obj;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    } else if (seg.startsWith('v:')) out += `[=${seg.slice(2)}]`;
  }
  return out;
}
