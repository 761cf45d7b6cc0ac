/**
 * Per-key exponential backoff as the kubelet uses it for crashing
 * containers and failed image pulls (Kubernetes' flowcontrol.Backoff).
 *
 * Contract:
 * - `next(key)` records a retry now: the first (or the first after the key
 *   expired) sets the delay to `initialMs`; each later one doubles it, up
 *   to `maxMs`.
 * - `inBackoffSince(key, eventMs)` is true while less than the current
 *   delay has passed since `eventMs` (the container's finish, or the failed
 *   pull): the caller must wait `remaining(key, eventMs)` more.
 * - A key whose last retry is older than twice `maxMs` has expired: it is
 *   not in backoff and its next delay starts over. So a container that ran
 *   ten minutes (with the 5 min default) restarts at once again.
 */
import { doubledBackoff } from '../client/backoff.js';
import { type Clock, realClock } from '../client/clock.js';

interface Entry {
  delayMs: number;
  lastUpdate: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: Clock;

  constructor(
    readonly initialMs: number,
    readonly maxMs: number,
    clock: Clock = realClock,
  ) {
    if (initialMs <= 0 || maxMs < initialMs) throw new Error('backoff needs 0 < initialMs <= maxMs');
    this.clock = clock;
  }

  private expired(e: Entry, at: number): boolean {
    return at - e.lastUpdate > 2 * this.maxMs;
  }

  next(key: string): void {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (!e || this.expired(e, now)) this.entries.set(key, { delayMs: this.initialMs, lastUpdate: now });
    else {
      e.delayMs = doubledBackoff(e.delayMs, this.initialMs, this.maxMs);
      e.lastUpdate = now;
    }
  }

  /** The current delay of `key`, or 0 when it has none. */
  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  inBackoffSince(key: string, eventMs: number): boolean {
    return this.remaining(key, eventMs) > 0;
  }

  /** Milliseconds left before `key` may be retried, counted from `eventMs`; 0 when it may be now. */
  remaining(key: string, eventMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(e, eventMs)) return 0;
    return Math.max(0, e.delayMs - (this.clock.now() - eventMs));
  }

  /** Milliseconds left before `key` may be retried, counted from its last retry (image pulls). */
  remainingSinceLast(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return this.remaining(key, e.lastUpdate);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every key that starts with `prefix` (a pod's, when it goes). */
  forgetPrefix(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
