import { describe, expect, it } from 'vitest';
import { FakeClock } from '../client/clock.js';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('is not in backoff before the first retry', () => {
    const b = new Backoff(10_000, 300_000, new FakeClock(1_000_000));
    expect(b.inBackoffSince('c', 1_000_000)).toBe(false);
  });

  it('doubles from 10 s up to 5 min, counted from the event', () => {
    const clock = new FakeClock(1_000_000);
    const b = new Backoff(10_000, 300_000, clock);
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      b.next('c');
      delays.push(b.delay('c'));
      // The container crashes at once; it waits the whole delay from its finish.
      const finished = clock.now();
      expect(b.remaining('c', finished)).toBe(b.delay('c'));
      clock.step(b.delay('c') - 1);
      expect(b.inBackoffSince('c', finished)).toBe(true);
      clock.step(1);
      expect(b.inBackoffSince('c', finished)).toBe(false);
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('starts over after a run longer than twice the maximum', () => {
    const clock = new FakeClock(0);
    const b = new Backoff(10_000, 300_000, clock);
    b.next('c');
    b.next('c');
    expect(b.delay('c')).toBe(20_000);
    clock.step(600_001);
    // It ran more than ten minutes before this crash: no wait, and the delay restarts.
    expect(b.inBackoffSince('c', clock.now())).toBe(false);
    b.next('c');
    expect(b.delay('c')).toBe(10_000);
  });

  it('keeps keys apart and forgets a prefix', () => {
    const b = new Backoff(10, 100, new FakeClock(0));
    b.next('pod1/a');
    b.next('pod1/a');
    b.next('pod2/a');
    expect(b.delay('pod1/a')).toBe(20);
    b.forgetPrefix('pod1/');
    expect(b.delay('pod1/a')).toBe(0);
    expect(b.delay('pod2/a')).toBe(10);
  });
});
