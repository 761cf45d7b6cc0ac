import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { decodeBody, flowDepth, negotiate, parseResourcePath, patchTypeOf } from './request.js';

describe('parseResourcePath', () => {
  it.each([
    { name: 'cluster list', rest: 'nodes', want: { plural: 'nodes', watchPath: false } },
    {
      name: 'namespaced list',
      rest: 'namespaces/ns1/pods',
      want: { namespace: 'ns1', plural: 'pods', watchPath: false },
    },
    {
      name: 'namespaced object',
      rest: 'namespaces/ns1/pods/p',
      want: { namespace: 'ns1', plural: 'pods', name: 'p', watchPath: false },
    },
    {
      name: 'subresource',
      rest: 'namespaces/ns1/pods/p/status',
      want: { namespace: 'ns1', plural: 'pods', name: 'p', subresource: 'status', watchPath: false },
    },
    {
      name: 'namespace object',
      rest: 'namespaces/ns1',
      want: { plural: 'namespaces', name: 'ns1', watchPath: false },
    },
    {
      name: 'namespace status',
      rest: 'namespaces/ns1/status',
      want: { plural: 'namespaces', name: 'ns1', subresource: 'status', watchPath: false },
    },
    {
      name: 'namespace finalize',
      rest: 'namespaces/ns1/finalize',
      want: { plural: 'namespaces', name: 'ns1', subresource: 'finalize', watchPath: false },
    },
    { name: 'namespaces list', rest: 'namespaces', want: { plural: 'namespaces', watchPath: false } },
    {
      name: 'legacy watch path',
      rest: 'watch/namespaces/ns1/pods',
      want: { namespace: 'ns1', plural: 'pods', watchPath: true },
    },
  ])('$name', ({ rest, want }) => {
    const got = parseResourcePath(rest);
    expect(JSON.parse(JSON.stringify(got))).toEqual(want);
  });

  it('rejects paths that are too deep', () => {
    expect(parseResourcePath('pods/a/b/c')).toBeUndefined();
    expect(parseResourcePath('nodes/n1/proxy/stats/summary')).toEqual({
      namespace: undefined,
      plural: 'nodes',
      name: 'n1',
      subresource: 'proxy',
      watchPath: false,
      proxyPath: 'stats/summary',
    });
  });
});

describe('negotiate', () => {
  it.each([
    { name: 'no header', accept: undefined, want: { as: 'object', yaml: false } },
    { name: 'json', accept: 'application/json', want: { as: 'object', yaml: false } },
    { name: 'yaml', accept: 'application/yaml', want: { as: 'object', yaml: true } },
    {
      name: 'kubectl get table',
      accept:
        'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      want: { as: 'Table', version: 'v1' },
    },
    {
      name: 'protobuf first, json second',
      accept: 'application/vnd.kubernetes.protobuf, application/json',
      want: { as: 'object', yaml: false },
    },
    {
      name: 'partial metadata',
      accept: 'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
      want: { as: 'PartialObjectMetadata', version: 'v1' },
    },
  ])('$name', ({ accept, want }) => {
    expect(negotiate(accept)).toEqual(want);
  });

  it('is 406 when nothing acceptable is offered', () => {
    expect(() => negotiate('application/vnd.kubernetes.protobuf')).toThrow(StatusError);
  });
});

describe('bodies', () => {
  it('decodes JSON and YAML', () => {
    expect(decodeBody(Buffer.from('{"a":1}'), 'application/json')).toEqual({ a: 1 });
    expect(decodeBody(Buffer.from('a: 1\n'), 'application/yaml')).toEqual({ a: 1 });
  });

  it.each([
    { name: 'malformed JSON', body: '{bad', type: 'application/json', code: 400 },
    { name: 'empty body', body: '', type: 'application/json', code: 400 },
    { name: 'unsupported type', body: 'x', type: 'text/plain', code: 415 },
  ])('$name is $code', ({ body, type, code }) => {
    try {
      decodeBody(Buffer.from(body), type);
      expect.unreachable();
    } catch (err) {
      expect((err as StatusError).code).toBe(code);
    }
  });

  it('knows the patch types', () => {
    expect(patchTypeOf('application/merge-patch+json')).toBe('merge');
    expect(patchTypeOf('application/json-patch+json; charset=utf-8')).toBe('json');
    expect(() => patchTypeOf('application/json')).toThrow(StatusError);
  });
});

describe('decodeBody on deep YAML', () => {
  it('measures how deep brackets nest', () => {
    expect(flowDepth('a: [1, {b: [2]}]')).toBe(3);
    expect(flowDepth('] ] [')).toBe(1);
  });

  it('refuses YAML nested past the limit with 400 instead of letting the parser exhaust memory', () => {
    const deep = `${'['.repeat(5000)}1${']'.repeat(5000)}`;
    expect(() => decodeBody(Buffer.from(deep), 'application/yaml')).toThrow(/nested deeper than 256/);
    expect(decodeBody(Buffer.from('a: [[1]]'), 'application/yaml')).toEqual({ a: [[1]] });
  });
});
