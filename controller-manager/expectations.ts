/**
 * Controller expectations (after kube-controller-manager's
 * ControllerExpectations): a controller records how many creates and
 * deletes it has in flight for a key before issuing them, and the informer
 * handlers lower the counts as the caches observe the results. While a key
 * has outstanding expectations its controller does not act on the pod counts
 * in the cache (they are stale), so it never overshoots.
 *
 * Contract:
 * - `expect*` is called before the writes; each failed write lowers the
 *   count (`creationObserved`/`deletionObserved`) as if it had been seen,
 *   since no event will come for it.
 * - `satisfied(key)` is true when nothing is outstanding, when nothing was
 *   ever recorded for the key, or when the record is older than the TTL
 *   (a lost event must not wedge the controller forever).
 * - Deletions are tracked by pod key, so a delete observed twice (or a pod
 *   deleted by someone else) is counted at most once.
 */
import type { KubeObject } from '../api/meta.js';
import type { Clock } from '../client/clock.js';
import { keyOf } from '../client/indexer.js';

/** How long expectations hold before the controller syncs anyway (Kubernetes: 5 minutes). */
export const expectationsTimeoutMs = 5 * 60 * 1000;

interface Record {
  adds: number;
  /** Keys of pods whose deletion is awaited. */
  deletes: Set<string>;
  at: number;
}

export class ControllerExpectations {
  private readonly records = new Map<string, Record>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = expectationsTimeoutMs,
  ) {}

  /** Sets the expectations for `key`, replacing any old ones. */
  expect(key: string, adds: number, deleteKeys: string[] = []): void {
    this.records.set(key, { adds, deletes: new Set(deleteKeys), at: this.clock.now() });
  }

  expectCreations(key: string, adds: number): void {
    this.expect(key, adds);
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.expect(key, 0, podKeys);
  }

  /** One create done (seen in the cache, or failed). */
  creationObserved(key: string): void {
    const r = this.records.get(key);
    if (r && r.adds > 0) r.adds--;
  }

  /** One delete done (seen in the cache, or failed). */
  deletionObserved(key: string, podKey: string): void {
    this.records.get(key)?.deletes.delete(podKey);
  }

  satisfied(key: string): boolean {
    const r = this.records.get(key);
    if (!r) return true;
    if (r.adds <= 0 && r.deletes.size === 0) return true;
    return this.clock.now() - r.at > this.ttlMs;
  }

  /** What is still outstanding, for logs and tests. */
  pending(key: string): { adds: number; deletes: number } | undefined {
    const r = this.records.get(key);
    return r ? { adds: r.adds, deletes: r.deletes.size } : undefined;
  }

  /** Forgets a key (its owner was deleted). */
  delete(key: string): void {
    this.records.delete(key);
  }
}

/**
 * Runs `fn` `count` times in batches of 1, 2, 4, ... (slowStartBatch): a
 * batch runs in parallel, and the first batch with an error stops the rest,
 * so a request that is bound to fail (quota, a bad template) is not sent
 * hundreds of times. Returns how many calls were made, how many succeeded,
 * and the first error.
 */
export async function slowStartBatch(
  count: number,
  initialBatch: number,
  fn: (i: number) => Promise<void>,
): Promise<{ successes: number; attempted: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  let next = 0;
  for (let batch = Math.min(remaining, initialBatch); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn(next++)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += results.filter((r) => r.status === 'fulfilled').length;
    if (failed) return { successes, attempted: next, error: failed.reason };
    remaining -= batch;
  }
  return { successes, attempted: next };
}

/**
 * Makes `count` creates for `key` in slow-start batches, after the caller
 * has recorded them with `expect*`. A create that fails, or that the first
 * failing batch leaves unattempted, lowers the expectations at once: no
 * event will come for it. Throws the first error.
 */
export async function createExpected(
  expectations: ControllerExpectations,
  key: string,
  count: number,
  create: (i: number) => Promise<unknown>,
): Promise<void> {
  const res = await slowStartBatch(count, 1, async (i) => {
    try {
      await create(i);
    } catch (err) {
      expectations.creationObserved(key);
      throw err;
    }
  });
  for (let i = res.attempted; i < count; i++) expectations.creationObserved(key);
  if (res.error) throw res.error;
}

/**
 * Deletes `pods` for `key` all at once, after the caller has recorded them
 * with `expect*`. A delete that fails lowers the expectations at once (no
 * event will come for it). Throws the first error once all have settled.
 */
export async function deleteExpected<T extends KubeObject>(
  expectations: ControllerExpectations,
  key: string,
  pods: T[],
  remove: (pod: T) => Promise<unknown>,
): Promise<void> {
  const results = await Promise.allSettled(
    pods.map((p) =>
      remove(p).catch((err) => {
        expectations.deletionObserved(key, keyOf(p));
        throw err;
      }),
    ),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
