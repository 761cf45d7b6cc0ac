import { describe, expect, it } from 'vitest';
import { formatFieldError } from '../status.js';
import {
  type APIService,
  apiregistrationTypes,
  availableCell,
  validateAPIService,
} from './apiregistration.js';

const ok: APIService = {
  metadata: { name: 'v1beta1.metrics.k8s.io' },
  spec: {
    group: 'metrics.k8s.io',
    version: 'v1beta1',
    service: { namespace: 'kube-system', name: 'metrics-server', port: 443 },
    groupPriorityMinimum: 100,
    versionPriority: 100,
    insecureSkipTLSVerify: true,
  },
};
const errors = (a: APIService) => validateAPIService(a).map(formatFieldError);

describe('validateAPIService', () => {
  it('accepts a service-backed and a local APIService', () => {
    expect(errors(ok)).toEqual([]);
    expect(
      errors({
        metadata: { name: 'v1.' },
        spec: { group: '', version: 'v1', groupPriorityMinimum: 18000, versionPriority: 1 },
      }),
    ).toEqual([]);
  });

  it.each([
    {
      name: 'name not version.group',
      a: { ...ok, metadata: { name: 'metrics' } },
      want: 'metadata.name: Invalid value: "metrics": must be `spec.version+"."+spec.group`: "v1beta1.metrics.k8s.io"',
    },
    {
      name: 'priorities out of range',
      a: { ...ok, spec: { ...ok.spec, groupPriorityMinimum: 0, versionPriority: 1001 } },
      want: 'spec.groupPriorityMinimum: Invalid value: 0: must be positive and less than 20000',
    },
    {
      name: 'empty group with another version',
      a: { metadata: { name: 'v2.' }, spec: { version: 'v2', groupPriorityMinimum: 1, versionPriority: 1 } },
      want: 'spec.group: Required value: only v1 may have an empty group and it better be legacy kube',
    },
    {
      name: 'service without a name',
      a: { ...ok, spec: { ...ok.spec, service: { namespace: 'kube-system', port: 443 } } },
      want: 'spec.service.name: Required value',
    },
    {
      name: 'a bad port',
      a: { ...ok, spec: { ...ok.spec, service: { ...ok.spec!.service, port: 70000 } } },
      want: 'spec.service.port: Invalid value: 70000: port is not valid: must be between 1 and 65535, inclusive',
    },
    {
      name: 'caBundle and insecureSkipTLSVerify',
      a: { ...ok, spec: { ...ok.spec, caBundle: Buffer.from('pem').toString('base64') } },
      want: 'spec.insecureSkipTLSVerify: Invalid value: true: may not be true if caBundle is present',
    },
    {
      name: 'a local one with a caBundle',
      a: { ...ok, spec: { ...ok.spec, service: undefined, insecureSkipTLSVerify: false, caBundle: 'cGVt' } },
      want: 'spec.caBundle: Invalid value: "3 bytes": local APIServices may not have a caBundle',
    },
  ])('refuses $name', ({ a, want }) => {
    expect(errors(a as APIService)).toContain(want);
  });

  it('defaults the service port to 443', () => {
    const a = { metadata: { name: 'x' }, spec: { service: { namespace: 'a', name: 'b' } } };
    apiregistrationTypes[0].defaults!(a);
    expect(a.spec.service).toEqual({ namespace: 'a', name: 'b', port: 443 });
  });
});

describe('the AVAILABLE column', () => {
  it.each([
    { name: 'none yet', conditions: [], want: 'Unknown' },
    {
      name: 'available',
      conditions: [{ type: 'Available', status: 'True', reason: 'Passed' }],
      want: 'True',
    },
    {
      name: 'down',
      conditions: [{ type: 'Available', status: 'False', reason: 'MissingEndpoints' }],
      want: 'False (MissingEndpoints)',
    },
  ])('$name: $want', ({ conditions, want }) => {
    expect(availableCell({ ...ok, status: { conditions } })).toBe(want);
  });
});
