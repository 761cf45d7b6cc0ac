/**
 * The rules of a structural schema (apiextensions-apiserver apiserver/schema
 * ValidateStructural): the invariants (validation.go), such as a type on
 * every specified field and root metadata limited to name and generateName,
 * and completeness (complete.go): every field that a value validation under
 * allOf/anyOf/oneOf/not names is specified in the structural part too.
 */
import { own } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';
import { child, forbiddenError, invalidError, key, requiredError } from '../../api/validation.js';
import { compilePattern } from './structural-compile.js';
import { deepEqual, obj, type Raw, str } from './structural-values.js';

const forbiddenInNested: [string, string, (v: unknown) => boolean][] = [
  ['type', 'must be empty to be structural', (v) => Boolean(v)],
  ['default', 'must be undefined to be structural', (v) => v !== undefined && v !== null],
  ['title', 'must be empty to be structural', (v) => Boolean(v)],
  ['description', 'must be empty to be structural', (v) => Boolean(v)],
  ['nullable', 'must be false to be structural', (v) => v === true],
  ['x-kubernetes-preserve-unknown-fields', 'must be false to be structural', (v) => v === true],
  ['x-kubernetes-embedded-resource', 'must be false to be structural', (v) => v === true],
  ['x-kubernetes-int-or-string', 'must be false to be structural', (v) => v === true],
  ['x-kubernetes-list-map-keys', 'must be empty to be structural', (v) => Array.isArray(v) && v.length > 0],
  ['x-kubernetes-list-type', 'must be undefined to be structural', (v) => v !== undefined && v !== null],
  ['x-kubernetes-map-type', 'must be undefined to be structural', (v) => v !== undefined && v !== null],
  ['x-kubernetes-validations', 'must be empty to be structural', (v) => Array.isArray(v) && v.length > 0],
];

const isIntOrStringAnyOf = (v: unknown): boolean =>
  Array.isArray(v) &&
  v.length === 2 &&
  deepEqual(v[0], { type: 'integer' }) &&
  deepEqual(v[1], { type: 'string' });

