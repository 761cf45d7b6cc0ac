/**
 * Strategic merge patch, as Kubernetes applies it on the server
 * (apimachinery's strategicpatch.StrategicMergeMapPatch): maps merge key by
 * key, null deletes, and a list merges or is replaced as its schema says.
 *
 * The schema is the kind's typebox schema; a list declares its merge with
 * `x-kubernetes-patch-strategy` ("merge", "replace", optionally with
 * "retainKeys") and `x-kubernetes-patch-merge-key`, the same extensions the
 * OpenAPI document publishes, so kubectl computes its patches from the very
 * data the server applies them with. A list without a strategy is replaced.
 *
 * Directives kubectl sends: `$patch: replace|delete|merge` in maps and list
 * items, `$retainKeys`, `$setElementOrder/<list>` and
 * `$deleteFromPrimitiveList/<list>`. Pure functions: inputs are copied,
 * never changed.
 */
import type { TSchema } from '@sinclair/typebox';
import { hasOwn, own, setOwn } from '../api/plain.js';
import { newBadRequest, StatusError } from '../api/status.js';

type Json = null | boolean | number | string | Json[] | JsonMap;
type JsonMap = { [k: string]: Json };

const directive = '$patch';
const retainKeys = '$retainKeys';
const setOrderPrefix = '$setElementOrder/';
const deletePrimitivePrefix = '$deleteFromPrimitiveList/';

/** How a field of a schema is patched. */
export interface PatchMeta {
  /** 'merge' merges lists by key (or as sets of scalars); anything else replaces. */
  strategy?: string;
  mergeKey?: string;
  retainKeys: boolean;
}

function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Follows one key from an object schema: a property, a map's values, or the object member of a union. */
export function childSchema(s: TSchema | undefined, key: string): TSchema | undefined {
  if (!s) return undefined;
  if (s.properties && hasOwn(s.properties, key)) return s.properties[key] as TSchema;
  if (s.patternProperties) return Object.values(s.patternProperties as Record<string, TSchema>)[0];
  if (typeof s.additionalProperties === 'object') return s.additionalProperties as TSchema;
  if (Array.isArray(s.anyOf)) {
    for (const m of s.anyOf as TSchema[]) {
      const c = childSchema(m, key);
      if (c) return c;
    }
  }
  return undefined;
}

