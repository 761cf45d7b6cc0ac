/**
 * Compiling a CRD schema once into a tree of SchemaNodes: a JSONSchemaProps
 * from the wire (only own properties count) read into ready values, within
 * limits on depth, size and pattern length; `pattern`s compile through RE2
 * (re2js) as Go's regexp does.
 */
import { RE2JS } from 're2js';
import { hasOwn, own } from '../../api/plain.js';
import type { JSONSchemaProps } from './structural.js';
import { effectiveFormat, formatCheck } from './structural-formats.js';
import { type Bound, type Pattern, rangeProblem, SchemaNode } from './structural-node.js';
import { deepCopy } from './structural-values.js';

/** Compile limits: a schema deeper or bigger than this is refused. */
export const maxSchemaDepth = 64;
export const maxSchemaNodes = 10_000;
/** Longest `pattern` compiled: a backtracking RegExp's cost grows with the pattern. */
export const maxPatternLength = 2048;

export class SchemaTooComplexError extends Error {}

/**
 * Go's Pattern(): RE2 syntax and semantics, through re2js (a port of RE2):
 * the same flags, `\A`/`\z` and error texts as Kubernetes, and matching in
 * time linear in the input, so no pattern a CRD carries can stall a request.
 */
export function compilePattern(pattern: string): Pattern {
  if (pattern.length > maxPatternLength)
    throw new SyntaxError(`pattern is longer than ${maxPatternLength} characters`);
  return RE2JS.compile(pattern);
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const int = (x: unknown): number | undefined =>
  typeof x === 'number' && Number.isInteger(x) ? x : undefined;
const str = (x: unknown): string => (typeof x === 'string' ? x : '');
const bool = (x: unknown): boolean => x === true;

interface Budget {
  nodes: number;
}

/** Reads a JSONSchemaProps (from the wire: only own properties count) into a node tree. */
export function compileNode(raw: unknown, depth: number, budget: Budget, structural: boolean): SchemaNode {
  if (depth > maxSchemaDepth)
    throw new SchemaTooComplexError(`schema nests deeper than ${maxSchemaDepth} levels`);
  if (++budget.nodes > maxSchemaNodes)
    throw new SchemaTooComplexError(`schema has more than ${maxSchemaNodes} sub-schemas`);
  const s = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as JSONSchemaProps;
  const n = new SchemaNode();
  n.structural = structural;
  const get = (k: string) => own(s, k);
  const type = str(get('type'));
  n.intOrString = bool(get('x-kubernetes-int-or-string'));
  n.types = n.intOrString ? ['integer', 'string'] : type ? [type] : [];
  n.typeText = n.types.join(',');
  n.nullable = bool(get('nullable'));
  n.format = effectiveFormat(n.types.length === 1 ? type : '', str(get('format')));
  if (n.format) n.formatFn = formatCheck(n.format);
  n.maxLength = int(get('maxLength'));
  n.minLength = int(get('minLength'));
  const pattern = str(get('pattern'));
  if (pattern) {
    n.patternText = pattern;
    try {
      n.pattern = compilePattern(pattern);
    } catch (e) {
      n.patternError = e instanceof Error ? e.message : String(e);
    }
  }
  if (n.types.length === 1 && (type === 'integer' || type === 'number')) {
    n.numberType = type;
    n.numberFormat = n.format;
  }
  const bound = (v: number | undefined, exclusive: boolean, prefix: string): Bound | undefined =>
    v === undefined
      ? undefined
      : {
          value: v,
          exclusive,
          badBound: n.numberType ? rangeProblem(v, n.numberType, n.numberFormat, prefix, '%PATH%') : '',
        };
  n.maximum = bound(num(get('maximum')), bool(get('exclusiveMaximum')), 'Maximum boundary');
  n.minimum = bound(num(get('minimum')), bool(get('exclusiveMinimum')), 'Minimum boundary');
  n.multipleOf = bound(num(get('multipleOf')), false, 'MultipleOf');
  n.maxItems = int(get('maxItems'));
  n.minItems = int(get('minItems'));
  n.uniqueItems = bool(get('uniqueItems'));
  const en = get('enum');
  if (Array.isArray(en) && en.length > 0) {
    n.enum = en;
    n.enumTexts = en.map((e) => (typeof e === 'string' ? e : JSON.stringify(e)));
  }
  n.maxProperties = int(get('maxProperties'));
  n.minProperties = int(get('minProperties'));
  const req = get('required');
  if (Array.isArray(req)) n.required = req.filter((r): r is string => typeof r === 'string');
  const props = get('properties');
  if (typeof props === 'object' && props !== null && !Array.isArray(props)) {
    n.properties = new Map();
    for (const k of Object.keys(props))
      n.properties.set(k, compileNode((props as Record<string, unknown>)[k], depth + 1, budget, structural));
  }
  const add = get('additionalProperties');
  if (typeof add === 'boolean') n.additional = add;
  else if (typeof add === 'object' && add !== null)
    n.additional = compileNode(add, depth + 1, budget, structural);
  const items = get('items');
  if (typeof items === 'object' && items !== null && !Array.isArray(items))
    n.items = compileNode(items, depth + 1, budget, structural);
  const list = (k: string) => {
    const v = get(k);
    return Array.isArray(v) && v.length > 0
      ? v.map((x) => compileNode(x, depth + 1, budget, false))
      : undefined;
  };
  n.allOf = list('allOf');
  n.anyOf = list('anyOf');
  n.oneOf = list('oneOf');
  const not = get('not');
  if (typeof not === 'object' && not !== null) n.not = compileNode(not, depth + 1, budget, false);
  n.preserveUnknown = bool(get('x-kubernetes-preserve-unknown-fields'));
  n.embedded = bool(get('x-kubernetes-embedded-resource'));
  if (hasOwn(s, 'default') && get('default') !== null) {
    n.hasDefault = true;
    n.defaultValue = deepCopy(get('default'));
  }
  n.listType = str(get('x-kubernetes-list-type'));
  if (n.listType !== 'set' && n.listType !== 'map') n.listType = '';
  const keys = get('x-kubernetes-list-map-keys');
  if (Array.isArray(keys)) n.listMapKeys = keys.filter((k): k is string => typeof k === 'string');
  n.needsKeys =
    n.minProperties !== undefined ||
    n.maxProperties !== undefined ||
    n.additional === false ||
    n.additional instanceof SchemaNode;
  return n;
}
