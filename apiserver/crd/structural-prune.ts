/**
 * Structural defaulting and pruning, in place on a decoded object
 * (apiextensions-apiserver schema/defaulting/algorithm.go and prunenulls.go,
 * schema/pruning/algorithm.go). Keys are read as own properties and written
 * with setOwn, so a `__proto__` key is data.
 */
import { hasOwn, isPlainObject, maxObjectDepth, setOwn } from '../../api/plain.js';
import { objectMetaFields } from './structural-lists.js';
import { SchemaNode } from './structural-node.js';

// ---------------------------------------------------------------------------
// Defaulting (schema/defaulting/algorithm.go)

/** The nodes with a default at or below them: the defaulter skips every other subtree. */
export function markDefaults(root: SchemaNode): Set<SchemaNode> {
  const marked = new Set<SchemaNode>();
  const visit = (n: SchemaNode): boolean => {
    let any = n.hasDefault;
    for (const p of n.properties?.values() ?? []) any = visit(p) || any;
    if (n.additional instanceof SchemaNode) any = visit(n.additional) || any;
    if (n.items) any = visit(n.items) || any;
    if (any) marked.add(n);
    return any;
  };
  visit(root);
  return marked;
}

const nonNullableNull = (x: unknown, s: SchemaNode | undefined): boolean =>
  x === null && s !== undefined && !s.nullable;

export function applyDefaults(x: unknown, s: SchemaNode, marked: Set<SchemaNode>): void {
  if (Array.isArray(x)) {
    const items = s.items;
    if (!items || !marked.has(items)) return;
    for (let i = 0; i < x.length; i++) {
      if (nonNullableNull(x[i], items) && items.hasDefault) x[i] = items.defaultCopy();
      applyDefaults(x[i], items, marked);
    }
    return;
  }
  if (!isPlainObject(x)) return;
  if (s.properties) {
    for (const [k, prop] of s.properties) {
      if (!marked.has(prop)) continue;
      if (prop.hasDefault && (!hasOwn(x, k) || nonNullableNull(x[k], prop))) setOwn(x, k, prop.defaultCopy());
      if (hasOwn(x, k)) applyDefaults(x[k], prop, marked);
    }
  }
  const add = s.additional;
  if (add instanceof SchemaNode && marked.has(add)) {
    for (const k of Object.keys(x)) {
      if (s.properties?.has(k)) continue;
      if (nonNullableNull(x[k], add) && add.hasDefault) setOwn(x, k, add.defaultCopy());
      applyDefaults(x[k], add, marked);
    }
  }
}

// ---------------------------------------------------------------------------
// Pruning (schema/pruning/algorithm.go, defaulting/prunenulls.go)

const metaFields = new Set(['apiVersion', 'kind', 'metadata']);
const join = (path: string, k: string) => (path ? `${path}.${k}` : k);

export function prune(
  x: unknown,
  s: SchemaNode | undefined,
  path: string,
  out: string[],
  root: boolean,
  depth: number,
): void {
  if (depth > maxObjectDepth) return;
  if (s?.preserveUnknown) {
    skipPrune(x, s, path, out, root, depth);
    return;
  }
  if (Array.isArray(x)) {
    for (let i = 0; i < x.length; i++) prune(x[i], s?.items, `${path}[${i}]`, out, false, depth + 1);
    return;
  }
  if (!isPlainObject(x)) return;
  const embedded = root || s?.embedded === true;
  for (const k of Object.keys(x)) {
    if (s && embedded && metaFields.has(k)) {
      if (k === 'metadata' && !root) pruneObjectMeta(x[k], join(path, k), out);
      continue;
    }
    const prop = s?.properties?.get(k);
    if (prop) prune(x[k], prop, join(path, k), out, false, depth + 1);
    else if (s && s.additional !== undefined) {
      prune(
        x[k],
        s.additional instanceof SchemaNode ? s.additional : undefined,
        join(path, k),
        out,
        false,
        depth + 1,
      );
    } else {
      if (!metaFields.has(k) || path) out.push(join(path, k));
      delete x[k];
    }
  }
}

/** Under x-kubernetes-preserve-unknown-fields: unknown fields stay, known ones are pruned by their schema. */
function skipPrune(
  x: unknown,
  s: SchemaNode,
  path: string,
  out: string[],
  root: boolean,
  depth: number,
): void {
  if (Array.isArray(x)) {
    const items = s.items;
    if (items)
      for (let i = 0; i < x.length; i++) skipPrune(x[i], items, `${path}[${i}]`, out, false, depth + 1);
    return;
  }
  if (!isPlainObject(x)) return;
  for (const k of Object.keys(x)) {
    if ((root || s.embedded) && metaFields.has(k)) {
      if (k === 'metadata' && !root) pruneObjectMeta(x[k], join(path, k), out);
      continue;
    }
    const prop = s.properties?.get(k);
    if (prop) prune(x[k], prop, join(path, k), out, false, depth + 1);
    else if (s.additional instanceof SchemaNode)
      prune(x[k], s.additional, join(path, k), out, false, depth + 1);
  }
}

/** An embedded resource's metadata keeps only ObjectMeta's fields (objectmeta.Coerce dropping unknown ones). */
function pruneObjectMeta(meta: unknown, path: string, out: string[]): void {
  if (!isPlainObject(meta)) return;
  for (const k of Object.keys(meta)) {
    if (objectMetaFields.has(k)) continue;
    out.push(join(path, k));
    delete meta[k];
  }
}

/** PruneNonNullableNullsWithoutDefaults: a null where the schema allows none and has no default is dropped. */
export function pruneNulls(x: unknown, s: SchemaNode | undefined, depth: number): void {
  if (!s || depth > maxObjectDepth) return;
  if (Array.isArray(x)) {
    if (s.items) for (const v of x) pruneNulls(v, s.items, depth + 1);
    return;
  }
  if (!isPlainObject(x)) return;
  const add = s.additional instanceof SchemaNode ? s.additional : undefined;
  if (!add) {
    if (!s.properties) return;
    for (const [k, prop] of s.properties) {
      if (!hasOwn(x, k)) continue;
      if (x[k] === null && !prop.nullable && !prop.hasDefault) delete x[k];
      else pruneNulls(x[k], prop, depth + 1);
    }
    return;
  }
  for (const k of Object.keys(x)) {
    const sub = s.properties?.get(k) ?? add;
    if (x[k] === null && !sub.nullable && !sub.hasDefault) delete x[k];
    else pruneNulls(x[k], sub, depth + 1);
  }
}
