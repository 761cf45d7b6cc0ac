/**
 * The checks Kubernetes runs on a custom object beside the OpenAPI
 * validation: embedded resources (apiextensions-apiserver
 * schema/objectmeta/validation.go) and `x-kubernetes-list-type` set/map
 * uniqueness (schema/listtype/validation.go). Paths are field.Path strings
 * (`spec.template.metadata.name`, `spec.ports[1]`, `spec.labels[key]`).
 */
import type { ObjectMeta } from '../../api/meta.js';
import { isPlainObject } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';
import {
  child,
  duplicateError,
  index,
  invalidError,
  isDNS1035Label,
  requiredError,
  validateObjectMeta,
} from '../../api/validation.js';
import type { Found, SchemaNode } from './structural-node.js';
import { canonical, kindOf } from './structural-values.js';

/** The fields of ObjectMeta; anything else under an embedded resource's metadata is pruned. */
export const objectMetaFields: ReadonlySet<string> = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

const goType: Record<string, string> = {
  string: 'string',
  integer: 'number',
  number: 'number',
  boolean: 'bool',
  array: 'array',
  object: 'object',
  null: 'null',
};

/** Decoding metadata into ObjectMeta, as encoding/json would complain; '' when it decodes. */
function objectMetaDecodeError(meta: unknown): string {
  if (meta === null) return '';
  if (!isPlainObject(meta))
    return `json: cannot unmarshal ${goType[kindOf(meta)]} into Go value of type v1.ObjectMeta`;
  for (const k of ['name', 'generateName', 'namespace', 'uid', 'resourceVersion']) {
    const v = Object.hasOwn(meta, k) ? meta[k] : undefined;
    if (v !== undefined && v !== null && typeof v !== 'string')
      return `json: cannot unmarshal ${goType[kindOf(v)]} into Go struct field ObjectMeta.${k} of type string`;
  }
  for (const k of ['labels', 'annotations']) {
    const v = Object.hasOwn(meta, k) ? meta[k] : undefined;
    if (v === undefined || v === null) continue;
    if (!isPlainObject(v))
      return `json: cannot unmarshal ${goType[kindOf(v)]} into Go struct field ObjectMeta.${k} of type map[string]string`;
    for (const x of Object.values(v))
      if (typeof x !== 'string' && x !== null)
        return `json: cannot unmarshal ${goType[kindOf(x)]} into Go struct field ObjectMeta.${k} of type string`;
  }
  return '';
}

/** validateEmbeddedResource: apiVersion and kind present and well formed, metadata a valid ObjectMeta. */
export function checkEmbedded(x: Record<string, unknown>, fpath: string, f: Found): void {
  const errs = f.embedded;
  if (!Object.hasOwn(x, 'apiVersion')) errs.push(requiredError(child(fpath, 'apiVersion')));
  if (!Object.hasOwn(x, 'kind')) errs.push(requiredError(child(fpath, 'kind')));
  if (Object.hasOwn(x, 'apiVersion')) {
    const v = x.apiVersion;
    const p = child(fpath, 'apiVersion');
    if (typeof v !== 'string') errs.push(invalidError(p, v ?? 'null', 'must be a string'));
    else if (v === '') errs.push(invalidError(p, v, 'must not be empty'));
    else if (v.split('/').length > 2) errs.push(invalidError(p, v, `unexpected GroupVersion string: ${v}`));
  }
  if (Object.hasOwn(x, 'kind')) {
    const v = x.kind;
    const p = child(fpath, 'kind');
    if (typeof v !== 'string') errs.push(invalidError(p, v ?? 'null', 'must be a string'));
    else if (v === '') errs.push(invalidError(p, v, 'must not be empty'));
    else {
      const problems = isDNS1035Label(v.toLowerCase());
      if (problems.length > 0)
        errs.push(
          invalidError(p, v, `may have mixed case, but should otherwise match: ${problems.join(',')}`),
        );
    }
  }
  if (Object.hasOwn(x, 'metadata')) {
    const meta = x.metadata;
    const p = child(fpath, 'metadata');
    const problem = objectMetaDecodeError(meta);
    if (problem) errs.push(invalidError(p, meta, problem));
    else if (isPlainObject(meta)) {
      const m = { ...(meta as ObjectMeta) };
      if (!m.name) m.name = 'fakename';
      for (const e of validateObjectMeta(m, { namespaced: Boolean(m.namespace), isCreate: true }))
        errs.push({ ...e, field: p + e.field.slice('metadata'.length) });
    }
  }
}

const unspecified = '\u0000unspecified';

/** The positions whose value was seen once before (only the second sighting is reported, as Kubernetes does). */
function secondSightings(keys: string[]): number[] {
  const seen = new Map<string, number>();
  const out: number[] = [];
  keys.forEach((k, i) => {
    const times = seen.get(k) ?? 0;
    if (times === 1) out.push(i);
    seen.set(k, times + 1);
  });
  return out;
}

/** x-kubernetes-list-type set (no duplicate items) and map (no duplicate keys). */
export function checkListType(s: SchemaNode, a: unknown[], fpath: string, f: Found): void {
  const errs: FieldError[] = f.lists;
  if (s.listType === 'set') {
    if (a.length <= 1) return;
    for (const i of secondSightings(a.map((x) => canonical(x))))
      errs.push(duplicateError(index(fpath, i), a[i]));
    return;
  }
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== null && !isPlainObject(a[i])) {
      errs.push(invalidError(index(fpath, i), a[i], 'must be an object for an array of list-type map'));
      return;
    }
  }
  if (a.length <= 1) return;
  const keyOf = (x: unknown): Record<string, unknown> => {
    const key: Record<string, unknown> = {};
    if (!isPlainObject(x)) return key;
    for (const k of s.listMapKeys) if (Object.hasOwn(x, k)) key[k] = x[k];
    return key;
  };
  const keys = a.map(keyOf);
  const texts = keys.map((k) =>
    s.listMapKeys.length === 1 && !Object.hasOwn(k, s.listMapKeys[0]) ? unspecified : canonical(k),
  );
  for (const i of secondSightings(texts)) errs.push(duplicateError(index(fpath, i), keys[i]));
}

/** uniqueItems (kube-openapi's UniqueItems, by value). */
export function hasDuplicates(a: unknown[]): boolean {
  const seen = new Set<string>();
  for (const x of a) {
    const k = canonical(x);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}
