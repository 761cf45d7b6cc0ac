/**
 * An event recorder: writes core/v1 Events about objects, as client-go's
 * tools/record does, so `kubectl describe` shows what a component did.
 *
 * Contract:
 * - `event()` and `eventf()` return at once and never throw; the writes
 *   happen in order on one background drain, and failures are logged.
 *   `flush()` resolves once every event recorded so far has been written
 *   (or has failed).
 * - An Event is named `<object name>.<hex nanoseconds>` and lives in the
 *   object's namespace, or `default` for cluster-scoped objects.
 * - Repeats (same object, type, reason and message, from this recorder)
 *   within the fold window (10 min) update the existing Event, count + 1 and
 *   a new lastTimestamp, by PATCH instead of creating another; recent Events
 *   are remembered in a bounded LRU. If the Event has gone (expired, or its
 *   create failed), it is created again with the count so far.
 * - Each object has a token bucket (burst 25, one token per 5 min): events
 *   past it, repeats included, are dropped, so a hot loop cannot flood etcd.
 */
import { format } from 'node:util';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import type { ObjectReference } from '../api/types/core-common.js';
import type { Event } from '../api/types/event.js';
import { builtinRegistry } from '../api/types/index.js';
import { type Clock, realClock } from './clock.js';
import { type PatchType, ResourceClient, type WriteOptions } from './resource.js';
import type { RestClient } from './rest.js';

export type EventType = 'Normal' | 'Warning';
export type CoreEvent = KubeObject & Omit<Event, 'metadata' | 'apiVersion' | 'kind'>;

/** The calls the recorder makes; a ResourceClient<CoreEvent> has them. */
export interface EventClient {
  in(namespace: string): EventClient;
  create(obj: CoreEvent, opts?: WriteOptions): Promise<CoreEvent>;
  patch(name: string, type: PatchType, patch: unknown, opts?: WriteOptions): Promise<CoreEvent>;
}

/** A client for core/v1 Events over `rest`. */
export function newEventClient(rest: RestClient): ResourceClient<CoreEvent> {
  const rt = builtinRegistry.get('', 'v1', 'events');
  if (!rt) throw new Error('the registry has no v1 events');
  return new ResourceClient<CoreEvent>(rest, rt);
}

export interface EventRecorderOptions {
  client: EventClient;
  /** source.component and reportingComponent, e.g. `kubelet`, `deployment-controller`. */
  component: string;
  /** source.host and reportingInstance, e.g. the node name. */
  host?: string;
  clock?: Clock;
  logger: Logger;
  /** Events an object may have at once; default 25. */
  burst?: number;
  /** One more event per object after this long; default 5 min. */
  refillIntervalMs?: number;
  /** Repeats within this long fold into one Event; default 10 min. */
  foldWindowMs?: number;
  /** Recent events (and per-object buckets) remembered; default 4096. */
  cacheSize?: number;
  /** Writes queued at most; more are dropped (the apiserver is not keeping up); default 1000. */
  maxPending?: number;
}

/** A Map that forgets its least recently used entries past `max`. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

interface Bucket {
  tokens: number;
  last: number;
}

interface Recent {
  event: CoreEvent;
  lastSeen: number;
}

interface Write {
  op: 'create' | 'patch';
  event: CoreEvent;
}

/** The reference an Event makes to `obj`: kind, namespace, name, uid, apiVersion, resourceVersion. */
export function referenceOf(obj: KubeObject | ObjectReference): ObjectReference {
  if (!('metadata' in obj) || !obj.metadata) return { ...(obj as ObjectReference) };
  const o = obj as KubeObject;
  const ref: ObjectReference = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name };
  if (o.metadata.uid) ref.uid = o.metadata.uid;
  if (o.apiVersion) ref.apiVersion = o.apiVersion;
  if (o.metadata.resourceVersion) ref.resourceVersion = o.metadata.resourceVersion;
  return ref;
}

/**
 * Go-style formatting for `eventf`: %v and %s (any value), %d, %q (quoted),
 * %%; everything else as node's util.format.
 */
export function sprintf(fmt: string, ...args: unknown[]): string {
  let i = 0;
  const out = fmt.replace(/%([vsdq%])/g, (_, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    if (verb === 'q') return JSON.stringify(String(a));
    if (verb === 'd') return String(typeof a === 'number' ? Math.trunc(a) : a);
    if (a instanceof Error) return a.message;
    return typeof a === 'object' && a !== null ? JSON.stringify(a) : String(a);
  });
  return i < args.length ? `${out} ${format(...args.slice(i))}` : out;
}

export class EventRecorder {
  private readonly o: Required<Omit<EventRecorderOptions, 'host'>> & { host: string };
  private readonly recent: Lru<Recent>;
  private readonly buckets: Lru<Bucket>;
  private readonly queue: Write[] = [];
  private draining?: Promise<void>;
  private lastNanos = 0n;

