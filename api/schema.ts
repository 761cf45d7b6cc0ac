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

// List semantics, published as Kubernetes publishes them: the list type and
// keys drive server-side apply, the patch strategy and merge key drive
// strategic merge patch, and kubectl reads both from the OpenAPI document.

/** A list of objects identified by `keys`; a strategic merge patch merges items by the first key. */
export const MapList = <S extends TSchema>(
  items: S,
  keys: string[],
  description?: string,
  opts: { mergeKey?: string; retainKeys?: boolean; noPatchMerge?: boolean } = {},
) =>
  T.Array(items, {
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': keys,
    ...(opts.noPatchMerge
      ? {}
      : {
          'x-kubernetes-patch-merge-key': opts.mergeKey ?? keys[0],
          'x-kubernetes-patch-strategy': opts.retainKeys ? 'merge,retainKeys' : 'merge',
        }),
    ...(description ? { description } : {}),
  });

/** A list of unique scalars; with `merge`, a strategic merge patch adds to it instead of replacing it. */
export const SetList = <S extends TSchema>(items: S, description?: string, opts: { merge?: boolean } = {}) =>
  T.Array(items, {
    'x-kubernetes-list-type': 'set',
    ...(opts.merge ? { 'x-kubernetes-patch-strategy': 'merge' } : {}),
    ...(description ? { description } : {}),
  });

/** A list that is always replaced whole, by patches and by apply. */
export const AtomicList = <S extends TSchema>(items: S, description?: string) =>
  T.Array(items, { 'x-kubernetes-list-type': 'atomic', ...(description ? { description } : {}) });

/**
 * A struct whose members are alternatives (a deployment strategy, a volume
 * source): a patch that sets one member clears the others it does not name.
 */
export const RetainKeys = <S extends TSchema>(schema: S): S => ({
  ...schema,
  'x-kubernetes-patch-strategy': 'retainKeys',
});
