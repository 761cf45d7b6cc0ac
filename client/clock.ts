/**
 * Time as a dependency. Everything that waits (workqueue delays, backoff,
 * leases, probes, resyncs) takes a `Clock` instead of calling the globals, so
 * tests drive time with a `FakeClock` and never sleep.
 *
 * Contract:
 * - `now()` is milliseconds since the epoch (or since the fake's start); it
 *   never goes backwards on `realClock` within a process unless the wall
 *   clock does (callers that need durations should subtract two `now()`s).
 * - A timer fires at most once, never before `ms` have passed on this clock,
 *   and not at all after `clearTimeout`. Clearing a fired or unknown handle
 *   is a no-op.
 * - `sleep(ms, signal)` resolves after `ms`, or at once when `signal` aborts
 *   (or already has); it never rejects, so loops read
 *   `while (!signal.aborted) { ...; await clock.sleep(d, signal); }`.
 */

/** Opaque: only the clock that made a handle can clear it. */
export interface TimerHandle {
  readonly __timerHandle: never;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** sleep() for any clock, in terms of its own timers. */
function sleepOn(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      resolve();
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The process's own clock: Date.now and the Node timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, Math.max(0, ms)) as unknown as TimerHandle,
  clearTimeout: (handle) => globalThis.clearTimeout(handle as unknown as NodeJS.Timeout),
  sleep(ms, signal) {
    return sleepOn(realClock, ms, signal);
  },
};

interface FakeTimer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock that moves only when told. `step(ms)` advances time and runs every
 * timer that falls due, in order of due time (ties in the order they were
 * set), with `now()` reading each timer's due time while it runs; timers set
 * by a running timer that fall due within the step run in the same step.
 *
 * Timers only resolve promises synchronously; code after an `await` runs on
 * the microtask queue after `step` returns, so tests await a flush of pending
 * promises between steps when a timer's continuation sets further timers.
 */
export class FakeClock implements Clock {
  private time: number;
  private nextId = 1;
  private timers: FakeTimer[] = [];

  constructor(startMs = 0) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = { id: this.nextId++, at: this.time + Math.max(0, ms), fn };
    // Keep timers sorted by (at, id): insert after every timer due no later.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1].at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer.id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const id = handle as unknown as number;
    const i = this.timers.findIndex((t) => t.id === id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, ms, signal);
  }

  /** Advances time by `ms` (>= 0), running the timers that fall due. */
  step(ms: number): void {
    if (!(ms >= 0)) throw new Error(`FakeClock.step: ms must be >= 0, got ${ms}`);
    this.advanceTo(this.time + ms);
  }

  /**
   * Sets the time. Moving forward runs the timers that fall due, as `step`;
   * moving backward (a wall-clock jump, for lease tests) runs none.
   */
  setTime(ms: number): void {
    if (ms >= this.time) this.advanceTo(ms);
    else this.time = ms;
  }

  /** True while any timer (or sleeper) is pending. */
  hasWaiters(): boolean {
    return this.timers.length > 0;
  }

  /** The number of pending timers. */
  waiters(): number {
    return this.timers.length;
  }

  private advanceTo(target: number): void {
    while (this.timers.length > 0 && this.timers[0].at <= target) {
      const timer = this.timers.shift()!;
      this.time = Math.max(this.time, timer.at);
      timer.fn();
    }
    this.time = target;
  }
}
