/**
 * The Deployment controller: owns ReplicaSets by selector, makes one per
 * template (named and labelled by pod-template-hash), rolls from old to new
 * by RollingUpdate (maxSurge/maxUnavailable) or Recreate, numbers revisions
 * (a rollback is just the old template again: `kubectl rollout undo` patches
 * it in and the old ReplicaSet becomes new with the next revision), spreads
 * a resize over the ReplicaSets of an unfinished rollout, keeps
 * revisionHistoryLimit old ones, honours paused, and reports status with the
 * Available and Progressing conditions (progressDeadlineSeconds).
 * The arithmetic lives in deployment-util.ts.
 */
import { controllerRefOf, newControllerRef } from '../api/meta.js';
import type { Deployment, Pod, ReplicaSet } from '../api/objects.js';
import {
  desiredReplicasAnnotation,
  maxReplicasAnnotation,
  podTemplateHashLabel,
  revisionAnnotation,
  revisionOf,
} from '../api/rollout.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { isAlreadyExists } from '../api/status.js';
import type { EventRecorder } from '../client/events.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  calculateStatus,
  copiedAnnotations,
  deploymentComplete,
  findNewReplicaSet,
  getCondition,
  hasProgressDeadline,
  isSaturated,
  maxSurge,
  newCondition,
  newRSNewReplicas,
  oldestFirst,
  planOldScaleDown,
  planProportional,
  progressDeadlineAt,
  replicasOf,
  sameDeploymentStatus,
  setCondition,
  withProgress,
} from './deployment-util.js';
import { claimObjects, clientFor, type MetaPatcher, metaPatcher } from './podcontrol.js';
import { templateHash } from './workload-util.js';

export interface DeploymentControllerOptions {
  deployments?: ResourceClient<Deployment>;
  replicaSets?: ResourceClient<ReplicaSet>;
  rsPatcher?: MetaPatcher<ReplicaSet>;
}

export class DeploymentController extends QueueController {
  readonly deployments: SharedInformer<Deployment>;
  readonly replicaSets: SharedInformer<ReplicaSet>;
  readonly pods: SharedInformer<Pod>;
  private readonly dClient: ResourceClient<Deployment>;
  private readonly rsClient: ResourceClient<ReplicaSet>;
  private readonly rsPatcher: MetaPatcher<ReplicaSet>;
  private readonly recorder: EventRecorder;

