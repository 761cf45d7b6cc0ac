import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../../api/status.js';
import {
  checkStructural,
  compileStructural,
  type JSONSchemaProps,
  maxPatternLength,
  openapiV2Schema,
  openapiV3Schema,
  SchemaTooComplexError,
} from './structural.js';

const root = (properties: Record<string, JSONSchemaProps>, extra: JSONSchemaProps = {}): JSONSchemaProps => ({
  type: 'object',
  properties,
  ...extra,
});
const spec = (properties: Record<string, JSONSchemaProps>, extra: JSONSchemaProps = {}) =>
  root({ spec: { type: 'object', properties, ...extra } });
const messages = (schema: JSONSchemaProps, obj: unknown) =>
  compileStructural(schema).validate(obj).map(formatFieldError);

describe('validate: error texts as a 422 carries them', () => {
  it.each([
    [
      'integer type',
      spec({ replicas: { type: 'integer' } }),
      { spec: { replicas: 'x' } },
      'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    ],
    [
      'integer refuses a fraction',
      spec({ replicas: { type: 'integer' } }),
      { spec: { replicas: 1.5 } },
      [
        'spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number"',
        // kube-openapi's number validator also runs, and its plain error gets the nil path.
        '<nil>: Invalid value: "": Checked value must be of type integer (default format) in spec.replicas',
      ],
    ],
    [
      'null where not nullable',
      spec({ n: { type: 'string' } }),
      { spec: { n: null } },
      'spec.n: Invalid value: "null": spec.n in body must be of type string: "null"',
    ],
    [
      'enum',
      spec({ color: { type: 'string', enum: ['red', 'blue'] } }),
      { spec: { color: 'pink' } },
      'spec.color: Unsupported value: "pink": supported values: "red", "blue"',
    ],
    [
      'required',
      spec({ size: { type: 'string' } }, { required: ['size'] }),
      { spec: {} },
      'spec.size: Required value',
    ],
    [
      'minimum',
      spec({ count: { type: 'integer', minimum: 1 } }),
      { spec: { count: 0 } },
      'spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1',
    ],
    [
      'exclusive maximum',
      spec({ f: { type: 'number', maximum: 2.5, exclusiveMaximum: true } }),
      { spec: { f: 2.5 } },
      'spec.f: Invalid value: 2.5: spec.f in body should be less than 2.5',
    ],
    [
      'multipleOf',
      spec({ m: { type: 'integer', multipleOf: 3 } }),
      { spec: { m: 4 } },
      'spec.m: Invalid value: 4: spec.m in body should be a multiple of 3',
    ],
    [
      'maxLength',
      spec({ s: { type: 'string', maxLength: 3 } }),
      { spec: { s: 'abcd' } },
      'spec.s: Too long: may not be more than 3 bytes',
    ],
    [
      'minLength counts characters',
      spec({ s: { type: 'string', minLength: 3 } }),
      { spec: { s: '😀😀' } },
      'spec.s: Invalid value: "😀😀": spec.s in body should be at least 3 chars long',
    ],
    [
      'pattern',
      spec({ s: { type: 'string', pattern: '^a+$' } }),
      { spec: { s: 'b' } },
      `spec.s: Invalid value: "b": spec.s in body should match '^a+$'`,
    ],
    [
      'maxItems',
      spec({ l: { type: 'array', items: { type: 'string' }, maxItems: 1 } }),
      { spec: { l: ['a', 'b'] } },
      'spec.l: Too many: 2: must have at most 1 item',
    ],
    [
      'minItems',
      spec({ l: { type: 'array', items: { type: 'string' }, minItems: 2 } }),
      { spec: { l: ['a'] } },
      'spec.l: Invalid value: 1: spec.l in body should have at least 2 items',
    ],
    [
      'item paths',
      spec({ l: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } } }),
      { spec: { l: [{ name: 'a' }, { name: 3 }] } },
      'spec.l[1].name: Invalid value: "integer": spec.l[1].name in body must be of type string: "integer"',
    ],
    [
      'additionalProperties schema',
      spec({ m: { type: 'object', additionalProperties: { type: 'string' } } }),
      { spec: { m: { a: 1 } } },
      'spec.m.a: Invalid value: "integer": spec.m.a in body must be of type string: "integer"',
    ],
    [
      'maxProperties',
      spec({ m: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1 } }),
      { spec: { m: { a: 'x', b: 'y' } } },
      'spec.m: Too many: 2: must have at most 1 item',
    ],
    [
      'format date-time',
      spec({ t: { type: 'string', format: 'date-time' } }),
      { spec: { t: 'yesterday' } },
      'spec.t: Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"',
    ],
    [
      'int-or-string',
      spec({ p: { 'x-kubernetes-int-or-string': true } }),
      { spec: { p: true } },
      'spec.p: Invalid value: "boolean": spec.p in body must be of type integer,string: "boolean"',
    ],
    [
      'oneOf with no match',
      spec(
        { a: { type: 'string' }, b: { type: 'string' } },
        { oneOf: [{ required: ['a'] }, { required: ['b'] }] },
      ),
      { spec: {} },
      [
        '<nil>: Invalid value: "": "spec" must validate one and only one schema (oneOf). Found none valid',
        'spec.a: Required value',
      ],
    ],
    [
      'list-type set',
      spec({ l: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' } }),
      { spec: { l: ['a', 'b', 'a'] } },
      'spec.l[2]: Duplicate value: "a"',
    ],
    [
      'list-type map',
      spec({
        l: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } },
        },
      }),
      { spec: { l: [{ name: 'a' }, { name: 'a' }] } },
      'spec.l[1]: Duplicate value: {"name":"a"}',
    ],
    [
      'embedded resource needs apiVersion and kind',
      spec({
        t: {
          type: 'object',
          'x-kubernetes-embedded-resource': true,
          'x-kubernetes-preserve-unknown-fields': true,
        },
      }),
      { spec: { t: { kind: 'Pod' } } },
      'spec.t.apiVersion: Required value',
    ],
  ])('%s', (_name, schema, obj, want) => {
    expect(messages(schema, obj)).toEqual(typeof want === 'string' ? [want] : want);
  });

  it('accepts a valid object and nullable nulls', () => {
    const s = spec({ n: { type: 'string', nullable: true }, i: { type: 'integer', format: 'int32' } });
    expect(
      messages(s, { apiVersion: 'a/v1', kind: 'K', metadata: { name: 'x' }, spec: { n: null, i: 5 } }),
    ).toEqual([]);
  });

  it('unknown formats pass', () => {
    expect(messages(spec({ s: { type: 'string', format: 'made-up' } }), { spec: { s: '!' } })).toEqual([]);
  });

  it.each([
    ['date', '2024-02-29', '2023-02-29'],
    ['uuid', '123e4567-e89b-12d3-a456-426614174000', 'nope'],
    ['ipv4', '10.0.0.1', '10.0.0'],
    ['ipv6', '::1', '1.2.3.4'],
    ['cidr', '10.0.0.0/8', '10.0.0.0/33'],
    ['byte', 'aGVsbG8=', 'a'],
    ['duration', '1h30m', 'soon'],
    ['email', 'a@b.c', 'not-an-email'],
    ['hostname', 'example.com', '-bad-'],
  ])('format %s', (format, good, bad) => {
    const s = spec({ v: { type: 'string', format } });
    expect(messages(s, { spec: { v: good } })).toEqual([]);
    expect(messages(s, { spec: { v: bad } })).toHaveLength(1);
  });
});

