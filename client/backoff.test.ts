import { describe, expect, it } from 'vitest';
import { doubledBackoff, exponentialBackoff } from './backoff.js';

describe('exponentialBackoff', () => {
  it('doubles per failure from the base and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => exponentialBackoff(200, n, 5000))).toEqual([
      200, 400, 800, 1600, 3200, 5000,
    ]);
    expect(exponentialBackoff(5, 2000, 1_000_000)).toBe(1_000_000);
  });
});

describe('doubledBackoff', () => {
  it('starts at the initial delay, then doubles the last one up to the cap', () => {
    const seen: number[] = [];
    let d = 0;
    for (let i = 0; i < 7; i++) {
      d = doubledBackoff(d, 800, 30_000);
      seen.push(d);
    }
    expect(seen).toEqual([800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
  });
});
