/**
 * Validation of core/v1 PersistentVolume and PersistentVolumeClaim, after
 * defaulting, following Kubernetes' ValidatePersistentVolume and
 * ValidatePersistentVolumeClaim (and their update rules).
 */
import { compareQuantities, isValidQuantity } from '../quantity.js';
import type { FieldError } from '../status.js';
import {
  forbiddenError,
  invalidError,
  isDNS1123Subdomain,
  notSupportedError,
  requiredError,
  validateLabelSelector,
} from '../validation.js';
import { checkName, immutableField, oneOf, sameValue } from './core-common.js';
import type { PersistentVolume, PersistentVolumeClaim, PersistentVolumeSpec } from './storage.js';

const accessModes = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const volumeModes = ['Block', 'Filesystem'];
// Kept here rather than read from storage.ts so that this module has no runtime import cycle.
const sourceNames = [
  'hostPath',
  'local',
  'nfs',
  'csi',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'glusterfs',
  'rbd',
  'iscsi',
  'cinder',
  'cephfs',
  'fc',
  'flocker',
  'flexVolume',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
] as const;

function validateAccessModes(
  modes: string[] | undefined,
  field: string,
  requiredDetail: string,
): FieldError[] {
  if (!modes?.length) return [requiredError(field, requiredDetail)];
  const errs = modes.flatMap((m) =>
    accessModes.includes(m) ? [] : [notSupportedError(field, m, accessModes)],
  );
  if (modes.includes('ReadWriteOncePod') && modes.length > 1)
    errs.push(forbiddenError(field, 'may not use ReadWriteOncePod with other access modes'));
  return errs;
}

function validatePositiveQuantity(q: string | number, field: string): FieldError[] {
  if (!isValidQuantity(q)) return [invalidError(field, q, 'must be a valid quantity')];
  return compareQuantities(q, 0) > 0 ? [] : [invalidError(field, q, 'must be greater than zero')];
}

function validateClassName(name: string | undefined, field: string): FieldError[] {
  return name ? checkName(field, name, isDNS1123Subdomain) : [];
}

const isAbsolute = (p: string) => p.startsWith('/');
const hasBacksteps = (p: string) => p.split('/').includes('..');

function validateSources(spec: PersistentVolumeSpec): FieldError[] {
  const set = sourceNames.filter((k) => spec[k] !== undefined);
  if (set.length === 0) return [requiredError('spec', 'must specify a volume type')];
  const errs: FieldError[] = [];
  if (set.length > 1) errs.push(forbiddenError(`spec.${set[1]}`, 'may not specify more than 1 volume type'));
  const { hostPath, local, nfs, csi } = spec;
  if (hostPath) {
    if (!hostPath.path) errs.push(requiredError('spec.hostPath.path'));
    else if (hasBacksteps(hostPath.path))
      errs.push(invalidError('spec.hostPath.path', hostPath.path, "must not contain '..'"));
  }
  if (local) {
    if (!spec.nodeAffinity)
      errs.push(requiredError('spec.nodeAffinity', 'Local volume requires node affinity'));
    if (!local.path) errs.push(requiredError('spec.local.path'));
    else if (hasBacksteps(local.path))
      errs.push(invalidError('spec.local.path', local.path, "must not contain '..'"));
  }
  if (nfs) {
    if (!nfs.server) errs.push(requiredError('spec.nfs.server'));
    if (!nfs.path) errs.push(requiredError('spec.nfs.path'));
    else if (!isAbsolute(nfs.path))
      errs.push(invalidError('spec.nfs.path', nfs.path, 'must be an absolute path'));
  }
  if (csi) {
    if (!csi.driver) errs.push(requiredError('spec.csi.driver'));
    else errs.push(...checkName('spec.csi.driver', csi.driver.toLowerCase(), isDNS1123Subdomain));
    if (!csi.volumeHandle) errs.push(requiredError('spec.csi.volumeHandle'));
  }
  return errs;
}

export function validatePersistentVolume(pv: PersistentVolume, old?: PersistentVolume): FieldError[] {
  const spec = pv.spec ?? {};
  const errs = validateAccessModes(spec.accessModes, 'spec.accessModes', '');
  const capacity = spec.capacity ?? {};
  const keys = Object.keys(capacity);
  if (keys.length === 0) errs.push(requiredError('spec.capacity'));
  else if (keys.length > 1 || !('storage' in capacity))
    errs.push(notSupportedError('spec.capacity', capacity, ['storage']));
  for (const k of keys) errs.push(...validatePositiveQuantity(capacity[k], `spec.capacity[${k}]`));
  errs.push(
    ...oneOf('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, [
      'Delete',
      'Recycle',
      'Retain',
    ]),
  );
  errs.push(...validateClassName(spec.storageClassName, 'spec.storageClassName'));
  errs.push(...oneOf('spec.volumeMode', spec.volumeMode, volumeModes));
  if (spec.nodeAffinity && !spec.nodeAffinity.required)
    errs.push(requiredError('spec.nodeAffinity.required', 'must specify required node constraints'));
  if (spec.volumeAttributesClassName !== undefined) {
    if (spec.volumeAttributesClassName === '')
      errs.push(requiredError('spec.volumeAttributesClassName', 'an empty string is disallowed'));
    else errs.push(...validateClassName(spec.volumeAttributesClassName, 'spec.volumeAttributesClassName'));
  }
  errs.push(...validateSources(spec));
  if (old) {
    const sources = (s: PersistentVolumeSpec | undefined) => sourceNames.map((k) => s?.[k]);
    if (!sameValue(sources(spec), sources(old.spec)))
      errs.push(
        forbiddenError(
          'spec.persistentvolumesource',
          'spec.persistentvolumesource is immutable after creation',
        ),
      );
    errs.push(...immutableField('volumeMode', spec.volumeMode, old.spec?.volumeMode));
  }
  return errs;
}