/** The element schema of a list schema. */
export function itemSchema(s: TSchema | undefined): TSchema | undefined {
  if (!s) return undefined;
  if (s.items && !Array.isArray(s.items)) return s.items as TSchema;
  if (Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(itemSchema).find(Boolean);
  return undefined;
}

export function patchMetaOf(s: TSchema | undefined): PatchMeta {
  const raw = s?.['x-kubernetes-patch-strategy'];
  const strategies = typeof raw === 'string' ? raw.split(',').map((x) => x.trim()) : [];
  const mergeKey = s?.['x-kubernetes-patch-merge-key'];
  return {
    strategy: strategies.find((x) => x !== 'retainKeys'),
    mergeKey: typeof mergeKey === 'string' ? mergeKey : undefined,
    retainKeys: strategies.includes('retainKeys'),
  };
}

function badPatch(message: string): StatusError {
  return newBadRequest(message);
}

function unprocessable(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

const show = (v: unknown) => JSON.stringify(v);

/**
 * Applies a strategic merge patch to `original` (an object) using `schema`
 * for list strategies. Throws a 400 Status for a malformed patch and 422 for
 * one that cannot apply (a list item without its merge key, mixed lists).
 */
export function strategicMergePatch(original: unknown, patch: unknown, schema: TSchema | undefined): unknown {
  if (!isMap(patch)) throw badPatch('strategic merge patch must be a JSON object');
  const base = isMap(original) ? (structuredClone(original) as JsonMap) : {};
  return mergeMap(base, structuredClone(patch) as JsonMap, schema);
}

function mergeMap(original: JsonMap | undefined, patch: JsonMap, schema: TSchema | undefined): JsonMap {
  if (hasOwn(patch, directive)) {
    const d = patch[directive];
    if (d === 'replace') {
      delete patch[directive];
      return removeDirectives(patch) as JsonMap;
    }
    if (d === 'delete') return {};
    throw badPatch(`unknown patch type: ${show(d)} in map: ${show(patch)}`);
  }
  const out = original ?? {};
  applyRetainKeys(out, patch);
  mergeOrderedLists(out, patch, schema);
  for (const [rawKey, patchV] of Object.entries(patch)) {
    let key = rawKey;
    let isDeleteList = false;
    if (rawKey.startsWith(deletePrimitivePrefix)) {
      key = rawKey.slice(deletePrimitivePrefix.length);
      if (!key) throw badPatch('invalid patch format of primitive list');
      isDeleteList = true;
    } else if (rawKey.startsWith('$')) {
      throw badPatch(`unknown directive ${show(rawKey)} in strategic merge patch`);
    }
    if (patchV === null) {
      delete out[key];
      continue;
    }
    if (!hasOwn(out, key)) {
      if (!isDeleteList) setStripped(out, key, patchV);
      continue;
    }
    const cur = out[key];
    if (kindOf(cur) !== kindOf(patchV)) {
      if (!isDeleteList) setStripped(out, key, patchV);
      continue;
    }
    const sub = childSchema(schema, key);
    const meta = patchMetaOf(sub);
    if (isMap(cur) && isMap(patchV)) {
      setOwn(
        out,
        key,
        meta.strategy === 'replace' ? (removeDirectives(patchV) as JsonMap) : mergeMap(cur, patchV, sub),
      );
    } else if (Array.isArray(cur) && Array.isArray(patchV)) {
      setOwn(
        out,
        key,
        meta.strategy === 'merge' || isDeleteList
          ? mergeSlice(cur, patchV, itemSchema(sub), meta.mergeKey, isDeleteList)
          : (removeDirectives(patchV) as Json[]),
      );
    } else {
      setStripped(out, key, patchV);
    }
  }
  return out;
}

type Kind = 'map' | 'list' | 'scalar' | 'null';
function kindOf(v: Json): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (isMap(v)) return 'map';
  return 'scalar';
}

/** Sets a value taken from the patch: its nulls dropped and directives removed (a directive map drops the key). */
function setStripped(out: JsonMap, key: string, v: Json): void {
  discardNulls(v);
  const stripped = removeDirectives(v);
  if (stripped === undefined) delete out[key];
  else setOwn(out, key, stripped);
}

function discardNulls(v: Json): void {
  if (Array.isArray(v)) for (const x of v) discardNulls(x);
  else if (isMap(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else discardNulls(x);
    }
  }
}

/** Removes directive maps and keys; undefined means "drop this value". */
function removeDirectives(v: Json): Json | undefined {
  if (Array.isArray(v)) {
    const out: Json[] = [];
    for (const x of v) {
      const y = removeDirectives(x);
      if (y !== undefined) out.push(y);
    }
    return out;
  }
  if (isMap(v)) {
    if (hasOwn(v, directive)) return undefined;
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$')) {
        delete v[k];
        continue;
      }
      const y = removeDirectives(x);
      if (y === undefined) delete v[k];
      else setOwn(v, k, y);
    }
  }
  return v;
}

/** `$retainKeys`: keys of the original not listed are cleared; every patched key must be listed. */
function applyRetainKeys(original: JsonMap, patch: JsonMap): void {
  if (!hasOwn(patch, retainKeys)) return;
  const list = patch[retainKeys];
  delete patch[retainKeys];
  if (!Array.isArray(list)) throw badPatch('invalid patch format of retainKeys');
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deletePrimitivePrefix) || k.startsWith(setOrderPrefix)) continue;
    if (!keep.has(k)) throw badPatch('invalid patch format of retainKeys');
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/**
 * `$setElementOrder/<list>`: merges the list it names (if patched) and then
 * orders the result: items the order names first in that order, interleaved
 * with items only the server has, which keep their live order.
 */
