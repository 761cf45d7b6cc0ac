// The caps on concurrent watches: per user and in all, 429 TooManyRequests
// with a Retry-After past them, system:masters never refused, and every
// slot given back exactly once.
import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { loopbackUser, type UserInfo } from './authn.js';
import { WatchLimiter } from './watch-limiter.js';

const user = (name: string): UserInfo => ({ name, groups: ['system:authenticated'] });
const alice = user('alice');
const bob = user('bob');

function refusal(f: () => unknown): StatusError {
  try {
    f();
  } catch (err) {
    return err as StatusError;
  }
  throw new Error('expected a refusal');
}

describe('WatchLimiter', () => {
  it('refuses a user past their cap with 429 TooManyRequests and Retry-After, and frees the slot on release', () => {
    const l = new WatchLimiter({ maxWatches: 100, maxWatchesPerUser: 2 });
    const first = l.acquire(alice);
    l.acquire(alice);
    const err = refusal(() => l.acquire(alice));
    expect(err).toBeInstanceOf(StatusError);
    expect(err.toStatus()).toMatchObject({
      kind: 'Status',
      status: 'Failure',
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 1 },
    });
    expect(err.message).toMatch(/alice/);
    // Another user is not held back by alice.
    l.acquire(bob);
    first();
    l.acquire(alice);
    expect(l.inUse).toBe(3);
    expect(l.inUseBy('alice')).toBe(2);
  });

  it('refuses everyone once the total is reached', () => {
    const l = new WatchLimiter({ maxWatches: 3, maxWatchesPerUser: 2 });
    l.acquire(alice);
    const a2 = l.acquire(alice);
    l.acquire(bob);
    expect(refusal(() => l.acquire(user('carol'))).code).toBe(429);
    expect(refusal(() => l.acquire(bob)).code).toBe(429);
    a2();
    l.acquire(user('carol'));
    expect(l.inUse).toBe(3);
  });

  it('never refuses system:masters, but counts their watches in the total', () => {
    const l = new WatchLimiter({ maxWatches: 2, maxWatchesPerUser: 1 });
    const releases = Array.from({ length: 5 }, () => l.acquire(loopbackUser));
    expect(l.inUse).toBe(5);
    expect(refusal(() => l.acquire(alice)).code).toBe(429);
    for (const r of releases) r();
    expect(l.inUse).toBe(0);
    l.acquire(alice);
  });

  it('gives a slot back once however often its release is called, and forgets idle users', () => {
    const l = new WatchLimiter({ maxWatches: 10, maxWatchesPerUser: 2 });
    const r = l.acquire(alice);
    const keep = l.acquire(alice);
    r();
    r();
    r();
    expect(l.inUse).toBe(1);
    expect(l.inUseBy('alice')).toBe(1);
    l.acquire(alice);
    expect(refusal(() => l.acquire(alice)).code).toBe(429);
    keep();
    expect(l.inUseBy('alice')).toBe(1);
    for (let i = 0; i < 1000; i++) l.acquire(user(`u${i % 5}-${i}`))();
    expect(l.users).toBe(1);
  });

  it('treats 0 as no limit, and refuses negative or fractional limits', () => {
    const l = new WatchLimiter({ maxWatches: 0, maxWatchesPerUser: 0 });
    for (let i = 0; i < 50; i++) l.acquire(alice);
    expect(l.inUse).toBe(50);
    expect(() => new WatchLimiter({ maxWatches: -1, maxWatchesPerUser: 1 })).toThrow(/maxWatches/);
    expect(() => new WatchLimiter({ maxWatches: 1, maxWatchesPerUser: 1.5 })).toThrow(/maxWatchesPerUser/);
  });
});
