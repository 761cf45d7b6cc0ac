/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods matching the
 * selector, adopting orphans and releasing pods that stop matching; creates
 * in slow-start batches behind expectations; deletes the least valuable pods
 * first; writes status (replicas, fullyLabeledReplicas, readyReplicas,
 * availableReplicas after minReadySeconds, observedGeneration, and a
 * ReplicaFailure condition while creates or deletes fail).
 *
 * As in Kubernetes, the same controller runs core/v1 ReplicationControllers
 * (replicationcontroller.ts): a `ReplicatedKind` says which kind it manages
 * and how that kind's selector reads.
 */
import { type KubeObject, newControllerRef } from '../api/meta.js';
import type { Condition, Pod, ReplicaSet } from '../api/objects.js';
import { labelSelectorFromObject, type ParsedLabelSelector } from '../api/selectors.js';
import { metaTime } from '../api/time.js';
import {
  availableAt,
  compareForDeletion,
  isPodActive,
  isPodAvailable,
  isPodReady,
} from '../api/types/pod-facts.js';
import { keyOf } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import { ControllerExpectations, createExpected, deleteExpected } from './expectations.js';
import {
  claimObjects,
  clientFor,
  type MetaPatcher,
  type PodControl,
  type PodWriterOptions,
  podFromTemplate,
  podWriters,
  updateStatusOf,
} from './podcontrol.js';

/** At most this many pods are created or deleted in one sync (Kubernetes' burstReplicas). */
export const burstReplicas = 500;

/**
 * The kind a ReplicaSetController manages (Kubernetes' adapter between the
 * ReplicaSet controller and ReplicationControllers). Objects of the kind are
 * handled as ReplicaSets: everything but the selector has the same shape, and
 * the selector is read only through `selectorOf`.
 */
export interface ReplicatedKind {
  /** The controller's name in `--controllers` and in logs. */
  controller: string;
  /** The component its Events are recorded as. */
  component: string;
  /** The resource (plural) it watches and writes status to. */
  resource: string;
  /** apiVersion and kind of the controller reference on its pods. */
  apiVersion: string;
  kind: string;
  /** The pods an object selects; throws on a malformed selector. */
  selectorOf(owner: KubeObject): ParsedLabelSelector;
}

export const replicaSetKind: ReplicatedKind = {
  controller: 'replicaset',
  component: 'replicaset-controller',
  resource: 'replicasets',
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  selectorOf: (rs) => labelSelectorFromObject((rs as ReplicaSet).spec?.selector),
};

export interface ReplicaSetControllerOptions extends PodWriterOptions {
  /** The kind managed; ReplicaSets by default. */
  kind?: ReplicatedKind;
  client?: ResourceClient<ReplicaSet>;
}

export type ReplicaSetStatus = NonNullable<ReplicaSet['status']>;

/** The status a ReplicaSet should have, from its pods (pure). */
export function calculateReplicaSetStatus(
  rs: ReplicaSet,
  pods: Pod[],
  nowMs: number,
  manageError?: { create: boolean; message: string },
): ReplicaSetStatus {
  const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
  const minReady = rs.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    const labels = pod.metadata.labels ?? {};
    if (Object.entries(templateLabels).every(([k, v]) => labels[k] === v)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (isPodAvailable(pod, minReady, nowMs)) available++;
    }
  }
  const old = rs.status?.conditions ?? [];
  const conditions: Condition[] = old.filter((c) => c.type !== 'ReplicaFailure');
  if (manageError) {
    const prev = old.find((c) => c.type === 'ReplicaFailure');
    conditions.push({
      type: 'ReplicaFailure',
      status: 'True',
      reason: manageError.create ? 'FailedCreate' : 'FailedDelete',
      message: manageError.message,
      lastTransitionTime: prev?.lastTransitionTime ?? metaTime(nowMs),
    });
  }
  const status: ReplicaSetStatus = {
    replicas: pods.length,
    fullyLabeledReplicas: fullyLabeled,
    readyReplicas: ready,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation,
  };
  if (conditions.length) status.conditions = conditions;
  return status;
}

/** The `n` pods to delete first (ranked by compareForDeletion). */
export function podsToDelete(pods: Pod[], n: number): Pod[] {
  return [...pods].sort(compareForDeletion).slice(0, n);
}

function sameStatus(a: ReplicaSetStatus | undefined, b: ReplicaSetStatus): boolean {
  const pick = (s: ReplicaSetStatus | undefined) =>
    JSON.stringify([
      s?.replicas ?? 0,
      s?.fullyLabeledReplicas ?? 0,
      s?.readyReplicas ?? 0,
      s?.availableReplicas ?? 0,
      s?.observedGeneration ?? 0,
      s?.conditions ?? [],
    ]);
  return pick(a) === pick(b);
}

export class ReplicaSetController extends QueueController {
  readonly expectations: ControllerExpectations;
  readonly kind: ReplicatedKind;
  readonly replicaSets: SharedInformer<ReplicaSet>;
  readonly pods: SharedInformer<Pod>;
  private readonly podControl: PodControl;
  private readonly podPatcher: MetaPatcher<Pod>;
  private readonly client: ResourceClient<ReplicaSet>;

