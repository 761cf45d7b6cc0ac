/**
 * OpenAPI v2 (Swagger 2.0) at `/openapi/v2`: the kind definitions, made from
 * the same typebox schemas as v3, in JSON or in the protobuf form (gnostic's
 * `openapi.v2.Document`) that kubectl up to 1.28 fetches before every
 * `create -f` for client-side validation, `explain` and `apply`.
 *
 * Paths are left out: kubectl asks v3 first whether a path takes
 * fieldValidation, and reads only the definitions from v2.
 */
import type { TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { stringify as toYaml } from 'yaml';
import { ObjectMeta } from '../api/meta.js';
import type { Registry } from '../api/registry.js';
import { serverVersion } from './discovery.js';
import { objectMetaName, schemaName } from './openapi.js';

/** A Swagger 2.0 schema: the subset of JSON Schema that v2 has. */
export interface SchemaV2 {
  $ref?: string;
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, SchemaV2>;
  additionalProperties?: SchemaV2;
  items?: SchemaV2;
  required?: string[];
  'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }[];
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
}

/** The list and patch extensions kubectl reads for apply and patch, copied as they are. */
const listExtensions = [
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

export const protobufMediaType = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

/**
 * Translates a typebox (JSON Schema) schema to v2: a Record becomes a map
 * (`additionalProperties`), int-or-string and quantity become a string with
 * that format as Kubernetes publishes them, a nullable value its non-null
 * type, and any other union an arbitrary value.
 */
export function toSchemaV2(s: TSchema): SchemaV2 {
  const out: SchemaV2 = {};
  if (s.description) out.description = s.description;
  for (const ext of listExtensions) if (s[ext] !== undefined) (out as Record<string, unknown>)[ext] = s[ext];
  if (s['x-kubernetes-int-or-string']) {
    return { ...out, type: 'string', format: s.format === 'quantity' ? 'quantity' : 'int-or-string' };
  }
  if (Array.isArray(s.anyOf)) {
    const members = (s.anyOf as TSchema[]).filter((m) => m.type !== 'null');
    const types = new Set(members.map((m) => m.type));
    if (members.length === 1) return { ...toSchemaV2(members[0]), ...out };
    if (types.size === 1 && typeof members[0].type === 'string' && members[0].type !== 'object') {
      return { ...out, type: members[0].type };
    }
    return out;
  }
  if (typeof s.type !== 'string') return out;
  out.type = s.type;
  if (typeof s.format === 'string') out.format = s.format;
  if (s.type === 'array' && s.items) out.items = toSchemaV2(s.items as TSchema);
  if (s.type === 'object') {
    if (s.properties) {
      out.properties = {};
      for (const [k, v] of Object.entries(s.properties as Record<string, TSchema>))
        out.properties[k] = toSchemaV2(v);
      if (Array.isArray(s.required) && s.required.length > 0) out.required = [...s.required];
    } else if (s.patternProperties) {
      const value = Object.values(s.patternProperties as Record<string, TSchema>)[0];
      const v2 = value && toSchemaV2(value);
      if (v2?.type) out.additionalProperties = v2;
    }
  }
  return out;
}

export function openapiV2Document(registry: Registry) {
  const definitions: Record<string, SchemaV2> = {};
  for (const rt of registry.all) {
    definitions[schemaName(rt)] = {
      ...(rt.openapi ? (rt.openapi.v2 as SchemaV2) : toSchemaV2(rt.schema)),
      'x-kubernetes-group-version-kind': [{ group: rt.group, version: rt.version, kind: rt.kind }],
    };
    if (rt.openapi) definitions[objectMetaName] = toSchemaV2(ObjectMeta);
  }
  return {
    swagger: '2.0',
    info: { title: 'Kubernetes', version: serverVersion.gitVersion },
    paths: {},
    definitions,
  };
}

// ---------------------------------------------------------------------------
// Protobuf: just enough of the wire format for the messages we send.

/** Field numbers of gnostic's openapi.v2 messages that we fill. */
const field = {
  document: { swagger: 1, info: 2, definitions: 9 },
  info: { title: 1, version: 2 },
  named: { name: 1, value: 2 },
  schema: {
    ref: 1,
    format: 2,
    description: 4,
    required: 19,
    additionalProperties: 21,
    type: 22,
    items: 23,
    properties: 25,
    vendorExtension: 31,
  },
  any: { yaml: 2 },
} as const;

/** One message being written: fields in order, each a tag and its bytes. */
class Message {
  private readonly parts: Buffer[] = [];

  string(num: number, s: string | undefined): this {
    return s === undefined || s === '' ? this : this.bytes(num, Buffer.from(s, 'utf8'));
  }

  message(num: number, m: Message | undefined): this {
    return m === undefined ? this : this.bytes(num, m.finish());
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }

  private bytes(num: number, b: Buffer): this {
    this.parts.push(varint((num << 3) | 2), varint(b.length), b);
    return this;
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

function named(name: string, value: Message): Message {
  return new Message().string(field.named.name, name).message(field.named.value, value);
}

function schemaMessage(s: SchemaV2): Message {
  const f = field.schema;
  const m = new Message()
    .string(f.ref, s.$ref)
    .string(f.format, s.format)
    .string(f.description, s.description);
  for (const r of s.required ?? []) m.string(f.required, r);
  if (s.additionalProperties)
    m.message(f.additionalProperties, new Message().message(1, schemaMessage(s.additionalProperties)));
  if (s.type) m.message(f.type, new Message().string(1, s.type));
  if (s.items) m.message(f.items, new Message().message(1, schemaMessage(s.items)));
  if (s.properties) {
    const props = new Message();
    for (const [k, v] of Object.entries(s.properties)) props.message(1, named(k, schemaMessage(v)));
    m.message(f.properties, props);
  }
  for (const ext of [...listExtensions, 'x-kubernetes-group-version-kind'] as const) {
    const value = s[ext];
    if (value === undefined) continue;
    m.message(f.vendorExtension, named(ext, new Message().string(field.any.yaml, toYaml(value))));
  }
  return m;
}

export function encodeDocument(doc: ReturnType<typeof openapiV2Document>): Buffer {
  const defs = new Message();
  for (const [name, s] of Object.entries(doc.definitions)) defs.message(1, named(name, schemaMessage(s)));
  const info = new Message()
    .string(field.info.title, doc.info.title)
    .string(field.info.version, doc.info.version);
  return new Message()
    .string(field.document.swagger, doc.swagger)
    .message(field.document.info, info)
    .message(field.document.definitions, defs)
    .finish();
}

export function registerOpenAPIV2(app: FastifyInstance, registry: Registry): void {
  // Built again only after the registry changed (custom resources come and go).
  const view = registry.derived((r) => {
    const doc = openapiV2Document(r);
    return { json: JSON.stringify(doc), protobuf: encodeDocument(doc) };
  });
  app.get('/openapi/v2', async (req, reply) => {
    if ((req.headers.accept ?? '').includes(protobufMediaType)) {
      return reply.header('content-type', protobufMediaType).send(view().protobuf);
    }
    return reply.header('content-type', 'application/json').send(view().json);
  });
}
