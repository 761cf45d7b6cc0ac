/**
 * core/v1 PersistentVolume and PersistentVolumeClaim: schemas, defaulting
 * and the columns of `kubectl get pv` / `kubectl get pvc`. A claim asks for
 * storage; a volume is a piece of it; the binder ties one to the other
 * (claim.spec.volumeName and volume.spec.claimRef).
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import { formatQuantity } from '../quantity.js';
import type { ResourceType } from '../registry.js';
import { Bool, List, MapList, Open, ResourceList, Str, StrMap, Struct } from '../schema.js';
import { MaybeTime, ObjectReference, SecretReference } from './core-common.js';
import { HostPathVolumeSource, NFSVolumeSource, NodeSelector, PersistentVolumeClaimSpec } from './pod.js';
import { validatePersistentVolume, validatePersistentVolumeClaim } from './storage-validation.js';

export const LocalVolumeSource = Struct(
  {
    path: Str('Absolute path of a directory or block device on the node.'),
    fsType: Str('Filesystem to mount a block device with; detected when empty.'),
  },
  'Storage attached directly to one node; needs nodeAffinity.',
);

export const CSIPersistentVolumeSource = Struct(
  {
    driver: Str('Name of the CSI driver.'),
    volumeHandle: Str('ID the driver gave the volume when it created it.'),
    readOnly: Bool('Publish the volume read-only.'),
    fsType: Str('Filesystem to mount, e.g. ext4.'),
    volumeAttributes: StrMap('Driver-specific properties of the volume.'),
    controllerPublishSecretRef: SecretReference,
    nodeStageSecretRef: SecretReference,
    nodePublishSecretRef: SecretReference,
    controllerExpandSecretRef: SecretReference,
    nodeExpandSecretRef: SecretReference,
  },
  'A volume managed by an external CSI driver.',
);

/** The volume plugins a PersistentVolume may use; exactly one is set. */
export const persistentVolumeSources = {
  hostPath: HostPathVolumeSource,
  local: LocalVolumeSource,
  nfs: NFSVolumeSource,
  csi: CSIPersistentVolumeSource,
  // In-tree plugins that Kubernetes deprecated or moved to CSI: accepted, not modelled.
  gcePersistentDisk: Open('GCE persistent disk (deprecated).'),
  awsElasticBlockStore: Open('AWS EBS volume (deprecated).'),
  glusterfs: Open('Glusterfs volume (deprecated).'),
  rbd: Open('Ceph RBD volume (deprecated).'),
  iscsi: Open('iSCSI disk.'),
  cinder: Open('OpenStack Cinder volume (deprecated).'),
  cephfs: Open('CephFS volume (deprecated).'),
  fc: Open('Fibre Channel volume.'),
  flocker: Open('Flocker volume (deprecated).'),
  flexVolume: Open('FlexVolume driver volume (deprecated).'),
  azureFile: Open('Azure File share (deprecated).'),
  vsphereVolume: Open('vSphere disk (deprecated).'),
  quobyte: Open('Quobyte volume (deprecated).'),
  azureDisk: Open('Azure data disk (deprecated).'),
  photonPersistentDisk: Open('Photon Controller disk (deprecated).'),
  portworxVolume: Open('Portworx volume (deprecated).'),
  scaleIO: Open('ScaleIO volume (deprecated).'),
  storageos: Open('StorageOS volume (deprecated).'),
};
export const persistentVolumeSourceNames = Object.keys(
  persistentVolumeSources,
) as (keyof typeof persistentVolumeSources)[];

export const PersistentVolumeSpec = Struct(
  {
    ...persistentVolumeSources,
    capacity: ResourceList('Size of the volume: {storage: 10Gi}.'),
    accessModes: List(Str(), 'ReadWriteOnce, ReadOnlyMany, ReadWriteMany and/or ReadWriteOncePod.'),
    claimRef: ObjectReference,
    persistentVolumeReclaimPolicy: Str(
      'What to do when the claim is released: Retain (default), Delete or Recycle.',
    ),
    storageClassName: Str('StorageClass the volume belongs to; empty for none.'),
    mountOptions: List(Str(), 'Mount options, e.g. ["ro", "soft"]; not checked.'),
    volumeMode: Str('Filesystem (default) or Block.'),
    nodeAffinity: Struct({ required: NodeSelector }, 'Nodes the volume can be used from.'),
    volumeAttributesClassName: Str('VolumeAttributesClass the volume belongs to.'),
  },
  'A piece of storage and how it may be used.',
);
export type PersistentVolumeSpec = Static<typeof PersistentVolumeSpec>;

