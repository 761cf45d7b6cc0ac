/**
 * The scheduling loop: pop a pod, find the nodes that fit (stopping once
 * percentageOfNodesToScore of them are found), score them, pick the best,
 * assume the pod there and bind it in the background, so the next pod is
 * placed before the bind returns. A pod that fits nowhere gets preemption
 * (PostFilter), a FailedScheduling Event and a PodScheduled=False condition
 * saying why, per node reason, and waits in the queue for a cluster event.
 */
import type { Logger } from 'pino';
import type { Pod } from '../api/objects.js';
import { metaTime } from '../api/time.js';
import type { Clock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import type { SchedulerCache } from './cache.js';
import { CycleState, fitErrorMessage, type NodeToStatus, Status } from './framework.js';
import type { Framework } from './framework-runtime.js';
import type { SchedulerMetrics } from './metrics.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import type { Nominator } from './nominator.js';
import type { QueuedPodInfo, SchedulingQueue } from './queue.js';

/** Writes of the scheduler other than binding (which is a plugin's). */
export interface PodStatusWriter {
  patchPodStatus(namespace: string, name: string, patch: unknown): Promise<unknown>;
}

export interface SchedulerOptions {
  framework: Framework;
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: Nominator;
  client: PodStatusWriter;
  recorder?: EventRecorder;
  logger: Logger;
  clock: Clock;
  metrics: SchedulerMetrics;
  /** 0 (the default) adapts to the cluster size as Kubernetes does. */
  percentageOfNodesToScore?: number;
}

export const minFeasibleNodesToFind = 100;
export const minFeasibleNodesPercentageToFind = 5;

/** How many feasible nodes to look for before scoring (numFeasibleNodesToFind). */
export function numFeasibleNodesToFind(numAllNodes: number, percentage = 0): number {
  if (numAllNodes < minFeasibleNodesToFind) return numAllNodes;
  let pct = percentage;
  if (pct <= 0) {
    pct = 50 - Math.floor(numAllNodes / 125);
    if (pct < minFeasibleNodesPercentageToFind) pct = minFeasibleNodesPercentageToFind;
  }
  if (pct >= 100) return numAllNodes;
  return Math.max(minFeasibleNodesToFind, Math.floor((numAllNodes * pct) / 100));
}

export interface ScheduleResult {
  node?: string;
  /** Why no node fits: per node, or one PreFilter rejection for all. */
  statuses: NodeToStatus;
  preFilter?: Status;
  numNodes: number;
  evaluated: number;
  feasible: number;
}

export class Scheduler {
  private nextStartNodeIndex = 0;
  private readonly o: SchedulerOptions;
  private readonly log: Logger;

  constructor(o: SchedulerOptions) {
    this.o = o;
    this.log = o.logger;
  }

  /**
   * Schedules pods until `signal` aborts; in-flight binds finish on their
   * own. Between cycles it yields to the event loop, so that with a long
   * queue bind answers, informer events, health checks and lease renewals
   * still get their turn.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const q = await this.o.queue.pop(signal);
      if (!q) break;
      try {
        await this.scheduleOne(q);
      } catch (err) {
        this.log.error({ err, pod: q.info.key }, 'scheduling cycle threw');
        this.o.queue.requeueFailed(q, this.o.queue.schedulingCycle, [], true);
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  async scheduleOne(q: QueuedPodInfo): Promise<void> {
    const { cache, queue, framework, clock, metrics } = this.o;
    const pi = q.info;
    const cycle = queue.schedulingCycle;
    if (pi.pod.metadata.deletionTimestamp || cache.hasPod(pi.key)) {
      queue.done(pi.key);
      return;
    }
    const start = clock.now();
    const state = new CycleState();
    const result = this.schedulePod(state, pi);
    if (!result.node) {
      let postMsg: string | undefined;
      let nominated: string | undefined;
      const rejections = [...result.statuses.values()];
      const error =
        rejections.find((s) => s.code === 1) ?? (result.preFilter?.code === 1 ? result.preFilter : undefined);
      if (!error && result.numNodes > 0 && framework.postFilter.length) {
        const pf = await framework.runPostFilter(state, pi, result.statuses);
        if (pf instanceof Status) postMsg = pf.message || undefined;
        else nominated = pf.nominatedNodeName;
      }
      const message = error
        ? error.message
        : result.numNodes === 0
          ? 'no nodes available to schedule pods'
          : fitErrorMessage(result.numNodes, result.statuses, result.preFilter, postMsg);
      const plugins = new Set<string>();
      for (const s of result.statuses.values()) if (s.plugin) plugins.add(s.plugin);
      if (result.preFilter?.plugin) plugins.add(result.preFilter.plugin);
      metrics.attempt(error ? 'error' : 'unschedulable', (clock.now() - start) / 1000);
      queue.requeueFailed(q, cycle, plugins, !!error);
      this.recordFailure(pi.pod, error ? 'SchedulerError' : 'Unschedulable', message, nominated);
      return;
    }
    const node = result.node;
    // Assume: the cache now counts the pod on its node, so the next cycle sees it.
    cache.assumePod(pi, node);
    const reserve = framework.runReserve(state, pi, node);
    if (reserve) {
      cache.forgetPod(pi.key);
      metrics.attempt('error', (clock.now() - start) / 1000);
      queue.requeueFailed(q, cycle, [], true);
      this.recordFailure(pi.pod, 'SchedulerError', reserve.message);
      return;
    }
    this.o.nominator.remove(pi.key);
    metrics.attempt('scheduled', (clock.now() - start) / 1000);
    void this.bindingCycle(state, q, node, cycle);
  }

  /** Filters and scores for one pod; does not change the cache. */
  schedulePod(state: CycleState, pi: PodInfo): ScheduleResult {
    const { cache, framework } = this.o;
    const all = cache.nodes();
    const statuses: NodeToStatus = new Map();
    const res: ScheduleResult = { statuses, numNodes: all.length, evaluated: 0, feasible: 0 };
    if (all.length === 0) return res;
    const pre = framework.runPreFilter(state, pi, cache);
    if (pre.status) {
      res.preFilter = pre.status;
      for (const n of all) statuses.set(n.name, pre.status);
      return res;
    }
    // A nominated node (from preemption) is tried first, alone.
    const nominated = pi.pod.status?.nominatedNodeName;
    if (nominated) {
      const ni = cache.node(nominated);
      if (ni && !this.filterNode(state, pi, ni)) {
        res.node = nominated;
        res.evaluated = res.feasible = 1;
        return res;
      }
    }
    const candidates = pre.nodeNames
      ? [...pre.nodeNames].map((n) => cache.node(n)).filter((n): n is NodeInfo => !!n)
      : all;
    const feasible = this.findFeasible(state, pi, candidates, statuses, !pre.nodeNames);
    res.evaluated = feasible.length + statuses.size;
    res.feasible = feasible.length;
    if (pre.nodeNames) {
      // Nodes PreFilter ruled out count as rejected by it.
      for (const n of all)
        if (!pre.nodeNames.has(n.name) && !statuses.has(n.name))
          statuses.set(
            n.name,
            Object.assign(Status.unresolvable("node(s) didn't match the requested node name"), {
              plugin: 'NodeName',
            }),
          );
    }
    if (feasible.length === 0) return res;
    if (feasible.length === 1) {
      res.node = feasible[0].name;
      return res;
    }
    const scores = framework.runScore(state, pi, feasible, cache);
    res.node = selectHost(feasible, scores);
    return res;
  }

  private findFeasible(
    state: CycleState,
    pi: PodInfo,
    nodes: readonly NodeInfo[],
    statuses: NodeToStatus,
    rotate: boolean,
  ): NodeInfo[] {
    const want = numFeasibleNodesToFind(nodes.length, this.o.percentageOfNodesToScore);
    const feasible: NodeInfo[] = [];
    const start = rotate ? this.nextStartNodeIndex % nodes.length : 0;
    let checked = 0;
    for (; checked < nodes.length && feasible.length < want; checked++) {
      const ni = nodes[(start + checked) % nodes.length];
      const s = this.filterNode(state, pi, ni);
      if (s) statuses.set(ni.name, s);
      else feasible.push(ni);
    }
    if (rotate) this.nextStartNodeIndex = (start + checked) % nodes.length;
    return feasible;
  }

  /** Filters one node, counting pods nominated to it with at least this pod's priority as already there. */
  private filterNode(state: CycleState, pi: PodInfo, ni: NodeInfo): Status | undefined {
    const nominated = this.o.nominator.podsFor(ni.name, pi);
    if (nominated.length === 0) return this.o.framework.runFilters(state, pi, ni);
    const withNominated = ni.clone();
    for (const p of nominated) withNominated.addPod(p);
    return (
      this.o.framework.runFilters(state, pi, withNominated) ?? this.o.framework.runFilters(state, pi, ni)
    );
  }

  private async bindingCycle(
    state: CycleState,
    q: QueuedPodInfo,
    node: string,
    cycle: number,
  ): Promise<void> {
    const { cache, queue, framework, clock, metrics } = this.o;
    const pi = q.info;
    const s = await framework.runBind(state, pi.pod, node);
    if (!s) {
      cache.finishBinding(pi.key);
      queue.done(pi.key);
      metrics.scheduled((clock.now() - q.initialAttemptTimestamp) / 1000, q.attempts);
      this.o.recorder?.event(pi.pod, 'Normal', 'Scheduled', `Successfully assigned ${pi.key} to ${node}`);
      return;
    }
    this.log.warn({ pod: pi.key, node, err: s.message }, 'binding failed; forgetting the assumed pod');
    cache.forgetPod(pi.key);
    framework.runUnreserve(state, pi, node);
    // The room the pod held is free again: others may fit now.
    queue.moveOnEvent('PodDelete');
    queue.requeueFailed(q, cycle, [], true);
    this.recordFailure(pi.pod, 'SchedulerError', `binding rejected: ${s.message}`);
  }

  private recordFailure(pod: Pod, reason: string, message: string, nominatedNodeName?: string): void {
    this.o.recorder?.event(pod, 'Warning', 'FailedScheduling', message);
    const ns = pod.metadata.namespace ?? 'default';
    const name = pod.metadata.name ?? '';
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    const same = cur?.status === 'False' && cur.reason === reason && cur.message === message;
    if (same && !nominatedNodeName) return;
    // A merge patch replaces the whole list: keep the other conditions.
    const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const patch: Record<string, unknown> = {
      conditions: [
        ...others,
        {
          type: 'PodScheduled',
          status: 'False',
          reason,
          message,
          lastProbeTime: null,
          lastTransitionTime: cur?.status === 'False' ? cur.lastTransitionTime : metaTime(this.o.clock.now()),
        },
      ],
    };
    if (nominatedNodeName) patch.nominatedNodeName = nominatedNodeName;
    this.o.client.patchPodStatus(ns, name, { status: patch }).catch((err) => {
      this.log.warn({ err, pod: `${ns}/${name}` }, 'writing the PodScheduled condition failed');
    });
  }
}

/** The highest total; ties broken uniformly at random (reservoir sampling), as Kubernetes does. */
export function selectHost(nodes: NodeInfo[], scores: number[]): string {
  let best = 0;
  let ties = 1;
  for (let i = 1; i < nodes.length; i++) {
    if (scores[i] > scores[best]) {
      best = i;
      ties = 1;
    } else if (scores[i] === scores[best]) {
      ties++;
      if (Math.random() * ties < 1) best = i;
    }
  }
  return nodes[best].name;
}
