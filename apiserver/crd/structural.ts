/**
 * PLACEHOLDER for the `structural` helper's library (issue 25): the lead
 * merges the real apiserver/crd/structural.ts over this file. It keeps the
 * agreed interface and does just enough (types, required, enum, minimum,
 * maximum, defaults, pruning, preserve-unknown-fields) for crd-core's tests.
 */
import { isPlainObject, own, setOwn } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';

export interface JSONSchemaProps {
  type?: string;
  properties?: Record<string, JSONSchemaProps>;
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  description?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  [k: string]: unknown;
}

export interface Structural {
  /** Errors as Kubernetes reports them, field paths like spec.replicas / spec.ports[0].name. */
  validate(obj: unknown): FieldError[];
  /** Applies `default`s in place (Kubernetes' structural defaulting). */
  applyDefaults(obj: unknown): void;
  /** Drops fields the schema does not know, in place; returns their paths (for fieldValidation). */
  prune(obj: unknown): string[];
}

const join = (path: string, k: string) => (path ? `${path}.${k}` : k);
const typeOf = (v: unknown) =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'array'
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? 'integer'
          : 'number'
        : typeof v;

function validateAt(s: JSONSchemaProps, v: unknown, path: string, errs: FieldError[], top: boolean): void {
  if (s.type && !s['x-kubernetes-int-or-string']) {
    const t = typeOf(v);
    if (!(t === s.type || (s.type === 'number' && t === 'integer'))) {
      errs.push({
        type: 'FieldValueTypeInvalid',
        field: path,
        value: v,
        detail: `must be of type ${s.type}`,
      });
      return;
    }
  }
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
    errs.push({
      type: 'FieldValueNotSupported',
      field: path,
      value: v,
      detail: `supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}`,
    });
  if (typeof v === 'number' && s.minimum !== undefined && v < s.minimum)
    errs.push({
      type: 'FieldValueInvalid',
      field: path,
      value: v,
      detail: `should be greater than or equal to ${s.minimum}`,
    });
  if (typeof v === 'number' && s.maximum !== undefined && v > s.maximum)
    errs.push({
      type: 'FieldValueInvalid',
      field: path,
      value: v,
      detail: `should be less than or equal to ${s.maximum}`,
    });
  if (isPlainObject(v)) {
    for (const r of s.required ?? [])
      if (own(v, r) === undefined)
        errs.push({ type: 'FieldValueRequired', field: join(path, r), detail: '' });
    for (const [k, child] of Object.entries(v)) {
      if (top && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
      const cs = s.properties ? own<JSONSchemaProps>(s.properties, k) : undefined;
      const ap = isPlainObject(s.additionalProperties)
        ? (s.additionalProperties as JSONSchemaProps)
        : undefined;
      if (cs ?? ap) validateAt((cs ?? ap)!, child, join(path, k), errs, false);
    }
  }
  if (Array.isArray(v) && s.items)
    for (const [i, x] of v.entries()) validateAt(s.items, x, `${path}[${i}]`, errs, false);
}

function defaultsAt(s: JSONSchemaProps, v: unknown): void {
  if (isPlainObject(v)) {
    for (const [k, cs] of Object.entries(s.properties ?? {})) {
      if (own(v, k) === undefined && cs.default !== undefined) setOwn(v, k, structuredClone(cs.default));
      const child = own(v, k);
      if (child !== undefined) defaultsAt(cs, child);
    }
  }
  if (Array.isArray(v) && s.items) for (const x of v) defaultsAt(s.items, x);
}

function pruneAt(s: JSONSchemaProps, v: unknown, path: string, out: string[], top: boolean): void {
  if (s['x-kubernetes-preserve-unknown-fields']) return;
  if (isPlainObject(v)) {
    const ap = isPlainObject(s.additionalProperties)
      ? (s.additionalProperties as JSONSchemaProps)
      : undefined;
    for (const k of Object.keys(v)) {
      if (top && (k === 'metadata' || k === 'apiVersion' || k === 'kind')) continue;
      const cs = (s.properties ? own<JSONSchemaProps>(s.properties, k) : undefined) ?? ap;
      if (!cs && s.additionalProperties !== true) {
        out.push(join(path, k));
        delete v[k];
      } else if (cs) pruneAt(cs, v[k], join(path, k), out, false);
    }
  }
  if (Array.isArray(v) && s.items)
    for (const [i, x] of v.entries()) pruneAt(s.items, x, `${path}[${i}]`, out, false);
}

export function compileStructural(schema: JSONSchemaProps): Structural {
  return {
    validate(obj) {
      const errs: FieldError[] = [];
      validateAt(schema, obj, '', errs, true);
      return errs;
    },
    applyDefaults: (obj) => defaultsAt(schema, obj),
    prune(obj) {
      const out: string[] = [];
      pruneAt(schema, obj, '', out, true);
      return out;
    },
  };
}

/** Problems that make a schema non-structural or invalid (for CRD validation), as FieldErrors under `path`. */
export function checkStructural(schema: unknown, path: string): FieldError[] {
  if (!isPlainObject(schema)) return [{ type: 'FieldValueRequired', field: path, detail: '' }];
  if (schema.type !== 'object')
    return [
      {
        type: 'FieldValueInvalid',
        field: `${path}.type`,
        value: schema.type,
        detail: 'must be object at the root',
      },
    ];
  return [];
}

/** The schema as /openapi/v3 publishes it (metadata -> ObjectMeta ref etc.) and as /openapi/v2 does. */
export function openapiV3Schema(schema: JSONSchemaProps): Record<string, unknown> {
  const props = { ...(schema.properties ?? {}) } as Record<string, unknown>;
  props.metadata = { $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };
  props.apiVersion ??= { type: 'string' };
  props.kind ??= { type: 'string' };
  return { ...schema, properties: props };
}

export function openapiV2Schema(schema: JSONSchemaProps): Record<string, unknown> {
  const props = { ...(schema.properties ?? {}) } as Record<string, unknown>;
  props.metadata = { $ref: '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' };
  props.apiVersion ??= { type: 'string' };
  props.kind ??= { type: 'string' };
  return { ...schema, properties: props };
}
