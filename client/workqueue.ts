/**
 * The workqueue every controller drains (after client-go's util/workqueue).
 *
 * Guarantees:
 * - Fair: items are handed out in the order they were added, and waiting
 *   `get` calls are served in the order they were made.
 * - Stingy: an item added many times before it is processed is processed once.
 * - An item is never processed by two workers at once: `get` hands it out,
 *   and it is not handed out again until `done(item)`.
 * - An item added while it is being processed is processed again after
 *   `done`, so no change that arrives mid-sync is lost.
 *
 * Items are compared with SameValueZero (Map/Set keys): use strings such as
 * `keyOf(obj)`, not objects. After shutdown, adds are ignored and `get`
 * returns undefined; items still queued are dropped (controllers are
 * level-triggered, so the next start lists them again).
 */
import type { Logger } from 'pino';
import { exponentialBackoff } from './backoff.js';
import { type Clock, realClock, type TimerHandle } from './clock.js';

/** A FIFO with O(1) push and shift (Array#shift is O(n)). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

export interface WorkQueueOptions {
  clock?: Clock;
}

/** Item types must not include undefined or null: `get` uses undefined for shutdown. */
export class WorkQueue<T extends NonNullable<unknown> = string> {
  protected readonly clock: Clock;
  private readonly queue = new Fifo<T>();
  /** Items that need processing: queued, or added again while processing. */
  private readonly dirty = new Set<T>();
  /** Items handed out by `get` and not yet `done`. */
  private readonly processing = new Set<T>();
  private readonly getters: ((item: T | undefined) => void)[] = [];
  private drainWaiters: (() => void)[] = [];
  private stopping = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
  }

  /** Marks `item` as needing processing. Ignored after shutdown. */
  add(item: T): void {
    if (this.stopping || this.dirty.has(item)) return;
    this.dirty.add(item);
    // A processing item goes back on the queue when it is done, not now.
    if (this.processing.has(item)) return;
    this.queue.push(item);
    this.dispatch();
  }

  /**
   * The next item to process, waiting for one if the queue is empty, or
   * undefined once the queue is shut down. The caller must call `done(item)`
   * when it has finished with it.
   */
  get(): Promise<T | undefined> {
    if (this.stopping) return Promise.resolve(undefined);
    const item = this.take();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  /** Ends processing of `item`; if it was added meanwhile, it is queued again. */
  done(item: T): void {
    if (!this.processing.delete(item)) return;
    if (this.dirty.has(item)) {
      this.queue.push(item);
      this.dispatch();
    }
    if (this.processing.size === 0 && this.drainWaiters.length > 0) {
      const waiters = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  /** Items waiting to be handed out (not counting those being processed). */
  len(): number {
    return this.queue.length;
  }

  get shuttingDown(): boolean {
    return this.stopping;
  }

  /**
   * Stops the queue at once: adds are ignored, queued items are dropped, and
   * every pending and future `get` returns undefined. Workers finish the item
   * they hold; `done` stays safe to call.
   */
  shutDown(): void {
    if (!this.stopping) {
      this.stopping = true;
      this.queue.clear();
      this.dirty.clear();
      for (const resolve of this.getters.splice(0)) resolve(undefined);
    }
    this.onShutDown();
  }

  /**
   * Shuts down as `shutDown`, then resolves once every item handed out has
   * been marked `done`. Hangs if a worker never calls `done`.
   */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Hook for subclasses that hold timers. */
  protected onShutDown(): void {}

  private take(): T | undefined {
    const item = this.queue.shift();
    if (item === undefined) return undefined;
    this.dirty.delete(item);
    this.processing.add(item);
    return item;
  }

  /** Hands queued items to waiting getters, first come first served. */
  private dispatch(): void {
    while (this.getters.length > 0 && this.queue.length > 0) {
      this.getters.shift()!(this.take());
    }
  }
}

interface Waiting<T> {
  item: T;
  readyAt: number;
}

/**
 * A WorkQueue with `addAfter`. Delays run on the injected Clock with one
 * timer for the earliest deadline. An item waiting twice keeps the earlier
 * deadline; items falling due together are added in deadline order.
 */
export class DelayingQueue<T extends NonNullable<unknown> = string> extends WorkQueue<T> {
  /** The current deadline of each waiting item; entries of `byDeadline` that disagree are stale. */
  private readonly deadlines = new Map<T, Waiting<T>>();
  /** Sorted by readyAt, ties in the order they were added. */
  private byDeadline: Waiting<T>[] = [];
  private timer?: { handle: TimerHandle; at: number };

  /** Adds `item` once `ms` have passed on the clock (at once if `ms` <= 0). */
  addAfter(item: T, ms: number): void {
    if (this.shuttingDown) return;
    if (!(ms > 0)) {
      this.add(item);
      return;
    }
    const readyAt = this.clock.now() + ms;
    const existing = this.deadlines.get(item);
    if (existing && existing.readyAt <= readyAt) return;
    const w = { item, readyAt };
    this.deadlines.set(item, w);
    // Binary search for the first entry due later: after every tie.
    let lo = 0;
    let hi = this.byDeadline.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.byDeadline[mid].readyAt <= readyAt) lo = mid + 1;
      else hi = mid;
    }
    this.byDeadline.splice(lo, 0, w);
    this.armTimer();
  }

  /** Items waiting for their delay to pass. */
  waitingLen(): number {
    return this.deadlines.size;
  }

  protected override onShutDown(): void {
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    this.timer = undefined;
    this.deadlines.clear();
    this.byDeadline = [];
  }

  private armTimer(): void {
    const next = this.byDeadline[0];
    if (next === undefined || this.shuttingDown) return;
    if (this.timer && this.timer.at <= next.readyAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer.handle);
    const at = next.readyAt;
    this.timer = { handle: this.clock.setTimeout(() => this.fire(), at - this.clock.now()), at };
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    let due = 0;
    while (due < this.byDeadline.length && this.byDeadline[due].readyAt <= now) due++;
    for (const w of this.byDeadline.splice(0, due)) {
      if (this.deadlines.get(w.item) !== w) continue; // superseded by an earlier deadline
      this.deadlines.delete(w.item);
      this.add(w.item);
    }
    this.armTimer();
  }
}

