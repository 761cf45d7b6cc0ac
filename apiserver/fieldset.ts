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
import { hasOwn, own, setOwn } from '../api/plain.js';
import { stableJson } from '../api/stable-json.js';
import { childSchema, itemSchema } from './strategic-merge.js';

export type Path = string[];
/** A set of paths, each joined with NUL. */
export type FieldSet = Set<string>;
/** The FieldsV1 trie: `{"f:spec":{"f:replicas":{}}}`. */
export type FieldsV1 = { [segment: string]: FieldsV1 };

const sep = '\u0000';
export const joinPath = (p: Path) => p.join(sep);
/** The segments of a joined path; with `limit`, only the first few. */
export const splitPath = (s: string, limit?: number): Path => (s === '' ? [] : s.split(sep, limit));
/**
 * A joined path with one more segment (paths are built as strings, not as
 * arrays copied per segment); undefined is the empty path, as `''` can be a
 * segment.
 */
const child = (joined: string | undefined, seg: string) =>
  joined === undefined ? seg : `${joined}${sep}${seg}`;
const joinedOf = (p: Path) => (p.length === 0 ? undefined : joinPath(p));

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A map-valued field (labels, data): its keys are not declared by the schema. */
function isMapSchema(s: TSchema | undefined): boolean {
  return !!s && s.type === 'object' && !s.properties && (!!s.patternProperties || !!s.additionalProperties);
}

/** The key of an item of a keyed list, its missing key fields taken from their schema default. */
export function itemKey(item: unknown, keys: string[], schema: TSchema | undefined): string | undefined {
  if (!isObj(item)) return undefined;
  const key: Obj = {};
  for (const k of keys) {
    const v = own(item, k) ?? childSchema(schema, k)?.default;
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
  walk(value, schema, joinedOf(prefix), false, out);
  return out;
}

function walk(
  v: unknown,
  s: TSchema | undefined,
  path: string | undefined,
  item: boolean,
  out: FieldSet,
): void {
  if (isObj(v) && s?.['x-kubernetes-map-type'] !== 'atomic') {
    const keys = Object.keys(v).filter((k) => v[k] !== null && v[k] !== undefined);
    if (keys.length === 0) {
      out.add(item ? child(path, '.') : (path ?? ''));
      return;
    }
    if (item || isMapSchema(s)) out.add(child(path, '.'));
    for (const k of keys) walk(v[k], childSchema(s, k), child(path, `f:${k}`), false, out);
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
          walk(x, items, child(path, segs[i]!), true, out);
        });
        return;
      }
    } else if (type === 'set' && v.every((x) => !isObj(x) && !Array.isArray(x))) {
      for (const x of v) out.add(child(path, `v:${JSON.stringify(x)}`));
      return;
    }
  }
  out.add(item ? child(path, '.') : (path ?? ''));
}

export function toFieldsV1(set: FieldSet): FieldsV1 {
  const root: FieldsV1 = {};
  for (const p of [...set].sort()) {
    let node = root;
    // Segments can come from a client's managedFields: own properties only, `__proto__` included.
    for (const seg of splitPath(p)) {
      if (!hasOwn(node, seg)) setOwn(node, seg, {});
      node = node[seg];
    }
  }
  return root;
}

export function fromFieldsV1(trie: unknown, prefix: Path = [], out: FieldSet = new Set()): FieldSet {
  addPaths(trie, joinedOf(prefix), out);
  return out;
}

function addPaths(trie: unknown, prefix: string | undefined, out: FieldSet): void {
  if (!isObj(trie)) return;
  for (const [seg, next] of Object.entries(trie)) {
    const path = child(prefix, seg);
    if (seg === '.' || !isObj(next) || Object.keys(next).length === 0) out.add(path);
    else addPaths(next, path, out);
  }
}

/** Finds the value a path names in an object, or undefined. A `.` names the item itself. */
export function valueAt(obj: unknown, path: Path, schema: TSchema | undefined): unknown {
  return lookupIn(obj, schema)(path);
}

/** How the items of a list are named by one kind of segment: `v:`, or `k:` with one set of key fields. */
interface Namer {
  id: string;
  name: (item: unknown) => string | undefined;
}

function namerFor(seg: string, s: TSchema | undefined): Namer | undefined {
  if (seg.startsWith('v:'))
    return {
      id: 'v',
      name: (x) => {
        const json = JSON.stringify(x);
        return json === undefined ? undefined : `v:${json}`;
      },
    };
  if (!seg.startsWith('k:')) return undefined;
  const keys = listKeys(s) ?? keysOf(seg.slice(2));
  if (!keys) return undefined;
  const items = itemSchema(s);
  return { id: `k:${JSON.stringify(keys)}`, name: (x) => itemKey(x, keys, items) };
}

/**
 * Positions of a list's items by the segments that name them, the first
 * item of each name, built once per list and kind of segment. Looking up
 * each item of a list by scanning it made recording the fields of an object
 * with 8000 ownerReferences take tens of seconds: every write to it a
 * denial of service.
 */
