/**
 * The scheduling framework's vocabulary, shaped like kube-scheduler's
 * framework/interface.go: outcomes as Status values with codes, a per-cycle
 * state, and one small interface per extension point. A plugin implements
 * only the points it needs (`implements FilterPlugin, ScorePlugin`).
 *
 * Order within one scheduling cycle, for one pod:
 *   PreFilter (all) → Filter (per node, stops at the first rejection) →
 *   PostFilter (only when no node fits: preemption) → PreScore → Score (per
 *   node) → NormalizeScore → Reserve → Bind (asynchronous; the pod is
 *   assumed on its node before Bind starts).
 * Plugins must not keep per-pod state on themselves: it goes in CycleState.
 */
import type { Pod } from '../api/objects.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';

export enum Code {
  /** The plugin is fine with the pod (or node). */
  Success = 0,
  /** Something went wrong (not the pod's fault): the pod is retried with backoff. */
  Error = 1,
  /** Rejected, but preemption on this node might help; the pod waits for a cluster event. */
  Unschedulable = 2,
  /** Rejected, and preemption on this node cannot help (a selector, a taint). */
  UnschedulableAndUnresolvable = 3,
  /** From PreFilter or PreScore: the plugin has nothing to say about this pod; skip its Filter or Score. */
  Skip = 4,
}

export class Status {
  /** The plugin that produced it; set by the framework. */
  plugin = '';
  constructor(
    readonly code: Code,
    readonly reasons: string[] = [],
  ) {}

  static unschedulable(...reasons: string[]): Status {
    return new Status(Code.Unschedulable, reasons);
  }
  static unresolvable(...reasons: string[]): Status {
    return new Status(Code.UnschedulableAndUnresolvable, reasons);
  }
  static error(message: string): Status {
    return new Status(Code.Error, [message]);
  }
  static readonly skip = new Status(Code.Skip);

  get isRejection(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  get message(): string {
    return this.reasons.join(', ');
  }
}

/** `undefined` is success: the common case allocates nothing. */
export type Result = Status | undefined;

/** Per-pod data plugins pass from one extension point to the next. */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  read<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  write(key: string, value: unknown): void {
    this.data.set(key, value);
  }
  /** Filters of these plugins are skipped for this pod (their PreFilter said Skip). */
  readonly skipFilter = new Set<string>();
  readonly skipScore = new Set<string>();
}

/** What plugins may look at beyond the node in hand. */
export interface Handle {
  /** Every node, in a stable order. */
  nodes(): readonly NodeInfo[];
  node(name: string): NodeInfo | undefined;
  /** Labels of a namespace, for namespace selectors in affinity terms. */
  namespaceLabels(ns: string): Record<string, string> | undefined;
}

export interface Plugin {
  readonly name: string;
}

/** A resource and what happened to it: the cluster events that can make a rejected pod schedulable. */
export type ClusterEvent =
  | 'NodeAdd'
  | 'NodeUpdate'
  | 'NodeDelete'
  | 'PodAdd'
  | 'PodUpdate'
  | 'PodDelete'
  | 'NamespaceChange';

export interface EnqueueExtensions extends Plugin {
  /** The events after which a pod this plugin rejected is worth trying again. */
  events(): ClusterEvent[];
}

export interface PreFilterResult {
  /** When set, only these nodes can fit (NodeName, NodeAffinity on metadata.name). */
  nodeNames?: Set<string>;
}

export interface PreFilterPlugin extends Plugin {
  /** A rejection fails the pod on every node; Skip skips this plugin's Filter. */
  preFilter(state: CycleState, pod: PodInfo, h: Handle): Result | PreFilterResult;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): Result;
}

/** Node name → why it was rejected. */
export type NodeToStatus = Map<string, Status>;

export interface PostFilterResult {
  nominatedNodeName?: string;
}

export interface PostFilterPlugin extends Plugin {
  /** Runs when no node fits; may make room (preemption). A Status is why it could not. */
  postFilter(state: CycleState, pod: PodInfo, filtered: NodeToStatus): Promise<PostFilterResult | Status>;
}

export interface PreScorePlugin extends Plugin {
  /** Skip skips this plugin's Score for the pod. */
  preScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], h: Handle): Result;
}

export const maxNodeScore = 100;

export interface ScorePlugin extends Plugin {
  /** How much this plugin's (normalized) score counts. */
  readonly weight: number;
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Brings raw scores (`scores[i]` is for `nodes[i]`) into 0..maxNodeScore, in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, scores: number[], nodes: NodeInfo[]): void;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): Result;
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export interface BindPlugin extends Plugin {
  bind(state: CycleState, pod: Pod, nodeName: string): Promise<Result>;
}

/** Scales `scores` so the largest becomes maxNodeScore (or reversed: the smallest); all-zero stays zero. */
export function defaultNormalizeScore(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? maxNodeScore : 0;
    else {
      const s = Math.floor((maxNodeScore * scores[i]) / max);
      scores[i] = reverse ? maxNodeScore - s : s;
    }
  }
}

/**
 * Kubernetes' FitError message: "0/3 nodes are available: 1 node(s) had
 * untolerated taint {k: v}, 2 Insufficient cpu." — one count per reason over
 * all nodes, sorted as strings. `postFilterMsg` (preemption) is appended.
 */
export function fitErrorMessage(
  numNodes: number,
  statuses: NodeToStatus,
  preFilter?: Status,
  postFilterMsg?: string,
): string {
  let msg: string;
  if (preFilter) {
    msg = `0/${numNodes} nodes are available: ${preFilter.message}.`;
  } else {
    msg = `0/${numNodes} nodes are available: ${reasonHistogram(statuses)}.`;
  }
  if (postFilterMsg) msg += ` preemption: ${postFilterMsg}`;
  return msg;
}

export function reasonHistogram(statuses: Iterable<Status> | NodeToStatus): string {
  const counts = new Map<string, number>();
  const values = statuses instanceof Map ? statuses.values() : statuses;
  for (const s of values) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([r, n]) => `${n} ${r}`)
    .sort()
    .join(', ');
}
