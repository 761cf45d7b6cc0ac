import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import {
  BucketRateLimiter,
  DelayingQueue,
  defaultControllerRateLimiter,
  ItemExponentialFailureRateLimiter,
  MaxOfRateLimiter,
  RateLimitingQueue,
  runWorkers,
  WorkQueue,
} from './workqueue.js';

/** Lets every pending promise continuation and immediate run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A small seeded PRNG so the concurrency test is repeatable. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function drainAll<T extends NonNullable<unknown>>(q: WorkQueue<T>): Promise<T[]> {
  const out: T[] = [];
  while (q.len() > 0) {
    const item = (await q.get())!;
    out.push(item);
    q.done(item);
  }
  return out;
}

describe('WorkQueue', () => {
  it.each([
    { name: 'hands items out first in, first out', adds: ['a', 'b', 'c'], got: ['a', 'b', 'c'] },
    { name: 'processes an item added many times once', adds: ['a', 'a', 'a'], got: ['a'] },
    {
      name: 'keeps the first position of a duplicate',
      adds: ['a', 'b', 'a', 'c', 'b'],
      got: ['a', 'b', 'c'],
    },
  ])('$name', async ({ adds, got }) => {
    const q = new WorkQueue();
    for (const item of adds) q.add(item);
    expect(q.len()).toBe(got.length);
    expect(await drainAll(q)).toEqual(got);
  });

  it('serves waiting getters in the order they asked', async () => {
    const q = new WorkQueue();
    const first = q.get();
    const second = q.get();
    q.add('a');
    q.add('b');
    expect(await first).toBe('a');
    expect(await second).toBe('b');
  });

  it('does not hand out an item being processed; a re-add runs again after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    expect(await q.get()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((item) => {
      second = item;
    });
    await flush();
    expect(second).toBeUndefined();
    q.done('a');
    await flush();
    expect(second).toBe('a');
    expect(q.len()).toBe(0);
  });

  it('ignores done for an item it never handed out', () => {
    const q = new WorkQueue();
    q.add('a');
    q.done('a');
    q.done('zzz');
    expect(q.len()).toBe(1);
  });

  it('never gives one key to two of 8 workers, and loses no add', async () => {
    const rand = mulberry32(42);
    const keys = Array.from({ length: 16 }, (_, i) => `ns/k${i}`);
    const pick = () => keys[Math.floor(rand() * keys.length)];
    const q = new WorkQueue();
    const inFlight = new Set<string>();
    const lastAdd = new Map<string, number>();
    const lastStart = new Map<string, number>();
    let tick = 0;
    let adds = 0;
    let violations = 0;
    let processed = 0;
    let adding = true;
    const add = (key: string) => {
      adds++;
      lastAdd.set(key, ++tick);
      q.add(key);
    };
    const worker = async () => {
      for (let key = await q.get(); key !== undefined; key = await q.get()) {
        if (inFlight.has(key)) violations++;
        inFlight.add(key);
        lastStart.set(key, ++tick);
        processed++;
        // Yield a random number of times, sometimes re-adding keys (this one too).
        for (let y = Math.floor(rand() * 4); y > 0; y--) {
          if (adding && rand() < 0.3) add(rand() < 0.5 ? key : pick());
          await (rand() < 0.5 ? flush() : Promise.resolve());
        }
        inFlight.delete(key);
        q.done(key);
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let i = 0; i < 2000; i++) {
      add(pick());
      if (rand() < 0.2) await flush();
    }
    adding = false;
    while (q.len() > 0 || inFlight.size > 0) await flush();
    await q.shutDownWithDrain();
    await Promise.all(workers);

    expect(violations).toBe(0);
    expect(processed).toBeGreaterThan(keys.length);
    expect(processed).toBeLessThan(adds); // stingy: repeated adds were folded
    for (const [key, at] of lastAdd) expect(lastStart.get(key)!).toBeGreaterThan(at);
  });

  it('shutDown is immediate: getters get undefined, queued items and adds are dropped', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    expect(await waiting).toBeUndefined();
    const q2 = new WorkQueue();
    q2.add('a');
    q2.add('b');
    expect(await q2.get()).toBe('a');
    q2.shutDown();
    q2.add('c');
    expect(q2.shuttingDown).toBe(true);
    expect(q2.len()).toBe(0);
    expect(await q2.get()).toBeUndefined();
    q2.done('a'); // still safe
  });

  it('shutDownWithDrain waits until every handed-out item is done', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('b');
    const a = (await q.get())!;
    const b = (await q.get())!;
    let drained = false;
    const p = q.shutDownWithDrain().then(() => {
      drained = true;
    });
    expect(await q.get()).toBeUndefined();
    q.done(a);
    await flush();
    expect(drained).toBe(false);
    q.done(b);
    await p;
    expect(drained).toBe(true);
    await q.shutDownWithDrain(); // nothing in flight: resolves at once
  });
});

describe('DelayingQueue', () => {
  it('adds items in deadline order as the clock passes them', async () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('c', 30);
    q.addAfter('a', 10);
    q.addAfter('b', 20);
    q.addAfter('b2', 20);
    expect(clock.waiters()).toBe(1); // one timer for the earliest deadline
    expect(q.len()).toBe(0);
    const seen: string[][] = [];
    for (const step of [9, 1, 10, 10]) {
      clock.step(step);
      seen.push(await drainAll(q));
    }
    expect(seen).toEqual([[], ['a'], ['b', 'b2'], ['c']]);
    expect(clock.hasWaiters()).toBe(false);
  });

  it.each([
    { name: 'a later duplicate keeps the earlier deadline', first: 10, second: 50, readyAt: 10 },
    { name: 'an earlier duplicate moves the deadline up', first: 50, second: 10, readyAt: 10 },
    { name: 'an equal duplicate changes nothing', first: 20, second: 20, readyAt: 20 },
  ])('$name', ({ first, second, readyAt }) => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('a', first);
    q.addAfter('a', second);
    expect(q.waitingLen()).toBe(1);
    clock.step(readyAt - 1);
    expect(q.len()).toBe(0);
    clock.step(1);
    expect(q.len()).toBe(1);
    clock.step(100);
    expect(q.len()).toBe(1); // the superseded deadline adds nothing more
  });

  it('adds at once for a delay of zero or less', () => {
    const q = new DelayingQueue({ clock: new FakeClock() });
    q.addAfter('a', 0);
    q.addAfter('b', -5);
    expect(q.len()).toBe(2);
  });

  it('drops waiting items and its timer on shutdown', () => {
    const clock = new FakeClock();
    const q = new DelayingQueue({ clock });
    q.addAfter('a', 10);
    q.shutDown();
    expect(clock.hasWaiters()).toBe(false);
    q.addAfter('b', 10);
    clock.step(20);
    expect(q.len()).toBe(0);
  });
});

describe('rate limiters', () => {
  it.each([
    { name: 'doubles from the base', baseMs: 5, maxMs: 1_000_000, want: [5, 10, 20, 40, 80] },
    { name: 'stops at the cap', baseMs: 1, maxMs: 10, want: [1, 2, 4, 8, 10, 10] },
    { name: 'caps even after a huge number of failures', baseMs: 5, maxMs: 1000, want: [5, 10, 20] },
  ])('exponential: $name', ({ baseMs, maxMs, want }) => {
    const rl = new ItemExponentialFailureRateLimiter({ baseMs, maxMs });
    expect(want.map(() => rl.when('a'))).toEqual(want);
    expect(rl.numRequeues('a')).toBe(want.length);
    for (let i = 0; i < 2000; i++) rl.when('a');
    expect(rl.when('a')).toBe(maxMs);
  });

  it('exponential: keeps history per item and forget resets it', () => {
    const rl = new ItemExponentialFailureRateLimiter({ baseMs: 5, maxMs: 1000 });
    rl.when('a');
    rl.when('a');
    expect(rl.when('b')).toBe(5);
    expect(rl.numRequeues('a')).toBe(2);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
    expect(rl.when('a')).toBe(5);
    expect(rl.numRequeues('b')).toBe(1);
  });

  it('bucket: spends the burst, then spaces requests at qps, refilling with time', () => {
    const clock = new FakeClock();
    const rl = new BucketRateLimiter({ qps: 10, burst: 3, clock });
    expect([1, 2, 3, 4, 5].map((i) => rl.when(`k${i}`))).toEqual([0, 0, 0, 100, 200]);
    clock.step(200); // refills the two reserved tokens
    expect(rl.when('x')).toBe(100);
    clock.step(10_000); // refills to the burst, no further
    expect([1, 2, 3, 4].map((i) => rl.when(`y${i}`))).toEqual([0, 0, 0, 100]);
    expect(rl.numRequeues('x')).toBe(0);
  });

  it('max-of: takes the longest delay, and every limiter sees every call', () => {
    const clock = new FakeClock();
    const rl = new MaxOfRateLimiter(
      new ItemExponentialFailureRateLimiter({ baseMs: 10, maxMs: 1000 }),
      new BucketRateLimiter({ qps: 1, burst: 2, clock }),
    );
    expect(rl.when('a')).toBe(10); // exponential wins
    expect(rl.when('a')).toBe(20);
    expect(rl.when('b')).toBe(1000); // bucket empty: the bucket wins
    expect(rl.numRequeues('a')).toBe(2);
    rl.forget('a');
    expect(rl.numRequeues('a')).toBe(0);
  });

  it('default controller limiter: 5ms per item until 100 items burst, then 10 qps', () => {
    const rl = defaultControllerRateLimiter(new FakeClock());
    const delays = Array.from({ length: 102 }, (_, i) => rl.when(`ns/pod-${i}`));
    expect(delays.slice(0, 100).every((d) => d === 5)).toBe(true);
    expect(delays.slice(100)).toEqual([100, 200]);
  });

  it.each([
    { name: 'exponential base 0', make: () => new ItemExponentialFailureRateLimiter({ baseMs: 0 }) },
    {
      name: 'exponential max < base',
      make: () => new ItemExponentialFailureRateLimiter({ baseMs: 10, maxMs: 5 }),
    },
    { name: 'bucket qps 0', make: () => new BucketRateLimiter({ qps: 0 }) },
    { name: 'bucket burst 0', make: () => new BucketRateLimiter({ burst: 0 }) },
    { name: 'max-of with no limiters', make: () => new MaxOfRateLimiter() },
  ])('refuses $name', ({ make }) => {
    expect(make).toThrow();
  });
});

describe('RateLimitingQueue', () => {
  it('delays each retry by the backoff, and forget resets it', async () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue({
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseMs: 10, maxMs: 1000 }),
    });
    q.addRateLimited('a');
    clock.step(9);
    expect(q.len()).toBe(0);
    clock.step(1);
    expect(await drainAll(q)).toEqual(['a']);
    q.addRateLimited('a');
    clock.step(19);
    expect(q.len()).toBe(0);
    clock.step(1);
    expect(q.len()).toBe(1);
    expect(q.numRequeues('a')).toBe(2);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.len()).toBe(1); // forget is about history, not membership
  });
});

describe('runWorkers', () => {
  function capture() {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'error' }, { write: (s: string) => lines.push(JSON.parse(s)) });
    return { lines, logger };
  }

  it('retries a failing item with backoff, then forgets it on success', async () => {
    const clock = new FakeClock();
    const q = new RateLimitingQueue({
      clock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseMs: 10, maxMs: 1000 }),
    });
    const { lines, logger } = capture();
    const attempts: number[] = [];
    const ac = new AbortController();
    q.add('ns/a');
    const running = runWorkers(
      q,
      2,
      async (key) => {
        attempts.push(clock.now());
        if (attempts.length <= 3) throw new Error(`boom ${key}`);
      },
      { signal: ac.signal, logger },
    );
    await flush();
    for (const ms of [10, 20, 40]) {
      expect(q.numRequeues('ns/a')).toBe(attempts.length);
      clock.step(ms);
      await flush();
    }
    expect(attempts).toEqual([0, 10, 30, 70]);
    expect(q.numRequeues('ns/a')).toBe(0);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ key: 'ns/a', msg: 'sync failed, requeuing with backoff' });
    expect((lines[0].err as { message: string }).message).toBe('boom ns/a');
    ac.abort();
    await running;
    expect(q.shuttingDown).toBe(true);
  });

  it('lets each worker finish its item when the queue shuts down', async () => {
    const q = new RateLimitingQueue({ clock: new FakeClock() });
    const { logger } = capture();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const finished: string[] = [];
    q.add('a');
    const running = runWorkers(
      q,
      3,
      async (key) => {
        await gate;
        finished.push(key);
      },
      { logger },
    );
    await flush();
    q.shutDown();
    release();
    await running;
    expect(finished).toEqual(['a']);
  });

  it('returns at once for an already aborted signal, and refuses n < 1', async () => {
    const q = new RateLimitingQueue({ clock: new FakeClock() });
    const { logger } = capture();
    q.add('a');
    let calls = 0;
    await runWorkers(q, 4, async () => void calls++, { signal: AbortSignal.abort(), logger });
    expect(calls).toBe(0);
    await expect(runWorkers(q, 0, async () => {}, { logger })).rejects.toThrow(/positive integer/);
  });
});
