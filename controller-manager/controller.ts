/**
 * What every controller shares. A controller is a class whose constructor
 * only wires informer handlers to its queue (compute a key, enqueue, nothing
 * more); `sync(key)` is level-triggered, reads only the caches, writes the
 * smallest change, and throws to be retried with backoff. Controllers never
 * sleep or retry by themselves: `queue.addAfter` is for time-based re-checks.
 */
import type { Logger } from 'pino';
import { Gauge, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../api/meta.js';
import type { Registry } from '../api/registry.js';
import type { Clock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import { keyOf } from '../client/indexer.js';
import type { InformerFactory, SharedInformer } from '../client/informer.js';
import type { RestClient } from '../client/rest.js';
import { defaultControllerRateLimiter, RateLimitingQueue, runWorkers } from '../client/workqueue.js';

export interface ControllerManagerConfig {
  /** Pod network, split into one `nodeCIDRMaskSize` range per Node. */
  clusterCIDR: string;
  nodeCIDRMaskSize: number;
  allocateNodeCIDRs: boolean;
  /** How long a node's Lease may go unrenewed before it is NotReady. */
  nodeMonitorGracePeriodMs: number;
  /** Workers per controller. */
  concurrentSyncs: number;
  /** Terminated pods kept before pod GC removes the oldest. */
  terminatedPodGCThreshold: number;
  /** Where the local-path provisioner makes volume directories (default /var/lib/nanokube/local-path). */
  localPathRoot?: string;
  /** The CA bundle of --root-ca-file, published in every namespace; unset: root-ca-cert-publisher does not run. */
  rootCA?: string;
  /** The CA certificate and key files csrsigning signs with; both or neither (unset: it does not run). */
  clusterSigningCertFile?: string;
  clusterSigningKeyFile?: string;
  /** The longest certificate csrsigning gives; default a year. */
  clusterSigningDurationMs?: number;
}

export interface ControllerContext {
  rest: RestClient;
  informers: InformerFactory;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** Records Events as the given component. */
  recorder(component: string): EventRecorder;
  metrics: MetricsRegistry;
  config: ControllerManagerConfig;
}

export interface Controller {
  readonly name: string;
  /** Runs until `signal` aborts; resolves after the workers have stopped. */
  run(signal: AbortSignal): Promise<void>;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;

const metricsFor = new WeakMap<MetricsRegistry, { depth: Gauge; latency: Histogram }>();

function controllerMetrics(reg: MetricsRegistry) {
  let m = metricsFor.get(reg);
  if (!m) {
    m = {
      depth: new Gauge({
        name: 'workqueue_depth',
        help: 'Keys waiting in a controller queue.',
        labelNames: ['name'],
        registers: [reg],
      }),
      latency: new Histogram({
        name: 'controller_sync_duration_seconds',
        help: 'Time one sync of one key took.',
        labelNames: ['name', 'result'],
        buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        registers: [reg],
      }),
    };
    metricsFor.set(reg, m);
  }
  return m;
}

/**
 * The worker loop every controller runs: wait for the informers it uses,
 * then n workers doing get → sync → forget, or requeue with backoff on a
 * throw → done.
 */
export abstract class QueueController implements Controller {
  readonly queue: RateLimitingQueue<string>;
  protected readonly log: Logger;
  private readonly synced: SharedInformer<any>[] = [];

  constructor(
    readonly name: string,
    protected readonly ctx: ControllerContext,
  ) {
    this.log = ctx.logger.child({ controller: name });
    this.queue = new RateLimitingQueue<string>({
      clock: ctx.clock,
      rateLimiter: defaultControllerRateLimiter(ctx.clock),
    });
  }

  /** Reconciles one key; not found in the caches means deleted. */
  abstract sync(key: string): Promise<void>;

  /** The informer for a resource, which `run` waits on before the first sync. */
  protected informer<T extends KubeObject>(
    resource: string,
    opts?: Parameters<InformerFactory['forResource']>[1],
  ): SharedInformer<T> {
    const inf = this.ctx.informers.forResource<T>(resource, opts as never);
    this.synced.push(inf);
    return inf;
  }

  enqueue(obj: KubeObject | string): void {
    this.queue.add(typeof obj === 'string' ? obj : keyOf(obj));
  }

  async run(signal: AbortSignal): Promise<void> {
    const m = controllerMetrics(this.ctx.metrics);
    const synced = await Promise.all(this.synced.map((i) => i.waitForSync(signal)));
    if (!synced.every(Boolean)) return;
    this.log.info({ workers: this.ctx.config.concurrentSyncs }, 'caches synced; starting workers');
    const depth = setInterval(() => m.depth.set({ name: this.name }, this.queue.len()), 1000);
    try {
      await runWorkers(
        this.queue,
        this.ctx.config.concurrentSyncs,
        async (key) => {
          const end = m.latency.startTimer({ name: this.name });
          try {
            await this.sync(key);
            end({ result: 'success' });
          } catch (err) {
            end({ result: 'error' });
            throw err;
          }
        },
        { signal, logger: this.log },
      );
    } finally {
      clearInterval(depth);
    }
  }
}