export const PersistentVolumeStatus = Struct({
  phase: Str('Pending, Available, Bound, Released or Failed.'),
  message: Str('Why the volume is in this phase, for people.'),
  reason: Str('Short CamelCase reason for a failure.'),
  lastPhaseTransitionTime: MaybeTime('When the phase last changed.'),
});

export const PersistentVolume = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: PersistentVolumeSpec, status: PersistentVolumeStatus },
  'A piece of storage in the cluster, provisioned by an administrator or a StorageClass.',
);
export type PersistentVolume = Static<typeof PersistentVolume>;

export const PersistentVolumeClaimCondition = Struct({
  type: Str('Resizing, FileSystemResizePending, ModifyingVolume...'),
  status: Str('True, False or Unknown.'),
  lastProbeTime: MaybeTime('When the condition was last probed.'),
  lastTransitionTime: MaybeTime('When the status last changed.'),
  reason: Str('Machine-readable reason.'),
  message: Str('Human-readable details.'),
});

export const PersistentVolumeClaimStatus = Struct({
  phase: Str('Pending, Bound or Lost.'),
  accessModes: List(Str(), 'Access modes of the bound volume.'),
  capacity: ResourceList('Capacity of the bound volume.'),
  conditions: MapList(PersistentVolumeClaimCondition, ['type'], 'Current conditions, e.g. during a resize.'),
  allocatedResources: ResourceList('Resources allocated to the claim, including a pending expansion.'),
  allocatedResourceStatuses: StrMap('State of each resize in progress, by resource name.'),
  currentVolumeAttributesClassName: Str('VolumeAttributesClass currently applied.'),
  modifyVolumeStatus: Struct({
    targetVolumeAttributesClassName: Str('Class being applied.'),
    status: Str('Pending, InProgress or Infeasible.'),
  }),
  healthStatus: Open('Health of the bound volume as reported by its CSI driver.'),
});

export const PersistentVolumeClaim = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: PersistentVolumeClaimSpec, status: PersistentVolumeClaimStatus },
  "A user's request for storage, bound to a PersistentVolume that satisfies it.",
);
export type PersistentVolumeClaim = Static<typeof PersistentVolumeClaim>;

export function defaultPersistentVolume(pv: PersistentVolume): void {
  pv.spec ??= {};
  const spec = pv.spec;
  spec.persistentVolumeReclaimPolicy ||= 'Retain';
  spec.volumeMode ??= 'Filesystem';
  if (spec.hostPath) spec.hostPath.type ??= '';
  pv.status ??= {};
  pv.status.phase ||= 'Pending';
}

/**
 * A new volume's status, as Kubernetes' persistentvolumeStrategy.PrepareForCreate:
 * whatever the client sent, Pending since `now`.
 */
export function preparePersistentVolumeForCreate(pv: PersistentVolume, now: string): void {
  pv.status = { phase: 'Pending', lastPhaseTransitionTime: now };
}

/**
 * lastPhaseTransitionTime through /status, as Kubernetes' persistentvolumeStatusStrategy:
 * left out while the phase stays, the old time is kept; a phase change that leaves it out
 * or unchanged stamps `now`; a time the writer sets is theirs.
 */
export function preparePersistentVolumeForStatusUpdate(
  pv: PersistentVolume,
  old: PersistentVolume,
  now: string,
): void {
  pv.status ??= {};
  const status = pv.status;
  const before = old.status ?? {};
  const phaseChanged = (status.phase ?? '') !== (before.phase ?? '');
  if (!phaseChanged && !status.lastPhaseTransitionTime) {
    if (before.lastPhaseTransitionTime) status.lastPhaseTransitionTime = before.lastPhaseTransitionTime;
  } else if (
    phaseChanged &&
    (!status.lastPhaseTransitionTime || status.lastPhaseTransitionTime === before.lastPhaseTransitionTime)
  ) {
    status.lastPhaseTransitionTime = now;
  }
}

export function defaultPersistentVolumeClaim(pvc: PersistentVolumeClaim): void {
  pvc.spec ??= {};
  const spec = pvc.spec;
  spec.volumeMode ??= 'Filesystem';
  // dataSource and dataSourceRef mirror each other when only one is given (same-namespace sources).
  if (spec.dataSource && !spec.dataSourceRef) {
    spec.dataSourceRef = { ...spec.dataSource };
  } else if (spec.dataSourceRef && !spec.dataSource && !spec.dataSourceRef.namespace) {
    const { namespace: _, ...local } = spec.dataSourceRef;
    spec.dataSource = local;
  }
  pvc.status ??= {};
  pvc.status.phase ||= 'Pending';
}