describe('defaults', () => {
  const s = spec({
    replicas: { type: 'integer', default: 1 },
    mode: { type: 'string', default: 'fast' },
    opts: { type: 'object', default: { a: 1 }, properties: { a: { type: 'integer' } } },
    ports: {
      type: 'array',
      items: { type: 'object', properties: { proto: { type: 'string', default: 'TCP' } } },
    },
    labels: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { v: { type: 'string', default: 'x' } } },
    },
  });

  it('fills absent fields, nested items and additionalProperties, and non-nullable nulls', () => {
    const st = compileStructural(s);
    const obj = { spec: { mode: null, ports: [{}, { proto: 'UDP' }], labels: { a: {} } } };
    st.applyDefaults(obj);
    expect(obj).toEqual({
      spec: {
        replicas: 1,
        mode: 'fast',
        opts: { a: 1 },
        ports: [{ proto: 'TCP' }, { proto: 'UDP' }],
        labels: { a: { v: 'x' } },
      },
    });
  });

  it('copies defaults, so objects never share them', () => {
    const st = compileStructural(s);
    const a = { spec: {} } as { spec: { opts?: { a: number } } };
    const b = { spec: {} } as { spec: { opts?: { a: number } } };
    st.applyDefaults(a);
    st.applyDefaults(b);
    a.spec.opts!.a = 9;
    expect(b.spec.opts!.a).toBe(1);
  });

  it('a __proto__ default or property stays data', () => {
    const schema = JSON.parse(
      '{"type":"object","properties":{"__proto__":{"type":"object","default":{"polluted":true}},"spec":{"type":"object","default":{"__proto__":{"polluted":true}}}}}',
    );
    const obj: Record<string, unknown> = {};
    compileStructural(schema).applyDefaults(obj);
    expect(Object.hasOwn(obj, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(obj.spec)).toBe(Object.prototype);
  });
});

