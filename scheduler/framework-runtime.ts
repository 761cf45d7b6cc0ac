/**
 * The framework runtime: one ordered list of plugins, sorted into extension
 * points by what each implements, and the rules for running them (stop at
 * the first rejecting filter, skip what PreFilter/PreScore said to skip,
 * weight and sum normalized scores).
 */
import type { Pod } from '../api/objects.js';
import {
  type BindPlugin,
  type ClusterEvent,
  Code,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type NodeToStatus,
  type Plugin,
  type PostFilterPlugin,
  type PostFilterResult,
  type PreFilterPlugin,
  type PreFilterResult,
  type PreScorePlugin,
  type ReservePlugin,
  type Result,
  type ScorePlugin,
  Status,
} from './framework.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';

const is = <T>(p: Plugin, method: string): p is Plugin & T =>
  typeof (p as unknown as Record<string, unknown>)[method] === 'function';

export class Framework {
  readonly preFilter: PreFilterPlugin[];
  readonly filter: FilterPlugin[];
  readonly postFilter: PostFilterPlugin[];
  readonly preScore: PreScorePlugin[];
  readonly score: ScorePlugin[];
  readonly reserve: ReservePlugin[];
  readonly bind: BindPlugin[];

  constructor(readonly plugins: Plugin[]) {
    const names = new Set<string>();
    for (const p of plugins) {
      if (names.has(p.name)) throw new Error(`plugin ${p.name} is listed twice`);
      names.add(p.name);
    }
    this.preFilter = plugins.filter((p) => is<PreFilterPlugin>(p, 'preFilter'));
    this.filter = plugins.filter((p) => is<FilterPlugin>(p, 'filter'));
    this.postFilter = plugins.filter((p) => is<PostFilterPlugin>(p, 'postFilter'));
    this.preScore = plugins.filter((p) => is<PreScorePlugin>(p, 'preScore'));
    this.score = plugins.filter((p) => is<ScorePlugin>(p, 'score'));
    this.reserve = plugins.filter((p) => is<ReservePlugin>(p, 'reserve'));
    this.bind = plugins.filter((p) => is<BindPlugin>(p, 'bind'));
    if (this.bind.length === 0) throw new Error('a framework needs a Bind plugin');
  }

  /** For the queue: the events each plugin's rejections wait for. */
  pluginEvents(): Map<string, Set<ClusterEvent>> {
    const m = new Map<string, Set<ClusterEvent>>();
    for (const p of this.plugins) if (is<EnqueueExtensions>(p, 'events')) m.set(p.name, new Set(p.events()));
    return m;
  }

  /** Runs every PreFilter; a rejection (or error) ends it. Returns the node names all of them allow, if any limit. */
  runPreFilter(state: CycleState, pod: PodInfo, h: Handle): { status?: Status; nodeNames?: Set<string> } {
    let nodeNames: Set<string> | undefined;
    for (const p of this.preFilter) {
      let r: Result | PreFilterResult;
      try {
        r = p.preFilter(state, pod, h);
      } catch (err) {
        r = Status.error(`${p.name}: ${(err as Error).message}`);
      }
      if (r instanceof Status) {
        if (r.code === Code.Skip) {
          state.skipFilter.add(p.name);
          continue;
        }
        r.plugin = p.name;
        return { status: r };
      }
      if (r?.nodeNames)
        nodeNames = nodeNames ? new Set([...nodeNames].filter((n) => r.nodeNames!.has(n))) : r.nodeNames;
    }
    return { nodeNames };
  }

  /** Runs the filters on one node; the first rejection is the answer. */
  runFilters(state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    for (const p of this.filter) {
      if (state.skipFilter.has(p.name)) continue;
      const s = p.filter(state, pod, node);
      if (s && s.code !== Code.Success) {
        s.plugin = p.name;
        return s;
      }
    }
    return undefined;
  }

  async runPostFilter(
    state: CycleState,
    pod: PodInfo,
    filtered: NodeToStatus,
  ): Promise<PostFilterResult | Status> {
    let last: Status = Status.unschedulable();
    for (const p of this.postFilter) {
      const r = await p.postFilter(state, pod, filtered);
      if (!(r instanceof Status)) return r;
      r.plugin = p.name;
      last = r;
      if (r.code === Code.Error) return r;
    }
    return last;
  }

  /** Weighted sum of normalized scores; `totals[i]` is for `nodes[i]`. */
  runScore(state: CycleState, pod: PodInfo, nodes: NodeInfo[], h: Handle): number[] {
    const totals = new Array<number>(nodes.length).fill(0);
    for (const p of this.preScore) {
      const s = p.preScore(state, pod, nodes, h);
      if (s?.code === Code.Skip) state.skipScore.add(p.name);
    }
    const scores = new Array<number>(nodes.length);
    for (const p of this.score) {
      if (state.skipScore.has(p.name)) continue;
      for (let i = 0; i < nodes.length; i++) scores[i] = p.score(state, pod, nodes[i]);
      p.normalizeScore?.(state, pod, scores, nodes);
      for (let i = 0; i < nodes.length; i++) totals[i] += scores[i] * p.weight;
    }
    return totals;
  }

  runReserve(state: CycleState, pod: PodInfo, nodeName: string): Result {
    for (let i = 0; i < this.reserve.length; i++) {
      const s = this.reserve[i].reserve(state, pod, nodeName);
      if (s && s.code !== Code.Success) {
        for (let j = i; j >= 0; j--) this.reserve[j].unreserve(state, pod, nodeName);
        s.plugin = this.reserve[i].name;
        return s;
      }
    }
    return undefined;
  }

  runUnreserve(state: CycleState, pod: PodInfo, nodeName: string): void {
    for (let j = this.reserve.length - 1; j >= 0; j--) this.reserve[j].unreserve(state, pod, nodeName);
  }

  /** The first Bind plugin that does not Skip binds. */
  async runBind(state: CycleState, pod: Pod, nodeName: string): Promise<Result> {
    for (const p of this.bind) {
      const s = await p.bind(state, pod, nodeName);
      if (s?.code === Code.Skip) continue;
      if (s) s.plugin = p.name;
      return s;
    }
    return Status.error('no Bind plugin bound the pod');
  }
}