/**
 * Decides how long an item waits before it is retried.
 * - `when(item)` records one more failure and returns the delay in ms.
 * - `forget(item)` clears the item's history (call it after a success).
 * - `numRequeues(item)` is how many failures are on record for it.
 */
export interface RateLimiter<T = string> {
  when(item: T): number;
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** Per item: baseMs * 2^failures, capped at maxMs. */
export class ItemExponentialFailureRateLimiter<T = string> implements RateLimiter<T> {
  private readonly failures = new Map<T, number>();
  private readonly baseMs: number;
  private readonly maxMs: number;

  constructor(opts: { baseMs?: number; maxMs?: number } = {}) {
    this.baseMs = opts.baseMs ?? 5;
    this.maxMs = opts.maxMs ?? 1_000_000;
    if (!(this.baseMs > 0))
      throw new Error(`exponential rate limiter: baseMs must be > 0, got ${this.baseMs}`);
    if (!(this.maxMs >= this.baseMs)) {
      throw new Error(`exponential rate limiter: maxMs (${this.maxMs}) must be >= baseMs (${this.baseMs})`);
    }
  }

  when(item: T): number {
    const exp = this.failures.get(item) ?? 0;
    this.failures.set(item, exp + 1);
    return exponentialBackoff(this.baseMs, exp, this.maxMs);
  }

  forget(item: T): void {
    this.failures.delete(item);
  }

  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }
}

/**
 * One token bucket over all items: `burst` tokens, refilled at `qps` per
 * second on the clock. Each `when` takes a token, reserving a future one
 * (and returning the wait for it) when the bucket is empty. Keeps no
 * per-item history.
 */