describe('prune', () => {
  const s = spec({
    a: { type: 'string' },
    items: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
    free: {
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      properties: { known: { type: 'object', properties: {} } },
    },
    tmpl: {
      type: 'object',
      'x-kubernetes-embedded-resource': true,
      properties: { spec: { type: 'object' } },
    },
  });

  it('drops unknown fields and reports their paths, sorted', () => {
    const obj = JSON.parse(
      '{"apiVersion":"g/v1","kind":"K","metadata":{"name":"x"},"extra":1,"spec":{"a":"x","b":2,"items":[{"name":"n","bar":1}],"free":{"any":{"deep":1},"known":{"gone":1}},"tmpl":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","bogus":1},"x":1},"__proto__":{"p":1}}}',
    );
    const dropped = compileStructural(s).prune(obj);
    expect(dropped).toEqual([
      'extra',
      'spec.__proto__',
      'spec.b',
      'spec.free.known.gone',
      'spec.items[0].bar',
      'spec.tmpl.metadata.bogus',
      'spec.tmpl.x',
    ]);
    expect(obj).toEqual({
      apiVersion: 'g/v1',
      kind: 'K',
      metadata: { name: 'x' },
      spec: {
        a: 'x',
        items: [{ name: 'n' }],
        free: { any: { deep: 1 }, known: {} },
        tmpl: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' } },
      },
    });
  });

  it('drops nulls of non-nullable fields without defaults', () => {
    const obj = { spec: { a: null } };
    expect(compileStructural(s).prune(obj)).toEqual([]);
    expect(obj).toEqual({ spec: {} });
  });
});

describe('limits and hostile input', () => {
  it('refuses too deep a schema', () => {
    let deep: JSONSchemaProps = { type: 'string' };
    for (let i = 0; i < 70; i++) deep = { type: 'object', properties: { a: deep } };
    expect(() => compileStructural(deep)).toThrow(SchemaTooComplexError);
    expect(checkStructural(deep, 'schema').map(formatFieldError)).toEqual([
      'schema: Forbidden: schema nests deeper than 64 levels',
    ]);
  });

  it('validates deep input only as deep as the schema', () => {
    let v: unknown = 1;
    for (let i = 0; i < 200; i++) v = { a: v };
    const s = spec({ free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } });
    expect(messages(s, { spec: { free: v } })).toEqual([]);
  });

  it("matches patterns as Go's RE2 does, in linear time", () => {
    // A backtracking engine takes exponential time on this input; RE2 does not, so the test finishes.
    const evil = spec({ s: { type: 'string', pattern: '^(a+)+$' } });
    expect(messages(evil, { spec: { s: `${'a'.repeat(50_000)}!` } })).toHaveLength(1);
    // RE2's flag group, \A and \z, and an unanchored match.
    expect(messages(spec({ s: { type: 'string', pattern: '(?i)\\Aab\\z' } }), { spec: { s: 'AB' } })).toEqual(
      [],
    );
    expect(messages(spec({ s: { type: 'string', pattern: 'b+' } }), { spec: { s: 'abba' } })).toEqual([]);
    // An invalid pattern reports Go's parse error when a value meets it.
    expect(messages(spec({ s: { type: 'string', pattern: '(ab' } }), { spec: { s: 'x' } })[0]).toContain(
      'pattern is invalid: error parsing regexp: missing closing ): `(ab`',
    );
  });

  it('refuses an over-long pattern in checkStructural', () => {
    const s = spec({ s: { type: 'string', pattern: 'a'.repeat(maxPatternLength + 1) } });
    const errs = checkStructural(s, 'p').map(formatFieldError);
    expect(errs.some((e) => e.startsWith('p.properties[spec].properties[s].pattern: Invalid value'))).toBe(
      true,
    );
  });
});

