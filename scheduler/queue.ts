/**
 * The scheduling queue (kube-scheduler's PriorityQueue): three places a
 * pending pod can be.
 * - activeQ: ready to be tried, highest priority first, then oldest.
 * - backoffQ: failed recently; goes to activeQ when its backoff ends
 *   (1 s after the first failure, doubling up to 10 s).
 * - unschedulable: rejected by filters; waits there for a cluster event one
 *   of the rejecting plugins cares about (a node added or changed, a pod
 *   deleted...), then moves to backoffQ (or activeQ if its backoff is over).
 *   A pod left there for 5 minutes is moved anyway.
 * A pod is in at most one of them, or in flight (popped, being scheduled).
 * If an event arrives while a pod is in flight and it then fails, it goes to
 * backoffQ rather than unschedulable, so the event is not missed.
 */
import type { Pod } from '../api/objects.js';
import type { Clock, TimerHandle } from '../client/clock.js';
import type { ClusterEvent } from './framework.js';
import { KeyedHeap } from './heap.js';
import { PodInfo } from './nodeinfo.js';
import { podKey } from './types.js';

export interface QueuedPodInfo {
  info: PodInfo;
  /** When it (re)entered the queue; orders pods of equal priority. */
  timestamp: number;
  /** When it was first added: the start of its scheduling latency. */
  initialAttemptTimestamp: number;
  attempts: number;
  /** Plugins that rejected it in the last attempt; events for them move it. */
  unschedulablePlugins: Set<string>;
  backoffExpiry: number;
}

/** True when a pod changed beyond its status and bookkeeping metadata (isPodUpdated in Kubernetes). */
function schedulingRelevantChange(a: Pod, b: Pod): boolean {
  const strip = (p: Pod) => {
    const { resourceVersion: _r, managedFields: _m, generation: _g, ...meta } = p.metadata;
    return JSON.stringify([meta, p.spec]);
  };
  return strip(a) !== strip(b);
}

export interface SchedulingQueueOptions {
  clock: Clock;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  maxInUnschedulableMs?: number;
  /** Which events each plugin's rejections wait for; a plugin missing here waits for any event. */
  pluginEvents?: Map<string, Set<ClusterEvent>>;
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly pluginEvents: Map<string, Set<ClusterEvent>>;
  private readonly active = new KeyedHeap<QueuedPodInfo>(
    (q) => q.info.key,
    (a, b) =>
      a.info.priority > b.info.priority || (a.info.priority === b.info.priority && a.timestamp < b.timestamp),
  );
  private readonly backoff = new KeyedHeap<QueuedPodInfo>(
    (q) => q.info.key,
    (a, b) => a.backoffExpiry < b.backoffExpiry,
  );
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  /** Popped and not yet back: the pod's latest version if it changed meanwhile, or that it was deleted. */
  private readonly inFlight = new Map<string, { latest?: Pod; deleted?: boolean }>();
  private waiters: ((q: QueuedPodInfo | undefined) => void)[] = [];
  private backoffTimer?: TimerHandle;
  private backoffTimerAt = Number.POSITIVE_INFINITY;
  private closed = false;
  /** Incremented on every pop; a move request records the cycle it happened in. */
  schedulingCycle = 0;
  private moveRequestCycle = -1;

  constructor(o: SchedulingQueueOptions) {
    this.clock = o.clock;
    this.initialBackoffMs = o.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = o.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = o.maxInUnschedulableMs ?? 300_000;
    this.pluginEvents = o.pluginEvents ?? new Map();
  }

  get depth(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  has(key: string): boolean {
    return (
      this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key) || this.inFlight.has(key)
    );
  }

  /** A new pending pod: straight to activeQ. */
  add(pod: Pod): void {
    const key = podKey(pod);
    if (this.has(key)) {
      this.update(pod);
      return;
    }
    const now = this.clock.now();
    this.pushActive({
      info: new PodInfo(pod),
      timestamp: now,
      initialAttemptTimestamp: now,
      attempts: 0,
      unschedulablePlugins: new Set(),
      backoffExpiry: 0,
    });
  }

  /** A pending pod changed: keep its place, with the new version; an unschedulable one gets another try. */
  update(pod: Pod): void {
    const key = podKey(pod);
    const flying = this.inFlight.get(key);
    if (flying) {
      flying.latest = pod;
      return;
    }
    const q = this.active.get(key) ?? this.backoff.get(key) ?? this.unschedulable.get(key);
    if (!q) {
      this.add(pod);
      return;
    }
    const changed = schedulingRelevantChange(q.info.pod, pod);
    q.info = new PodInfo(pod);
    // Our own status writes (the PodScheduled condition) change nothing the filters look at.
    if (changed && this.unschedulable.delete(key)) this.requeue(q);
  }

