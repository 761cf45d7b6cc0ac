/**
 * core/v1 Volume: the common sources in full, the rarer in-tree plugins as
 * open objects. Re-exported from `pod.ts`; import from there.
 */
import type { Static } from '@sinclair/typebox';
import { LabelSelector, LocalObjectReference, ObjectMeta } from '../meta.js';
import { Bool, Int, Int64, List, Open, Quantity, ResourceList, Str, StrMap, Struct, T } from '../schema.js';
import { ObjectFieldSelector, ResourceFieldSelector } from './pod-container.js';

export const KeyToPath = Struct(
  {
    key: Str('The key to project.'),
    path: Str('Relative path of the file to write it to.'),
    mode: Int('File mode bits; the volume defaultMode when unset.'),
  },
  'Maps a key of a ConfigMap or Secret to a file.',
);

export const EmptyDirVolumeSource = Struct(
  {
    medium: Str('Storage medium: "" for the node default, or Memory for tmpfs.'),
    sizeLimit: Quantity('Most space the volume may use.'),
  },
  'A scratch directory that lives as long as the pod.',
);

export const HostPathVolumeSource = Struct(
  {
    path: Str('Path on the host.'),
    type: Str('What must be at the path: "", DirectoryOrCreate, Directory, FileOrCreate, File, Socket...'),
  },
  'A file or directory of the host node.',
);

export const ConfigMapVolumeSource = Struct(
  {
    name: Str('Name of the ConfigMap.'),
    items: List(KeyToPath, 'Keys to project; all keys when empty.'),
    defaultMode: Int('Mode bits of the files; 0644 (420) by default.'),
    optional: Bool('Whether the ConfigMap or its keys may be missing.'),
  },
  'Files made from the keys of a ConfigMap.',
);

export const SecretVolumeSource = Struct(
  {
    secretName: Str('Name of the Secret.'),
    items: List(KeyToPath, 'Keys to project; all keys when empty.'),
    defaultMode: Int('Mode bits of the files; 0644 (420) by default.'),
    optional: Bool('Whether the Secret or its keys may be missing.'),
  },
  'Files made from the keys of a Secret.',
);

export const PersistentVolumeClaimVolumeSource = Struct(
  {
    claimName: Str('Name of a PersistentVolumeClaim in the pod namespace.'),
    readOnly: Bool('Mount read-only.'),
  },
  'The volume bound to a PersistentVolumeClaim.',
);

export const DownwardAPIVolumeFile = Struct(
  {
    path: Str('Relative path of the file.'),
    fieldRef: ObjectFieldSelector,
    resourceFieldRef: ResourceFieldSelector,
    mode: Int('File mode bits.'),
  },
  'A file holding a field of the pod or a resource of a container.',
);

export const DownwardAPIVolumeSource = Struct(
  {
    items: List(DownwardAPIVolumeFile, 'Files to write.'),
    defaultMode: Int('Mode bits of the files; 0644 (420) by default.'),
  },
  'Files holding fields of the pod itself.',
);

export const NFSVolumeSource = Struct(
  {
    server: Str('Host name or IP of the NFS server.'),
    path: Str('Exported path.'),
    readOnly: Bool('Mount read-only.'),
  },
  'An NFS share.',
);

export const CSIVolumeSource = Struct(
  {
    driver: Str('Name of the CSI driver.'),
    readOnly: Bool('Mount read-only.'),
    fsType: Str('Filesystem type, e.g. ext4.'),
    volumeAttributes: StrMap('Driver-specific properties.'),
    nodePublishSecretRef: LocalObjectReference,
  },
  'An inline volume provided by a CSI driver.',
);

const TypedLocalObjectReference = Struct(
  {
    apiGroup: T.Union([Str(), T.Null()], {
      description: 'API group of the referent; null or empty for the core group.',
    }),
    kind: Str('Kind of the referent.'),
    name: Str('Name of the referent.'),
  },
  'Names an object of a kind in the same namespace.',
);

const TypedObjectReference = Struct(
  {
    apiGroup: T.Union([Str(), T.Null()], {
      description: 'API group of the referent; null or empty for the core group.',
    }),
    kind: Str('Kind of the referent.'),
    name: Str('Name of the referent.'),
    namespace: Str('Namespace of the referent.'),
  },
  'Names an object of a kind, possibly in another namespace.',
);

