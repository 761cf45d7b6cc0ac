import { describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { Wakeup } from './wakeup.js';

const settle = () => new Promise((r) => setImmediate(r));

describe('Wakeup', () => {
  it('ends a wait when poked, and after the period otherwise', async () => {
    const clock = new FakeClock();
    const w = new Wakeup();
    const signal = new AbortController().signal;
    let done = false;
    void w.wait(clock, 1000, signal).then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    w.poke();
    await settle();
    expect(done).toBe(true);
    done = false;
    void w.wait(clock, 1000, signal).then(() => (done = true));
    clock.step(999);
    await settle();
    expect(done).toBe(false);
    clock.step(1);
    await settle();
    expect(done).toBe(true);
  });

  it('keeps a poke that came while the loop worked, so the next wait returns at once', async () => {
    const clock = new FakeClock();
    const w = new Wakeup();
    w.poke();
    await w.wait(clock, 60_000, new AbortController().signal);
    expect(clock.hasWaiters()).toBe(false);
  });

  it('returns when the signal aborts', async () => {
    const clock = new FakeClock();
    const ac = new AbortController();
    const waiting = new Wakeup().wait(clock, 60_000, ac.signal);
    ac.abort();
    await waiting;
  });
});
