import { describe, expect, it } from 'vitest';
import type { StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { podType } from '../api/types/pod.js';
import { applyDefaults, checkTypeMeta } from './admission.js';

const refused = (f: () => void): string => {
  try {
    f();
  } catch (err) {
    return `${(err as StatusError).code} ${(err as StatusError).message}`;
  }
  return 'accepted';
};

describe('checkTypeMeta', () => {
  it('takes a missing kind and apiVersion of a create or update body from the path', () => {
    for (const body of [
      { metadata: { name: 'p' } },
      { kind: '', apiVersion: '', metadata: { name: 'p' } },
      { kind: 'Pod', metadata: { name: 'p' } },
      { apiVersion: 'v1', metadata: { name: 'p' } },
    ]) {
      const obj: unknown = structuredClone(body);
      checkTypeMeta(podType, obj, { fromPath: true });
      expect(obj).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } });
    }
    const bare: unknown = {};
    checkTypeMeta(podType, bare, { fromPath: true });
    expect(bare).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: {} });
  });

  it('refuses a kind or apiVersion the body gives that the path does not serve', () => {
    expect(refused(() => checkTypeMeta(podType, { kind: 'Service' }, { fromPath: true }))).toBe(
      '400 Service in version "v1" cannot be handled as a Pod: the object provided is unrecognized (must be of type Pod)',
    );
    expect(refused(() => checkTypeMeta(podType, { apiVersion: 'apps/v1' }, { fromPath: true }))).toBe(
      '400 the API version in the data (apps/v1) does not match the expected API version (v1)',
    );
  });

  it('wants a patched or applied object to carry its own kind', () => {
    expect(refused(() => checkTypeMeta(podType, { apiVersion: 'v1', metadata: {} }))).toMatch(
      /^400 Object 'Kind' is missing in/,
    );
  });
});

describe('applyDefaults', () => {
  // What Kubernetes' JSON encoding of the Go types writes for a new object: the status
  // struct is never omitted, and its fields without omitempty appear at zero.
  it.each([
    { name: 'deployment', group: 'apps', plural: 'deployments', status: {} },
    { name: 'replicaset', group: 'apps', plural: 'replicasets', status: { replicas: 0 } },
    {
      name: 'statefulset',
      group: 'apps',
      plural: 'statefulsets',
      status: { replicas: 0, availableReplicas: 0 },
    },
    {
      name: 'daemonset',
      group: 'apps',
      plural: 'daemonsets',
      status: { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 },
    },
    { name: 'job', group: 'batch', plural: 'jobs', status: {} },
    { name: 'cronjob', group: 'batch', plural: 'cronjobs', status: {} },
    { name: 'service', group: '', plural: 'services', status: { loadBalancer: {} } },
    { name: 'ingress', group: 'networking.k8s.io', plural: 'ingresses', status: { loadBalancer: {} } },
  ])('gives a new $name the status Kubernetes serves', ({ group, plural, status }) => {
    const rt = builtinRegistry.get(group, 'v1', plural)!;
    const obj = { apiVersion: 'x', kind: rt.kind, metadata: { name: 'a' }, spec: {} };
    applyDefaults(rt, obj);
    expect(obj).toHaveProperty('status', status);
  });

  it('keeps the status a writer gave, filling only the missing fields', () => {
    const rt = builtinRegistry.get('apps', 'v1', 'replicasets')!;
    const obj = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'a' },
      spec: {},
      status: { readyReplicas: 2 },
    };
    applyDefaults(rt, obj);
    expect(obj.status).toEqual({ replicas: 0, readyReplicas: 2 });
  });
});