  constructor(ctx: ControllerContext, opts: DeploymentControllerOptions = {}) {
    super('deployment', ctx);
    this.dClient = opts.deployments ?? clientFor<Deployment>(ctx, 'deployments');
    this.rsClient = opts.replicaSets ?? clientFor<ReplicaSet>(ctx, 'replicasets');
    this.rsPatcher = opts.rsPatcher ?? metaPatcher(this.rsClient);
    this.recorder = ctx.recorder('deployment-controller');
    this.deployments = this.informer<Deployment>('deployments');
    this.replicaSets = this.informer<ReplicaSet>('replicasets');
    this.pods = this.informer<Pod>('pods');
    this.deployments.addEventHandler({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (_o, d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.replicaSets.addEventHandler(
      childEventHandler<Deployment, ReplicaSet>({
        ownerKind: 'Deployment',
        owners: this.deployments.store,
        enqueue: (k) => this.enqueue(k),
      }),
    );
    // Recreate waits for the old pods to be gone: their deletion is news.
    this.pods.addEventHandler({ onDelete: (p) => this.onPodDeleted(p) });
  }

  private onPodDeleted(pod: Pod): void {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.store.getByName(pod.metadata.namespace, ref.name ?? '');
    const dRef = rs && controllerRefOf(rs);
    if (!rs || rs.metadata.uid !== ref.uid || dRef?.kind !== 'Deployment') return;
    const d = this.deployments.store.getByName(pod.metadata.namespace, dRef.name ?? '');
    if (d && d.metadata.uid === dRef.uid && d.spec?.strategy?.type === 'Recreate') this.enqueue(d);
  }

  async sync(key: string): Promise<void> {
    const cached = this.deployments.store.get(key);
    if (!cached) return;
    const d = structuredClone(cached);
    const selector = labelSelectorFromObject(d.spec?.selector);
    if (selector.empty()) {
      this.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    const rsList = await claimObjects<ReplicaSet>({
      owner: d,
      ref: newControllerRef(d, 'apps/v1', 'Deployment'),
      selector,
      objects: this.replicaSets.store.byIndex('namespace', d.metadata.namespace ?? ''),
      patcher: this.rsPatcher,
      log: this.log,
    });
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(cached, d, rsList);
    this.checkPausedConditions(d);
    if (d.spec?.paused || this.isScalingEvent(d, rsList)) return this.syncScale(cached, d, rsList);
    if (d.spec?.strategy?.type === 'Recreate') return this.rolloutRecreate(cached, d, rsList);
    return this.rolloutRolling(cached, d, rsList);
  }

  private checkPausedConditions(d: Deployment): void {
    if (!hasProgressDeadline(d)) return;
    d.status ??= {};
    const cur = getCondition(d.status, 'Progressing');
    const now = this.ctx.clock.now();
    if (d.spec?.paused && cur?.reason !== 'DeploymentPaused')
      setCondition(
        d.status,
        newCondition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', now),
      );
    else if (!d.spec?.paused && cur?.reason === 'DeploymentPaused')
      setCondition(
        d.status,
        newCondition('Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', now),
      );
  }

  /** A resize: some active ReplicaSet was sized for another replica count. */
  private isScalingEvent(d: Deployment, rsList: ReplicaSet[]): boolean {
    const { newRS, oldRSs } = this.split(d, rsList);
    return [newRS, ...oldRSs].some((rs) => {
      if (!rs || (rs.spec?.replicas ?? 0) === 0) return false;
      const desired = rs.metadata.annotations?.[desiredReplicasAnnotation];
      return desired !== undefined && Number(desired) !== replicasOf(d);
    });
  }

  private split(d: Deployment, rsList: ReplicaSet[]) {
    const newRS = findNewReplicaSet(d, rsList);
    return { newRS, oldRSs: rsList.filter((rs) => rs !== newRS) };
  }

  private async syncStatusOnly(cached: Deployment, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = this.split(d, rsList);
    await this.writeStatus(cached, d, [...oldRSs, ...(newRS ? [newRS] : [])], newRS, false);
  }

  /** Paused or resized: scale only, no new template rolled out. */
  private async syncScale(cached: Deployment, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = this.split(d, rsList);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanup(d, oldRSs);
    await this.writeStatus(cached, d, rsList, newRS, false);
  }

  private async scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const all = [...(newRS ? [newRS] : []), ...oldRSs];
    const active = all.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
    let only: ReplicaSet | undefined;
    if (active.length === 0) only = newRS ?? [...oldRSs].reverse().find(() => true);
    else if (active.length === 1) only = active[0];
    if (only) {
      await this.scaleRS(d, only, replicasOf(d));
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const rs of oldRSs.filter((r) => (r.spec?.replicas ?? 0) > 0)) await this.scaleRS(d, rs, 0);
      return;
    }
    if (d.spec?.strategy?.type === 'Recreate') return;
    const sizes = planProportional(d, active);
    for (const rs of active) await this.scaleRS(d, rs, sizes.get(rs.metadata.name!) ?? 0);
  }

  /** Sets a ReplicaSet's size and the replica annotations; no write when both are already right. */
  private async scaleRS(d: Deployment, rs: ReplicaSet, size: number): Promise<ReplicaSet> {
    const desired = String(replicasOf(d));
    const max = String(replicasOf(d) + maxSurge(d));
    const ann = rs.metadata.annotations ?? {};
    const from = rs.spec?.replicas ?? 0;
    if (from === size && ann[desiredReplicasAnnotation] === desired && ann[maxReplicasAnnotation] === max)
      return rs;
    const next = structuredClone(rs);
    next.spec = { ...next.spec, replicas: size };
    next.metadata.annotations = {
      ...ann,
      [desiredReplicasAnnotation]: desired,
      [maxReplicasAnnotation]: max,
    };
    const out = await this.rsClient.in(rs.metadata.namespace).update(next);
    if (from !== size) {
      const verb = size > from ? 'up' : 'down';
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${size}`,
      );
      this.log.info(
        { deployment: d.metadata.name, rs: rs.metadata.name, from, to: size },
        'scaled replica set',
      );
    }
    return out;
  }

  private async rolloutRolling(cached: Deployment, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSets(d, rsList, true);
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (newRS) {
      const cur = newRS.spec?.replicas ?? 0;
      const target = cur > replicasOf(d) ? replicasOf(d) : newRSNewReplicas(d, all, newRS);
      if (target !== cur) {
        await this.scaleRS(d, newRS, target);
        return this.writeStatus(cached, d, all, newRS, true);
      }
    }
    const sizes = planOldScaleDown(d, newRS, oldRSs);
    let scaledDown = false;
    for (const rs of oldRSs) {
      const size = sizes.get(rs.metadata.name!);
      if (size === undefined || size === rs.spec?.replicas) continue;
      await this.scaleRS(d, rs, size);
      scaledDown = true;
    }
    if (!scaledDown && deploymentComplete(d, calculateStatus(d, all, newRS, this.ctx.clock.now())))
      await this.cleanup(d, oldRSs);
    await this.writeStatus(cached, d, all, newRS, true);
  }

  private async rolloutRecreate(cached: Deployment, d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSets(d, rsList, false);
    const activeOld = oldRSs.filter((rs) => (rs.spec?.replicas ?? 0) > 0);
    if (activeOld.length > 0) {
      for (const rs of activeOld) await this.scaleRS(d, rs, 0);
      return this.writeStatus(cached, d, rsList, newRS, true);
    }
    const oldUids = new Set(oldRSs.map((rs) => rs.metadata.uid));
    const oldPodsRunning = this.pods.store
      .byIndex('namespace', d.metadata.namespace ?? '')
      .some(
        (p) =>
          oldUids.has(controllerRefOf(p)?.uid) &&
          p.status?.phase !== 'Failed' &&
          p.status?.phase !== 'Succeeded',
      );
    if (oldPodsRunning) return this.writeStatus(cached, d, rsList, newRS, true);
    if (!newRS) ({ newRS, oldRSs } = await this.getAllReplicaSets(d, rsList, true));
    if (newRS) newRS = await this.scaleRS(d, newRS, replicasOf(d));
    const all = [...oldRSs, ...(newRS ? [newRS] : [])];
    if (deploymentComplete(d, calculateStatus(d, all, newRS, this.ctx.clock.now())))
      await this.cleanup(d, oldRSs);
    await this.writeStatus(cached, d, all, newRS, true);
  }

  /**
   * The new ReplicaSet (made when `create` and missing) and the old ones,
   * with revisions brought up to date on both (getAllReplicaSetsAndSyncRevision).
   */
  private async getAllReplicaSets(d: Deployment, rsList: ReplicaSet[], create: boolean) {
    let { newRS, oldRSs } = this.split(d, rsList);
    const revision = String(oldRSs.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0) + 1);
    const now = this.ctx.clock.now();
    if (newRS) {
      const ann = newRS.metadata.annotations ?? {};
      const copied = copiedAnnotations(d);
      const stale =
        revisionOf(newRS) < Number(revision) ||
        Object.entries(copied).some(([k, v]) => ann[k] !== v) ||
        (newRS.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (stale) {
        const next = structuredClone(newRS);
        next.metadata.annotations = { ...ann, ...copied };
        if (revisionOf(newRS) < Number(revision)) next.metadata.annotations[revisionAnnotation] = revision;
        next.spec = { ...next.spec, minReadySeconds: d.spec?.minReadySeconds };
        newRS = await this.rsClient.in(d.metadata.namespace).update(next);
      }
      d.status ??= {};
      if (hasProgressDeadline(d) && !getCondition(d.status, 'Progressing')) {
        const msg = `Found new replica set "${newRS.metadata.name}"`;
        setCondition(d.status, newCondition('Progressing', 'True', 'FoundNewReplicaSet', msg, now));
      }
    } else if (create) {
      newRS = await this.createNewReplicaSet(d, oldRSs, revision);
    }
    if (newRS)
      await this.setDeploymentRevision(d, newRS.metadata.annotations?.[revisionAnnotation] ?? revision);
    return { newRS, oldRSs };
  }

  private async createNewReplicaSet(d: Deployment, oldRSs: ReplicaSet[], revision: string) {
    const hash = templateHash(d.spec?.template, d.status?.collisionCount);
    const template = structuredClone(d.spec?.template ?? {});
    template.metadata ??= {};
    template.metadata.labels = { ...(template.metadata.labels ?? {}), [podTemplateHashLabel]: hash };
    const selector = structuredClone(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [podTemplateHashLabel]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}) },
        annotations: {
          ...copiedAnnotations(d),
          [revisionAnnotation]: revision,
          [desiredReplicasAnnotation]: String(replicasOf(d)),
          [maxReplicasAnnotation]: String(replicasOf(d) + maxSurge(d)),
        },
        ownerReferences: [newControllerRef(d, 'apps/v1', 'Deployment')],
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds, selector, template },
    };
    rs.spec!.replicas = newRSNewReplicas(d, oldRSs, undefined);
    try {
      const created = await this.rsClient.in(d.metadata.namespace).create(rs);
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} from 0 to ${rs.spec!.replicas}`,
      );
      if (hasProgressDeadline(d)) {
        d.status ??= {};
        const msg = `Created new replica set "${created.metadata.name}"`;
        setCondition(
          d.status,
          newCondition('Progressing', 'True', 'NewReplicaSetCreated', msg, this.ctx.clock.now()),
        );
      }
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Same name, different template: a hash collision. Count it so the next name differs.
      d.status ??= {};
      d.status.collisionCount = (d.status.collisionCount ?? 0) + 1;
      await this.dClient.in(d.metadata.namespace).updateStatus(d);
      throw err;
    }
  }

  private async setDeploymentRevision(d: Deployment, revision: string): Promise<void> {
    if (d.metadata.annotations?.[revisionAnnotation] === revision) return;
    const next = structuredClone(d);
    next.metadata.annotations = { ...(d.metadata.annotations ?? {}), [revisionAnnotation]: revision };
    const out = await this.dClient.in(d.metadata.namespace).update(next);
    // Keep the conditions worked out so far; take the new resourceVersion and annotations.
    d.metadata = out.metadata;
  }

  /** Deletes the oldest empty ReplicaSets beyond revisionHistoryLimit. */
  private async cleanup(d: Deployment, oldRSs: ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit;
    if (limit === undefined) return;
    const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = alive.length - limit;
    if (diff <= 0) return;
    const byRevision = [...oldestFirst(alive)].sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of byRevision.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || (rs.spec?.replicas ?? 0) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      this.log.info({ deployment: d.metadata.name, rs: rs.metadata.name }, 'deleting old replica set');
      await this.rsClient.in(rs.metadata.namespace).delete(rs.metadata.name!);
    }
  }