function listIndex(): (list: unknown[], seg: string, s: TSchema | undefined) => number | undefined {
  const built = new Map<unknown[], Map<string, Map<string, number>>>();
  return (list, seg, s) => {
    const namer = namerFor(seg, s);
    if (!namer) return undefined;
    let byNamer = built.get(list);
    if (!byNamer) {
      byNamer = new Map();
      built.set(list, byNamer);
    }
    let at = byNamer.get(namer.id);
    if (!at) {
      at = new Map();
      for (let i = 0; i < list.length; i++) {
        const name = namer.name(list[i]);
        if (name !== undefined && !at.has(name)) at.set(name, i);
      }
      byNamer.set(namer.id, at);
    }
    return at.get(seg);
  };
}

/**
 * Looks up many paths in one object, each list indexed once, so that
 * looking up every path of an object is linear in its size. The object must
 * not change while the lookup is in use.
 */
export function lookupIn(obj: unknown, schema: TSchema | undefined): (path: Path) => unknown {
  const positionOf = listIndex();
  return (path) => {
    let cur: unknown = obj;
    let s = schema;
    for (const seg of path) {
      if (seg === '.') return cur;
      if (seg.startsWith('f:')) {
        if (!isObj(cur)) return undefined;
        cur = own(cur, seg.slice(2));
        s = childSchema(s, seg.slice(2));
      } else if (seg.startsWith('k:') || seg.startsWith('v:')) {
        if (!Array.isArray(cur)) return undefined;
        const i = positionOf(cur, seg, s);
        cur = i === undefined ? undefined : cur[i];
        if (seg.startsWith('k:')) s = itemSchema(s);
      } else return undefined;
      if (cur === undefined) return undefined;
    }
    return cur;
  };
}

/**
 * Removes what a path names from an object, in place. A list or map that
 * this leaves empty goes too, as Kubernetes removes fields on apply.
 */
export function removeAt(obj: unknown, path: Path, schema: TSchema | undefined): void {
  removeAll(obj, [path], schema);
}

/** Paths to remove as a tree: `removes` marks a path in the set. */
interface Trie {
  removes: boolean;
  children: Map<string, Trie>;
}

/**
 * Removes what each path names from an object, in place, in one walk of the
 * object and the paths together (removing them one by one looked each up
 * from the root and spliced its list: quadratic in a list's length). A `.`
 * names the item or map before it. An object left empty by a removal goes
 * too below the top level (an emptied `metadata` or `spec` stays), as does
 * a list left empty, and a list item left empty when it is still named by
 * its segment. In a list whose items share a name only the first is named.
 */
export function removeAll(obj: unknown, paths: Iterable<Path>, schema: TSchema | undefined): void {
  const root: Trie = { removes: false, children: new Map() };
  for (const path of paths) {
    let t = root;
    for (const seg of path) {
      if (seg === '.') continue;
      let next = t.children.get(seg);
      if (!next) {
        next = { removes: false, children: new Map() };
        t.children.set(seg, next);
      }
      t = next;
    }
    if (t !== root) t.removes = true;
  }
  prune(obj, root, schema, 0, listIndex());
}

/** Removes what `t` marks under `v` (at path length `depth`); true when that left `v` empty and it goes too. */
function prune(
  v: unknown,
  t: Trie,
  s: TSchema | undefined,
  depth: number,
  positionOf: ReturnType<typeof listIndex>,
): boolean {
  if (isObj(v)) {
    let deleted = false;
    for (const [seg, child] of t.children) {
      const f = seg.slice(2);
      if (!seg.startsWith('f:') || !hasOwn(v, f)) continue;
      if (child.removes || prune(v[f], child, childSchema(s, f), depth + 1, positionOf)) {
        delete v[f];
        deleted = true;
      }
    }
    return deleted && depth > 1 && Object.keys(v).length === 0;
  }
  if (!Array.isArray(v)) return false;
  const gone = new Set<number>();
  const items = itemSchema(s);
  for (const [seg, child] of t.children) {
    const i = positionOf(v, seg, s);
    if (i === undefined || gone.has(i)) continue;
    if (child.removes) gone.add(i);
    else if (prune(v[i], child, seg.startsWith('k:') ? items : s, depth + 1, positionOf)) {
      if (namerFor(seg, s)?.name(v[i]) === seg) gone.add(i);
    }
  }
  if (gone.size === 0) return false;
  let kept = 0;
  for (let i = 0; i < v.length; i++) if (!gone.has(i)) v[kept++] = v[i];
  v.length = kept;
  return kept === 0;
}

/** The field names of a `k:` segment's JSON, or undefined when a stored segment is not a JSON object. */
function keysOf(json: string): string[] | undefined {
  try {
    const v: unknown = JSON.parse(json);
    return isObj(v) ? Object.keys(v) : undefined;
  } catch {
    return undefined;
  }
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