export class BucketRateLimiter<T = string> implements RateLimiter<T> {
  private readonly clock: Clock;
  private readonly qps: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(opts: { qps?: number; burst?: number; clock?: Clock } = {}) {
    this.qps = opts.qps ?? 10;
    this.burst = opts.burst ?? 100;
    this.clock = opts.clock ?? realClock;
    if (!(this.qps > 0)) throw new Error(`bucket rate limiter: qps must be > 0, got ${this.qps}`);
    if (!(this.burst >= 1)) throw new Error(`bucket rate limiter: burst must be >= 1, got ${this.burst}`);
    this.tokens = this.burst;
    this.last = this.clock.now();
  }

  when(_item: T): number {
    const now = this.clock.now();
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
      this.last = now;
    }
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.qps);
  }

  forget(_item: T): void {}

  numRequeues(_item: T): number {
    return 0;
  }
}

/** The longest delay of several limiters; every limiter sees every call. */
export class MaxOfRateLimiter<T = string> implements RateLimiter<T> {
  private readonly limiters: RateLimiter<T>[];

  constructor(...limiters: RateLimiter<T>[]) {
    if (limiters.length === 0) throw new Error('MaxOfRateLimiter needs at least one limiter');
    this.limiters = limiters;
  }

  when(item: T): number {
    return Math.max(...this.limiters.map((l) => l.when(item)));
  }

  forget(item: T): void {
    for (const l of this.limiters) l.forget(item);
  }

  numRequeues(item: T): number {
    return Math.max(...this.limiters.map((l) => l.numRequeues(item)));
  }
}

/** As client-go: per-item exponential 5ms..1000s, and 10 qps with a burst of 100 overall. */
export function defaultControllerRateLimiter<T = string>(clock: Clock = realClock): RateLimiter<T> {
  return new MaxOfRateLimiter<T>(
    new ItemExponentialFailureRateLimiter<T>({ baseMs: 5, maxMs: 1_000_000 }),
    new BucketRateLimiter<T>({ qps: 10, burst: 100, clock }),
  );
}

export interface RateLimitingQueueOptions<T> extends WorkQueueOptions {
  /** Defaults to defaultControllerRateLimiter on the queue's clock. */
  rateLimiter?: RateLimiter<T>;
}

/** A DelayingQueue whose retries wait as long as its RateLimiter says. */
export class RateLimitingQueue<T extends NonNullable<unknown> = string> extends DelayingQueue<T> {
  private readonly rateLimiter: RateLimiter<T>;

  constructor(opts: RateLimitingQueueOptions<T> = {}) {
    super(opts);
    this.rateLimiter = opts.rateLimiter ?? defaultControllerRateLimiter<T>(this.clock);
  }

  /** Adds `item` after the rate limiter's delay, counting one more failure. */
  addRateLimited(item: T): void {
    this.addAfter(item, this.rateLimiter.when(item));
  }

  /** Clears `item`'s failure history; it does not remove it from the queue. */
  forget(item: T): void {
    this.rateLimiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.rateLimiter.numRequeues(item);
  }
}

export interface RunWorkersOptions {
  /** Aborting shuts the queue down; workers finish their current item and exit. */
  signal?: AbortSignal;
  logger: Logger;
}

/**
 * Runs `n` workers over `queue`: get → process → forget on success, or
 * addRateLimited (and a log line) on a throw → done. Resolves when the queue
 * has been shut down (by `signal` or by anyone) and every worker has exited.
 */
export async function runWorkers<T extends NonNullable<unknown>>(
  queue: RateLimitingQueue<T>,
  n: number,
  process: (item: T) => Promise<void>,
  opts: RunWorkersOptions,
): Promise<void> {
  if (!Number.isInteger(n) || n < 1) throw new Error(`runWorkers: n must be a positive integer, got ${n}`);
  const { signal, logger } = opts;
  const stop = () => queue.shutDown();
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const worker = async () => {
    for (let item = await queue.get(); item !== undefined; item = await queue.get()) {
      try {
        await process(item);
        queue.forget(item);
      } catch (err) {
        logger.error(
          { err, key: item, requeues: queue.numRequeues(item) },
          'sync failed, requeuing with backoff',
        );
        queue.addRateLimited(item);
      } finally {
        queue.done(item);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: n }, worker));
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}
