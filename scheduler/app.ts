/**
 * The scheduler process, wired (Kubernetes' cmd/kube-scheduler/app):
 * `buildScheduler` assembles the default plugins, the framework runtime, the
 * queue and the scheduling loop; `runScheduler` runs them. Informers on
 * nodes, pods and namespaces feed the cache and the queue from the start (a
 * standby stays warm); the scheduling loop runs only while this process
 * holds the `kube-scheduler` Lease in kube-system (or always, without leader
 * election). Health and metrics are served on --secure-port (10259).
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import type { Node, Pod } from '../api/objects.js';
import { builtinRegistry } from '../api/types/index.js';
import { type Clock, realClock } from '../client/clock.js';
import { type ConnectFlags, connect } from '../client/connect.js';
import { EventRecorder, newEventClient } from '../client/events.js';
import { HealthServer, newMetricsRegistry } from '../client/health.js';
import { InformerFactory } from '../client/informer.js';
import { type LeaderElectionConfig, runLeading } from '../client/leaderelection.js';
import { ResourceClient } from '../client/resource.js';
import type { RestClient } from '../client/rest.js';
import { SchedulerCache } from './cache.js';
import { type HandlerDeps, namespaceHandler, nodeHandler, podHandler } from './event-handlers.js';
import type { Plugin } from './framework.js';
import { Framework } from './framework-runtime.js';
import { newSchedulerMetrics, type SchedulerMetrics } from './metrics.js';
import { Nominator } from './nominator.js';
import { DefaultBinder } from './plugins/defaultbinder.js';
import { DefaultPreemption } from './plugins/defaultpreemption.js';
import { InterPodAffinity } from './plugins/interpodaffinity.js';
import { NodeAffinity } from './plugins/nodeaffinity.js';
import { NodeName } from './plugins/nodename.js';
import { NodePorts } from './plugins/nodeports.js';
import { BalancedAllocation, NodeResourcesFit } from './plugins/noderesources.js';
import { NodeUnschedulable } from './plugins/nodeunschedulable.js';
import { PodTopologySpread } from './plugins/podtopologyspread.js';
import { SelectorSpread } from './plugins/selectorspread.js';
import { TaintToleration } from './plugins/tainttoleration.js';
import { SchedulingQueue } from './queue.js';
import { Scheduler } from './scheduling-loop.js';
import { defaultSchedulerName } from './types.js';

export interface SchedulerConfig extends LeaderElectionConfig {
  connect: ConnectFlags;
  bindAddress: string;
  /** Health and metrics port; 0 picks a free one. */
  port: number;
  /** 0 adapts to the cluster size. */
  percentageOfNodesToScore: number;
  schedulerName: string;
}

export interface SchedulerParts {
  framework: Framework;
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: Nominator;
  scheduler: Scheduler;
}

/** The default plugins, in Kubernetes' order, wired to a real apiserver through `rest`. */
export function buildScheduler(o: {
  rest: RestClient;
  logger: Logger;
  clock: Clock;
  metrics?: (depth: () => SchedulingQueue['depth']) => SchedulerMetrics;
  recorder?: EventRecorder;
  percentageOfNodesToScore?: number;
}): SchedulerParts {
  const pods = new ResourceClient<Pod>(o.rest, builtinRegistry.get('', 'v1', 'pods')!);
  const cache = new SchedulerCache();
  const nominator = new Nominator();
  let queue: SchedulingQueue | undefined;
  const metrics = o.metrics?.(() => queue!.depth) ?? { attempt() {}, scheduled() {}, preemption() {} };
  let framework: Framework | undefined;
  const plugins: Plugin[] = [
    new NodeUnschedulable(),
    new NodeName(),
    new TaintToleration(),
    new NodeAffinity(),
    new NodePorts(),
    new NodeResourcesFit(),
    new PodTopologySpread(),
    new InterPodAffinity(),
    new BalancedAllocation(),
    new SelectorSpread(),
    new DefaultPreemption({
      handle: cache,
      framework: () => framework!,
      evictor: { evict: (ns, name) => pods.in(ns).evict(name) },
      nominator,
      recorder: o.recorder,
      logger: o.logger,
      metrics,
    }),
    new DefaultBinder({ bind: (ns, name, node) => pods.in(ns).bind(name, node) }),
  ];
  framework = new Framework(plugins);
  queue = new SchedulingQueue({ clock: o.clock, pluginEvents: framework.pluginEvents() });
  const scheduler = new Scheduler({
    framework,
    cache,
    queue,
    nominator,
    client: {
      patchPodStatus: (ns, name, patch) => pods.in(ns).patch(name, 'merge', patch, { subresource: 'status' }),
    },
    recorder: o.recorder,
    logger: o.logger,
    clock: o.clock,
    metrics,
    percentageOfNodesToScore: o.percentageOfNodesToScore,
  });
  return { framework, cache, queue, nominator, scheduler };
}

export async function runScheduler(
  config: SchedulerConfig,
  { signal, logger, clock = realClock }: { signal: AbortSignal; logger: Logger; clock?: Clock },
): Promise<void> {
  const rest = connect(config.connect, 'nanokube-scheduler', logger);
  const registry = newMetricsRegistry('scheduler');
  const recorder = new EventRecorder({
    client: newEventClient(rest),
    component: config.schedulerName || defaultSchedulerName,
    host: hostname(),
    clock,
    logger,
  });
  const parts = buildScheduler({
    rest,
    logger,
    clock,
    recorder,
    metrics: (depth) => newSchedulerMetrics(registry, depth),
    percentageOfNodesToScore: config.percentageOfNodesToScore,
  });
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger, clock });
  const deps: HandlerDeps = { ...parts, schedulerName: config.schedulerName || defaultSchedulerName };
  const regs = [
    informers.forResource<Node>('nodes').addEventHandler(nodeHandler(deps)),
    informers.forResource<KubeObject>('namespaces').addEventHandler(namespaceHandler(deps)),
    informers.forResource<Pod>('pods').addEventHandler(podHandler(deps)),
  ];
  const synced = () => regs.every((r) => r.hasSynced());
  const health = new HealthServer({
    bindAddress: config.bindAddress,
    port: config.port,
    logger,
    metrics: registry,
    ready: { 'informer-sync': synced },
  });
  const port = await health.listen();
  logger.info({ port, leaderElect: config.leaderElect }, 'scheduler serving health and metrics');
  // Informers stop with the process, or when leadership is lost (then run() throws).
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  informers.start(stop.signal);
  const flush = setInterval(() => parts.queue.flushUnschedulableLeftover(), 30_000);

  const work = async (leadSignal: AbortSignal) => {
    // Wait until every handler has seen the first lists: scheduling against a half-filled cache misplaces pods.
    while (!synced() && !leadSignal.aborted) await clock.sleep(50, leadSignal);
    if (leadSignal.aborted) return;
    logger.info({ nodes: parts.cache.nodeCount }, 'scheduling');
    await parts.scheduler.run(leadSignal);
  };

  try {
    await runLeading(config, { name: 'kube-scheduler', rest, clock, logger, signal, work });
  } finally {
    clearInterval(flush);
    signal.removeEventListener('abort', onAbort);
    stop.abort();
    parts.queue.close();
    await informers.done();
    await recorder.flush();
    await health.close();
    rest.close();
  }
}
