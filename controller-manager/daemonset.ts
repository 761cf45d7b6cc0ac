/**
 * The DaemonSet controller: one pod on every node that should run it (its
 * nodeSelector, required node affinity and tolerated taints, see
 * daemonset-util.ts), created for new nodes and deleted from nodes that
 * stop matching, leave (their Node object is deleted) or taint it away with
 * NoExecute; failed daemon pods are replaced. Pods carry a required node
 * affinity to their node, as Kubernetes makes them, so the scheduler binds
 * them (and sees their resources). Template changes roll out by
 * RollingUpdate (maxUnavailable, maxSurge 0) or OnDelete; the revision is a
 * `controller-revision-hash` label. Creates and deletes go through
 * expectations and slow-start batches like the ReplicaSet's.
 */
import { newControllerRef } from '../api/meta.js';
import type { ControllerRevision, DaemonSet, Node, Pod } from '../api/objects.js';
import { controllerRevisionHashLabel, ownedRevisions } from '../api/rollout.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { stableJson } from '../api/stable-json.js';
import { nextAvailableIn } from '../api/types/pod-facts.js';
import { keyOf } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler, ownerEventHandler, requeueWhenAvailable } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  currentHash,
  daemonSetStatus,
  type NodeVerdict,
  newDaemonPod,
  nodeShouldRunDaemonPod,
  podsByNode,
  podsToRollOut,
} from './daemonset-util.js';
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

export interface DaemonSetControllerOptions extends PodWriterOptions {
  client?: ResourceClient<DaemonSet>;
  revisionClient?: ResourceClient<ControllerRevision>;
}

/** What a node change can alter about where daemon pods belong. */
const placementOf = (n: Node) =>
  stableJson([n.metadata.labels ?? {}, n.spec?.taints ?? [], n.spec?.unschedulable ?? false]);

export class DaemonSetController extends QueueController {
  readonly expectations: ControllerExpectations;
  readonly daemonSets: SharedInformer<DaemonSet>;
  readonly pods: SharedInformer<Pod>;
  readonly nodes: SharedInformer<Node>;
  readonly revisions: SharedInformer<ControllerRevision>;
  private readonly podControl: PodControl;
  private readonly podPatcher: MetaPatcher<Pod>;
  private readonly client: ResourceClient<DaemonSet>;
  private readonly revisionClient: ResourceClient<ControllerRevision>;

  constructor(ctx: ControllerContext, opts: DaemonSetControllerOptions = {}) {
    super('daemonset', ctx);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.client = opts.client ?? clientFor<DaemonSet>(ctx, 'daemonsets');
    this.revisionClient = opts.revisionClient ?? clientFor<ControllerRevision>(ctx, 'controllerrevisions');
    ({ podControl: this.podControl, podPatcher: this.podPatcher } = podWriters(
      ctx,
      'daemonset-controller',
      opts,
    ));
    this.daemonSets = this.informer<DaemonSet>('daemonsets');
    this.pods = this.informer<Pod>('pods');
    this.nodes = this.informer<Node>('nodes');
    this.revisions = this.informer<ControllerRevision>('controllerrevisions');
    this.daemonSets.addEventHandler(ownerEventHandler((ds) => this.enqueue(ds), this.expectations));
    this.pods.addEventHandler(
      childEventHandler<DaemonSet, Pod>({
        ownerKind: 'DaemonSet',
        owners: this.daemonSets.store,
        enqueue: (k) => this.enqueue(k),
        expectations: this.expectations,
        onOwnedUpdate: requeueWhenAvailable(this.daemonSets.store, (k, ms) => this.queue.addAfter(k, ms)),
      }),
    );
    const all = () => {
      for (const ds of this.daemonSets.store.list()) this.enqueue(ds);
    };
    this.nodes.addEventHandler({
      onAdd: all,
      onUpdate: (old, cur) => {
        if (placementOf(old) !== placementOf(cur)) all();
      },
      onDelete: all,
    });
  }

