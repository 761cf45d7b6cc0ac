import { describe, expect, it } from 'vitest';
import { endpointsOf, type IngressObj, isOurs, route, tlsSecretFor } from './routes.js';

const be = (name: string, port: number | string = 80) => ({
  service: { name, port: typeof port === 'number' ? { number: port } : { name: port } },
});
const ing = (name: string, spec: IngressObj['spec'], created = '2026-01-01T00:00:00Z'): IngressObj => ({
  metadata: { name, namespace: 'default', creationTimestamp: created },
  spec: { ingressClassName: 'nanokube', ...spec },
});

const web = ing('web', {
  defaultBackend: be('fallback'),
  tls: [
    { hosts: ['a.example.test'], secretName: 'a-tls' },
    { hosts: ['*.wild.test'], secretName: 'wild-tls' },
  ],
  rules: [
    { host: 'a.example.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('a') }] } },
    {
      host: 'b.example.test',
      http: {
        paths: [
          { path: '/api', pathType: 'Prefix', backend: be('api') },
          { path: '/api/v2', pathType: 'Prefix', backend: be('api2') },
          { path: '/exact', pathType: 'Exact', backend: be('exact') },
          { path: '/', pathType: 'ImplementationSpecific', backend: be('b-root') },
        ],
      },
    },
    { host: '*.wild.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('wild') }] } },
    { http: { paths: [{ path: '/any', pathType: 'Prefix', backend: be('anyhost') }] } },
  ],
});

describe('route', () => {
  it.each([
    ['a.example.test', '/', 'a'],
    ['A.Example.Test:8080', '/x', 'a'],
    ['b.example.test', '/api', 'api'],
    ['b.example.test', '/api/', 'api'],
    ['b.example.test', '/api/users', 'api'],
    ['b.example.test', '/apix', 'b-root'],
    ['b.example.test', '/api/v2/x', 'api2'],
    ['b.example.test', '/exact', 'exact'],
    ['b.example.test', '/exact/', 'b-root'],
    ['x.wild.test', '/', 'wild'],
    ['deep.x.wild.test', '/', 'fallback'],
    ['wild.test', '/', 'fallback'],
    ['other.test', '/any/thing', 'anyhost'],
    ['other.test', '/', 'fallback'],
  ])('%s%s goes to %s', (host, path, service) => {
    expect(route([web], host, path)?.service).toBe(service);
  });

  it('gives 404 (undefined) with no match and no default backend, and names ports as written', () => {
    const only = ing('only', {
      rules: [
        { host: 'x.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: be('x', 'http') }] } },
      ],
    });
    expect(route([only], 'y.test', '/')).toBeUndefined();
    expect(route([only], 'x.test', '/')).toEqual({ namespace: 'default', service: 'x', port: 'http' });
  });
});

describe('isOurs', () => {
  it('takes class nanokube, and no class only when ours is the default', () => {
    expect(isOurs(ing('a', {}), false)).toBe(true);
    expect(isOurs({ metadata: { name: 'b' }, spec: { ingressClassName: 'nginx' } }, true)).toBe(false);
    expect(isOurs({ metadata: { name: 'c' }, spec: {} }, true)).toBe(true);
    expect(isOurs({ metadata: { name: 'd' }, spec: {} }, false)).toBe(false);
  });
});

describe('endpointsOf', () => {
  const services = new Map([
    [
      'default/a',
      { metadata: { name: 'a' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    ],
  ]);
  const slices = new Map([
    [
      'default/a',
      [
        {
          metadata: { name: 'a-1' },
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          endpoints: [
            { addresses: ['10.244.1.2'], conditions: { ready: true } },
            { addresses: ['10.244.1.3'], conditions: { ready: false } },
          ],
        },
      ],
    ],
  ]);
  it('gives the ready endpoints of the service port, by number or name', () => {
    expect(endpointsOf({ namespace: 'default', service: 'a', port: 80 }, services, slices)).toEqual([
      { ip: '10.244.1.2', port: 8080 },
    ]);
    expect(endpointsOf({ namespace: 'default', service: 'a', port: 'http' }, services, slices)).toHaveLength(
      1,
    );
    expect(endpointsOf({ namespace: 'default', service: 'a', port: 81 }, services, slices)).toEqual([]);
    expect(endpointsOf({ namespace: 'default', service: 'nope', port: 80 }, services, slices)).toBe(
      'no-service',
    );
  });
});

describe('tlsSecretFor', () => {
  it('prefers the exact host, then a wildcard', () => {
    expect(tlsSecretFor([web], 'a.example.test')).toBe('default/a-tls');
    expect(tlsSecretFor([web], 'x.wild.test')).toBe('default/wild-tls');
    expect(tlsSecretFor([web], 'b.example.test')).toBeUndefined();
  });
});