/** kubectl's access-mode abbreviations, in its fixed order: RWO,ROX,RWX,RWOP. */
export function accessModesString(modes: string[] | undefined): string {
  const short: [string, string][] = [
    ['ReadWriteOnce', 'RWO'],
    ['ReadOnlyMany', 'ROX'],
    ['ReadWriteMany', 'RWX'],
    ['ReadWriteOncePod', 'RWOP'],
  ];
  return short
    .filter(([mode]) => modes?.includes(mode))
    .map(([, abbr]) => abbr)
    .join(',');
}

/** A quantity in canonical form, as kubectl prints it; "0" when unset. */
function quantityCell(q: string | number | undefined): string {
  if (q === undefined) return '0';
  try {
    return formatQuantity(q);
  } catch {
    return String(q);
  }
}

const betaClassAnnotation = 'volume.beta.kubernetes.io/storage-class';

/** The storage class, from the old beta annotation first, as kubectl does. */
function storageClassOf(obj: PersistentVolume | PersistentVolumeClaim): string {
  return obj.metadata?.annotations?.[betaClassAnnotation] ?? obj.spec?.storageClassName ?? '';
}

const phaseOf = (obj: PersistentVolume | PersistentVolumeClaim) =>
  obj.metadata?.deletionTimestamp ? 'Terminating' : (obj.status?.phase ?? '');

const pv = (o: unknown) => o as PersistentVolume;
const pvc = (o: unknown) => o as PersistentVolumeClaim;

export const storageTypes: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolume',
    plural: 'persistentvolumes',
    singular: 'persistentvolume',
    shortNames: ['pv'],
    categories: [],
    namespaced: false,
    returnDeletedObject: true,
    subresources: ['status'],
    schema: PersistentVolume,
    defaults: (obj) => defaultPersistentVolume(pv(obj)),
    validate: (obj, old) => validatePersistentVolume(pv(obj), old as PersistentVolume | undefined),
    columns: [
      column('Capacity', 'Size of the volume.', (o) => quantityCell(pv(o).spec?.capacity?.storage)),
      column('Access Modes', 'How the volume may be mounted.', (o) =>
        accessModesString(pv(o).spec?.accessModes),
      ),
      column('Reclaim Policy', 'What happens when the claim is released.', (o) =>
        String(pv(o).spec?.persistentVolumeReclaimPolicy ?? ''),
      ),
      column('Status', 'Phase of the volume.', (o) => phaseOf(pv(o))),
      column('Claim', 'Claim bound to the volume, namespace/name.', (o) => {
        const ref = pv(o).spec?.claimRef;
        return ref ? `${ref.namespace ?? ''}/${ref.name ?? ''}` : '';
      }),
      column('StorageClass', 'StorageClass of the volume.', (o) => storageClassOf(pv(o))),
      column('VolumeAttributesClass', 'VolumeAttributesClass of the volume.', (o) =>
        String(pv(o).spec?.volumeAttributesClassName ?? '<unset>'),
      ),
      column('Reason', 'Reason for a failure.', (o) => pv(o).status?.reason ?? ''),
      ageColumn,
      column('VolumeMode', 'Filesystem or Block.', (o) => String(pv(o).spec?.volumeMode ?? '<unset>'), {
        priority: 1,
      }),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'PersistentVolumeClaim',
    plural: 'persistentvolumeclaims',
    singular: 'persistentvolumeclaim',
    shortNames: ['pvc'],
    categories: [],
    namespaced: true,
    returnDeletedObject: true,
    subresources: ['status'],
    schema: PersistentVolumeClaim,
    defaults: (obj) => defaultPersistentVolumeClaim(pvc(obj)),
    validate: (obj, old) => validatePersistentVolumeClaim(pvc(obj), old as PersistentVolumeClaim | undefined),
    columns: [
      column('Status', 'Phase of the claim.', (o) => phaseOf(pvc(o))),
      column('Volume', 'Volume bound to the claim.', (o) => String(pvc(o).spec?.volumeName ?? '')),
      // Capacity and access modes are those of the bound volume, so blank until bound.
      column('Capacity', 'Capacity of the bound volume.', (o) =>
        pvc(o).spec?.volumeName ? quantityCell(pvc(o).status?.capacity?.storage) : '',
      ),
      column('Access Modes', 'Access modes of the bound volume.', (o) =>
        pvc(o).spec?.volumeName ? accessModesString(pvc(o).status?.accessModes) : '',
      ),
      column('StorageClass', 'StorageClass of the claim.', (o) => storageClassOf(pvc(o))),
      column('VolumeAttributesClass', 'VolumeAttributesClass currently applied.', (o) =>
        String(pvc(o).status?.currentVolumeAttributesClassName ?? '<unset>'),
      ),
      ageColumn,
      column('VolumeMode', 'Filesystem or Block.', (o) => String(pvc(o).spec?.volumeMode ?? '<unset>'), {
        priority: 1,
      }),
    ],
  },
];
