/**
 * DefaultPreemption (PostFilter): when a pod fits nowhere, find a node where
 * evicting pods of lower priority (spec.priority) makes it fit, evict as few
 * and as unimportant ones as will do, through the eviction subresource
 * (graceful), and nominate the node to the pod. The pod is tried again once
 * the victims are gone (a pod delete event); meanwhile the nominated room is
 * kept from pods of no higher priority.
 *
 * Choosing the node, as Kubernetes does: the lowest highest-victim
 * priority, then the smallest sum of victim priorities, then the fewest
 * victims, then the latest-started highest-priority victim.
 */
import type { Logger } from 'pino';
import type { EventRecorder } from '../../client/events.js';
import {
  Code,
  CycleState,
  type Handle,
  type NodeToStatus,
  type PostFilterPlugin,
  type PostFilterResult,
  reasonHistogram,
  Status,
} from '../framework.js';
import type { Framework } from '../framework-runtime.js';
import type { SchedulerMetrics } from '../metrics.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';
import type { Nominator } from '../nominator.js';
import { podStartMs } from '../types.js';

export const defaultPreemptionName = 'DefaultPreemption';
export const errReasonNoVictims = 'No preemption victims found for incoming pod';
export const errReasonNotHelpful = 'Preemption is not helpful for scheduling';
/** Candidate nodes examined at most (Kubernetes: 10% of nodes, at least 100). */
const maxCandidates = 100;

export interface Evictor {
  evict(namespace: string, name: string): Promise<unknown>;
}

export interface PreemptionOptions {
  handle: Handle;
  framework: () => Framework;
  evictor: Evictor;
  nominator: Nominator;
  recorder?: EventRecorder;
  logger: Logger;
  metrics: SchedulerMetrics;
}

interface Candidate {
  node: string;
  victims: PodInfo[];
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = defaultPreemptionName;
  constructor(private readonly o: PreemptionOptions) {}

  async postFilter(
    _state: CycleState,
    pod: PodInfo,
    filtered: NodeToStatus,
  ): Promise<PostFilterResult | Status> {
    if (pod.pod.spec?.preemptionPolicy === 'Never')
      return Status.unresolvable(`not eligible due to preemptionPolicy=Never.`);
    if (this.waitingForVictims(pod)) return Status.unschedulable('waiting for earlier victims to terminate.');
    const nodes = this.o.handle.nodes();
    const why = new Map<string, Status>();
    const candidates: Candidate[] = [];
    for (const ni of nodes) {
      const s = filtered.get(ni.name);
      if (!s || s.code === Code.UnschedulableAndUnresolvable) {
        why.set(ni.name, Status.unresolvable(errReasonNotHelpful));
        continue;
      }
      if (candidates.length >= maxCandidates) continue;
      const victims = this.selectVictims(pod, ni);
      if (victims) candidates.push({ node: ni.name, victims });
      else why.set(ni.name, Status.unschedulable(errReasonNoVictims));
    }
    this.o.metrics.preemption(0);
    const best = pickCandidate(candidates);
    if (!best) return Status.unschedulable(`0/${nodes.length} nodes are available: ${reasonHistogram(why)}.`);
    this.o.metrics.preemption(best.victims.length);
    this.o.logger.info(
      { pod: pod.key, node: best.node, victims: best.victims.map((v) => v.key) },
      'preempting lower-priority pods',
    );
    this.o.nominator.add(pod, best.node);
    await Promise.all(
      best.victims.map(async (v) => {
        this.o.recorder?.event(
          v.pod,
          'Normal',
          'Preempted',
          `Preempted by pod ${pod.pod.metadata.uid ?? pod.key} on node ${best.node}`,
        );
        try {
          await this.o.evictor.evict(v.pod.metadata.namespace ?? 'default', v.pod.metadata.name ?? '');
        } catch (err) {
          this.o.logger.warn({ err, victim: v.key }, 'evicting a preemption victim failed');
        }
      }),
    );
    return { nominatedNodeName: best.node };
  }

  /** The pod was nominated before and lower-priority pods on that node are still terminating. */
  private waitingForVictims(pod: PodInfo): boolean {
    const node = pod.pod.status?.nominatedNodeName ?? this.o.nominator.nodeFor(pod.key);
    const ni = node ? this.o.handle.node(node) : undefined;
    if (!ni) return false;
    for (const p of ni.pods.values())
      if (p.pod.metadata.deletionTimestamp && p.priority < pod.priority) return true;
    return false;
  }

  /**
   * The fewest, least important pods of lower priority whose removal lets
   * `pod` fit on `ni`, or undefined if removing all of them would not.
   */
  selectVictims(pod: PodInfo, ni: NodeInfo): PodInfo[] | undefined {
    const lower = [...ni.pods.values()].filter(
      (p) => p.priority < pod.priority && !p.pod.metadata.deletionTimestamp,
    );
    if (lower.length === 0) return undefined;
    const sim = ni.clone();
    for (const p of lower) sim.removePod(p.key);
    if (!this.fits(pod, sim)) return undefined;
    // Most important first: they are the ones to try to keep.
    lower.sort((a, b) => b.priority - a.priority || podStartMs(a.pod) - podStartMs(b.pod));
    const victims: PodInfo[] = [];
    for (const p of lower) {
      sim.addPod(p);
      if (!this.fits(pod, sim)) {
        sim.removePod(p.key);
        victims.push(p);
      }
    }
    return victims;
  }

  /** Runs PreFilter and Filter as if `sim` replaced its node. */
  private fits(pod: PodInfo, sim: NodeInfo): boolean {
    const h = this.o.handle;
    const simHandle: Handle = {
      nodes: () => h.nodes().map((n) => (n.name === sim.name ? sim : n)),
      node: (name) => (name === sim.name ? sim : h.node(name)),
      namespaceLabels: (ns) => h.namespaceLabels(ns),
    };
    const fw = this.o.framework();
    const state = new CycleState();
    const pre = fw.runPreFilter(state, pod, simHandle);
    if (pre.status) return false;
    if (pre.nodeNames && !pre.nodeNames.has(sim.name)) return false;
    return !fw.runFilters(state, pod, sim);
  }
}

export function pickCandidate(candidates: Candidate[]): Candidate | undefined {
  const key = (c: Candidate) => {
    const prios = c.victims.map((v) => v.priority);
    const highest = prios.length ? Math.max(...prios) : Number.NEGATIVE_INFINITY;
    const sum = prios.reduce((a, b) => a + b, 0);
    const top = c.victims.filter((v) => v.priority === highest);
    const latestStart = top.length ? Math.max(...top.map((v) => podStartMs(v.pod))) : 0;
    return [highest, sum, c.victims.length, -latestStart];
  };
  let best: Candidate | undefined;
  let bestKey: number[] = [];
  for (const c of candidates) {
    const k = key(c);
    if (!best || lexLess(k, bestKey)) {
      best = c;
      bestKey = k;
    }
  }
  return best;
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] < b[i];
  return false;
}
