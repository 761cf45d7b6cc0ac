/**
 * A CRD version's schema as /openapi/v3 and /openapi/v2 publish it
 * (apiextensions-apiserver pkg/controller/openapi/builder buildKubeNative):
 * root metadata becomes a `$ref` to ObjectMeta, apiVersion and kind get
 * TypeMeta's descriptions, embedded resources get the same three
 * properties, int-or-string fields are unfolded into `anyOf`, and v2 gets
 * ToStructuralOpenAPIV2's conversions (no allOf/anyOf/oneOf/not, nullable
 * fields lose their type, preserve-unknown-fields subtrees lose their
 * structure) so that kubectl's v2-based client-side validation accepts what
 * the server accepts. The caller adds `x-kubernetes-group-version-kind`.
 *
 * The documents must define ObjectMeta under the names used here:
 * `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`.
 */
import { isPlainObject, setOwn } from '../../api/plain.js';
import type { JSONSchemaProps } from './structural.js';
import { deepCopy } from './structural-values.js';

export const objectMetaName = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const metadataDescription =
  "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const apiVersionDescription =
  'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const kindDescription =
  'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';
const embeddedApiVersionDescription =
  'apiVersion defines the versioned schema of this representation of an object. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources';
const embeddedKindDescription =
  'kind is a string value representing the type of this object. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds';

type Schema = Record<string, unknown>;

const metaRef = (v2: boolean): Schema => ({
  description: metadataDescription,
  $ref: v2 ? `#/definitions/${objectMetaName}` : `#/components/schemas/${objectMetaName}`,
});

/** Schema.Unfold: x-kubernetes-int-or-string gets its anyOf of integer and string. */
function unfold(s: Schema): void {
  if (s['x-kubernetes-int-or-string'] === true && !Array.isArray(s.anyOf) && !Array.isArray(s.allOf)) {
    s.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
}

/** ToStructuralOpenAPIV2 on one node (children are already converted). */
function toV2(s: Schema): void {
  for (const k of ['allOf', 'oneOf', 'anyOf', 'not']) delete s[k];
  if (s.nullable === true) {
    delete s.type;
    delete s.nullable;
    delete s.items;
    delete s.properties;
  }
  if (s['x-kubernetes-preserve-unknown-fields'] === true) {
    delete s.items;
    delete s.properties;
  }
  if (s.items === undefined && s.type === 'array') delete s.type;
  if (s['x-kubernetes-preserve-unknown-fields'] === true && s.type === 'object') delete s.type;
  const props = isPlainObject(s.properties) ? (s.properties as Record<string, Schema>) : undefined;
  if (props && Array.isArray(s.required)) {
    s.required = (s.required as string[]).filter(
      (r) => !(Object.hasOwn(props, r) && props[r].nullable === true),
    );
    if ((s.required as string[]).length === 0) delete s.required;
  }
  if (isPlainObject(s.additionalProperties) && (s.additionalProperties as Schema).nullable === true)
    delete s.required;
}

function embeddedProperties(s: Schema, v2: boolean): void {
  if (s['x-kubernetes-preserve-unknown-fields'] === true && v2) return;
  if (s['x-kubernetes-embedded-resource'] !== true) return;
  const props = (isPlainObject(s.properties) ? s.properties : {}) as Schema;
  setOwn(props, 'apiVersion', {
    ...(props.apiVersion as Schema),
    type: 'string',
    description: embeddedApiVersionDescription,
  });
  setOwn(props, 'kind', { ...(props.kind as Schema), type: 'string', description: embeddedKindDescription });
  setOwn(props, 'metadata', metaRef(v2));
  s.properties = props;
  const req = Array.isArray(s.required) ? [...(s.required as string[])] : [];
  if (!req.includes('kind')) req.push('kind');
  if (!req.includes('apiVersion')) req.push('apiVersion');
  s.required = req;
}

/** Unfold and the v2 conversion visit a node before its children (schema.Visitor); embedded properties after. */
function convert(s: Schema, v2: boolean, depth: number): Schema {
  if (depth > 128) return s;
  unfold(s);
  if (v2) toV2(s);
  const props = s.properties;
  if (isPlainObject(props)) for (const k of Object.keys(props)) convert(props[k] as Schema, v2, depth + 1);
  if (isPlainObject(s.items)) convert(s.items as Schema, v2, depth + 1);
  if (isPlainObject(s.additionalProperties)) convert(s.additionalProperties as Schema, v2, depth + 1);
  if (isPlainObject(s.not)) convert(s.not as Schema, v2, depth + 1);
  for (const k of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(s[k]))
      for (const x of s[k] as Schema[]) if (isPlainObject(x)) convert(x, v2, depth + 1);
  embeddedProperties(s, v2);
  return s;
}

function build(schema: JSONSchemaProps, v2: boolean): Schema {
  if (v2 && schema['x-kubernetes-preserve-unknown-fields'] === true) return { type: 'object' };
  const s = convert(deepCopy(schema) as Schema, v2, 0);
  const props = (isPlainObject(s.properties) ? s.properties : {}) as Schema;
  setOwn(props, 'metadata', metaRef(v2));
  setOwn(props, 'apiVersion', { description: apiVersionDescription, type: 'string' });
  setOwn(props, 'kind', { description: kindDescription, type: 'string' });
  s.properties = props;
  return s;
}

export function openapiV3Schema(schema: JSONSchemaProps): Record<string, unknown> {
  return build(schema, false);
}

export function openapiV2Schema(schema: JSONSchemaProps): Record<string, unknown> {
  return build(schema, true);
}