function mergeOrderedLists(original: JsonMap, patch: JsonMap, schema: TSchema | undefined): void {
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(setOrderPrefix)) continue;
    delete patch[key];
    const listKey = key.slice(setOrderPrefix.length);
    if (!listKey || !Array.isArray(order)) throw badPatch('invalid patch format of setElementOrder list');
    const cur = own<Json>(original, listKey);
    const patched = own<Json>(patch, listKey);
    if (cur !== undefined && !Array.isArray(cur))
      throw unprocessable(`expected a list at ${show(listKey)}, got ${show(cur)}`);
    if (patched !== undefined && patched !== null && !Array.isArray(patched))
      throw unprocessable(`expected a list at ${show(listKey)}, got ${show(patched)}`);
    const sub = childSchema(schema, listKey);
    const meta = patchMetaOf(sub);
    const origList = (cur ?? []) as Json[];
    const patchList = (patched ?? undefined) as Json[] | undefined;
    if (patchList) checkOrderMatchesPatch(patchList, order, meta.mergeKey);
    let merged: Json[];
    if (cur !== undefined && patchList === undefined) merged = origList;
    else if (cur === undefined && patchList !== undefined) merged = removeDirectives(patchList) as Json[];
    else if (cur !== undefined && patchList !== undefined)
      merged =
        meta.strategy === 'merge'
          ? mergeSlice(origList, patchList, itemSchema(sub), meta.mergeKey, false)
          : (removeDirectives(patchList) as Json[]);
    else continue;
    const ident = identity(meta.mergeKey);
    const wanted = new Set(order.map(ident));
    const inPatch = merged.filter((x) => wanted.has(ident(x)));
    const serverOnly = merged.filter((x) => !wanted.has(ident(x)));
    setOwn(original, listKey, normalizeOrder(inPatch, serverOnly, order, origList, ident));
    delete patch[listKey];
  }
}

/** The patch list must follow the order list (deletions and directives aside). */
function checkOrderMatchesPatch(patchList: Json[], order: Json[], mergeKey: string | undefined): void {
  if (patchList.length === 0 || order.length === 0) return;
  const ident = identity(mergeKey);
  const items = patchList.filter((x) => !(isMap(x) && hasOwn(x, directive)));
  let p = 0;
  for (let o = 0; p < items.length && o < order.length; o++) if (ident(items[p]) === ident(order[o])) p++;
  if (p < items.length)
    throw badPatch(
      `The order in patch list:\n${show(patchList)}\n doesn't match $setElementOrder list:\n${show(order)}`,
    );
}

/** How list items are told apart: by merge key value for maps, by value for scalars. */
function identity(mergeKey: string | undefined): (v: Json) => string {
  return mergeKey ? (v) => show(isMap(v) ? (own(v, mergeKey) ?? null) : v) : (v) => show(v);
}

function mergeSlice(
  original: Json[],
  patch: Json[],
  schema: TSchema | undefined,
  mergeKey: string | undefined,
  isDeleteList: boolean,
): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const all = [...original, ...patch];
  if (all.some(Array.isArray)) throw unprocessable('lists of lists are not supported');
  const kinds = new Set(all.map((v) => (isMap(v) ? 'map' : typeof v)));
  if (kinds.size > 1) throw unprocessable(`list element types are not identical: ${show([original, patch])}`);
  let merged: Json[];
  let patchItems: Json[] = patch;
  let base = original;
  if (!kinds.has('map')) {
    if (isDeleteList) {
      const gone = new Set(patch.map(show));
      return original.filter((v) => !gone.has(show(v)));
    }
    merged = dedupe(all);
  } else {
    if (!mergeKey) throw unprocessable('cannot merge lists without merge key');
    [base, patchItems] = applyListDirectives(original as JsonMap[], patch as JsonMap[], mergeKey);
    merged = mergeByKey(base as JsonMap[], patchItems as JsonMap[], schema, mergeKey);
  }
  const ident = identity(mergeKey && kinds.has('map') ? mergeKey : undefined);
  if (mergeKey && kinds.has('map')) requireKey([...merged, ...patchItems], mergeKey);
  const wanted = new Set(patchItems.map(ident));
  const inPatch = merged.filter((x) => wanted.has(ident(x)));
  const serverOnly = merged.filter((x) => !wanted.has(ident(x)));
  return normalizeOrder(inPatch, serverOnly, patchItems, base, ident);
}