  delete(key: string): void {
    this.active.remove(key);
    this.backoff.remove(key);
    this.unschedulable.delete(key);
    const flying = this.inFlight.get(key);
    if (flying) flying.deleted = true;
  }

  /** The next pod to schedule, waiting for one; undefined once closed or `signal` aborts. */
  pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    const q = this.active.pop();
    if (q) return Promise.resolve(this.handOut(q));
    if (this.closed || signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (x: QueuedPodInfo | undefined) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(x);
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /**
   * A popped pod could not be scheduled in cycle `cycle`. With `error` set
   * (not the pod's fault) it backs off; otherwise it waits for an event, or
   * backs off if an event came while it was in flight.
   */
  requeueFailed(q: QueuedPodInfo, cycle: number, plugins: Iterable<string>, error = false): void {
    const key = q.info.key;
    const flying = this.inFlight.get(key);
    this.inFlight.delete(key);
    if (flying?.deleted) return;
    const latest = flying?.latest;
    if (latest) q.info = new PodInfo(latest);
    q.unschedulablePlugins = new Set(plugins);
    q.timestamp = this.clock.now();
    q.backoffExpiry = q.timestamp + this.backoffDuration(q.attempts);
    if (error || this.moveRequestCycle >= cycle || latest) this.pushBackoff(q);
    else this.unschedulable.set(key, q);
  }

  /** A popped pod was scheduled (or dropped): it leaves the queue. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /** A cluster event: unschedulable pods one of whose rejecting plugins cares about it get another try. */
  moveOnEvent(event: ClusterEvent): void {
    this.moveRequestCycle = this.schedulingCycle;
    for (const [key, q] of this.unschedulable) {
      if (!this.interested(q, event)) continue;
      this.unschedulable.delete(key);
      this.requeue(q);
    }
  }

  /** Moves pods left unschedulable too long; call about every 30 s. */
  flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    for (const [key, q] of this.unschedulable) {
      if (now - q.timestamp < this.maxInUnschedulableMs) continue;
      this.unschedulable.delete(key);
      this.requeue(q);
    }
  }

  close(): void {
    this.closed = true;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer);
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Pods pending in the queue (not in flight), for preemption's nominated-pod bookkeeping and tests. */
  pendingPods(): Pod[] {
    return [...this.active.values(), ...this.backoff.values(), ...this.unschedulable.values()].map(
      (q) => q.info.pod,
    );
  }

  private interested(q: QueuedPodInfo, event: ClusterEvent): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const p of q.unschedulablePlugins) {
      const events = this.pluginEvents.get(p);
      if (!events || events.has(event)) return true;
    }
    return false;
  }

  private backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts && d < this.maxBackoffMs; i++) d *= 2;
    return Math.min(d, this.maxBackoffMs);
  }

  private requeue(q: QueuedPodInfo): void {
    if (q.backoffExpiry > this.clock.now()) this.pushBackoff(q);
    else this.pushActive(q);
  }

  private handOut(q: QueuedPodInfo): QueuedPodInfo {
    this.schedulingCycle++;
    q.attempts++;
    this.inFlight.set(q.info.key, {});
    return q;
  }

  private pushActive(q: QueuedPodInfo): void {
    const w = this.waiters.shift();
    if (w) w(this.handOut(q));
    else this.active.push(q);
  }

  private pushBackoff(q: QueuedPodInfo): void {
    this.backoff.push(q);
    this.armBackoffTimer();
  }

  private armBackoffTimer(): void {
    const next = this.backoff.peek();
    if (!next || this.closed) return;
    if (this.backoffTimer && this.backoffTimerAt <= next.backoffExpiry) return;
    if (this.backoffTimer) this.clock.clearTimeout(this.backoffTimer);
    this.backoffTimerAt = next.backoffExpiry;
    this.backoffTimer = this.clock.setTimeout(() => {
      this.backoffTimer = undefined;
      this.backoffTimerAt = Number.POSITIVE_INFINITY;
      this.flushBackoff();
    }, next.backoffExpiry - this.clock.now());
  }

  private flushBackoff(): void {
    const now = this.clock.now();
    for (let q = this.backoff.peek(); q && q.backoffExpiry <= now; q = this.backoff.peek()) {
      this.backoff.pop();
      this.pushActive(q);
    }
    this.armBackoffTimer();
  }
}
