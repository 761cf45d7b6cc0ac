/**
 * The StatefulSet controller: pods `<set>-0..n-1` with stable hostnames
 * (and subdomain = serviceName, for DNS through the headless Service), each
 * with its own PersistentVolumeClaims from volumeClaimTemplates, made
 * before the pod and kept when the pod goes (retention Retain), so a
 * recreated pod mounts the same claims. OrderedReady starts pods one at a
 * time in order and removes them from the highest ordinal; Parallel does
 * all at once; RollingUpdate replaces pods from the highest ordinal down to
 * the partition; OnDelete waits for the user. The plan of each sync is the
 * pure `planStatefulSet`; writes go through expectations.
 */
import { newControllerRef } from '../api/meta.js';
import type { ControllerRevision, PersistentVolumeClaim, Pod, StatefulSet } from '../api/objects.js';
import { ownedRevisions, templateOf } from '../api/rollout.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { stableJson } from '../api/stable-json.js';
import { isAlreadyExists } from '../api/status.js';
import { nextAvailableIn } from '../api/types/pod-facts.js';
import { keyOf } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler, ownerEventHandler, requeueWhenAvailable } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import { ControllerExpectations, createExpected, deleteExpected } from './expectations.js';
import { syncRevisions, truncateHistory } from './history.js';
import {
  claimObjects,
  clientFor,
  type MetaPatcher,
  type PodControl,
  type PodWriterOptions,
  podWriters,
  updateStatusOf,
} from './podcontrol.js';
import { burstReplicas } from './replicaset.js';
import {
  claimsFor,
  newStatefulPod,
  ordinalOf,
  planStatefulSet,
  revisionOf,
  statefulSetStatus,
  updateRevisionOf,
  usesCurrentRevision,
} from './statefulset-util.js';

export interface StatefulSetControllerOptions extends PodWriterOptions {
  client?: ResourceClient<StatefulSet>;
  claimClient?: ResourceClient<PersistentVolumeClaim>;
  revisionClient?: ResourceClient<ControllerRevision>;
}

/** The revisions a sync works with: what pods below the partition run, and what the set rolls out. */
interface Revisions {
  current: ControllerRevision;
  update: ControllerRevision;
}

export class StatefulSetController extends QueueController {
  readonly expectations: ControllerExpectations;
  readonly statefulSets: SharedInformer<StatefulSet>;
  readonly pods: SharedInformer<Pod>;
  readonly claims: SharedInformer<PersistentVolumeClaim>;
  readonly revisions: SharedInformer<ControllerRevision>;
  private readonly podControl: PodControl;
  private readonly podPatcher: MetaPatcher<Pod>;
  private readonly client: ResourceClient<StatefulSet>;
  private readonly claimClient: ResourceClient<PersistentVolumeClaim>;
  private readonly revisionClient: ResourceClient<ControllerRevision>;

  constructor(ctx: ControllerContext, opts: StatefulSetControllerOptions = {}) {
    super('statefulset', ctx);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.client = opts.client ?? clientFor<StatefulSet>(ctx, 'statefulsets');
    this.claimClient = opts.claimClient ?? clientFor<PersistentVolumeClaim>(ctx, 'persistentvolumeclaims');
    this.revisionClient = opts.revisionClient ?? clientFor<ControllerRevision>(ctx, 'controllerrevisions');
    ({ podControl: this.podControl, podPatcher: this.podPatcher } = podWriters(
      ctx,
      'statefulset-controller',
      opts,
    ));
    this.statefulSets = this.informer<StatefulSet>('statefulsets');
    this.pods = this.informer<Pod>('pods');
    this.claims = this.informer<PersistentVolumeClaim>('persistentvolumeclaims');
    this.revisions = this.informer<ControllerRevision>('controllerrevisions');
    this.statefulSets.addEventHandler(ownerEventHandler((s) => this.enqueue(s), this.expectations));
    this.pods.addEventHandler(
      childEventHandler<StatefulSet, Pod>({
        ownerKind: 'StatefulSet',
        owners: this.statefulSets.store,
        enqueue: (k) => this.enqueue(k),
        expectations: this.expectations,
        onOwnedUpdate: requeueWhenAvailable(this.statefulSets.store, (k, ms) => this.queue.addAfter(k, ms)),
      }),
    );
  }

  private get recorder() {
    return this.ctx.recorder('statefulset-controller');
  }