describe('checkStructural', () => {
  const P = 'spec.versions[0].schema.openAPIV3Schema';
  it.each([
    [
      'missing type',
      root({ spec: { properties: {} } }),
      `${P}.properties[spec].type: Required value: must not be empty for specified object fields`,
    ],
    [
      '$ref',
      root({ spec: { type: 'object', $ref: '#/x' } }),
      `${P}.properties[spec].$ref: Forbidden: $ref is not supported`,
    ],
    [
      'additionalProperties with properties',
      root({
        spec: {
          type: 'object',
          properties: { a: { type: 'string' } },
          additionalProperties: { type: 'string' },
        },
      }),
      `${P}.properties[spec].additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive`,
    ],
    [
      'type inside anyOf',
      root({ spec: { type: 'object', anyOf: [{ type: 'string' }] } }),
      `${P}.properties[spec].anyOf[0].type: Forbidden: must be empty to be structural`,
    ],
    [
      'metadata restricted beyond names',
      root({ metadata: { type: 'object', properties: { labels: { type: 'object' } } } }),
      `${P}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
    ],
    [
      'default that does not validate',
      root({ spec: { type: 'object', properties: { n: { type: 'integer', default: 'x' } } } }),
      `${P}.properties[spec].properties[n].default: Invalid value: "string":  in body must be of type integer: "string"`, // kube-openapi's empty root name leaves two spaces
    ],
    [
      'default with unknown fields',
      root({ spec: { type: 'object', default: { z: 1 }, properties: { a: { type: 'string' } } } }),
      `${P}.properties[spec].default: Invalid value: {"z":1}: must not have unknown fields`,
    ],
  ])('%s', (_name, schema, want) => {
    expect(checkStructural(schema, P).map(formatFieldError)).toContain(want);
  });

  it('accepts a structural schema with int-or-string and names restricted', () => {
    const s = root({
      metadata: { type: 'object', properties: { name: { type: 'string', maxLength: 10 } } },
      spec: {
        type: 'object',
        properties: {
          port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
        },
      },
    });
    expect(checkStructural(s, P)).toEqual([]);
  });
});

describe('openapi', () => {
  const s = spec(
    {
      n: { type: 'string', nullable: true },
      port: { 'x-kubernetes-int-or-string': true },
      any: {
        type: 'object',
        'x-kubernetes-preserve-unknown-fields': true,
        properties: { a: { type: 'string' } },
      },
    },
    { required: ['n'], oneOf: [{ required: ['n'] }] },
  );

  it('v3 refs ObjectMeta and unfolds int-or-string', () => {
    const v3 = openapiV3Schema(s) as { properties: Record<string, Record<string, unknown>> };
    expect(v3.properties.metadata.$ref).toBe(
      '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta',
    );
    expect(v3.properties.kind.type).toBe('string');
    const specV3 = v3.properties.spec as { properties: Record<string, Record<string, unknown>> };
    expect(specV3.properties.port.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
  });

  it('v2 drops what kubectl cannot read', () => {
    const v2 = openapiV2Schema(s) as { properties: Record<string, Record<string, unknown>> };
    expect(v2.properties.metadata.$ref).toBe('#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    const specV2 = v2.properties.spec as Record<string, unknown> & {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(specV2.oneOf).toBeUndefined();
    expect(specV2.required).toBeUndefined();
    expect(specV2.properties.n.type).toBeUndefined();
    expect(specV2.properties.port.anyOf).toBeUndefined();
    expect(specV2.properties.any).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(openapiV2Schema({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })).toEqual({
      type: 'object',
    });
  });
});
