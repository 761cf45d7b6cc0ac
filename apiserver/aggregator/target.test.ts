import { describe, expect, it } from 'vitest';
import type { APIService, Endpoints, Service } from '../../api/objects.js';
import { availableCondition, resolveEndpoint, type ServiceLookup, withCondition } from './target.js';

const apiService = (service?: { namespace: string; name: string; port?: number }): APIService => ({
  apiVersion: 'apiregistration.k8s.io/v1',
  kind: 'APIService',
  metadata: { name: 'v1.example.com' },
  spec: { group: 'example.com', version: 'v1', service, groupPriorityMinimum: 100, versionPriority: 10 },
});

const svc: Service = {
  metadata: { name: 'api', namespace: 'ext' },
  spec: { type: 'ClusterIP', ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
};

const eps = (subsets: Endpoints['subsets']): Endpoints => ({
  metadata: { name: 'api', namespace: 'ext' },
  subsets,
});

const lookup = (s?: Service, e?: Endpoints): ServiceLookup => ({
  service: (ns, name) => (s && ns === 'ext' && name === 'api' ? s : undefined),
  endpoints: (ns, name) => (e && ns === 'ext' && name === 'api' ? e : undefined),
});

const ref = { namespace: 'ext', name: 'api', port: 443 };
const ready = eps([{ addresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'https', port: 8443 }] }]);

describe('resolveEndpoint and the Available condition', () => {
  it.each([
    {
      name: 'local',
      a: apiService(),
      l: lookup(),
      want: { status: 'True', reason: 'Local', message: 'Local APIServices are always available' },
    },
    {
      name: 'no service',
      a: apiService(ref),
      l: lookup(),
      want: { status: 'False', reason: 'ServiceNotFound', message: 'service/api in "ext" is not present' },
    },
    {
      name: 'another port',
      a: apiService({ ...ref, port: 9443 }),
      l: lookup(svc, ready),
      want: {
        status: 'False',
        reason: 'ServicePortError',
        message: 'service/api in "ext" is not listening on port 9443',
      },
    },
    {
      name: 'no endpoints object',
      a: apiService(ref),
      l: lookup(svc),
      want: {
        status: 'False',
        reason: 'EndpointsNotFound',
        message: 'cannot find endpoints for service/api in "ext"',
      },
    },
    {
      name: 'only not-ready addresses',
      a: apiService(ref),
      l: lookup(
        svc,
        eps([{ notReadyAddresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'https', port: 8443 }] }]),
      ),
      want: {
        status: 'False',
        reason: 'MissingEndpoints',
        message: 'endpoints for service/api in "ext" have no addresses with port name "https"',
      },
    },
    {
      name: 'ready endpoint of another port name',
      a: apiService(ref),
      l: lookup(svc, eps([{ addresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'metrics', port: 9000 }] }])),
      want: { status: 'False', reason: 'MissingEndpoints' },
    },
    {
      name: 'ready',
      a: apiService(ref),
      l: lookup(svc, ready),
      want: { status: 'True', reason: 'Passed', message: 'all checks passed' },
    },
  ])('$name', ({ a, l, want }) => {
    expect(availableCondition(resolveEndpoint(a, l), undefined)).toMatchObject({
      type: 'Available',
      ...want,
    });
  });

  it('goes to the endpoint port (the target port), by IP, and checks the service DNS name', () => {
    const r = resolveEndpoint(apiService(ref), lookup(svc, ready));
    expect(r).toMatchObject({ ok: true, serverName: 'api.ext.svc' });
    expect(r.ok && r.url.host).toBe('10.244.0.7:8443');
  });

  it('picks among every ready address', () => {
    const two = eps([
      { addresses: [{ ip: '10.244.0.7' }], ports: [{ name: 'https', port: 8443 }] },
      { addresses: [{ ip: '10.244.0.8' }], ports: [{ name: 'https', port: 8443 }] },
    ]);
    const r = resolveEndpoint(apiService(ref), lookup(svc, two), (n) => n - 1);
    expect(r.ok && r.url.hostname).toBe('10.244.0.8');
  });

  it('reports a failed discovery check once the endpoint resolves', () => {
    const r = resolveEndpoint(apiService(ref), lookup(svc, ready));
    expect(availableCondition(r, 'failing or missing response from x: boom')).toEqual({
      type: 'Available',
      status: 'False',
      reason: 'FailedDiscoveryCheck',
      message: 'failing or missing response from x: boom',
    });
  });
});

describe('withCondition', () => {
  const passed = { type: 'Available', status: 'True', reason: 'Passed', message: 'all checks passed' };
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:05:00Z');

  it('adds the condition stamped now', () => {
    expect(withCondition(apiService(ref), passed, t0)).toEqual({
      conditions: [{ ...passed, lastTransitionTime: '2026-01-01T00:00:00Z' }],
    });
  });

  it('changes nothing when the condition is the same', () => {
    const a = { ...apiService(ref), status: withCondition(apiService(ref), passed, t0) };
    expect(withCondition(a, passed, t1)).toBeUndefined();
  });

  it('keeps the transition time when only the message changes, moves it when the status does', () => {
    const a = { ...apiService(ref), status: withCondition(apiService(ref), passed, t0) };
    const down = { type: 'Available', status: 'False', reason: 'MissingEndpoints', message: 'm' };
    expect(withCondition(a, { ...passed, message: 'other' }, t1)?.conditions?.[0].lastTransitionTime).toBe(
      '2026-01-01T00:00:00Z',
    );
    expect(withCondition(a, down, t1)?.conditions).toEqual([
      { ...down, lastTransitionTime: '2026-01-01T00:05:00Z' },
    ]);
  });
});
