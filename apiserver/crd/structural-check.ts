/**
 * Whether a CRD version's openAPIV3Schema is acceptable: the allowed fields
 * (apiextensions/validation ValidateCustomResourceDefinitionOpenAPISchema),
 * the rules of a structural schema (apiserver/schema ValidateStructural:
 * invariants and completeness, sorted by text as Kubernetes sorts them) and
 * valid, pruned defaults (defaulting ValidateDefaults). Paths are under the
 * caller's, e.g. `spec.versions[0].schema.openAPIV3Schema`.
 */
import { isPlainObject, own } from '../../api/plain.js';
import { type FieldError, formatFieldError } from '../../api/status.js';
import { forbiddenError, invalidError, key, notSupportedError, requiredError } from '../../api/validation.js';
import {
  compileNode,
  compilePattern,
  type Found,
  type SchemaNode,
  SchemaTooComplexError,
} from './structural-node.js';
import { prune } from './structural-prune.js';
import { deepCopy, deepEqual } from './structural-values.js';

type Raw = Record<string, unknown>;

const obj = (v: unknown): Raw | undefined => (isPlainObject(v) ? v : undefined);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const child = (p: string, ...n: string[]) => [p, ...n].filter(Boolean).join('.');
const types = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);

export function checkStructural(schema: unknown, path: string): FieldError[] {
  const s = obj(schema);
  if (!s) return [requiredError(path, '')];
  try {
    compileNode(s, 0, { nodes: 0 }, true);
  } catch (e) {
    if (e instanceof SchemaTooComplexError) return [forbiddenError(path, e.message)];
    throw e;
  }
  const errs: FieldError[] = [];
  if (own(s, 'nullable') === true)
    errs.push(forbiddenError(child(path, 'nullable'), 'nullable cannot be true at the root'));
  const structural: FieldError[] = [];
  invariants(s, 'root', path, structural);
  completeness(s, s, path, path, structural);
  structural.sort((a, b) => (formatFieldError(a) < formatFieldError(b) ? -1 : 1));
  errs.push(...structural);
  if (structural.length === 0) errs.push(...defaults(s, path));
  allowed(s, path, { root: true, defaults: true, reason: '', insideMeta: false }, errs);
  return errs;
}

// ---------------------------------------------------------------------------
// Allowed fields (specStandardValidatorV3 and friends)

interface Ctx {
  root: boolean;
  defaults: boolean;
  reason: string;
  insideMeta: boolean;
}

