/**
 * The fields a CRD schema may use (apiextensions/validation
 * ValidateCustomResourceDefinitionOpenAPISchema: specStandardValidatorV3 and
 * friends): the supported types, no id, $ref, definitions or
 * patternProperties, no default inside resource metadata, and consistent
 * x-kubernetes-list-type, -map-type and -list-map-keys.
 */
import { own } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';
import {
  child,
  forbiddenError,
  invalidError,
  key,
  notSupportedError,
  requiredError,
} from '../../api/validation.js';
import { obj, type Raw, str } from './structural-values.js';

const types = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);

interface Ctx {
  root: boolean;
  defaults: boolean;
  reason: string;
  insideMeta: boolean;
}

/** Appends to errs what s (at path) uses that a CRD schema may not; recurses into sub-schemas. */
export function allowed(s: Raw, path: string, ctx: Ctx, errs: FieldError[]): void {
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
