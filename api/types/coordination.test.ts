import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import { coordinationTypes, type Lease, validateLease } from './coordination.js';

const now = new Date('2024-05-01T12:00:00Z');
const rt = coordinationTypes[0];

function lease(spec: Lease['spec'] = {}): Lease & KubeObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'kube-scheduler', namespace: 'kube-system', creationTimestamp: '2024-05-01T11:30:00Z' },
    spec,
  };
}

describe('Lease', () => {
  it('accepts a leader-election lease with MicroTime stamps', () => {
    const o = lease({
      holderIdentity: 'master-1_5f3c',
      leaseDurationSeconds: 15,
      acquireTime: '2024-05-01T11:30:00.123456Z',
      renewTime: '2024-05-01T11:59:58.000001Z',
      leaseTransitions: 2,
      strategy: 'OldestEmulationVersion',
      preferredHolder: 'master-2',
    });
    expect(Value.Check(rt.schema, o)).toBe(true);
    expect(validateLease(o)).toEqual([]);
  });

  it.each([
    {
      name: 'a zero duration',
      spec: { leaseDurationSeconds: 0 },
      want: 'FieldValueInvalid spec.leaseDurationSeconds',
    },
    {
      name: 'negative transitions',
      spec: { leaseTransitions: -1 },
      want: 'FieldValueInvalid spec.leaseTransitions',
    },
    {
      name: 'an unknown strategy',
      spec: { strategy: 'Newest' },
      want: 'FieldValueNotSupported spec.strategy',
    },
    {
      name: 'a preferred holder without strategy',
      spec: { preferredHolder: 'a' },
      want: 'FieldValueForbidden spec.preferredHolder',
    },
  ])('rejects $name', ({ spec, want }) => {
    expect(validateLease(lease(spec)).map((e) => `${e.type} ${e.field}`)).toEqual([want]);
  });

  it.each([
    { name: 'held', spec: { holderIdentity: 'node-1' }, want: { Holder: 'node-1', Age: '30m' } },
    { name: 'free', spec: {}, want: { Holder: '', Age: '30m' } },
  ])('prints a $name lease', ({ spec, want }) => {
    const o = lease(spec);
    expect(Object.fromEntries(rt.columns.map((c) => [c.name, c.cell(o, now)]))).toEqual(want);
  });
});
