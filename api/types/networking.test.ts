import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import {
  type Ingress,
  type IngressClass,
  type IngressRule,
  ingressHosts,
  networkingTypes,
} from './networking.js';

const now = new Date('2024-05-01T12:00:00Z');
const rt = (kind: string) => networkingTypes.find((t) => t.kind === kind) as ResourceType;

const backend = { service: { name: 'web', port: { number: 80 } } };
const rule = (host?: string): IngressRule => ({
  ...(host ? { host } : {}),
  http: { paths: [{ path: '/', pathType: 'Prefix', backend }] },
});

function ingress(spec: Ingress['spec'] = { rules: [rule('example.com')] }): Ingress & KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec,
  };
}

function ingressClass(
  spec: IngressClass['spec'] = { controller: 'k8s.io/ingress-nginx' },
): IngressClass & KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: { name: 'nginx', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec,
  };
}

const errors = (o: KubeObject, old?: KubeObject) =>
  (rt(o.kind as string).validate?.(o, old) ?? []).map((e) => `${e.type} ${e.field}`);
const cells = (o: KubeObject) =>
  Object.fromEntries(rt(o.kind as string).columns.map((c) => [c.name, c.cell(o, now)]));

describe('Ingress', () => {
  it('accepts a full manifest in the schema', () => {
    const o = ingress({
      ingressClassName: 'nginx',
      defaultBackend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static' } },
      tls: [{ hosts: ['example.com'], secretName: 'tls' }],
      rules: [
        {
          host: '*.example.com',
          http: {
            paths: [
              {
                path: '/api',
                pathType: 'Exact',
                backend: { service: { name: 'api', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    });
    o.status = { loadBalancer: { ingress: [{ ip: '10.0.0.1', ports: [{ port: 80, protocol: 'TCP' }] }] } };
    expect(Value.Check(rt('Ingress').schema, o)).toBe(true);
    expect(errors(o)).toEqual([]);
  });

  it('defaults an empty load balancer status', () => {
    const o = ingress();
    rt('Ingress').defaults?.(o);
    expect(o.status).toEqual({ loadBalancer: {} });
  });

  it.each([
    { name: 'no rules and no default backend', spec: {}, want: 'FieldValueInvalid spec' },
    { name: 'an IP host', spec: { rules: [rule('10.0.0.1')] }, want: 'FieldValueInvalid spec.rules[0].host' },
    {
      name: 'a bad wildcard',
      spec: { rules: [rule('foo.*.com')] },
      want: 'FieldValueInvalid spec.rules[0].host',
    },
    {
      name: 'a rule without paths',
      spec: { rules: [{ host: 'a.com', http: { paths: [] } }] },
      want: 'FieldValueRequired spec.rules[0].http.paths',
    },
    {
      name: 'a path without pathType',
      spec: { rules: [{ http: { paths: [{ path: '/', backend }] } }] },
      want: 'FieldValueRequired spec.rules[0].http.paths[0].pathType',
    },
    {
      name: 'an unknown pathType',
      spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Regex', backend }] } }] },
      want: 'FieldValueNotSupported spec.rules[0].http.paths[0].pathType',
    },
    {
      name: 'a relative Prefix path',
      spec: { rules: [{ http: { paths: [{ path: 'api', pathType: 'Prefix', backend }] } }] },
      want: 'FieldValueInvalid spec.rules[0].http.paths[0].path',
    },
    {
      name: 'a path with //',
      spec: { rules: [{ http: { paths: [{ path: '/a//b', pathType: 'Exact', backend }] } }] },
      want: 'FieldValueInvalid spec.rules[0].http.paths[0].path',
    },
    {
      name: 'both service and resource',
      spec: { defaultBackend: { ...backend, resource: { kind: 'X', name: 'y' } } },
      want: 'FieldValueInvalid spec.defaultBackend',
    },
    { name: 'an empty backend', spec: { defaultBackend: {} }, want: 'FieldValueInvalid spec.defaultBackend' },
    {
      name: 'port name and number',
      spec: { defaultBackend: { service: { name: 'web', port: { name: 'http', number: 80 } } } },
      want: 'FieldValueInvalid spec.defaultBackend',
    },
    {
      name: 'no port',
      spec: { defaultBackend: { service: { name: 'web', port: {} } } },
      want: 'FieldValueRequired spec.defaultBackend',
    },
    {
      name: 'a port out of range',
      spec: { defaultBackend: { service: { name: 'web', port: { number: 70000 } } } },
      want: 'FieldValueInvalid spec.defaultBackend.service.port.number',
    },
    {
      name: 'a service name that is not a DNS-1035 label',
      spec: { defaultBackend: { service: { name: '1web', port: { number: 80 } } } },
      want: 'FieldValueInvalid spec.defaultBackend.service.name',
    },
    {
      name: 'a resource without kind',
      spec: { defaultBackend: { resource: { name: 'x' } } },
      want: 'FieldValueRequired spec.defaultBackend.resource.kind',
    },
    {
      name: 'a bad TLS host',
      spec: { rules: [rule()], tls: [{ hosts: ['Example.com'] }] },
      want: 'FieldValueInvalid spec.tls[0].hosts[0]',
    },
  ])('rejects $name', ({ spec, want }) => {
    expect(errors(ingress(spec as Ingress['spec']))).toContain(want);
  });

  it('rejects a class annotation that disagrees with ingressClassName on create only', () => {
    const o = ingress({ ingressClassName: 'nginx', rules: [rule()] });
    o.metadata.annotations = { 'kubernetes.io/ingress.class': 'traefik' };
    expect(errors(o)).toEqual(['FieldValueInvalid metadata.annotations.kubernetes.io/ingress.class']);
    expect(errors(o, structuredClone(o))).toEqual([]);
  });

  it.each([
    { name: 'no host', rules: [rule()], want: '*' },
    { name: 'two hosts', rules: [rule('a.com'), rule('b.com')], want: 'a.com,b.com' },
    {
      name: 'a hostless rule among three',
      rules: [rule('a.com'), rule(), rule('b.com'), rule('c.com')],
      want: 'a.com,b.com,c.com',
    },
    {
      name: 'five hosts',
      rules: ['a', 'b', 'c', 'd', 'e'].map((h) => rule(`${h}.com`)),
      want: 'a.com,b.com,c.com + 2 more...',
    },
  ])('Hosts column with $name', ({ rules, want }) => {
    expect(ingressHosts(rules)).toBe(want);
  });

  it.each([
    {
      name: 'a new ingress',
      o: ingress(),
      want: { Class: '<none>', Hosts: 'example.com', Address: '', Ports: '80', Age: '60m' },
    },
    {
      name: 'an ingress with TLS and addresses',
      o: {
        ...ingress({ ingressClassName: 'nginx', rules: [rule('a.com')], tls: [{ hosts: ['a.com'] }] }),
        status: {
          loadBalancer: { ingress: [{ ip: '10.0.0.2' }, { hostname: 'lb.example.com' }, { ip: '10.0.0.2' }] },
        },
      },
      want: { Class: 'nginx', Address: '10.0.0.2,lb.example.com', Ports: '80, 443' },
    },
  ])('columns of $name', ({ o, want }) => {
    expect(cells(o)).toMatchObject(want);
  });
});

describe('IngressClass', () => {
  it('defaults the parameters scope to Cluster', () => {
    const o = ingressClass({ controller: 'example.com/lb', parameters: { kind: 'Params', name: 'p' } });
    rt('IngressClass').defaults?.(o);
    expect(o.spec?.parameters?.scope).toBe('Cluster');
    expect(errors(o)).toEqual([]);
  });

  it.each([
    { name: 'no controller', spec: {}, want: 'FieldValueRequired spec.controller' },
    {
      name: 'a controller without domain',
      spec: { controller: 'nginx' },
      want: 'FieldValueInvalid spec.controller',
    },
    {
      name: 'Namespace scope without namespace',
      spec: { controller: 'a.io/b', parameters: { kind: 'P', name: 'p', scope: 'Namespace' } },
      want: 'FieldValueRequired spec.parameters.namespace',
    },
    {
      name: 'Cluster scope with a namespace',
      spec: { controller: 'a.io/b', parameters: { kind: 'P', name: 'p', scope: 'Cluster', namespace: 'x' } },
      want: 'FieldValueForbidden spec.parameters.namespace',
    },
    {
      name: 'an unknown scope',
      spec: { controller: 'a.io/b', parameters: { kind: 'P', name: 'p', scope: 'Global' } },
      want: 'FieldValueNotSupported spec.parameters.scope',
    },
  ])('rejects $name', ({ spec, want }) => {
    expect(errors(ingressClass(spec))).toContain(want);
  });

  it('keeps the controller immutable', () => {
    const old = ingressClass();
    expect(errors(ingressClass({ controller: 'example.com/other' }), old)).toEqual([
      'FieldValueInvalid spec.controller',
    ]);
  });

  it.each([
    { name: 'no parameters', spec: { controller: 'k8s.io/ingress-nginx' }, want: '<none>' },
    {
      name: 'grouped parameters',
      spec: {
        controller: 'a.io/b',
        parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' },
      },
      want: 'IngressParameters.k8s.example.com/p',
    },
    {
      name: 'core parameters',
      spec: { controller: 'a.io/b', parameters: { kind: 'ConfigMap', name: 'p' } },
      want: 'ConfigMap/p',
    },
  ])('Parameters column with $name', ({ spec, want }) => {
    expect(cells(ingressClass(spec))).toMatchObject({
      Controller: spec.controller,
      Parameters: want,
      Age: '60m',
    });
  });
});
