/**
 * The node lifecycle controller (`nodelifecycle`), with taint-based eviction.
 *
 * Keyed by node name. A node is heard from when its Lease in kube-node-lease
 * is renewed or its Ready heartbeat moves; the time is this controller's own
 * clock at which it saw the change (so clock skew between hosts does not
 * matter). A node unheard for `--node-monitor-grace-period` gets its
 * conditions set to Unknown ("Kubelet stopped posting node status.") and its
 * pods marked not Ready. Then taints follow the Ready condition: not-ready
 * (False) or unreachable (Unknown), each as NoSchedule and NoExecute.
 * NoExecute taints are added at a rate per zone (0.1/s, lower or none when a
 * zone is largely down, none when every zone is down), removed at once.
 * Pods on a node with NoExecute taints are evicted once their tolerations
 * run out (counted from the taint's timeAdded): marked with a
 * DisruptionTarget condition, then deleted, so their controllers replace them.
 */
import type { Lease, Node, Pod } from '../api/objects.js';
import { isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import type { Taint } from '../api/types/node.js';
import { podCondition } from '../api/types/pod-facts.js';
import { nodeNameIndex } from '../client/indexer.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  conditionTaints,
  isConditionTaint,
  readyStatus,
  TokenBucket,
  tolerationMs,
  zoneOf,
  zoneQPS,
  zoneStates,
} from './nodelifecycle-taints.js';

const leaseNamespace = 'kube-node-lease';
const component = 'node-controller';

interface Health {
  /** Our clock when we last heard from the node. */
  probeAt: number;
  renewTime?: string;
  heartbeat?: string;
}

export class NodeLifecycleController extends QueueController {
  private readonly nodes;
  private readonly leases;
  private readonly pods;
  private readonly nodeClient: ResourceClient<Node>;
  private readonly podClient: ResourceClient<Pod>;
  private readonly health = new Map<string, Health>();
  private readonly limiters = new Map<string, TokenBucket>();

  constructor(ctx: ControllerContext) {
    super('nodelifecycle', ctx);
    this.nodeClient = new ResourceClient<Node>(ctx.rest, ctx.registry.get('', 'v1', 'nodes')!);
    this.podClient = new ResourceClient<Pod>(ctx.rest, ctx.registry.get('', 'v1', 'pods')!);
    this.nodes = this.informer<Node>('nodes');
    this.leases = this.informer<Lease>('leases');
    this.pods = this.informer<Pod>('pods');
    this.nodes.addEventHandler({
      onAdd: (n) => this.enqueue(n),
      onUpdate: (_o, n) => this.enqueue(n),
      onDelete: (n) => this.enqueue(n),
    });
    const forLease = (l: Lease) => {
      if (l.metadata.namespace === leaseNamespace) this.enqueue(l.metadata.name!);
    };
    this.leases.addEventHandler({ onAdd: forLease, onUpdate: (_o, l) => forLease(l) });
    this.pods.addEventHandler({
      onAdd: (p) => {
        if (p.spec?.nodeName) this.enqueue(p.spec.nodeName);
      },
      onUpdate: (old, p) => {
        if (
          p.spec?.nodeName &&
          (p.spec.nodeName !== old.spec?.nodeName ||
            JSON.stringify(p.spec.tolerations) !== JSON.stringify(old.spec?.tolerations))
        )
          this.enqueue(p.spec.nodeName);
      },
    });
  }

  async sync(name: string): Promise<void> {
    let node = this.nodes.store.get(name);
    if (!node) {
      this.health.delete(name);
      return;
    }
    const now = this.ctx.clock.now();
    const grace = this.ctx.config.nodeMonitorGracePeriodMs;
    const h = this.observe(node, now);
    const silentFor = now - h.probeAt;
    if (silentFor >= grace) {
      if (readyStatus(node) !== 'Unknown' || !node.status?.conditions?.some((c) => c.type === 'Ready'))
        node = await this.markUnknown(node, now);
    } else {
      this.queue.addAfter(name, grace - silentFor + 1);
    }
    node = await this.reconcileTaints(node, now);
    await this.evictPods(node, now);
  }

  /** Updates what we last heard from the node; returns its record. */
  private observe(node: Node, now: number): Health {
    const name = node.metadata.name!;
    const renewTime = this.leases.store.getByName(leaseNamespace, name)?.spec?.renewTime;
    const heartbeat =
      node.status?.conditions?.find((c) => c.type === 'Ready')?.lastHeartbeatTime ?? undefined;
    const h = this.health.get(name);
    if (!h || h.renewTime !== renewTime || h.heartbeat !== heartbeat) {
      const next = { probeAt: now, renewTime, heartbeat };
      this.health.set(name, next);
      return next;
    }
    return h;
  }

