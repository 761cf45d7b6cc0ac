/**
 * Caps on concurrent watches: per user (--max-watches-per-user) and in all
 * (--max-watches). Each open watch costs a socket, timers and a bounded
 * outbox, so without a cap any user allowed to watch anything can hold the
 * apiserver's memory and file descriptors.
 *
 * Kubernetes bounds requests with API Priority and Fairness: past a priority
 * level's seats and queues a request is answered 429 TooManyRequests with
 * Retry-After, and the `exempt` level (system:masters) is never refused. This
 * is that, for watches only, with one seat per watch held for its lifetime:
 *
 * - `acquire(user)` takes a slot or throws StatusError 429 TooManyRequests
 *   (retryAfterSeconds 1, which the error handler sends as Retry-After).
 * - Members of system:masters are never refused, but their watches hold slots,
 *   so the total is every open watch.
 * - The release function `acquire` returns gives the slot back; calling it
 *   again does nothing, so every way a watch can end may call it.
 * - A limit of 0 means no limit.
 */
import { newTooManyRequests } from '../api/status.js';
import { mastersGroup, type UserInfo } from './authn.js';

export interface WatchLimiterOptions {
  /** Open watches of everyone together; 0: no limit. */
  maxWatches: number;
  /** Open watches of one user (by name); 0: no limit. */
  maxWatchesPerUser: number;
}

/** Seconds a refused client is told to wait (Retry-After), as Kubernetes' max-in-flight filter says. */
const retryAfterSeconds = 1;

export class WatchLimiter {
  private total = 0;
  private readonly perUser = new Map<string, number>();
  private readonly o: WatchLimiterOptions;

  constructor(opts: WatchLimiterOptions) {
    for (const k of ['maxWatches', 'maxWatchesPerUser'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 0) throw new Error(`${k} must be an integer >= 0`);
    }
    this.o = { ...opts };
  }

  /** Takes a slot for one watch by `user`, or throws 429; returns its release. */
  acquire(user: UserInfo): () => void {
    const name = user.name;
    const mine = this.perUser.get(name) ?? 0;
    if (!user.groups.includes(mastersGroup)) {
      const { maxWatches, maxWatchesPerUser } = this.o;
      if (maxWatchesPerUser > 0 && mine >= maxWatchesPerUser)
        throw newTooManyRequests(
          `too many watches for user "${name}" (${maxWatchesPerUser}); please try again later`,
          retryAfterSeconds,
        );
      if (maxWatches > 0 && this.total >= maxWatches)
        throw newTooManyRequests(
          `too many watches in flight (${maxWatches}); please try again later`,
          retryAfterSeconds,
        );
    }
    this.total++;
    this.perUser.set(name, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perUser.get(name) ?? 1) - 1;
      if (left > 0) this.perUser.set(name, left);
      else this.perUser.delete(name);
    };
  }

  /** Open watches, everyone's. */
  get inUse(): number {
    return this.total;
  }

  /** Open watches of the user `name`. */
  inUseBy(name: string): number {
    return this.perUser.get(name) ?? 0;
  }

  /** Users with a watch open. */
  get users(): number {
    return this.perUser.size;
  }
}
