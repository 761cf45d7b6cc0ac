import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import {
  decodeBody,
  flowDepth,
  isPrettyPrint,
  negotiate,
  parseRequestInfo,
  parseResourcePath,
  patchTypeOf,
  queryBool,
  requestInfo,
} from './request.js';

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
    const got = parseResourcePath(rest.split('/'));
    expect(JSON.parse(JSON.stringify(got))).toEqual(want);
  });

  it('rejects paths that are too deep', () => {
    expect(parseResourcePath('pods/a/b/c'.split('/'))).toBeUndefined();
    expect(parseResourcePath('nodes/n1/proxy/stats/summary'.split('/'))).toEqual({
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

describe('parseRequestInfo', () => {
  const bad = (method: string, target: string) => {
    try {
      parseRequestInfo(method, target);
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      return (err as StatusError).code;
    }
    return 0;
  };

  it('refuses what could be read two ways, with a 400', () => {
    for (const t of [
      '/api/v1/namespaces/a/pods/p/./exec',
      '/api/v1/namespaces/a/pods/x/../exec',
      '/api/v1/namespaces/a/./pods/p/exec',
      '/api/v1/namespaces/a/pods/p/%2e/exec',
      '/api/v1/namespaces/a/pods/p/%2E%2E/exec',
      '/api/v1/secrets#/a/b/c/d',
      '/api/v1/namespaces/%E0/pods/x/exec',
      '/api/v1/namespaces/a%2Fb/pods',
      '/api/v1/namespaces/a/pods/%00',
      'http://example.com/api/v1/secrets',
      '*',
    ])
      expect(bad('GET', t), t).toBe(400);
  });

  it('decodes each segment exactly once and drops empty segments', () => {
    const a = parseRequestInfo('GET', '//api//v1/namespaces/a//configmaps/%252F/?x=1');
    expect(a.name).toBe('%2F');
    expect(a.path).toBe('/api/v1/namespaces/a/configmaps/%252F');
    expect(a.url).toBe('/api/v1/namespaces/a/configmaps/%252F?x=1');
    expect(parseRequestInfo('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:x').path).toBe(
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:x',
    );
  });

  it('reads watch as Kubernetes does: the first value, anything but 0 or false', () => {
    const verb = (t: string) => parseRequestInfo('GET', t).verb;
    expect(verb('/api/v1/pods?watch=')).toBe('watch');
    expect(verb('/api/v1/pods?watch=true&watch=false')).toBe('watch');
    expect(verb('/api/v1/pods?watch=false&watch=true')).toBe('list');
    expect(verb('/api/v1/pods?watch=0')).toBe('list');
    expect(verb('/api/v1/namespaces/a/pods/p?watch=true')).toBe('get');
  });

  it('names the object a list pins with a metadata.name field selector', () => {
    const a = parseRequestInfo('GET', '/api/v1/namespaces/a/pods?fieldSelector=metadata.name%3Dweb&watch=1');
    expect([a.verb, a.name]).toEqual(['watch', 'web']);
    expect(a.resourcePath?.name).toBeUndefined();
  });

  it('gives longer paths resource attributes (never the non-resource rules) and no route', () => {
    const a = parseRequestInfo('GET', '/api/v1/secrets/a/b/c/d');
    expect(a.isResourceRequest).toBe(true);
    expect([a.resource, a.name, a.subresource]).toEqual(['secrets', 'a', 'b']);
    expect(a.resourcePath).toBeUndefined();
  });

  it('parses once per request object', () => {
    const req = { method: 'GET', url: '/api/v1/pods' };
    const first = requestInfo(req);
    req.url = '/api/v1/secrets';
    expect(requestInfo(req)).toBe(first);
    const broken = { method: 'GET', url: '/api/v1/%E0' };
    expect(() => requestInfo(broken)).toThrow(StatusError);
    expect(() => requestInfo(broken)).toThrow(StatusError);
  });
});

describe('queryBool', () => {
  // Kubernetes' Convert_Slice_string_To_bool: only `0` and `false` (any case) are false.
  it.each([
    { name: 'Python client', v: 'True', want: true },
    { name: 'Go', v: 'true', want: true },
    { name: 'upper case', v: 'TRUE', want: true },
    { name: 'one', v: '1', want: true },
    { name: 'short', v: 't', want: true },
    { name: 'empty value', v: '', want: true },
    { name: 'anything else', v: 'yes', want: true },
    { name: 'absent', v: undefined, want: false },
    { name: 'false', v: 'false', want: false },
    { name: 'Python False', v: 'False', want: false },
    { name: 'upper FALSE', v: 'FALSE', want: false },
    { name: 'zero', v: '0', want: false },
  ])('$name: $v is $want', ({ v, want }) => {
    expect(queryBool(v)).toBe(want);
  });
});

describe('isPrettyPrint', () => {
  // Kubernetes' isPrettyPrint: `pretty` by strconv.ParseBool when given, else the user agent.
  it.each([
    { name: 'pretty=true', search: '?pretty=true', ua: 'kubectl/v1.33', want: true },
    { name: 'pretty=1', search: '?pretty=1', ua: undefined, want: true },
    { name: 'Python True', search: '?pretty=True', ua: 'OpenAPI-Generator/31.0.0/python', want: true },
    { name: 'pretty=yes is no bool', search: '?pretty=yes', ua: 'curl/8.5.0', want: false },
    { name: 'pretty=false beats curl', search: '?pretty=false', ua: 'curl/8.5.0', want: false },
    { name: 'empty pretty: the agent decides', search: '?pretty=', ua: 'curl/8.5.0', want: true },
    { name: 'curl', search: '', ua: 'curl/8.5.0', want: true },
    { name: 'Wget', search: '', ua: 'Wget/1.21', want: true },
    { name: 'a browser', search: '', ua: 'Mozilla/5.0 (X11; Linux x86_64)', want: true },
    { name: 'kubectl', search: '', ua: 'kubectl/v1.33.0 (linux/amd64)', want: false },
    { name: 'no agent', search: '', ua: undefined, want: false },
  ])('$name', ({ search, ua, want }) => {
    expect(isPrettyPrint(new URLSearchParams(search), ua)).toBe(want);
  });
});
