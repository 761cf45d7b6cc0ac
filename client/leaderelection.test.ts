import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Lease } from '../api/objects.js';
import { newAlreadyExists, newConflict, newNotFound, StatusError } from '../api/status.js';
import { microTime } from '../api/time.js';
import type { LeaseSpec } from '../api/types/coordination.js';
import { FakeClock } from './clock.js';
import { LeaderElector, type LeaderElectorOptions, type LeaseClient } from './leaderelection.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const gr = { group: 'coordination.k8s.io', resource: 'leases' };

/** An in-memory Lease store with resourceVersion checks, shared by the clients made from it. */
class LeaseStore {
  readonly leases = new Map<string, Lease>();
  readonly calls: { verb: string; name: string; holder?: string }[] = [];
  private rv = 100;
  /** When set, every call fails with it. */
  failWith?: Error;
  /** When set, every call hangs until its signal aborts. */
  hang = false;

  put(ns: string, name: string, spec: LeaseSpec): Lease {
    const lease = { metadata: { name, namespace: ns, resourceVersion: String(++this.rv) }, spec };
    this.leases.set(`${ns}/${name}`, lease);
    return structuredClone(lease);
  }

  spec(ns = 'kube-system', name = 'lock'): LeaseSpec | undefined {
    return this.leases.get(`${ns}/${name}`)?.spec;
  }

  async call<T>(
    verb: string,
    name: string,
    holder: string | undefined,
    signal: AbortSignal | undefined,
    fn: () => T,
  ) {
    this.calls.push({ verb, name, holder });
    await Promise.resolve();
    if (this.hang)
      return new Promise<T>((_, reject) =>
        signal?.addEventListener('abort', () => reject(new StatusError(499, '', 'aborted')), { once: true }),
      );
    if (this.failWith) throw this.failWith;
    return fn();
  }
}

class FakeLeaseClient implements LeaseClient {
  constructor(
    private readonly store: LeaseStore,
    private readonly ns = '',
  ) {}

  in(namespace: string): LeaseClient {
    return new FakeLeaseClient(this.store, namespace);
  }

  get(name: string, opts?: { signal?: AbortSignal }): Promise<Lease> {
    return this.store.call('get', name, undefined, opts?.signal, () => {
      const lease = this.store.leases.get(`${this.ns}/${name}`);
      if (!lease) throw newNotFound(gr, name);
      return structuredClone(lease);
    });
  }

  create(obj: Lease, opts?: { signal?: AbortSignal }): Promise<Lease> {
    const name = obj.metadata.name!;
    return this.store.call('create', name, obj.spec?.holderIdentity, opts?.signal, () => {
      if (this.store.leases.has(`${this.ns}/${name}`)) throw newAlreadyExists(gr, name);
      return this.store.put(this.ns, name, structuredClone(obj.spec ?? {}));
    });
  }

  update(obj: Lease, opts?: { signal?: AbortSignal }): Promise<Lease> {
    const name = obj.metadata.name!;
    return this.store.call('update', name, obj.spec?.holderIdentity, opts?.signal, () => {
      const cur = this.store.leases.get(`${this.ns}/${name}`);
      if (!cur) throw newNotFound(gr, name);
      if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) throw newConflict(gr, name, 'stale');
      return this.store.put(this.ns, name, structuredClone(obj.spec ?? {}));
    });
  }
}

/** A candidate with recorded callbacks. */
function candidate(
  store: LeaseStore,
  clock: FakeClock,
  identity: string,
  over: Partial<LeaderElectorOptions> = {},
) {
  const log: string[] = [];
  let workSignal: AbortSignal | undefined;
  const elector = new LeaderElector({
    client: new FakeLeaseClient(store),
    namespace: 'kube-system',
    name: 'lock',
    identity,
    clock,
    logger: pino({ level: 'silent' }),
    onStartedLeading: async (signal) => {
      workSignal = signal;
      log.push('started');
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      log.push('work done');
    },
    onStoppedLeading: () => log.push('stopped'),
    onNewLeader: (id) => log.push(`leader ${id}`),
    ...over,
  });
  const ac = new AbortController();
  const result = elector.run(ac.signal);
  return { elector, log, ac, result, workSignal: () => workSignal };
}

