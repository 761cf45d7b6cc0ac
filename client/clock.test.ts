import { describe, expect, it } from 'vitest';
import { FakeClock, realClock } from './clock.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('FakeClock', () => {
  it.each([
    { name: 'nothing before its time', timers: [10, 20], step: 9, fired: [] },
    { name: 'a timer exactly at its time', timers: [10, 20], step: 10, fired: [10] },
    { name: 'all due timers in due order', timers: [30, 10, 20], step: 30, fired: [10, 20, 30] },
    { name: 'ties in the order they were set', timers: [5, 5, 5], step: 5, fired: [5, 5, 5] },
    { name: 'a zero delay only on a step', timers: [0], step: 0, fired: [0] },
  ])('step fires $name', ({ timers, step, fired }) => {
    const clock = new FakeClock();
    const seen: number[] = [];
    for (const ms of timers) clock.setTimeout(() => seen.push(ms), ms);
    expect(seen).toEqual([]);
    clock.step(step);
    expect(seen).toEqual(fired);
    expect(clock.now()).toBe(step);
  });

  it('keeps the order in which equal timers were set', () => {
    const clock = new FakeClock();
    const seen: string[] = [];
    for (const name of ['a', 'b', 'c']) clock.setTimeout(() => seen.push(name), 7);
    clock.step(7);
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('reads each timer its own due time while it runs', () => {
    const clock = new FakeClock(1000);
    const at: number[] = [];
    clock.setTimeout(() => at.push(clock.now()), 5);
    clock.setTimeout(() => at.push(clock.now()), 50);
    clock.step(100);
    expect(at).toEqual([1005, 1050]);
    expect(clock.now()).toBe(1100);
  });

  it('runs timers set by a timer when they fall within the same step', () => {
    const clock = new FakeClock();
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.step(35);
    expect(at).toEqual([10, 20, 30]);
    expect(clock.waiters()).toBe(1);
  });

  it('does not fire a cleared timer, and clearing twice is harmless', () => {
    const clock = new FakeClock();
    let fired = false;
    const h = clock.setTimeout(() => {
      fired = true;
    }, 10);
    clock.clearTimeout(h);
    clock.clearTimeout(h);
    clock.step(20);
    expect(fired).toBe(false);
    expect(clock.hasWaiters()).toBe(false);
  });

  it('setTime forward fires due timers; backward fires none', () => {
    const clock = new FakeClock(100);
    let fired = 0;
    clock.setTimeout(() => fired++, 50);
    clock.setTime(50);
    expect(fired).toBe(0);
    expect(clock.now()).toBe(50);
    clock.setTime(150);
    expect(fired).toBe(1);
  });

  it('refuses a negative step', () => {
    expect(() => new FakeClock().step(-1)).toThrow(/>= 0/);
  });

  it('resolves sleep only when stepped past its time', async () => {
    const clock = new FakeClock();
    let woke = false;
    const p = clock.sleep(100).then(() => {
      woke = true;
    });
    expect(clock.hasWaiters()).toBe(true);
    clock.step(99);
    await flush();
    expect(woke).toBe(false);
    clock.step(1);
    await p;
    expect(woke).toBe(true);
    expect(clock.hasWaiters()).toBe(false);
  });

  it('resolves sleep early on abort and drops its timer', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const p = clock.sleep(1000, ac.signal);
    ac.abort();
    await p;
    expect(clock.hasWaiters()).toBe(false);
    expect(clock.now()).toBe(0);
  });

  it('resolves sleep at once for an aborted signal without a timer', async () => {
    const clock = new FakeClock();
    await clock.sleep(1000, AbortSignal.abort());
    expect(clock.hasWaiters()).toBe(false);
  });
});

describe('realClock', () => {
  it('reads the wall clock', () => {
    expect(Math.abs(realClock.now() - Date.now())).toBeLessThan(1000);
  });

  it('ends a long sleep when the signal aborts', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const p = realClock.sleep(60_000, ac.signal);
    ac.abort();
    await p;
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fires and clears real timers', async () => {
    let fired = 0;
    const h = realClock.setTimeout(() => fired++, 0);
    realClock.clearTimeout(h);
    await realClock.sleep(0);
    await new Promise<void>((resolve) => realClock.setTimeout(resolve, 0));
    expect(fired).toBe(0);
  });
});