  async sync(key: string): Promise<void> {
    const ds = this.daemonSets.store.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const pods = await claimObjects<Pod>({
      owner: ds,
      ref: newControllerRef(ds, 'apps/v1', 'DaemonSet'),
      selector: labelSelectorFromObject(ds.spec?.selector),
      objects: this.pods.store.byIndex('namespace', ds.metadata.namespace ?? ''),
      patcher: this.podPatcher,
      log: this.log,
    });
    const hash = currentHash(ds);
    const verdicts = new Map<string, NodeVerdict>();
    for (const n of this.nodes.store.list()) verdicts.set(n.metadata.name!, nodeShouldRunDaemonPod(n, ds));
    const byNode = podsByNode(pods);
    // History for `kubectl rollout history/undo`: pods carry the hash, revisions are `<ds>-<hash>`.
    const history = ownedRevisions(
      ds,
      this.revisions.store.byIndex('namespace', ds.metadata.namespace ?? ''),
    );
    let thrown: unknown;
    if (this.expectations.satisfied(key) && !ds.metadata.deletionTimestamp) {
      try {
        await syncRevisions({
          owner: ds,
          kind: 'DaemonSet',
          template: ds.spec?.template,
          name: `${ds.metadata.name}-${hash}`,
          revisions: history,
          client: this.revisionClient,
          log: this.log,
        });
        const changed = await this.manage(key, ds, verdicts, byNode, hash);
        if (!changed && ds.spec?.updateStrategy?.type !== 'OnDelete')
          await this.rollingUpdate(key, ds, verdicts, byNode, hash);
      } catch (err) {
        thrown = err;
      }
    }
    const now = this.ctx.clock.now();
    const status = daemonSetStatus(ds, verdicts, byNode, hash, now);
    if (stableJson(ds.status ?? {}) !== stableJson(status)) await updateStatusOf(this.client, ds, status);
    const live = new Set(
      [hash, ...pods.map((p) => p.metadata.labels?.[controllerRevisionHashLabel] ?? '')].map(
        (h) => `${ds.metadata.name}-${h}`,
      ),
    );
    await truncateHistory(ds, history, live, ds.spec?.revisionHistoryLimit ?? 10, this.revisionClient);
    const availableIn = nextAvailableIn(pods, ds.spec?.minReadySeconds ?? 0, now);
    if (availableIn !== undefined) this.queue.addAfter(key, availableIn);
    if (thrown) throw thrown;
  }

  /**
   * Creates the missing pods and deletes the ones that must go; true when
   * it wrote anything (the rolling update then waits for the cache).
   */
  private async manage(
    key: string,
    ds: DaemonSet,
    verdicts: Map<string, NodeVerdict>,
    byNode: Map<string, Pod[]>,
    hash: string,
  ): Promise<boolean> {
    const create: string[] = [];
    const remove: Pod[] = [];
    for (const [node, v] of verdicts) {
      const pods = byNode.get(node) ?? [];
      if (!v.shouldContinueRunning) {
        remove.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
        continue;
      }
      // A node with any pod, even a finished or terminating one, gets its new pod only after that one is
      // gone (the next sync), as Kubernetes does, so a pod the kubelet keeps rejecting is not hot-looped.
      const alive = pods.filter((p) => !p.metadata.deletionTimestamp);
      const finished = alive.filter((p) => p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded');
      const running = alive.filter((p) => !finished.includes(p));
      remove.push(...finished);
      // Only one may stay: the oldest (a stale cache can have made two).
      remove.push(...running.slice(1));
      if (v.shouldRun && pods.length === 0) create.push(node);
    }
    // Pods for nodes that are gone.
    for (const [node, pods] of byNode)
      if (!verdicts.has(node)) remove.push(...pods.filter((p) => !p.metadata.deletionTimestamp));
    const creates = create.slice(0, burstReplicas);
    const deletes = remove.slice(0, burstReplicas);
    if (!creates.length && !deletes.length) return false;
    this.expectations.expect(key, creates.length, deletes.map(keyOf));
    this.log.info({ ds: key, creating: creates.length, deleting: deletes.length }, 'syncing daemon pods');
    const results = await Promise.allSettled([
      this.createPods(key, ds, creates, hash),
      this.deletePods(key, ds, deletes),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return true;
  }

  private async createPods(key: string, ds: DaemonSet, nodes: string[], hash: string): Promise<void> {
    await createExpected(this.expectations, key, nodes.length, (i) =>
      this.podControl.createPod(newDaemonPod(ds, nodes[i], hash), ds),
    );
  }

  private async deletePods(key: string, ds: DaemonSet, pods: Pod[]): Promise<void> {
    await deleteExpected(this.expectations, key, pods, (p) =>
      this.podControl.deletePod(p.metadata.namespace ?? '', p.metadata.name!, ds),
    );
  }

  /** Deletes the old pods the budget allows; the next sync creates their replacements. */
  private async rollingUpdate(
    key: string,
    ds: DaemonSet,
    verdicts: Map<string, NodeVerdict>,
    byNode: Map<string, Pod[]>,
    hash: string,
  ): Promise<void> {
    const desired = [...verdicts].filter(([, v]) => v.shouldRun).map(([n]) => n);
    const victims = podsToRollOut(ds, desired, byNode, hash, this.ctx.clock.now());
    if (!victims.length) return;
    this.expectations.expectDeletions(key, victims.map(keyOf));
    this.log.info({ ds: key, deleting: victims.length, hash }, 'rolling update: replacing old pods');
    await this.deletePods(key, ds, victims);
  }
}
