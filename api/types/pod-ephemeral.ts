/**
 * Ephemeral containers (the containers `kubectl debug` adds to a running
 * pod): what one may not set, as Kubernetes' validateEphemeralContainers
 * checks, and what an update through pods/{name}/ephemeralcontainers may
 * change, as its podEphemeralContainersStrategy keeps it. The update's own
 * validation is validatePodEphemeralContainersUpdate (pod-validation.ts).
 * Re-exported from `pod.ts`.
 */
import type { FieldError } from '../status.js';
import type { EphemeralContainer } from './pod-container.js';
import { forbidden, notFound } from './pod-field-errors.js';
import type { Pod } from './pod-schema.js';

/** The subresource through which ephemeral containers are added. */
export const ephemeralContainersSubresource = 'ephemeralcontainers';

/** Marks a static pod's mirror; the kubelet that runs it takes no ephemeral containers. */
export const mirrorPodAnnotation = 'kubernetes.io/config.mirror';

/**
 * The fields of an ephemeral container that Kubernetes'
 * allowedEphemeralContainerFields leaves out, in field order: nothing the
 * pod's service may come to rely on.
 */
const notForEphemeral = [
  'ports',
  'resources',
  'resizePolicy',
  'restartPolicy',
  'restartPolicyRules',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'lifecycle',
] as const;

/** Unset as Go's zero value is unset (kubectl sends `resources: {}`): empty strings, lists and objects too. */
const isZero = (v: unknown): boolean =>
  v === undefined ||
  v === null ||
  v === '' ||
  v === 0 ||
  v === false ||
  (typeof v === 'object' && Object.values(v).every(isZero));

/**
 * Kubernetes' validateEphemeralContainers beyond the checks every container
 * gets: the target must be one of the pod's app or init containers
 * (`targets`), the fields above stay unset, and mounts take no subPath
 * (its bind mounts would outlive the container).
 */
export function validateEphemeralFields(
  errs: FieldError[],
  c: EphemeralContainer,
  field: string,
  targets: Set<string>,
): void {
  if (c.targetContainerName && !targets.has(c.targetContainerName))
    errs.push(notFound(`${field}.targetContainerName`, c.targetContainerName));
  const why = 'cannot be set for an Ephemeral Container';
  for (const key of notForEphemeral) if (!isZero(c[key])) errs.push(forbidden(`${field}.${key}`, why));
  (c.volumeMounts ?? []).forEach((m, i) => {
    if (m.subPath) errs.push(forbidden(`${field}.volumeMounts[${i}].subPath`, why));
    if (m.subPathExpr) errs.push(forbidden(`${field}.volumeMounts[${i}].subPathExpr`, why));
  });
}

/** Metadata that a subresource write keeps as stored (apimachinery's ResetObjectMetaForStatus). */
const keptMetadata = [
  'deletionTimestamp',
  'generation',
  'labels',
  'annotations',
  'finalizers',
  'ownerReferences',
] as const;

/**
 * Kubernetes' dropNonEphemeralContainerUpdates: of a write through the
 * ephemeralcontainers subresource only spec.ephemeralContainers counts;
 * the rest of the spec, the status and the metadata above stay as `old`
 * has them. Changes `pod` in place.
 */
export function dropNonEphemeralContainerUpdates(pod: Pod, old: Pod): void {
  const ephemeral = pod.spec?.ephemeralContainers;
  pod.spec = structuredClone(old.spec ?? {});
  if (ephemeral) pod.spec.ephemeralContainers = ephemeral;
  else delete pod.spec.ephemeralContainers;
  if (old.status === undefined) delete pod.status;
  else pod.status = structuredClone(old.status);
  pod.metadata ??= {};
  const meta = pod.metadata as Record<string, unknown>;
  const before = (old.metadata ?? {}) as Record<string, unknown>;
  for (const key of keptMetadata) {
    if (before[key] === undefined) delete meta[key];
    else meta[key] = structuredClone(before[key]);
  }
}