  constructor(opts: EventRecorderOptions) {
    // `??`, not a spread of defaults: an option passed as undefined takes its default.
    const o = {
      ...opts,
      host: opts.host ?? '',
      clock: opts.clock ?? realClock,
      burst: opts.burst ?? 25,
      refillIntervalMs: opts.refillIntervalMs ?? 300_000,
      foldWindowMs: opts.foldWindowMs ?? 600_000,
      cacheSize: opts.cacheSize ?? 4096,
      maxPending: opts.maxPending ?? 1000,
    };
    if (!o.component) throw new Error('event recorder: component is required');
    if (!(o.burst >= 1)) throw new Error(`event recorder: burst must be >= 1, got ${o.burst}`);
    if (!(o.refillIntervalMs > 0))
      throw new Error(`event recorder: refillIntervalMs must be > 0, got ${o.refillIntervalMs}`);
    if (!(o.cacheSize >= 1)) throw new Error(`event recorder: cacheSize must be >= 1, got ${o.cacheSize}`);
    this.o = o;
    this.recent = new Lru(o.cacheSize);
    this.buckets = new Lru(o.cacheSize);
  }

  /** Records that `reason` happened to `obj`. Never throws. */
  event(obj: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    try {
      this.record(referenceOf(obj), type, reason, message);
    } catch (err) {
      this.o.logger.error({ err, reason }, 'could not record event');
    }
  }

  /** `event` with a Go-style format string: `eventf(pod, 'Normal', 'Pulled', 'pulled image %q', image)`. */
  eventf(
    obj: KubeObject | ObjectReference,
    type: EventType,
    reason: string,
    fmt: string,
    ...args: unknown[]
  ): void {
    let message: string;
    try {
      message = sprintf(fmt, ...args);
    } catch {
      message = fmt;
    }
    this.event(obj, type, reason, message);
  }

  /** Resolves once every event recorded so far has been written or has failed. */
  async flush(): Promise<void> {
    while (this.draining) await this.draining;
  }

  private record(ref: ObjectReference, type: EventType, reason: string, message: string): void {
    const log = this.o.logger;
    if (type !== 'Normal' && type !== 'Warning') {
      log.error({ type, reason }, 'event type must be Normal or Warning; dropped');
      return;
    }
    const objectKey = [ref.kind, ref.namespace, ref.name, ref.uid, ref.apiVersion].join('\u0000');
    const now = this.o.clock.now();
    if (!this.takeToken(objectKey, now)) {
      log.debug({ object: `${ref.kind}/${ref.name}`, reason }, 'too many events for this object; dropped');
      return;
    }
    const key = [objectKey, type, reason, message].join('\u0000');
    const seen = this.recent.get(key);
    if (seen && now - seen.lastSeen < this.o.foldWindowMs) {
      seen.lastSeen = now;
      seen.event = { ...seen.event, count: (seen.event.count ?? 1) + 1, lastTimestamp: metaTime(now) };
      this.enqueue({ op: 'patch', event: seen.event });
      return;
    }
    const event = this.newEvent(ref, type, reason, message, now);
    this.recent.set(key, { event, lastSeen: now });
    this.enqueue({ op: 'create', event });
  }

  private newEvent(
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
    now: number,
  ): CoreEvent {
    // Kubernetes names events <name>.<UnixNano in hex>; keep them unique within this recorder.
    let nanos = BigInt(now) * 1_000_000n;
    if (nanos <= this.lastNanos) nanos = this.lastNanos + 1n;
    this.lastNanos = nanos;
    const stamp = metaTime(now);
    return {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${ref.name}.${nanos.toString(16)}`, namespace: ref.namespace || 'default' },
      involvedObject: ref,
      reason,
      message,
      type,
      source: { component: this.o.component, ...(this.o.host ? { host: this.o.host } : {}) },
      reportingComponent: this.o.component,
      reportingInstance: this.o.host,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
  }

  /** The object's token bucket: `burst` tokens, one more each refill interval. */
  private takeToken(objectKey: string, now: number): boolean {
    let b = this.buckets.get(objectKey);
    if (!b) {
      b = { tokens: this.o.burst, last: now };
      this.buckets.set(objectKey, b);
    }
    if (now > b.last) {
      b.tokens = Math.min(this.o.burst, b.tokens + (now - b.last) / this.o.refillIntervalMs);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private droppedSinceLog = 0;

  private enqueue(w: Write): void {
    if (this.queue.length >= this.o.maxPending) {
      // One line per burst, not per event: a full queue means thousands at once.
      if (this.droppedSinceLog++ === 0) {
        this.o.logger.warn(
          { event: w.event.metadata.name, reason: w.event.reason },
          'event queue full; dropping events',
        );
      }
      return;
    }
    if (this.droppedSinceLog > 1)
      this.o.logger.warn({ dropped: this.droppedSinceLog }, 'event queue has room again');
    this.droppedSinceLog = 0;
    this.queue.push(w);
    if (!this.draining) this.draining = this.drain();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) await this.write(this.queue.shift()!);
    this.draining = undefined;
  }

  private async write({ op, event }: Write): Promise<void> {
    const { name, namespace } = event.metadata as { name: string; namespace: string };
    try {
      const client = this.o.client.in(namespace);
      if (op === 'patch') {
        try {
          await client.patch(name, 'merge', { count: event.count, lastTimestamp: event.lastTimestamp });
          return;
        } catch (err) {
          // Gone (expired, deleted, or its create failed): write it anew below.
          if (!isNotFound(err)) throw err;
        }
      }
      await client.create(event);
    } catch (err) {
      this.o.logger.warn(
        { err, event: `${namespace}/${name}`, reason: event.reason, op },
        'could not write event',
      );
    }
  }
}