  constructor(ctx: ControllerContext, opts: ReplicaSetControllerOptions = {}) {
    const kind = opts.kind ?? replicaSetKind;
    super(kind.controller, ctx);
    this.kind = kind;
    this.expectations = new ControllerExpectations(ctx.clock);
    this.client = opts.client ?? clientFor<ReplicaSet>(ctx, kind.resource);
    ({ podControl: this.podControl, podPatcher: this.podPatcher } = podWriters(ctx, kind.component, opts));
    this.replicaSets = this.informer<ReplicaSet>(kind.resource);
    this.pods = this.informer<Pod>('pods');
    this.replicaSets.addEventHandler({
      onAdd: (rs) => this.enqueue(rs),
      onUpdate: (_old, rs) => this.enqueue(rs),
      onDelete: (rs) => {
        this.expectations.delete(keyOf(rs));
        this.enqueue(rs);
      },
    });
    this.pods.addEventHandler(
      childEventHandler<ReplicaSet, Pod>({
        ownerKind: kind.kind,
        owners: this.replicaSets.store,
        ownersOf: (pod) => this.ownersOf(pod),
        enqueue: (k) => this.enqueue(k),
        expectations: this.expectations,
        onOwnedUpdate: (old, cur, key) => {
          // A pod that just became ready becomes available minReadySeconds later.
          const rs = this.replicaSets.store.get(key);
          const minReady = rs?.spec?.minReadySeconds ?? 0;
          if (minReady > 0 && !isPodReady(old) && isPodReady(cur)) this.queue.addAfter(key, minReady * 1000);
        },
      }),
    );
  }

  /** Objects of the kind in the pod's namespace whose selector matches it: the ones that may adopt it. */
  private ownersOf(pod: Pod): ReplicaSet[] {
    return this.replicaSets.store.byIndex('namespace', pod.metadata.namespace ?? '').filter((owner) => {
      try {
        return this.kind.selectorOf(owner).matches(pod.metadata.labels ?? {});
      } catch {
        return false;
      }
    });
  }

  private controllerRef(rs: ReplicaSet) {
    return newControllerRef(rs, this.kind.apiVersion, this.kind.kind);
  }

  async sync(key: string): Promise<void> {
    const rs = this.replicaSets.store.get(key);
    if (!rs) {
      this.expectations.delete(key);
      return;
    }
    const selector = this.kind.selectorOf(rs);
    const active = this.pods.store
      .byIndex('namespace', rs.metadata.namespace ?? '')
      .filter((p) => isPodActive(p));
    const pods = await claimObjects<Pod>({
      owner: rs,
      ref: this.controllerRef(rs),
      selector,
      objects: active,
      patcher: this.podPatcher,
      log: this.log,
    });
    let manageError: { create: boolean; message: string } | undefined;
    let thrown: unknown;
    if (this.expectations.satisfied(key) && !rs.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, rs, pods);
      } catch (err) {
        thrown = err;
        manageError = {
          create: pods.length < (rs.spec?.replicas ?? 1),
          message: (err as Error).message,
        };
      }
    }
    const now = this.ctx.clock.now();
    const status = calculateReplicaSetStatus(rs, pods, now, manageError);
    // After a Conflict (the Deployment controller resized it) the status is written on a fresh copy.
    if (!sameStatus(rs.status, status)) await updateStatusOf(this.client, rs, status);
    this.requeueForAvailability(key, rs, pods, now);
    if (thrown) throw thrown;
  }

  private requeueForAvailability(key: string, rs: ReplicaSet, pods: Pod[], now: number): void {
    const minReady = rs.spec?.minReadySeconds ?? 0;
    if (minReady <= 0) return;
    let next = Number.POSITIVE_INFINITY;
    for (const p of pods) {
      const at = availableAt(p, minReady);
      if (at !== undefined && at > now) next = Math.min(next, at);
    }
    if (Number.isFinite(next)) this.queue.addAfter(key, next - now);
  }

  private async manageReplicas(key: string, rs: ReplicaSet, pods: Pod[]): Promise<void> {
    const want = rs.spec?.replicas ?? 1;
    const diff = pods.length - want;
    if (diff < 0) {
      const n = Math.min(-diff, burstReplicas);
      this.expectations.expectCreations(key, n);
      this.log.info({ rs: key, need: want, creating: n }, 'too few replicas');
      const ref = this.controllerRef(rs);
      await createExpected(this.expectations, key, n, () =>
        this.podControl.createPod(podFromTemplate(rs.spec?.template, rs, ref), rs),
      );
    } else if (diff > 0) {
      const victims = podsToDelete(pods, Math.min(diff, burstReplicas));
      this.expectations.expectDeletions(key, victims.map(keyOf));
      this.log.info({ rs: key, need: want, deleting: victims.length }, 'too many replicas');
      await deleteExpected(this.expectations, key, victims, (p) =>
        this.podControl.deletePod(p.metadata.namespace ?? '', p.metadata.name!, rs),
      );
    }
  }
}
