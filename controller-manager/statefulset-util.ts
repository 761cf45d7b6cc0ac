/**
 * Pure pieces of the StatefulSet controller (after Kubernetes'
 * stateful_set_utils and stateful_set_control): stable pod identities and
 * claim names, the pod and claims made for an ordinal, the next actions of
 * one sync (OrderedReady or Parallel; create, replace, scale down from the
 * highest ordinal, roll out from the highest ordinal down to the partition),
 * and the status. No I/O here.
 *
 * A revision is named `<set>-<hash of the pod template>`, as Kubernetes
 * names its ControllerRevisions (history.ts keeps those objects); each pod
 * carries the name of the revision it was made from in the
 * `controller-revision-hash` label.
 */
import { newControllerRef } from '../api/meta.js';
import type { PersistentVolumeClaim, Pod, StatefulSet } from '../api/objects.js';
import { controllerRevisionHashLabel } from '../api/rollout.js';
import type { PodTemplateSpec } from '../api/types/pod.js';
import { isPodAvailable, isPodReady } from '../api/types/pod-facts.js';
import { podFromTemplate } from './podcontrol.js';
import { templateHash } from './workload-util.js';

export type StatefulSetStatus = NonNullable<StatefulSet['status']>;

export const podNameLabel = 'statefulset.kubernetes.io/pod-name';
export const podIndexLabel = 'apps.kubernetes.io/pod-index';

export const updateRevisionOf = (sts: StatefulSet) =>
  `${sts.metadata.name}-${templateHash(sts.spec?.template, sts.status?.collisionCount)}`;

export const podName = (sts: StatefulSet, ordinal: number) => `${sts.metadata.name}-${ordinal}`;

/** The ordinal of a pod of this set (`<set>-<n>`), or undefined for a pod that is not one. */
export function ordinalOf(sts: StatefulSet, pod: Pod): number | undefined {
  const prefix = `${sts.metadata.name}-`;
  const name = pod.metadata.name ?? '';
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export const claimName = (template: string, sts: StatefulSet, ordinal: number) =>
  `${template}-${sts.metadata.name}-${ordinal}`;

/**
 * The claims of one ordinal: each volumeClaimTemplate's spec, its labels
 * plus the set's matchLabels. Retain (the default, and the only policy
 * here) means no ownerReference, so the claims outlive pods and set.
 */
export function claimsFor(sts: StatefulSet, ordinal: number): PersistentVolumeClaim[] {
  return (sts.spec?.volumeClaimTemplates ?? []).map((t) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: claimName(t.metadata?.name ?? '', sts, ordinal),
      namespace: sts.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...(sts.spec?.selector?.matchLabels ?? {}) },
      annotations: t.metadata?.annotations,
    },
    spec: structuredClone(t.spec ?? {}),
  }));
}

/** The pod of one ordinal: stable name, hostname and subdomain, identity labels, its claims as volumes. */
export function newStatefulPod(
  sts: StatefulSet,
  ordinal: number,
  revision: string,
  template: PodTemplateSpec | undefined = sts.spec?.template,
): Pod {
  const name = podName(sts, ordinal);
  const ref = newControllerRef(sts, 'apps/v1', 'StatefulSet');
  const pod = podFromTemplate(template, sts, ref, {
    name,
    labels: {
      [podNameLabel]: name,
      [podIndexLabel]: String(ordinal),
      [controllerRevisionHashLabel]: revision,
    },
  });
  const spec = pod.spec!;
  spec.hostname = name;
  if (sts.spec?.serviceName) spec.subdomain = sts.spec.serviceName;
  const claims = (sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? '');
  if (claims.length) {
    spec.volumes = [
      ...(spec.volumes ?? []).filter((v) => !claims.includes(v.name ?? '')),
      ...claims.map((c) => ({ name: c, persistentVolumeClaim: { claimName: claimName(c, sts, ordinal) } })),
    ];
  }
  return pod;
}

const finished = (p: Pod) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
const terminating = (p: Pod) => !!p.metadata.deletionTimestamp;
/** Running and Ready and not going away: what OrderedReady waits for. */
export const isHealthy = (p: Pod) => p.status?.phase === 'Running' && isPodReady(p) && !terminating(p);
export const revisionOf = (p: Pod) => p.metadata.labels?.[controllerRevisionHashLabel];

export interface StatefulSetPlan {
  /** Ordinals whose pod (and claims) to create. */
  create: number[];
  /** Pods to delete: finished ones (to be remade), condemned ones, or ones to update. */
  remove: Pod[];
}

