/**
 * coordination.k8s.io/v1 Lease: the small object that leader election and
 * node heartbeats renew.
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Int, Str, Struct, Time } from '../schema.js';
import type { FieldError } from '../status.js';
import { child, forbiddenError, invalidError, notSupportedError } from '../validation.js';

/** Strategies a coordinated lease may name; Kubernetes has just this one. */
export const coordinatedLeaseStrategies = ['OldestEmulationVersion'] as const;

export const LeaseSpec = Struct(
  {
    holderIdentity: Str('Identity of the current holder of the lease.'),
    leaseDurationSeconds: Int('How long, after renewTime, others must wait before they may take the lease.'),
    acquireTime: Time('When the current holder took the lease (MicroTime: RFC 3339 with microseconds).'),
    renewTime: Time('When the current holder last renewed the lease (MicroTime).'),
    leaseTransitions: Int('How many times the lease has changed holders.'),
    strategy: Str('How a coordinated leader election picks the holder: OldestEmulationVersion.'),
    preferredHolder: Str('Holder the election would hand the lease to; only with strategy set.'),
  },
  'Who holds the lease and until when.',
);
export type LeaseSpec = Static<typeof LeaseSpec>;

export const Lease = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: LeaseSpec },
  'A lease: who holds a named lock and until when; renewed to keep it.',
);
export type Lease = Static<typeof Lease>;

export function validateLease(obj: Lease): FieldError[] {
  const spec = obj.spec ?? {};
  const path = 'spec';
  const errs: FieldError[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0)
    errs.push(
      invalidError(child(path, 'leaseDurationSeconds'), spec.leaseDurationSeconds, 'must be greater than 0'),
    );
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0)
    errs.push(
      invalidError(
        child(path, 'leaseTransitions'),
        spec.leaseTransitions,
        'must be greater than or equal to 0',
      ),
    );
  if (
    spec.strategy !== undefined &&
    !(coordinatedLeaseStrategies as readonly string[]).includes(spec.strategy)
  )
    errs.push(notSupportedError(child(path, 'strategy'), spec.strategy, coordinatedLeaseStrategies));
  if (spec.preferredHolder && !spec.strategy)
    errs.push(
      forbiddenError(child(path, 'preferredHolder'), 'may only be specified if `strategy` is defined'),
    );
  return errs;
}

export const coordinationTypes: ResourceType[] = [
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    shortNames: [],
    categories: [],
    namespaced: true,
    subresources: [],
    schema: Lease,
    validate: (obj) => validateLease(obj as Lease),
    columns: [
      column('Holder', 'Identity of the current holder.', (o) => (o as Lease).spec?.holderIdentity ?? ''),
      ageColumn,
    ],
  },
];
