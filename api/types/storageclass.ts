/**
 * storage.k8s.io/v1 StorageClass: a kind of storage a claim can ask for by
 * name, and the provisioner that makes volumes of it on demand. The class
 * annotated `storageclass.kubernetes.io/is-default-class: "true"` is the one
 * claims without a storageClassName get.
 */
import type { Static } from '@sinclair/typebox';
import type { KubeObject } from '../meta.js';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Bool, List, Str, StrMap, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import { forbiddenError, notSupportedError, requiredError } from '../validation.js';

export const defaultClassAnnotation = 'storageclass.kubernetes.io/is-default-class';
export const reclaimPolicies = ['Delete', 'Retain'] as const;
export const volumeBindingModes = ['Immediate', 'WaitForFirstConsumer'] as const;

export const StorageClass = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    provisioner: Str(
      'Name of the provisioner that makes volumes of this class, e.g. nanokube.io/local-path.',
    ),
    parameters: StrMap('Provisioner-specific settings.'),
    reclaimPolicy: Str('Reclaim policy of the volumes it provisions: Delete (default) or Retain.'),
    mountOptions: List(Str(), 'Mount options of the volumes it provisions; not checked.'),
    allowVolumeExpansion: Bool('Whether claims of this class may grow.'),
    volumeBindingMode: Str('When claims bind: Immediate (default) or WaitForFirstConsumer.'),
    allowedTopologies: List(
      Struct({
        matchLabelExpressions: List(
          Struct({ key: Str('Label key.'), values: List(Str(), 'Allowed values.') }),
          'Topology labels a node must have, all of them.',
        ),
      }),
      'Where volumes may be provisioned; empty for anywhere.',
    ),
  },
  'A class of storage: its provisioner and how its volumes are made and reclaimed.',
);
export type StorageClass = Static<typeof StorageClass>;

export function defaultStorageClass(sc: StorageClass): void {
  sc.reclaimPolicy ||= 'Delete';
  sc.volumeBindingMode ||= 'Immediate';
}

/** Whether a class is marked as the cluster's default. */
export function isDefaultClass(sc: KubeObject): boolean {
  return sc.metadata.annotations?.[defaultClassAnnotation] === 'true';
}

export function validateStorageClass(sc: StorageClass, old?: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!sc.provisioner) errs.push(requiredError('provisioner'));
  if (sc.reclaimPolicy && !(reclaimPolicies as readonly string[]).includes(sc.reclaimPolicy))
    errs.push(notSupportedError('reclaimPolicy', sc.reclaimPolicy, reclaimPolicies));
  if (sc.volumeBindingMode && !(volumeBindingModes as readonly string[]).includes(sc.volumeBindingMode))
    errs.push(notSupportedError('volumeBindingMode', sc.volumeBindingMode, volumeBindingModes));
  if (old) {
    if (sc.provisioner !== old.provisioner)
      errs.push(forbiddenError('provisioner', 'updates to provisioner are forbidden.'));
    if (JSON.stringify(sc.parameters ?? {}) !== JSON.stringify(old.parameters ?? {}))
      errs.push(forbiddenError('parameters', 'updates to parameters are forbidden.'));
    if ((sc.reclaimPolicy ?? 'Delete') !== (old.reclaimPolicy ?? 'Delete'))
      errs.push(forbiddenError('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    if ((sc.volumeBindingMode ?? 'Immediate') !== (old.volumeBindingMode ?? 'Immediate'))
      errs.push(forbiddenError('volumeBindingMode', 'field is immutable'));
  }
  return errs;
}

const sc = (o: unknown) => o as StorageClass & KubeObject;

export const storageClassTypes: ResourceType[] = [
  {
    group: 'storage.k8s.io',
    version: 'v1',
    kind: 'StorageClass',
    plural: 'storageclasses',
    singular: 'storageclass',
    shortNames: ['sc'],
    categories: [],
    namespaced: false,
    returnDeletedObject: true,
    subresources: [],
    schema: StorageClass,
    defaults: (obj) => defaultStorageClass(sc(obj)),
    validate: (obj, old) => validateStorageClass(sc(obj), old as StorageClass | undefined),
    columns: [
      // kubectl marks the default class after its name.
      column(
        'Name',
        'Name of the class; "(default)" follows the default one.',
        (o) => `${o.metadata.name ?? ''}${isDefaultClass(o) ? ' (default)' : ''}`,
        { format: 'name' },
      ),
      column('Provisioner', 'Provisioner of its volumes.', (o) => sc(o).provisioner ?? ''),
      column('ReclaimPolicy', 'What happens to its volumes when released.', (o) => sc(o).reclaimPolicy ?? ''),
      column('VolumeBindingMode', 'When its claims bind.', (o) => sc(o).volumeBindingMode ?? ''),
      column(
        'AllowVolumeExpansion',
        'Whether its claims may grow.',
        (o) => sc(o).allowVolumeExpansion ?? false,
        {
          type: 'boolean',
        },
      ),
      ageColumn,
    ],
  },
];