  private async writeStatus(
    cached: Deployment,
    d: Deployment,
    all: ReplicaSet[],
    newRS: ReplicaSet | undefined,
    progress: boolean,
  ): Promise<void> {
    const now = this.ctx.clock.now();
    const current = this.replicaSets.store;
    // Use the freshest copies the cache has of what we may just have written.
    const fresh = all.map((rs) => current.get(`${rs.metadata.namespace}/${rs.metadata.name}`) ?? rs);
    const freshNew = newRS && fresh.find((rs) => rs.metadata.uid === newRS.metadata.uid);
    let status = calculateStatus(d, fresh, freshNew ?? newRS, now);
    if (progress) status = withProgress(d, status, freshNew ?? newRS, now);
    const failure = fresh
      .map((rs) => rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure'))
      .find(Boolean);
    if (failure) setCondition(status, { ...failure });
    else if (status.conditions)
      status.conditions = status.conditions.filter((c) => c.type !== 'ReplicaFailure');
    if (!sameDeploymentStatus(cached.status, status)) {
      await this.dClient.in(d.metadata.namespace).updateStatus({ ...d, status });
    }
    if (progress && !deploymentComplete(d, status)) {
      const at = progressDeadlineAt(d, status);
      if (at !== undefined)
        this.queue.addAfter(`${d.metadata.namespace}/${d.metadata.name}`, Math.max(at - now, 0) + 1000);
    }
  }
}