function dedupe(list: Json[]): Json[] {
  const seen = new Set<string>();
  return list.filter((v) => {
    const k = show(v);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function requireKey(list: Json[], mergeKey: string): void {
  for (const item of list) {
    if (!isMap(item)) throw unprocessable(`expected a map, but received ${show(item)}`);
    if (!hasOwn(item, mergeKey))
      throw unprocessable(`map: ${show(item)} does not contain declared merge key: ${mergeKey}`);
  }
}

/** `$patch: delete` items remove their match; `$patch: replace` makes the patch the whole list. */
function applyListDirectives(
  original: JsonMap[],
  patch: JsonMap[],
  mergeKey: string,
): [JsonMap[], JsonMap[]] {
  const plain: JsonMap[] = [];
  let replace = false;
  const gone = new Set<string>();
  for (const item of patch) {
    if (!hasOwn(item, directive)) {
      plain.push(item);
      continue;
    }
    const d = item[directive];
    if (d === 'delete') {
      if (!hasOwn(item, mergeKey))
        throw unprocessable(`map: ${show(item)} does not contain declared merge key: ${mergeKey}`);
      gone.add(show(item[mergeKey]));
    } else if (d === 'replace') replace = true;
    else if (d === 'merge') throw badPatch('merging lists cannot yet be specified in the patch');
    else throw badPatch(`unknown patch type: ${show(d)} in map: ${show(item)}`);
  }
  // One pass with a set of deleted keys: a long list of deletions stays linear.
  const base = gone.size === 0 ? original : original.filter((x) => !gone.has(show(own(x, mergeKey) ?? null)));
  return replace ? [plain, []] : [base, plain];
}

/** Merges patch items into the items with the same merge key, found through a map: linear, not quadratic. */
function mergeByKey(original: JsonMap[], patch: JsonMap[], schema: TSchema | undefined, mergeKey: string) {
  const out: Json[] = [...original];
  const at = new Map<string, number>();
  const index = (x: Json, i: number) => {
    if (!isMap(x)) return;
    const k = show(own(x, mergeKey) ?? null);
    if (!at.has(k)) at.set(k, i);
  };
  out.forEach(index);
  for (const item of patch) {
    if (!hasOwn(item, mergeKey))
      throw unprocessable(`map: ${show(item)} does not contain declared merge key: ${mergeKey}`);
    const i = at.get(show(item[mergeKey]));
    if (i !== undefined) out[i] = mergeMap(out[i] as JsonMap, item, schema);
    else {
      discardNulls(item);
      const v = removeDirectives(item);
      if (v !== undefined) {
        out.push(v);
        index(v, out.length - 1);
      }
    }
  }
  return out;
}

/**
 * Patch items sorted by the patch order, server-only items by the live
 * order, then interleaved: a server-only item goes before the first patch
 * item that follows it in the live list (Kubernetes' mergeSortedSlice).
 */
function normalizeOrder(
  inPatch: Json[],
  serverOnly: Json[],
  patchOrder: Json[],
  serverOrder: Json[],
  ident: (v: Json) => string,
): Json[] {
  const indexIn = (list: Json[]) => {
    const m = new Map<string, number>();
    list.forEach((v, i) => {
      const k = ident(v);
      if (!m.has(k)) m.set(k, i);
    });
    return m;
  };
  const sortBy = (items: Json[], order: Map<string, number>) =>
    items
      .map((v, i) => ({ v, i, o: order.get(ident(v)) }))
      .sort((a, b) => (a.o !== undefined && b.o !== undefined ? a.o - b.o : a.i - b.i))
      .map((x) => x.v);
  const server = indexIn(serverOrder);
  const left = sortBy(serverOnly, server);
  const right = sortBy(inPatch, indexIn(patchOrder));
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = server.get(ident(left[i]));
      const ri = server.get(ident(right[j]));
      if (li !== undefined && ri !== undefined && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}