function allowed(s: Raw, path: string, ctx: Ctx, errs: FieldError[]): void {
  const type = str(own(s, 'type'));
  if (type && !types.has(type)) errs.push(notSupportedError(child(path, 'type'), type, [...types].sort()));
  if (own(s, 'default') !== undefined && !ctx.defaults)
    errs.push(forbiddenError(child(path, 'default'), `must not be set${ctx.reason ? ` ${ctx.reason}` : ''}`));
  const forbid = (k: string, why: string) => {
    if (own(s, k) !== undefined) errs.push(forbiddenError(child(path, k), why));
  };
  if (str(own(s, 'id'))) errs.push(forbiddenError(child(path, 'id'), 'id is not supported'));
  forbid('additionalItems', 'additionalItems is not supported');
  if (obj(own(s, 'patternProperties')) && Object.keys(obj(own(s, 'patternProperties'))!).length)
    errs.push(forbiddenError(child(path, 'patternProperties'), 'patternProperties is not supported'));
  if (obj(own(s, 'definitions')) && Object.keys(obj(own(s, 'definitions'))!).length)
    errs.push(forbiddenError(child(path, 'definitions'), 'definitions is not supported'));
  forbid('dependencies', 'dependencies is not supported');
  forbid('$ref', '$ref is not supported');
  if (type === 'null')
    errs.push(
      forbiddenError(child(path, 'type'), 'type cannot be set to null, use nullable as an alternative'),
    );
  if (Array.isArray(own(s, 'items')))
    errs.push(forbiddenError(child(path, 'items'), 'items must be a schema object and not an array'));
  if (ctx.insideMeta && own(s, 'x-kubernetes-embedded-resource') === true)
    errs.push(
      forbiddenError(
        child(path, 'x-kubernetes-embedded-resource'),
        'must not be used inside of resource meta',
      ),
    );
  if (own(s, 'uniqueItems') === true)
    errs.push(
      forbiddenError(
        child(path, 'uniqueItems'),
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  const props = obj(own(s, 'properties'));
  const add = own(s, 'additionalProperties');
  const nested = { ...ctx, root: false };
  if (add !== undefined && props && Object.keys(props).length > 0 && (add === false || obj(add)))
    errs.push(
      forbiddenError(
        child(path, 'additionalProperties'),
        'additionalProperties and properties are mutual exclusive',
      ),
    );
  if (obj(add)) {
    const sub = ctx.insideMeta
      ? { ...nested, defaults: false, reason: 'inside additionalProperties applying to object metadata' }
      : nested;
    allowed(obj(add)!, child(path, 'additionalProperties'), sub, errs);
  }
  for (const [k, v] of Object.entries(props ?? {})) {
    let sub = nested;
    if (
      (ctx.root || own(s, 'x-kubernetes-embedded-resource') === true) &&
      ['metadata', 'kind', 'apiVersion'].includes(k)
    ) {
      sub = { ...sub, insideMeta: true };
      if (ctx.root) sub = { ...sub, defaults: false, reason: `in top-level ${k}` };
    }
    if (obj(v)) allowed(obj(v)!, key(child(path, 'properties'), k), sub, errs);
  }
  const not = obj(own(s, 'not'));
  if (not) allowed(not, child(path, 'not'), nested, errs);
  for (const c of ['allOf', 'oneOf', 'anyOf']) {
    const list = own(s, c);
    if (Array.isArray(list))
      list.forEach((v, i) => {
        if (obj(v)) allowed(obj(v)!, `${child(path, c)}[${i}]`, nested, errs);
      });
  }
  const items = obj(own(s, 'items'));
  if (items) allowed(items, child(path, 'items'), nested, errs);
  listAndMapTypes(s, path, type, items, errs);
}

function listAndMapTypes(
  s: Raw,
  path: string,
  type: string,
  items: Raw | undefined,
  errs: FieldError[],
): void {
  if (own(s, 'x-kubernetes-preserve-unknown-fields') === false)
    errs.push(
      invalidError(child(path, 'x-kubernetes-preserve-unknown-fields'), false, 'must be true or undefined'),
    );
  const mapType = own(s, 'x-kubernetes-map-type');
  if (mapType !== undefined) {
    if (type !== 'object') {
      if (!type)
        errs.push(requiredError(child(path, 'type'), 'must be object if x-kubernetes-map-type is specified'));
      else
        errs.push(
          invalidError(child(path, 'type'), type, 'must be object if x-kubernetes-map-type is specified'),
        );
    }
    if (mapType !== 'atomic' && mapType !== 'granular')
      errs.push(notSupportedError(child(path, 'x-kubernetes-map-type'), mapType, ['atomic', 'granular']));
  }
  const listType = own(s, 'x-kubernetes-list-type');
  if (listType !== undefined && type !== 'array') {
    if (!type)
      errs.push(requiredError(child(path, 'type'), 'must be array if x-kubernetes-list-type is specified'));
    else
      errs.push(
        invalidError(child(path, 'type'), type, 'must be array if x-kubernetes-list-type is specified'),
      );
  } else if (listType === 'set' && items) {
    const it = str(own(items, 'type'));
    if (
      it === 'array' &&
      own(items, 'x-kubernetes-list-type') !== undefined &&
      own(items, 'x-kubernetes-list-type') !== 'atomic'
    )
      errs.push(
        invalidError(
          `${child(path, 'items')}.x-kubernetes-list-type`,
          own(items, 'x-kubernetes-list-type'),
          'must be atomic as item of a list with x-kubernetes-list-type=set',
        ),
      );
    if (it === 'object' && own(items, 'x-kubernetes-map-type') !== 'atomic')
      errs.push(
        invalidError(
          `${child(path, 'items')}.x-kubernetes-map-type`,
          own(items, 'x-kubernetes-list-type') ?? 'null',
          'must be atomic as item of a list with x-kubernetes-list-type=set',
        ),
      );
  }
  if (listType !== undefined && listType !== 'atomic' && listType !== 'set' && listType !== 'map')
    errs.push(notSupportedError(child(path, 'x-kubernetes-list-type'), listType, ['atomic', 'set', 'map']));
  const keys = own(s, 'x-kubernetes-list-map-keys');
  const keyList = Array.isArray(keys) ? keys.map(String) : [];
  if (keyList.length > 0) {
    if (listType === undefined)
      errs.push(
        requiredError(
          child(path, 'x-kubernetes-list-type'),
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
    else if (listType !== 'map')
      errs.push(
        invalidError(
          child(path, 'x-kubernetes-list-type'),
          listType,
          'must be map if x-kubernetes-list-map-keys is non-empty',
        ),
      );
  }
  if (listType === 'map') {
    if (keyList.length === 0)
      errs.push(
        requiredError(
          child(path, 'x-kubernetes-list-map-keys'),
          'must not be empty if x-kubernetes-list-type is map',
        ),
      );
    if (!items)
      errs.push(requiredError(child(path, 'items'), 'must have a schema if x-kubernetes-list-type is map'));
    else if (str(own(items, 'type')) !== 'object')
      errs.push(
        invalidError(
          `${child(path, 'items')}.type`,
          str(own(items, 'type')),
          "must be object if parent array's x-kubernetes-list-type is map",
        ),
      );
    else {
      const itemProps = obj(own(items, 'properties')) ?? {};
      const seen = new Set<string>();
      for (const k of keyList) {
        const p = obj(itemProps[k]);
        if (!p)
          errs.push(
            invalidError(
              child(path, 'x-kubernetes-list-map-keys'),
              keyList,
              'entries must all be names of item properties',
            ),
          );
        else if (['array', 'object'].includes(str(own(p, 'type'))))
          errs.push(
            invalidError(
              `${key(`${child(path, 'items')}.properties`, k)}.type`,
              'object',
              "must be a scalar type if parent array's x-kubernetes-list-type is map",
            ),
          );
        if (seen.has(k))
          errs.push(
            invalidError(
              child(path, 'x-kubernetes-list-map-keys'),
              keyList,
              'must not contain duplicate entries',
            ),
          );
        seen.add(k);
      }
    }
  }
  // validateMapListKeysMapSet
  if (items && (listType === 'set' || listType === 'map')) {
    if (own(items, 'nullable') === true)
      errs.push(
        forbiddenError(
          `${child(path, 'items')}.nullable`,
          `cannot be nullable when x-kubernetes-list-type is ${listType}`,
        ),
      );
    if (listType === 'map') {
      const req = new Set((own<unknown[]>(items, 'required') ?? []).map(String));
      const itemProps = obj(own(items, 'properties')) ?? {};
      for (const k of keyList) {
        const p = obj(itemProps[k]);
        if (!p) continue;
        const at = key(`${child(path, 'items')}.properties`, k);
        if (!req.has(k) && own(p, 'default') === undefined)
          errs.push(
            requiredError(
              `${at}.default`,
              'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property',
            ),
          );
        if (own(p, 'nullable') === true)
          errs.push(
            forbiddenError(
              `${at}.nullable`,
              'this property is in x-kubernetes-list-map-keys, so it cannot be nullable',
            ),
          );
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Structural invariants (schema/validation.go) and completeness (complete.go)

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

function invariants(s: Raw, lvl: 'root' | 'item' | 'field', path: string, errs: FieldError[]): void {
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

function completeness(v: Raw, s: Raw | undefined, sPath: string, vPath: string, errs: FieldError[]): void {
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

// ---------------------------------------------------------------------------
// Defaults (defaulting/validation.go): each default validates and is already pruned.

function defaults(s: Raw, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const walk = (n: Raw, p: string, insideMeta: boolean, isRoot: boolean) => {
    const d = own(n, 'default');
    if (d !== undefined && d !== null && !insideMeta) {
      const node = compileNode(n, 0, { nodes: 0 }, true);
      const embedded = own(n, 'x-kubernetes-embedded-resource') === true;
      if (!deepEqual(prunedCopy(node, d, embedded), d))
        errs.push(invalidError(child(p, 'default'), d, 'must not have unknown fields'));
      const f: Found = { base: child(p, 'default'), schema: [], embedded: [], lists: [] };
      node.validate(d, '', '', f);
      errs.push(...(f.embedded.length ? f.embedded : f.schema));
    }
    const items = obj(own(n, 'items'));
    if (items) walk(items, child(p, 'items'), insideMeta, false);
    const embedded = isRoot || own(n, 'x-kubernetes-embedded-resource') === true;
    for (const [k, v] of Object.entries(obj(own(n, 'properties')) ?? {})) {
      const meta = insideMeta || (embedded && ['metadata', 'apiVersion', 'kind'].includes(k));
      if (obj(v)) walk(obj(v)!, key(child(p, 'properties'), k), meta, false);
    }
  };
  walk(s, path, false, true);
  return errs;
}

/** pruning.Prune(copy, s, isResourceRoot = s.XEmbeddedResource). */
function prunedCopy(node: SchemaNode, value: unknown, embedded: boolean): unknown {
  const copy = deepCopy(value);
  prune(copy, node, '', [], embedded, 0);
  return copy;
}