  async sync(key: string): Promise<void> {
    const sts = this.statefulSets.store.get(key);
    if (!sts) {
      this.expectations.delete(key);
      return;
    }
    // Only pods named `<set>-<n>` are members (isMemberOf): others are neither adopted nor counted.
    const members = await claimObjects<Pod>({
      owner: sts,
      ref: newControllerRef(sts, 'apps/v1', 'StatefulSet'),
      selector: labelSelectorFromObject(sts.spec?.selector),
      objects: this.pods.store
        .byIndex('namespace', sts.metadata.namespace ?? '')
        .filter((p) => ordinalOf(sts, p) !== undefined),
      patcher: this.podPatcher,
      log: this.log,
    });
    const updateRevision = updateRevisionOf(sts);
    const history = ownedRevisions(
      sts,
      this.revisions.store.byIndex('namespace', sts.metadata.namespace ?? ''),
    );
    let thrown: unknown;
    if (this.expectations.satisfied(key) && !sts.metadata.deletionTimestamp) {
      try {
        const update = await syncRevisions({
          owner: sts,
          kind: 'StatefulSet',
          template: sts.spec?.template,
          name: updateRevision,
          revisions: history,
          client: this.revisionClient,
          log: this.log,
        });
        const current = history.find((r) => r.metadata.name === sts.status?.currentRevision) ?? update;
        await this.apply(key, sts, members, { current, update });
      } catch (err) {
        thrown = err;
      }
    }
    const now = this.ctx.clock.now();
    const status = statefulSetStatus(sts, members, updateRevision, now);
    if (stableJson(sts.status ?? {}) !== stableJson(status)) await updateStatusOf(this.client, sts, status);
    const live = new Set([
      status.currentRevision ?? '',
      updateRevision,
      ...members.map((p) => revisionOf(p) ?? ''),
    ]);
    await truncateHistory(sts, history, live, sts.spec?.revisionHistoryLimit ?? 10, this.revisionClient);
    const availableIn = nextAvailableIn(members, sts.spec?.minReadySeconds ?? 0, now);
    if (availableIn !== undefined) this.queue.addAfter(key, availableIn);
    if (thrown) throw thrown;
  }

  private async apply(key: string, sts: StatefulSet, members: Pod[], revisions: Revisions): Promise<void> {
    const revision = revisions.update.metadata.name!;
    const plan = planStatefulSet(sts, members, revision);
    const create = plan.create.slice(0, burstReplicas);
    const remove = plan.remove.slice(0, burstReplicas);
    if (!create.length && !remove.length) return;
    this.log.info(
      { sts: key, creating: create, deleting: remove.map((p) => p.metadata.name), revision },
      'syncing stateful pods',
    );
    this.expectations.expect(key, create.length, remove.map(keyOf));
    const results = await Promise.allSettled([
      this.createPods(key, sts, create, revisions),
      deleteExpected(this.expectations, key, remove, (p) =>
        this.podControl.deletePod(p.metadata.namespace ?? '', p.metadata.name!, sts),
      ),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private async createPods(
    key: string,
    sts: StatefulSet,
    ordinals: number[],
    revisions: Revisions,
  ): Promise<void> {
    await createExpected(this.expectations, key, ordinals.length, async (i) => {
      const ordinal = ordinals[i];
      const rev = usesCurrentRevision(sts, ordinal) ? revisions.current : revisions.update;
      const template = rev === revisions.update ? sts.spec?.template : templateOf(rev);
      try {
        await this.ensureClaims(sts, ordinal);
        await this.podControl.createPod(newStatefulPod(sts, ordinal, rev.metadata.name!, template), sts);
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        // Made by an earlier sync the cache has not caught up with: its add event is coming. Not an
        // error, but this create is over, so it lowers the expectations as a failed one does.
        this.expectations.creationObserved(key);
      }
    });
  }

  /** Creates the ordinal's claims that do not exist yet; existing ones are used as they are. */
  private async ensureClaims(sts: StatefulSet, ordinal: number): Promise<void> {
    for (const claim of claimsFor(sts, ordinal)) {
      const name = claim.metadata.name!;
      if (this.claims.store.getByName(sts.metadata.namespace, name)) continue;
      try {
        await this.claimClient.in(sts.metadata.namespace).create(claim);
        this.recorder.event(
          sts,
          'Normal',
          'SuccessfulCreate',
          `create Claim ${name} Pod ${sts.metadata.name}-${ordinal} in StatefulSet ${sts.metadata.name} success`,
        );
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        this.recorder.event(
          sts,
          'Warning',
          'FailedCreate',
          `create Claim ${name} for Pod ${sts.metadata.name}-${ordinal} in StatefulSet ${sts.metadata.name} failed error: ${(err as Error).message}`,
        );
        throw err;
      }
    }
  }
}
