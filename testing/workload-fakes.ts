/**
 * Hand-written fakes for the workload controllers' unit tests: a context
 * whose informers are never started (tests seed their stores), a FakeClock,
 * a pod control and a resource client that record every call, and an event
 * recorder that keeps what it was told. No sockets, no timers.
 */
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../api/meta.js';
import type { Pod } from '../api/objects.js';
import { builtinRegistry } from '../api/types/index.js';
import { FakeClock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import { keyOf } from '../client/indexer.js';
import { InformerFactory } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import type { ControllerContext } from '../controller-manager/controller.js';
import type { MetaPatcher, PodControl } from '../controller-manager/podcontrol.js';

export interface RecordedEvent {
  object: string;
  type: string;
  reason: string;
  message: string;
}

export interface TestContext extends ControllerContext {
  clock: FakeClock;
  events: RecordedEvent[];
  /** Puts objects straight into the informer store of `resource`. */
  seed(resource: string, ...objs: KubeObject[]): void;
  /** Removes an object from the informer store of `resource`. */
  unseed(resource: string, obj: KubeObject): void;
}

/** 2024-01-01T00:00:00Z, so times written from the clock look real. */
export const testEpoch = Date.parse('2024-01-01T00:00:00Z');

export function newTestContext(): TestContext {
  const clock = new FakeClock(testEpoch);
  const logger = pino({ level: 'silent' });
  // Never started: nothing is ever sent to this address.
  const rest = new RestClient({ servers: ['http://127.0.0.1:1'] });
  const informers = new InformerFactory({ rest, registry: builtinRegistry, logger, clock });
  const events: RecordedEvent[] = [];
  const recorder = {
    event: (obj: KubeObject, type: string, reason: string, message: string) =>
      events.push({ object: keyOf(obj), type, reason, message }),
    flush: async () => {},
  } as unknown as EventRecorder;
  return {
    rest,
    informers,
    registry: builtinRegistry,
    logger,
    clock,
    recorder: () => recorder,
    metrics: new MetricsRegistry(),
    config: {
      clusterCIDR: '10.244.0.0/16',
      nodeCIDRMaskSize: 24,
      allocateNodeCIDRs: false,
      nodeMonitorGracePeriodMs: 40_000,
      concurrentSyncs: 1,
      terminatedPodGCThreshold: 100,
    },
    events,
    seed: (resource, ...objs) => {
      const store = informers.forResource(resource).store;
      for (const o of objs) store.upsert(o);
    },
    unseed: (resource, obj) => {
      informers.forResource(resource).store.remove(obj);
    },
  };
}

let uidCounter = 0;
export const newUid = () => `uid-${++uidCounter}`;

/** Records creates and deletes; `failCreatesAfter` makes later creates throw. */
export class FakePodControl implements PodControl {
  created: Pod[] = [];
  deleted: string[] = [];
  failCreatesAfter = Number.POSITIVE_INFINITY;
  private n = 0;

  async createPod(pod: Pod, _owner: KubeObject): Promise<Pod> {
    if (this.created.length >= this.failCreatesAfter) throw new Error('fake create failure');
    const out = structuredClone(pod);
    out.metadata.name ??= `${pod.metadata.generateName ?? 'pod-'}${++this.n}`;
    out.metadata.uid = newUid();
    this.created.push(out);
    return out;
  }

  async deletePod(namespace: string, name: string): Promise<void> {
    this.deleted.push(`${namespace}/${name}`);
  }
}

export interface RecordedCall {
  verb: 'create' | 'update' | 'updateStatus' | 'patch' | 'delete';
  key: string;
  body?: unknown;
}

/**
 * The parts of ResourceClient controllers write with; every call is
 * recorded and answered with the object sent (with a uid and name made up
 * for creates). Use `asClient()` where a ResourceClient is wanted.
 */
export class FakeClient<T extends KubeObject = KubeObject> implements MetaPatcher<T> {
  calls: RecordedCall[] = [];
  /** Objects a patch is applied to (by key); tests seed them. */
  objects = new Map<string, T>();
  private n = 0;

  constructor(private readonly ns?: string) {}

  in(ns?: string): FakeClient<T> {
    const view = new FakeClient<T>(ns);
    view.calls = this.calls;
    view.objects = this.objects;
    return view;
  }

  async create(obj: T): Promise<T> {
    const out = structuredClone(obj);
    out.metadata.namespace ??= this.ns;
    out.metadata.name ??= `${obj.metadata.generateName ?? 'obj-'}${++this.n}`;
    out.metadata.uid ??= newUid();
    this.calls.push({ verb: 'create', key: keyOf(out), body: out });
    return out;
  }

  async update(obj: T): Promise<T> {
    this.calls.push({ verb: 'update', key: keyOf(obj), body: structuredClone(obj) });
    return obj;
  }

  async updateStatus(obj: T): Promise<T> {
    this.calls.push({ verb: 'updateStatus', key: keyOf(obj), body: structuredClone(obj) });
    return obj;
  }

  async patch(name: string, _type: string, patch: unknown): Promise<T> {
    const key = this.ns ? `${this.ns}/${name}` : name;
    this.calls.push({ verb: 'patch', key, body: patch });
    const cur = this.objects.get(key);
    const out = structuredClone(cur ?? ({ metadata: { name, namespace: this.ns } } as T));
    const meta = (patch as { metadata?: Record<string, unknown> }).metadata;
    if (meta) Object.assign(out.metadata, meta);
    return out;
  }

  async patchMeta(ns: string, name: string, patch: { metadata: Record<string, unknown> }): Promise<T> {
    return this.in(ns).patch(name, 'merge', patch);
  }

  async delete(name: string): Promise<T> {
    const key = this.ns ? `${this.ns}/${name}` : name;
    this.calls.push({ verb: 'delete', key });
    return { metadata: { name, namespace: this.ns } } as T;
  }

  asClient(): ResourceClient<T> {
    return this as unknown as ResourceClient<T>;
  }

  /** Calls of one verb. */
  of(verb: RecordedCall['verb']): RecordedCall[] {
    return this.calls.filter((c) => c.verb === verb);
  }
}