/** Moves the fake clock in small steps, letting the elector's promises run between them. */
async function advance(clock: FakeClock, ms: number, stepMs = 50): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += stepMs) {
    clock.step(Math.min(stepMs, ms - t));
    await flush();
  }
}

const start = Date.UTC(2026, 0, 1);

describe('LeaderElector', () => {
  it('acquires a free lease by creating it', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    await advance(clock, 10);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.getLeader()).toBe('a');
    expect(a.log).toEqual(['leader a', 'started']);
    expect(store.spec()).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 15,
      acquireTime: '2026-01-01T00:00:00.000000Z',
      renewTime: '2026-01-01T00:00:00.000000Z',
      leaseTransitions: 0,
    });
    // Renews every retry period, keeping acquireTime.
    await advance(clock, 2_000);
    expect(store.spec()?.renewTime).toBe(microTime(start + 2_010));
    expect(store.spec()?.acquireTime).toBe('2026-01-01T00:00:00.000000Z');
    a.ac.abort();
    await expect(a.result).resolves.toBe('cancelled');
  });

  it('does not take a held lease before it has gone unchanged for the lease duration, whatever its renewTime says', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    // A renewTime far in the past: only our own observation counts.
    store.put('kube-system', 'lock', {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      renewTime: '2000-01-01T00:00:00.000000Z',
      leaseTransitions: 3,
    });
    const a = candidate(store, clock, 'a');
    await advance(clock, 14_900);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.getState()).toBe('follower');
    expect(a.elector.getLeader()).toBe('b');
    expect(store.calls.filter((c) => c.verb !== 'get')).toEqual([]);
    expect(a.log).toEqual(['leader b']);
    a.ac.abort();
    await expect(a.result).resolves.toBe('cancelled');
    expect(a.elector.getState()).toBe('released');
  });

  it('never takes a lease whose holder keeps renewing it', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const renewB = () =>
      store.put('kube-system', 'lock', {
        holderIdentity: 'b',
        leaseDurationSeconds: 15,
        renewTime: microTime(clock.now()),
      });
    renewB();
    const a = candidate(store, clock, 'a');
    for (let i = 0; i < 20; i++) {
      await advance(clock, 2_000);
      renewB();
    }
    expect(a.elector.isLeader()).toBe(false);
    a.ac.abort();
    await a.result;
  });

  it('takes over an expired lease and counts the transition', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    store.put('kube-system', 'lock', {
      holderIdentity: 'b',
      leaseDurationSeconds: 15,
      acquireTime: '2025-12-31T23:00:00.000000Z',
      renewTime: '2025-12-31T23:59:59.000000Z',
      leaseTransitions: 3,
    });
    const a = candidate(store, clock, 'a');
    await advance(clock, 15_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.log).toEqual(['leader b', 'leader a', 'started']);
    expect(store.spec()).toMatchObject({
      holderIdentity: 'a',
      leaseTransitions: 4,
      acquireTime: microTime(start + 15_000),
    });
    a.ac.abort();
    await a.result;
  });

  it('lets only one of two candidates win a free lease', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    const b = candidate(store, clock, 'b');
    await advance(clock, 6_000);
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect([...a.log, ...b.log].filter((l) => l === 'started')).toHaveLength(1);
    const winner = a.elector.isLeader() ? 'a' : 'b';
    expect(store.spec()?.holderIdentity).toBe(winner);
    expect(b.elector.getLeader()).toBe(winner);
    a.ac.abort();
    b.ac.abort();
    await Promise.all([a.result, b.result]);
  });

  it.each([
    {
      name: 'every call failing',
      fail: (s: LeaseStore) => (s.failWith = new StatusError(503, 'ServiceUnavailable', 'down')),
    },
    { name: 'every call hanging', fail: (s: LeaseStore) => (s.hang = true) },
  ])('stops leading when renewals fail past the renew deadline: $name', async ({ fail }) => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    await advance(clock, 10);
    expect(a.elector.isLeader()).toBe(true);
    const lastRenew = clock.now();
    fail(store);
    await advance(clock, 9_900);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.workSignal()?.aborted).toBe(false);
    await advance(clock, 200);
    // Stopped at the deadline, before any other candidate may take over (15 s).
    expect(a.elector.isLeader()).toBe(false);
    expect(clock.now() - lastRenew).toBeLessThan(15_000);
    expect(a.workSignal()?.aborted).toBe(true);
    expect(a.log).toEqual(['leader a', 'started', 'stopped', 'work done']);
    await expect(a.result).resolves.toBe('lost');
    // A lost lease is not written: we no longer know we hold it.
    expect(store.calls.filter((c) => c.holder === '')).toEqual([]);
  });

  it('stops leading at once when it reads the lease held by another', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    await advance(clock, 10);
    store.put('kube-system', 'lock', { holderIdentity: 'b', leaseDurationSeconds: 15 });
    await advance(clock, 2_100);
    expect(a.elector.isLeader()).toBe(false);
    await expect(a.result).resolves.toBe('lost');
  });

  it('releases the lease on cancel, after its work has stopped, so a standby takes over at once', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    await advance(clock, 10);
    const b = candidate(store, clock, 'b');
    await advance(clock, 3_000);
    expect(b.elector.getState()).toBe('follower');
    const before = store.calls.length;
    a.ac.abort();
    await expect(a.result).resolves.toBe('cancelled');
    expect(a.log).toEqual(['leader a', 'started', 'stopped', 'work done']);
    expect(store.spec()).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(store.calls.slice(before)).toContainEqual({ verb: 'update', name: 'lock', holder: '' });
    // b takes it on its next try, far sooner than the 15 s lease duration.
    await advance(clock, 2_500);
    expect(b.elector.isLeader()).toBe(true);
    expect(store.spec()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    b.ac.abort();
    await b.result;
  });

  it('keeps the lease on cancel when releaseOnCancel is false', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a', { releaseOnCancel: false });
    await advance(clock, 10);
    a.ac.abort();
    await expect(a.result).resolves.toBe('cancelled');
    expect(store.spec()?.holderIdentity).toBe('a');
  });

  it('steps down and rethrows when onStartedLeading fails', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a', {
      onStartedLeading: async () => {
        throw new Error('controller crashed');
      },
    });
    const failed = a.result.catch((err: Error) => err);
    await advance(clock, 10);
    expect(await failed).toMatchObject({ message: 'controller crashed' });
    expect(a.elector.isLeader()).toBe(false);
    expect(store.spec()?.holderIdentity).toBe('');
  });

  it('may run only once', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a');
    await expect(a.elector.run(new AbortController().signal)).rejects.toThrow(/only once/);
    a.ac.abort();
    await a.result;
  });

  const base = { namespace: 'ns', name: 'lock', identity: 'me' };
  it.each([
    {
      name: 'lease not longer than renew deadline',
      opts: { leaseDurationMs: 10_000 },
      err: /leaseDurationMs/,
    },
    {
      name: 'renew deadline within a jittered retry',
      opts: { renewDeadlineMs: 2_400 },
      err: /retryPeriodMs \* 1.2/,
    },
    { name: 'no identity', opts: { identity: '' }, err: /identity/ },
    { name: 'no lock name', opts: { name: '' }, err: /namespace and a name/ },
    { name: 'no lock namespace', opts: { namespace: '' }, err: /namespace and a name/ },
    { name: 'zero retry period', opts: { retryPeriodMs: 0 }, err: /retryPeriodMs/ },
  ])('refuses a bad configuration: $name', ({ opts, err }) => {
    expect(
      () =>
        new LeaderElector({
          client: new FakeLeaseClient(new LeaseStore()),
          logger: pino({ level: 'silent' }),
          onStartedLeading: () => {},
          onStoppedLeading: () => {},
          ...base,
          ...opts,
        }),
    ).toThrow(err);
  });

  it('takes the defaults for options passed as undefined', async () => {
    const store = new LeaseStore();
    const clock = new FakeClock(start);
    const a = candidate(store, clock, 'a', { leaseDurationMs: undefined, retryPeriodMs: undefined });
    await advance(clock, 10);
    expect(store.spec()?.leaseDurationSeconds).toBe(15);
    a.ac.abort();
    await a.result;
  });

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2026, 0, 1, 0, 0, 0, 123))).toBe('2026-01-01T00:00:00.123000Z');
  });
});
