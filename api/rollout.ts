/**
 * Rollout history facts that the workload controllers and `nkctl rollout`
 * share: a Deployment's revisions are its ReplicaSets, numbered by the
 * deployment.kubernetes.io/revision annotation and told apart by the
 * pod-template-hash label; a StatefulSet's and a DaemonSet's are
 * ControllerRevisions whose `data` is the patch that puts a template back.
 * No I/O here.
 */
import { controllerRefOf, type KubeObject } from './meta.js';
import type { ControllerRevision } from './objects.js';
import { stableJson } from './stable-json.js';
import type { PodTemplateSpec } from './types/pod-schema.js';

export const podTemplateHashLabel = 'pod-template-hash';
export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const desiredReplicasAnnotation = 'deployment.kubernetes.io/desired-replicas';
export const maxReplicasAnnotation = 'deployment.kubernetes.io/max-replicas';
/**
 * Annotations the Deployment controller keeps for itself: not copied to
 * ReplicaSets, and kept on the Deployment through `rollout undo`.
 */
export const deploymentOwnAnnotations = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  revisionAnnotation,
  'deployment.kubernetes.io/revision-history',
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  'deprecated.deployment.rollback.to',
]);

/** The label that carries a StatefulSet's or DaemonSet's template hash on its pods. */
export const controllerRevisionHashLabel = 'controller-revision-hash';

/** The revision number of a Deployment or ReplicaSet; 0 when it has none. */
export function revisionOf(o: { metadata: { annotations?: Record<string, string> } }): number {
  const n = Number.parseInt(o.metadata.annotations?.[revisionAnnotation] ?? '', 10);
  return Number.isNaN(n) ? 0 : n;
}

/** True when two templates are equal apart from the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const c = structuredClone(t ?? {});
    // kubectl rollout undo sends creationTimestamp: null inside the template.
    if (c.metadata) delete c.metadata.creationTimestamp;
    if (c.metadata && Object.keys(c.metadata).length === 0) delete c.metadata;
    if (c.metadata?.labels) {
      delete c.metadata.labels[podTemplateHashLabel];
      if (Object.keys(c.metadata.labels).length === 0) delete c.metadata.labels;
    }
    return stableJson(c);
  };
  return strip(a) === strip(b);
}

/** The patch a revision records: the whole template, replacing whatever is there. */
export function revisionData(template: PodTemplateSpec | undefined): Record<string, unknown> {
  return { spec: { template: { ...structuredClone(template ?? {}), $patch: 'replace' } } };
}

/** The pod template a revision records. */
export function templateOf(rev: ControllerRevision): PodTemplateSpec {
  const t = structuredClone(
    (rev.data as { spec?: { template?: Record<string, unknown> } })?.spec?.template ?? {},
  );
  delete t.$patch;
  return t as PodTemplateSpec;
}

/** The revisions `owner` controls, oldest first. */
export function ownedRevisions(owner: KubeObject, all: ControllerRevision[]): ControllerRevision[] {
  return all
    .filter((r) => controllerRefOf(r)?.uid === owner.metadata.uid)
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
}