export const PersistentVolumeClaimSpec = Struct(
  {
    accessModes: List(Str(), 'ReadWriteOnce, ReadOnlyMany, ReadWriteMany, ReadWriteOncePod.'),
    selector: LabelSelector,
    resources: Struct({
      limits: ResourceList('Most storage the claim may use.'),
      requests: ResourceList('Least storage the claim needs.'),
    }),
    volumeName: Str('Name of the PersistentVolume to bind to.'),
    storageClassName: Str('StorageClass to provision from.'),
    volumeMode: Str('Filesystem or Block.'),
    dataSource: TypedLocalObjectReference,
    dataSourceRef: TypedObjectReference,
    volumeAttributesClassName: Str('VolumeAttributesClass to use.'),
  },
  'The storage a PersistentVolumeClaim asks for.',
);

export const EphemeralVolumeSource = Struct(
  {
    volumeClaimTemplate: Struct({ metadata: ObjectMeta, spec: PersistentVolumeClaimSpec }),
  },
  'A volume backed by a PersistentVolumeClaim made for, and deleted with, the pod.',
);

export const ServiceAccountTokenProjection = Struct(
  {
    audience: Str('Audience the token is meant for; the apiserver by default.'),
    expirationSeconds: Int64('Requested lifetime of the token; 3600 by default.'),
    path: Str('Relative path of the token file.'),
  },
  'A service account token written into a projected volume.',
);

export const VolumeProjection = Struct({
  secret: Struct({
    name: Str('Name of the Secret.'),
    items: List(KeyToPath),
    optional: Bool('Whether the Secret may be missing.'),
  }),
  downwardAPI: Struct({ items: List(DownwardAPIVolumeFile) }),
  configMap: Struct({
    name: Str('Name of the ConfigMap.'),
    items: List(KeyToPath),
    optional: Bool('Whether the ConfigMap may be missing.'),
  }),
  serviceAccountToken: ServiceAccountTokenProjection,
  clusterTrustBundle: Struct({
    name: Str('Name of a ClusterTrustBundle.'),
    signerName: Str('Signer whose bundles to select.'),
    labelSelector: LabelSelector,
    optional: Bool('Whether the bundle may be missing.'),
    path: Str('Relative path of the file.'),
  }),
  podCertificate: Open('A certificate issued to the pod.'),
});

export const ProjectedVolumeSource = Struct(
  {
    sources: List(VolumeProjection, 'Sources to merge into one directory.'),
    defaultMode: Int('Mode bits of the files; 0644 (420) by default.'),
  },
  'Several sources projected into one directory.',
);

export const ImageVolumeSource = Struct({
  reference: Str('Image or artifact reference.'),
  pullPolicy: Str('Always, Never or IfNotPresent.'),
});

export const Volume = Struct(
  {
    name: Str('Name of the volume, a DNS label unique within the pod.'),
    emptyDir: EmptyDirVolumeSource,
    hostPath: HostPathVolumeSource,
    configMap: ConfigMapVolumeSource,
    secret: SecretVolumeSource,
    persistentVolumeClaim: PersistentVolumeClaimVolumeSource,
    projected: ProjectedVolumeSource,
    downwardAPI: DownwardAPIVolumeSource,
    nfs: NFSVolumeSource,
    csi: CSIVolumeSource,
    ephemeral: EphemeralVolumeSource,
    image: ImageVolumeSource,
    gcePersistentDisk: Open(),
    awsElasticBlockStore: Open(),
    gitRepo: Open(),
    iscsi: Open(),
    glusterfs: Open(),
    rbd: Open(),
    flexVolume: Open(),
    cinder: Open(),
    cephfs: Open(),
    flocker: Open(),
    fc: Open(),
    azureFile: Open(),
    azureDisk: Open(),
    vsphereVolume: Open(),
    quobyte: Open(),
    photonPersistentDisk: Open(),
    portworxVolume: Open(),
    scaleIO: Open(),
    storageos: Open(),
  },
  'A named directory that containers of the pod can mount; exactly one source.',
);
export type Volume = Static<typeof Volume>;

/** The source fields of Volume, for "exactly one source" checks. */
export const volumeSourceNames = Object.keys(Volume.properties).filter((k) => k !== 'name');
