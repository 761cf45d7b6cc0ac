/**
 * Helpers for writing object schemas with typebox. A schema is the one source
 * for a kind's TypeScript type (`Static<typeof X>`), request validation
 * (unknown fields, wrong types) and the OpenAPI document.
 *
 * Conventions:
 * - `Struct` objects have every property optional and no extra properties:
 *   required fields are checked by a kind's `validate` so the error reads as
 *   Kubernetes' does (`spec.containers: Required value`), and an unknown field
 *   is reported per the request's fieldValidation.
 * - `Open` is an object whose fields we do not model (yet): anything goes.
 */
import { FormatRegistry, Type as T, type TProperties, type TSchema } from '@sinclair/typebox';

export { T };

export function Struct<P extends TProperties>(properties: P, description?: string) {
  return T.Partial(
    T.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) }),
  );
}

export function Open(description?: string) {
  return T.Record(T.String(), T.Unknown(), description ? { description } : {});
}

export const Str = (description?: string) => T.String(description ? { description } : {});
export const Int = (description?: string) => T.Integer(description ? { description } : {});
export const Int64 = (description?: string) =>
  T.Integer({ format: 'int64', ...(description ? { description } : {}) });
export const Num = (description?: string) => T.Number(description ? { description } : {});
export const Bool = (description?: string) => T.Boolean(description ? { description } : {});
export const List = <S extends TSchema>(items: S, description?: string) =>
  T.Array(items, description ? { description } : {});
export const StrMap = (description?: string) =>
  T.Record(T.String(), T.String(), description ? { description } : {});
/** An RFC 3339 timestamp, as `metav1.Time` on the wire. */
export const Time = (description?: string) =>
  T.String({ format: 'date-time', ...(description ? { description } : {}) });
/** A port number or a named port, `intstr.IntOrString`. */
export const IntOrString = (description?: string) =>
  T.Union([T.Integer(), T.String()], {
    'x-kubernetes-int-or-string': true,
    ...(description ? { description } : {}),
  });
/** A resource quantity: "250m", "128Mi", or a plain number in YAML. */
export const Quantity = (description?: string) =>
  T.Union([T.String(), T.Number()], {
    'x-kubernetes-int-or-string': true,
    format: 'quantity',
    ...(description ? { description } : {}),
  });
export const ResourceList = (description?: string) =>
  T.Record(T.String(), Quantity(), description ? { description } : {});

// String formats the schemas use. typebox checks only formats it knows, so
// each one is registered here, once, for every checker in the process.
const rfc3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
FormatRegistry.Set('date-time', (v) => rfc3339.test(v));
for (const f of ['int-or-string', 'quantity', 'byte', 'int32', 'int64', 'double', 'name']) {
  if (!FormatRegistry.Has(f)) FormatRegistry.Set(f, () => true);
}
