/**
 * Pure pieces of the Deployment controller (after Kubernetes'
 * deployment/util): which ReplicaSet runs the current template,
 * maxSurge/maxUnavailable, how far a rolling update may scale each
 * ReplicaSet, proportional scaling, and the status with its Available and
 * Progressing conditions. No I/O here. Revision numbers, their annotations
 * and template equality are in api/rollout.ts, which `nkctl rollout` shares.
 */
import type { Condition, Deployment, ReplicaSet } from '../api/objects.js';
import {
  deploymentOwnAnnotations,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  maxReplicasAnnotation,
} from '../api/rollout.js';
import { stableJson } from '../api/stable-json.js';
import { metaTime } from '../api/time.js';
import { scaledValue } from './workload-util.js';

export type DeploymentStatus = NonNullable<Deployment['status']>;

/** progressDeadlineSeconds of MaxInt32 means "no deadline". */
const noDeadline = 2147483647;

export const replicasOf = (o: { spec?: { replicas?: number } }) => o.spec?.replicas ?? 1;

const byCreation = (a: ReplicaSet, b: ReplicaSet) =>
  (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
  (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');

/** The oldest ReplicaSet whose template is the Deployment's, if any. */
export function findNewReplicaSet(d: Deployment, rsList: ReplicaSet[]): ReplicaSet | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

export function oldestFirst(rsList: ReplicaSet[]): ReplicaSet[] {
  return [...rsList].sort(byCreation);
}

/** Annotations a ReplicaSet takes from its Deployment (everything but the controller's own). */
export function copiedAnnotations(d: Deployment): Record<string, string> {
  return Object.fromEntries(
    Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !deploymentOwnAnnotations.has(k)),
  );
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec?.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/** maxSurge and maxUnavailable as numbers (ResolveFenceposts): never both 0. */
export function fenceposts(d: Deployment): { surge: number; unavailable: number } {
  if (!isRollingUpdate(d)) return { surge: 0, unavailable: 0 };
  const ru = d.spec?.strategy?.rollingUpdate;
  const replicas = replicasOf(d);
  const surge = scaledValue(ru?.maxSurge ?? '25%', replicas, true);
  let unavailable = scaledValue(ru?.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

export const maxSurge = (d: Deployment) => (isRollingUpdate(d) ? fenceposts(d).surge : 0);

const specSum = (rss: (ReplicaSet | undefined)[]) => rss.reduce((n, rs) => n + (rs?.spec?.replicas ?? 0), 0);
const statusSum = (rss: (ReplicaSet | undefined)[], f: 'replicas' | 'readyReplicas' | 'availableReplicas') =>
  rss.reduce((n, rs) => n + (rs?.status?.[f] ?? 0), 0);

/** The size the new ReplicaSet may grow to now (NewRSNewReplicas). */
export function newRSNewReplicas(d: Deployment, allRSs: ReplicaSet[], newRS: ReplicaSet | undefined): number {
  const cur = newRS?.spec?.replicas ?? 0;
  if (!isRollingUpdate(d)) return replicasOf(d);
  const maxTotal = replicasOf(d) + maxSurge(d);
  const current = specSum(allRSs);
  if (current >= maxTotal) return cur;
  return cur + Math.max(0, Math.min(maxTotal - current, replicasOf(d) - cur));
}

/**
 * How many old pods may go now (the two phases of reconcileOldReplicaSets):
 * first the old ReplicaSets' unavailable pods, then available ones while
 * more than replicas - maxUnavailable stay available. Returns new sizes.
 */
export function planOldScaleDown(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]) {
  const sizes = new Map<string, number>();
  const old = oldestFirst(oldRSs.filter((rs) => (rs.spec?.replicas ?? 0) > 0));
  if (specSum(old) === 0) return sizes;
  const minAvailable = replicasOf(d) - maxUnavailable(d);
  const newUnavailable = (newRS?.spec?.replicas ?? 0) - (newRS?.status?.availableReplicas ?? 0);
  const maxScaledDown = specSum([...old, newRS]) - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return sizes;
  let cleaned = 0;
  for (const rs of old) {
    const unhealthy = (rs.spec?.replicas ?? 0) - (rs.status?.availableReplicas ?? 0);
    if (unhealthy <= 0 || cleaned >= maxScaledDown) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    sizes.set(rs.metadata.name!, (rs.spec?.replicas ?? 0) - n);
    cleaned += n;
  }
  const available = statusSum([...old, newRS], 'availableReplicas');
  let toScaleDown = available - minAvailable;
  for (const rs of old) {
    if (toScaleDown <= 0) break;
    const size = sizes.get(rs.metadata.name!) ?? rs.spec?.replicas ?? 0;
    if (size === 0) continue;
    const n = Math.min(size, toScaleDown);
    sizes.set(rs.metadata.name!, size - n);
    toScaleDown -= n;
  }
  return sizes;
}

/** Saturated: the new ReplicaSet has all the Deployment's pods, available. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = Number(rs.metadata.annotations?.[desiredReplicasAnnotation]);
  return (
    rs.spec?.replicas === replicasOf(d) &&
    desired === replicasOf(d) &&
    (rs.status?.availableReplicas ?? 0) === replicasOf(d)
  );
}

/**
 * New sizes when a Deployment is resized in the middle of a rollout: the
 * change spread over the active ReplicaSets in proportion to their size
 * (the biggest, newest first when growing; the biggest, oldest first when
 * shrinking), leftovers to the first.
 */
export function planProportional(d: Deployment, active: ReplicaSet[]): Map<string, number> {
  const sizes = new Map<string, number>();
  const replicas = replicasOf(d);
  const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
  const toAdd = allowed - specSum(active);
  const created = (rs: ReplicaSet) => rs.metadata.creationTimestamp ?? '';
  const sorted = [...active].sort((a, b) => {
    const size = (b.spec?.replicas ?? 0) - (a.spec?.replicas ?? 0);
    if (size !== 0) return size;
    return toAdd > 0 ? created(b).localeCompare(created(a)) : created(a).localeCompare(created(b));
  });
  let added = 0;
  for (const rs of sorted) {
    const cur = rs.spec?.replicas ?? 0;
    let proportion = 0;
    if (toAdd !== 0 && cur > 0 && toAdd !== added) {
      let fraction: number;
      if (replicas === 0) fraction = -cur;
      else {
        const annotated = Number.parseInt(rs.metadata.annotations?.[maxReplicasAnnotation] ?? '', 10);
        const base =
          Number.isNaN(annotated) || annotated === 0 ? (d.status?.replicas ?? cur) || cur : annotated;
        fraction = Math.round((cur * allowed) / base) - cur;
      }
      const left = toAdd - added;
      proportion = toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
    }
    sizes.set(rs.metadata.name!, cur + proportion);
    added += proportion;
  }
  if (sorted.length > 0) {
    const first = sorted[0].metadata.name!;
    sizes.set(first, Math.max(0, sizes.get(first)! + toAdd - added));
  }
  for (const [k, v] of sizes) sizes.set(k, Math.max(0, v));
  return sizes;
}

// ---- status and conditions ----

export function getCondition(s: DeploymentStatus | undefined, type: string): Condition | undefined {
  return s?.conditions?.find((c) => c.type === type);
}

export function newCondition(type: string, status: string, reason: string, message: string, nowMs: number) {
  const t = metaTime(nowMs);
  return { type, status, reason, message, lastUpdateTime: t, lastTransitionTime: t };
}

/** SetDeploymentCondition: same status and reason is no change; same status keeps the transition time. */
export function setCondition(s: DeploymentStatus, c: Condition): void {
  const cur = getCondition(s, c.type!);
  if (cur && cur.status === c.status && cur.reason === c.reason) return;
  if (cur && cur.status === c.status) c.lastTransitionTime = cur.lastTransitionTime;
  s.conditions = [...(s.conditions ?? []).filter((x) => x.type !== c.type), c];
}

export function removeCondition(s: DeploymentStatus, type: string): void {
  s.conditions = (s.conditions ?? []).filter((c) => c.type !== type);
  if (s.conditions.length === 0) delete s.conditions;
}

export const hasProgressDeadline = (d: Deployment) => (d.spec?.progressDeadlineSeconds ?? 600) !== noDeadline;

/** The status from the ReplicaSets, with the Available condition (calculateStatus). */
export function calculateStatus(
  d: Deployment,
  allRSs: ReplicaSet[],
  newRS: ReplicaSet | undefined,
  nowMs: number,
): DeploymentStatus {
  const available = statusSum(allRSs, 'availableReplicas');
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation,
    replicas: statusSum(allRSs, 'replicas'),
    updatedReplicas: statusSum([newRS], 'replicas'),
    readyReplicas: statusSum(allRSs, 'readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, specSum(allRSs) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions?.length) status.conditions = structuredClone(d.status.conditions);
  if (available >= replicasOf(d) - maxUnavailable(d))
    setCondition(
      status,
      newCondition(
        'Available',
        'True',
        'MinimumReplicasAvailable',
        'Deployment has minimum availability.',
        nowMs,
      ),
    );
  else
    setCondition(
      status,
      newCondition(
        'Available',
        'False',
        'MinimumReplicasUnavailable',
        'Deployment does not have minimum availability.',
        nowMs,
      ),
    );
  return status;
}

export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (
    s.updatedReplicas === r &&
    s.replicas === r &&
    s.availableReplicas === r &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const o = d.status ?? {};
  const oldStale = (o.replicas ?? 0) - (o.updatedReplicas ?? 0);
  const newStale = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (o.updatedReplicas ?? 0) ||
    newStale < oldStale ||
    (s.readyReplicas ?? 0) > (o.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (o.availableReplicas ?? 0)
  );
}

/** When the Progressing condition runs out (ms), or undefined when it cannot. */
export function progressDeadlineAt(d: Deployment, s: DeploymentStatus): number | undefined {
  if (!hasProgressDeadline(d)) return undefined;
  const c = getCondition(s, 'Progressing');
  if (!c || c.reason === 'NewReplicaSetAvailable' || c.reason === 'ProgressDeadlineExceeded')
    return undefined;
  const from = Date.parse(c.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return undefined;
  return from + (d.spec?.progressDeadlineSeconds ?? 600) * 1000;
}

/** Adds Progressing for this sync (syncRolloutStatus) to a status from calculateStatus. */
export function withProgress(
  d: Deployment,
  s: DeploymentStatus,
  newRS: ReplicaSet | undefined,
  nowMs: number,
) {
  if (!hasProgressDeadline(d)) {
    removeCondition(s, 'Progressing');
    return s;
  }
  const cur = getCondition(s, 'Progressing');
  const complete = s.replicas === s.updatedReplicas && cur?.reason === 'NewReplicaSetAvailable';
  if (complete) return s;
  const name = newRS?.metadata.name;
  if (deploymentComplete(d, s)) {
    const msg = `ReplicaSet "${name}" has successfully progressed.`;
    setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetAvailable', msg, nowMs));
  } else if (deploymentProgressing(d, s)) {
    const msg = name
      ? `ReplicaSet "${name}" is progressing.`
      : `Deployment "${d.metadata.name}" is progressing.`;
    const c = newCondition('Progressing', 'True', 'ReplicaSetUpdated', msg, nowMs);
    if (cur?.status === 'True') c.lastTransitionTime = cur.lastTransitionTime ?? c.lastTransitionTime;
    removeCondition(s, 'Progressing');
    setCondition(s, c);
  } else {
    const at = progressDeadlineAt(d, s);
    if (at !== undefined && at < nowMs) {
      const msg = name
        ? `ReplicaSet "${name}" has timed out progressing.`
        : `Deployment "${d.metadata.name}" has timed out progressing.`;
      setCondition(s, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', msg, nowMs));
    }
  }
  return s;
}

/** Equal statuses need no write (conditions compared without their times moving). */
export const sameDeploymentStatus = (a: DeploymentStatus | undefined, b: DeploymentStatus) =>
  stableJson(a ?? {}) === stableJson(b);