/** [first, end) of the ordinals the set should have. */
export function ordinalRange(sts: StatefulSet): [number, number] {
  const start = sts.spec?.ordinals?.start ?? 0;
  return [start, start + (sts.spec?.replicas ?? 1)];
}

/**
 * Whether a pod made now for `ordinal` is made from the current revision
 * rather than the update revision (newVersionedStatefulSetPod): only below
 * the partition of a RollingUpdate.
 */
export function usesCurrentRevision(sts: StatefulSet, ordinal: number): boolean {
  const strategy = sts.spec?.updateStrategy;
  if (strategy?.type === 'OnDelete') return false;
  return ordinal - ordinalRange(sts)[0] < (strategy?.rollingUpdate?.partition ?? 0);
}

/**
 * The writes of one sync (updateStatefulSet). OrderedReady returns at most
 * one action and none while an earlier pod is not healthy: create in
 * ascending order, each after the one before is Running and Ready; scale
 * down from the highest ordinal, one at a time, only when every other pod
 * is healthy. Parallel does all creates and deletes at once. The rolling
 * update (RollingUpdate only, after the rest is done) deletes the highest
 * pod at or above the partition that runs an old revision, one at a time,
 * waiting for each replacement to be healthy.
 */
export function planStatefulSet(sts: StatefulSet, members: Pod[], updateRevision: string): StatefulSetPlan {
  const monotonic = sts.spec?.podManagementPolicy !== 'Parallel';
  const [first, end] = ordinalRange(sts);
  const byOrdinal = new Map<number, Pod>();
  for (const p of members) byOrdinal.set(ordinalOf(sts, p)!, p);
  const plan: StatefulSetPlan = { create: [], remove: [] };
  const one = () => monotonic && plan.create.length + plan.remove.length > 0;
  for (let ord = first; ord < end; ord++) {
    const pod = byOrdinal.get(ord);
    if (!pod) plan.create.push(ord);
    else if (finished(pod) && !terminating(pod)) plan.remove.push(pod);
    else if (monotonic && !isHealthy(pod)) return plan;
    if (one()) return plan;
  }
  const condemned = members
    .filter((p) => {
      const o = ordinalOf(sts, p)!;
      return o < first || o >= end;
    })
    .sort((a, b) => ordinalOf(sts, b)! - ordinalOf(sts, a)!);
  for (const pod of condemned) {
    if (terminating(pod)) {
      if (monotonic) return plan;
      continue;
    }
    // OrderedReady: only the highest condemned pod goes, and only when no other pod is unhealthy.
    if (monotonic && members.some((p) => p !== pod && !isHealthy(p))) return plan;
    plan.remove.push(pod);
    if (one()) return plan;
  }
  if (plan.create.length || plan.remove.length) return plan;
  if (sts.spec?.updateStrategy?.type === 'OnDelete') return plan;
  const partition = sts.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
  for (let ord = end - 1; ord >= first + partition; ord--) {
    const pod = byOrdinal.get(ord);
    if (!pod) return plan;
    if (revisionOf(pod) !== updateRevision && !terminating(pod)) {
      plan.remove.push(pod);
      return plan;
    }
    if (!isHealthy(pod)) return plan;
  }
  return plan;
}

/**
 * The status from the pods (computeReplicaStatus), with currentRevision
 * moving to updateRevision once every pod runs it and is ready.
 */
export function statefulSetStatus(
  sts: StatefulSet,
  members: Pod[],
  updateRevision: string,
  nowMs: number,
): StatefulSetStatus {
  const minReady = sts.spec?.minReadySeconds ?? 0;
  let currentRevision = sts.status?.currentRevision || updateRevision;
  const s = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const p of members) {
    s.replicas++;
    if (isHealthy(p)) {
      s.readyReplicas++;
      if (isPodAvailable(p, minReady, nowMs)) s.availableReplicas++;
    }
    if (terminating(p)) continue;
    if (revisionOf(p) === currentRevision) s.currentReplicas++;
    if (revisionOf(p) === updateRevision) s.updatedReplicas++;
  }
  const want = sts.spec?.replicas ?? 1;
  if (s.updatedReplicas === want && s.readyReplicas === want && s.replicas === want) {
    currentRevision = updateRevision;
    s.currentReplicas = s.updatedReplicas;
  }
  const status: StatefulSetStatus = {
    observedGeneration: sts.metadata.generation,
    ...s,
    currentRevision,
    updateRevision,
  };
  if (sts.status?.collisionCount) status.collisionCount = sts.status.collisionCount;
  if (sts.status?.conditions?.length) status.conditions = sts.status.conditions;
  return status;
}
