/**
 * The wake-up of a level-triggered loop: event handlers `poke()`, and the
 * loop, between passes over everything, `wait`s until poked or until its
 * period runs out, whichever comes first. A poke while the loop works is
 * kept, so the next wait returns at once and nothing is missed.
 *
 *   while (!signal.aborted) { syncAll(); await wakeup.wait(clock, periodMs, signal); }
 */
import type { Clock } from './clock.js';

export class Wakeup {
  private pending = false;
  private wake?: () => void;

  /** Something changed: end the current wait, or the next one at once. */
  poke(): void {
    this.pending = true;
    this.wake?.();
  }

  /** Resolves when poked (at once if a poke is pending), after `ms`, or when `signal` aborts. */
  async wait(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
    if (!this.pending && !signal.aborted) {
      const ac = new AbortController();
      this.wake = () => ac.abort();
      await clock.sleep(ms, AbortSignal.any([signal, ac.signal]));
      this.wake = undefined;
    }
    this.pending = false;
  }
}