/** Appends to errs where s (at path, on level lvl) breaks a structural schema's invariants. */
export function invariants(s: Raw, lvl: 'root' | 'item' | 'field', path: string, errs: FieldError[]): void {
  const type = str(own(s, 'type'));
  const items = obj(own(s, 'items'));
  const props = obj(own(s, 'properties'));
  const add = own(s, 'additionalProperties');
  const embedded = own(s, 'x-kubernetes-embedded-resource') === true;
  const intOrString = own(s, 'x-kubernetes-int-or-string') === true;
  const preserve = own(s, 'x-kubernetes-preserve-unknown-fields') === true;
  if (type === 'array' && !items) errs.push(requiredError(child(path, 'items'), 'must be specified'));
  if (items) invariants(items, 'item', child(path, 'items'), errs);
  for (const [k, v] of Object.entries(props ?? {}))
    if (obj(v)) invariants(obj(v)!, 'field', key(child(path, 'properties'), k), errs);
  if (add !== undefined && add !== null) {
    if (lvl === 'root')
      errs.push(forbiddenError(child(path, 'additionalProperties'), 'must not be used at the root'));
    if (obj(add)) invariants(obj(add)!, 'field', child(path, 'additionalProperties'), errs);
  }
  if (intOrString && preserve)
    errs.push(
      invalidError(
        child(path, 'x-kubernetes-preserve-unknown-fields'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  if (intOrString && embedded)
    errs.push(
      invalidError(
        child(path, 'x-kubernetes-embedded-resource'),
        true,
        'must be false if x-kubernetes-int-or-string is true',
      ),
    );
  valueValidation(s, isIntOrStringAnyOf(own(s, 'anyOf')), isFirstAllOfIntOrString(s), lvl, path, errs);
  const checkMetadata = lvl === 'root' || embedded;
  if (embedded && type !== 'object') {
    if (!type)
      errs.push(
        requiredError(child(path, 'type'), 'must be object if x-kubernetes-embedded-resource is true'),
      );
    else
      errs.push(
        invalidError(child(path, 'type'), type, 'must be object if x-kubernetes-embedded-resource is true'),
      );
  } else if (!type && !intOrString && !preserve) {
    const why = {
      root: 'must not be empty at the root',
      item: 'must not be empty for specified array items',
      field: 'must not be empty for specified object fields',
    }[lvl];
    errs.push(requiredError(child(path, 'type'), why));
  }
  if (embedded && add !== undefined && add !== null)
    errs.push(
      forbiddenError(
        child(path, 'additionalProperties'),
        'must not be used if x-kubernetes-embedded-resource is set',
      ),
    );
  if (lvl === 'root' && type && type !== 'object')
    errs.push(invalidError(child(path, 'type'), type, 'must be object at the root'));
  for (const k of ['kind', 'apiVersion']) {
    const p = obj(props?.[k]);
    if (p && checkMetadata && str(own(p, 'type')) !== 'string')
      errs.push(
        invalidError(`${key(child(path, 'properties'), k)}.type`, str(own(p, 'type')), 'must be string'),
      );
  }
  const meta = obj(props?.metadata);
  if (meta) metadataInvariants(meta, checkMetadata, lvl, key(child(path, 'properties'), 'metadata'), errs);
  if (embedded && !preserve && Object.keys(props ?? {}).length === 0)
    errs.push(
      requiredError(
        child(path, 'properties'),
        'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields',
      ),
    );
}

function isFirstAllOfIntOrString(s: Raw): boolean {
  const allOf = own(s, 'allOf');
  return (
    Array.isArray(allOf) &&
    allOf.length >= 1 &&
    isIntOrStringAnyOf(obj(allOf[0]) && own(obj(allOf[0])!, 'anyOf'))
  );
}

function metadataInvariants(
  s: Raw,
  checkMetadata: boolean,
  lvl: string,
  path: string,
  errs: FieldError[],
): void {
  const type = str(own(s, 'type'));
  if (checkMetadata && type !== 'object')
    errs.push(invalidError(child(path, 'type'), type, 'must be object'));
  if (lvl !== 'root') return;
  // Only name and generateName may be restricted; type and default are checked elsewhere.
  const rest = Object.keys(s).filter((k) => k !== 'type' && k !== 'default');
  const props = obj(own(s, 'properties'));
  const propKeys = Object.keys(props ?? {});
  const onlyNames = propKeys.every((k) => k === 'name' || k === 'generateName');
  const clean = rest.every((k) => k === 'properties' && onlyNames && propKeys.length > 0);
  if (!clean)
    errs.push(
      forbiddenError(
        path,
        'must not specify anything other than name and generateName, but metadata is implicitly specified',
      ),
    );
}

const valueValidationKeys = ['not', 'allOf', 'anyOf', 'oneOf'] as const;

function valueValidation(
  s: Raw,
  skipAnyOf: boolean,
  skipFirstAllOfAnyOf: boolean,
  lvl: string,
  path: string,
  errs: FieldError[],
): void {
  const each = (k: string, fn: (v: Raw, p: string, i: number) => void) => {
    const list = own(s, k);
    if (Array.isArray(list))
      list.forEach((v, i) => {
        if (obj(v)) fn(obj(v)!, `${child(path, k)}[${i}]`, i);
      });
  };
  if (!skipAnyOf) each('anyOf', (v, p) => nestedValueValidation(v, false, lvl, p, errs));
  each('allOf', (v, p, i) => nestedValueValidation(v, skipFirstAllOfAnyOf && i === 0, lvl, p, errs));
  each('oneOf', (v, p) => nestedValueValidation(v, false, lvl, p, errs));
  const not = obj(own(s, 'not'));
  if (not) nestedValueValidation(not, false, lvl, child(path, 'not'), errs);
  const pattern = str(own(s, 'pattern'));
  if (pattern) {
    try {
      compilePattern(pattern);
    } catch (e) {
      errs.push(
        invalidError(
          child(path, 'pattern'),
          pattern,
          `must be a valid regular expression, but isn't: ${(e as Error).message}`,
        ),
      );
    }
  }
}

function nestedValueValidation(
  v: Raw,
  skipAnyOf: boolean,
  lvl: string,
  path: string,
  errs: FieldError[],
): void {
  valueValidation(v, skipAnyOf, false, lvl, path, errs);
  const items = obj(own(v, 'items'));
  if (items) nestedValueValidation(items, false, lvl, child(path, 'items'), errs);
  for (const [k, p] of Object.entries(obj(own(v, 'properties')) ?? {}))
    if (obj(p)) nestedValueValidation(obj(p)!, false, 'field', key(child(path, 'properties'), k), errs);
  for (const [k, why, present] of forbiddenInNested) {
    if (k === 'default' || k === 'title' || k === 'description' || k === 'nullable' || k.startsWith('x-'))
      continue;
    if (present(own(v, k))) errs.push(forbiddenError(child(path, k), why));
  }
  if (own(v, 'additionalProperties') !== undefined)
    errs.push(forbiddenError(child(path, 'additionalProperties'), 'must be undefined to be structural'));
  for (const [k, why, present] of forbiddenInNested) {
    if (k === 'type') continue;
    if (present(own(v, k))) errs.push(forbiddenError(child(path, k), why));
  }
  if (obj(own(v, 'properties'))?.metadata !== undefined)
    errs.push(
      forbiddenError(key(child(path, 'properties'), 'metadata'), 'must not be specified in a nested context'),
    );
}

/** Appends to errs each field that v's value validations name and the structural schema s lacks. */
export function completeness(
  v: Raw,
  s: Raw | undefined,
  sPath: string,
  vPath: string,
  errs: FieldError[],
): void {
  for (const k of valueValidationKeys) {
    const x = own(v, k);
    const list = k === 'not' ? (obj(x) ? [x] : []) : Array.isArray(x) ? x : [];
    list.forEach((n, i) => {
      if (!obj(n)) return;
      const p = k === 'not' ? child(vPath, 'not') : `${child(vPath, k)}[${i}]`;
      nestedCompleteness(obj(n)!, s, sPath, p, errs);
    });
  }
}

function nestedCompleteness(
  v: Raw,
  s: Raw | undefined,
  sPath: string,
  vPath: string,
  errs: FieldError[],
): void {
  if (!s) {
    errs.push(requiredError(sPath, `because it is defined in ${vPath}`));
    return;
  }
  completeness(v, s, sPath, vPath, errs);
  const items = obj(own(v, 'items'));
  if (items)
    nestedCompleteness(items, obj(own(s, 'items')), child(sPath, 'items'), child(vPath, 'items'), errs);
  const sProps = obj(own(s, 'properties')) ?? {};
  for (const [k, p] of Object.entries(obj(own(v, 'properties')) ?? {})) {
    if (!obj(p)) continue;
    const sp = key(child(sPath, 'properties'), k);
    const vp = key(child(vPath, 'properties'), k);
    if (!Object.hasOwn(sProps, k)) errs.push(requiredError(sp, `because it is defined in ${vp}`));
    else nestedCompleteness(obj(p)!, obj(sProps[k]), sp, vp, errs);
  }
}
