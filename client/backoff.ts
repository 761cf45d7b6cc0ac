/**
 * Exponential backoff, the two ways retry loops count it. Pure: callers
 * sleep on their own Clock and add their own jitter.
 * - `exponentialBackoff(base, n, max)`: the delay after n earlier failures
 *   (the workqueue's per-item limiter, request retries, registration loops).
 * - `doubledBackoff(prev, initial, max)`: the next delay from the last one,
 *   0 meaning none yet (the reflector, kube-proxy's sync loop, the kubelet's
 *   per-container Backoff).
 */

/** baseMs * 2^exponent, at most maxMs. */
export function exponentialBackoff(baseMs: number, exponent: number, maxMs: number): number {
  return Math.min(baseMs * 2 ** exponent, maxMs);
}

/** initialMs when prevMs is 0 (no failure yet), else twice prevMs; at most maxMs. */
export function doubledBackoff(prevMs: number, initialMs: number, maxMs: number): number {
  return Math.min(prevMs ? prevMs * 2 : initialMs, maxMs);
}