  private async markUnknown(node: Node, now: number): Promise<Node> {
    const name = node.metadata.name!;
    const next = structuredClone(node);
    const conditions = next.status?.conditions ?? [];
    const at = metaTime(now);
    if (!conditions.some((c) => c.type === 'Ready'))
      conditions.push({
        type: 'Ready',
        status: 'Unknown',
        reason: 'NodeStatusNeverUpdated',
        message: 'Kubelet never posted node status.',
        lastTransitionTime: at,
      });
    for (const c of conditions) {
      if (c.status === 'Unknown') continue;
      Object.assign(c, {
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: at,
      });
    }
    next.status = { ...next.status, conditions };
    const saved = await this.nodeClient.updateStatus(next);
    this.log.info(
      { node: name, silentForMs: now - this.health.get(name)!.probeAt },
      'node stopped posting status; Ready is Unknown',
    );
    const rec = this.ctx.recorder(component);
    rec.event(saved, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    for (const pod of this.pods.store.byIndex(nodeNameIndex, name)) await this.markPodNotReady(pod, at);
    return saved;
  }

  /** MarkPodsNotReady: a pod on a node that is gone silent is not Ready. */
  private async markPodNotReady(pod: Pod, at: string): Promise<void> {
    const ready = podCondition(pod, 'Ready');
    if (
      !ready ||
      ready.status === 'False' ||
      pod.status?.phase === 'Succeeded' ||
      pod.status?.phase === 'Failed'
    )
      return;
    const next = structuredClone(pod);
    for (const c of next.status!.conditions!)
      if (c.type === 'Ready') Object.assign(c, { status: 'False', lastTransitionTime: at });
    try {
      await this.podClient.in(pod.metadata.namespace).updateStatus(next);
      this.ctx.recorder(component).event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Brings the not-ready/unreachable taints in line with the Ready condition. */
  private async reconcileTaints(node: Node, now: number): Promise<Node> {
    const name = node.metadata.name!;
    const states = zoneStates(this.nodes.store.list());
    const zone = zoneOf(node);
    const qps = zoneQPS(zone, states);
    let limiter = this.limiters.get(zone);
    if (!limiter) {
      limiter = new TokenBucket(this.ctx.clock, qps);
      this.limiters.set(zone, limiter);
    }
    limiter.qps = qps;
    const allDown = [...states.values()].every((z) => z.state === 'FullDisruption');
    const want = conditionTaints(readyStatus(node)).filter((t) => !(allDown && t.effect === 'NoExecute'));
    const have = node.spec?.taints ?? [];
    const kept = have.filter(
      (t) => !isConditionTaint(t) || want.some((w) => w.key === t.key && w.effect === t.effect),
    );
    const added: Taint[] = [];
    for (const w of want) {
      if (have.some((t) => t.key === w.key && t.effect === w.effect)) continue;
      if (w.effect === 'NoExecute' && !limiter.tryAccept()) {
        this.log.info({ node: name, zone, qps }, 'NoExecute taint rate-limited');
        this.queue.addAfter(name, limiter.waitMs());
        continue;
      }
      added.push({ ...w, timeAdded: metaTime(now) });
    }
    if (added.length === 0 && kept.length === have.length) return node;
    const next = structuredClone(node);
    next.spec = { ...next.spec, taints: [...kept, ...added] };
    const saved = await this.nodeClient.update(next);
    this.log.info(
      { node: name, added: added.map((t) => `${t.key}:${t.effect}`), removed: have.length - kept.length },
      'node taints updated',
    );
    return saved;
  }

  /** Evicts pods whose tolerations of the node's NoExecute taints have run out; re-checks when the next one will. */
  private async evictPods(node: Node, now: number): Promise<void> {
    const taints = (node.spec?.taints ?? []).filter((t) => t.effect === 'NoExecute');
    if (taints.length === 0) return;
    const since = Math.min(...taints.map((t) => (t.timeAdded ? Date.parse(t.timeAdded) : now)));
    let nextCheck = Number.POSITIVE_INFINITY;
    for (const pod of this.pods.store.byIndex(nodeNameIndex, node.metadata.name!)) {
      if (pod.metadata.deletionTimestamp) continue;
      const due = since + tolerationMs(pod.spec?.tolerations ?? [], taints);
      if (due > now) {
        nextCheck = Math.min(nextCheck, due);
        continue;
      }
      await this.evict(pod, now);
    }
    if (Number.isFinite(nextCheck)) this.queue.addAfter(node.metadata.name!, nextCheck - now + 1);
  }

  private async evict(pod: Pod, now: number): Promise<void> {
    const client = this.podClient.in(pod.metadata.namespace);
    const next = structuredClone(pod);
    const conditions = (next.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
    conditions.push({
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByTaintManager',
      message: 'Taint manager: deleting due to NoExecute taint',
      lastTransitionTime: metaTime(now),
    });
    next.status = { ...next.status, conditions };
    try {
      await client.updateStatus(next);
      await client.delete(pod.metadata.name!, { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.log.info(
      { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, node: pod.spec?.nodeName },
      'evicted pod from tainted node',
    );
    this.ctx
      .recorder('taint-eviction-controller')
      .event(
        pod,
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`,
      );
  }
}

export const newNodeLifecycleController = (ctx: ControllerContext) => new NodeLifecycleController(ctx);