type ClaimSpec = NonNullable<PersistentVolumeClaim['spec']>;

function validateDataSources(spec: ClaimSpec): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['dataSource', 'dataSourceRef'] as const) {
    const src = spec[f];
    if (!src) continue;
    if (!src.name) errs.push(requiredError(`spec.${f}.name`));
    if (!src.kind) errs.push(requiredError(`spec.${f}.kind`));
    else if (!src.apiGroup && src.kind !== 'PersistentVolumeClaim')
      errs.push(
        invalidError(
          `spec.${f}.kind`,
          src.kind,
          "must be 'PersistentVolumeClaim' when referencing the default apiGroup",
        ),
      );
  }
  const { dataSource: a, dataSourceRef: b } = spec;
  if (
    a &&
    b &&
    !b.namespace &&
    (a.kind !== b.kind || a.name !== b.name || (a.apiGroup ?? '') !== (b.apiGroup ?? ''))
  )
    errs.push(invalidError('spec', 'spec.dataSource', 'must match dataSourceRef'));
  return errs;
}

export function validatePersistentVolumeClaim(
  pvc: PersistentVolumeClaim,
  old?: PersistentVolumeClaim,
): FieldError[] {
  const spec = pvc.spec ?? {};
  const errs = validateAccessModes(
    spec.accessModes,
    'spec.accessModes',
    'at least 1 access mode is required',
  );
  errs.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const storage = spec.resources?.requests?.storage;
  // Kubernetes names this path spec.resources[storage], without `requests`.
  if (storage === undefined) errs.push(requiredError('spec.resources[storage]'));
  else errs.push(...validatePositiveQuantity(storage, 'spec.resources[storage]'));
  errs.push(...validateClassName(spec.storageClassName, 'spec.storageClassName'));
  errs.push(...oneOf('spec.volumeMode', spec.volumeMode, volumeModes));
  errs.push(...validateDataSources(spec));
  if (spec.volumeAttributesClassName !== undefined) {
    if (spec.volumeAttributesClassName === '')
      errs.push(requiredError('spec.volumeAttributesClassName', 'an empty string is disallowed'));
    else errs.push(...validateClassName(spec.volumeAttributesClassName, 'spec.volumeAttributesClassName'));
  }
  if (old) errs.push(...validateClaimUpdate(pvc, old));
  return errs;
}

/**
 * A claim's spec is fixed once created, except: volumeName may be set once
 * (binding), storageClassName may be set once, the storage request of a bound
 * claim may change (expansion, or back down to the bound capacity after a
 * failed one) and volumeAttributesClassName may change.
 */
function validateClaimUpdate(pvc: PersistentVolumeClaim, old: PersistentVolumeClaim): FieldError[] {
  const now = pvc.spec ?? {};
  const before = old.spec ?? {};
  const bound = pvc.status?.phase === 'Bound';
  const comparable = (s: ClaimSpec): ClaimSpec => ({
    ...s,
    volumeName: before.volumeName ? s.volumeName : now.volumeName,
    storageClassName: before.storageClassName === undefined ? now.storageClassName : s.storageClassName,
    resources: bound ? { ...s.resources, requests: { ...s.resources?.requests, storage: 0 } } : s.resources,
    volumeAttributesClassName: undefined,
  });
  const errs: FieldError[] = [];
  if (!sameValue(comparable(now), comparable(before)))
    errs.push(
      forbiddenError(
        'spec',
        'spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
      ),
    );
  const newSize = now.resources?.requests?.storage;
  const oldSize = before.resources?.requests?.storage;
  const valid = (q: string | number | undefined): q is string | number =>
    q !== undefined && isValidQuantity(q);
  if (valid(newSize) && valid(oldSize) && compareQuantities(newSize, oldSize) < 0) {
    const capacity = old.status?.capacity?.storage;
    if (compareQuantities(newSize, valid(capacity) ? capacity : 0) <= 0)
      errs.push(
        forbiddenError('spec.resources.requests.storage', 'field can not be less than status.capacity'),
      );
  }
  return errs;
}
