/**
 * Leader election on a coordination.k8s.io/v1 Lease, with the behaviour of
 * client-go's tools/leaderelection: of the candidates that name the same
 * Lease, one leads; it renews the Lease every retry period, and the others
 * take it over once it has gone unrenewed for the lease duration.
 *
 * Contract:
 * - States, with these transitions only (anything else throws):
 *     follower  --run()-->             candidate
 *     candidate <--observation-->      follower   (another holder's lease is valid)
 *     candidate|follower --write-->    leader     (our create or update won)
 *     any      --signal / lost-->      released   (terminal; run() has ended)
 *   `isLeader()` is true exactly in `leader`.
 * - Expiry is judged by our own clock: a holder's lease is valid until
 *   `leaseDurationSeconds` after we last saw the record change, never by the
 *   remote renewTime, so clock skew between hosts does not matter, only rate.
 *   An empty holderIdentity (a released lease) may be taken at once.
 * - Takeover and renewal are updates carrying the resourceVersion read, so
 *   of several candidates only one wins; leaseTransitions counts takeovers.
 * - The leader stops leading once no renewal has succeeded for renewDeadline
 *   since the last successful one was sent; as renewDeadline < leaseDuration,
 *   it stops before any other candidate may take over. It also stops at once
 *   when it reads the Lease held by someone else.
 * - Stopping: the signal given to onStartedLeading aborts, onStoppedLeading
 *   runs, and run() waits for onStartedLeading's promise to settle. Only then,
 *   if the stop came from run's signal and releaseOnCancel is set, the Lease
 *   is written with an empty holder and a 1 s duration so that a standby
 *   takes over at once without overlapping our work. If onStartedLeading's
 *   promise resolves on its own, we keep the lease until the signal aborts.
 * - run() may be called once. It resolves to 'cancelled' (its signal aborted)
 *   or 'lost' (renewals failed): a component that lost its lease should exit,
 *   as Kubernetes components do. It rejects with onStartedLeading's error if
 *   that throws, after stepping down.
 * - Identities must be unique per process: a candidate that reads the Lease
 *   naming its own identity treats it as its own and renews it at once.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Lease } from '../api/objects.js';
import { isAlreadyExists, isConflict, isNotFound } from '../api/status.js';
import { microTime } from '../api/time.js';
import type { LeaseSpec } from '../api/types/coordination.js';
import { builtinRegistry } from '../api/types/index.js';
import { type Clock, realClock } from './clock.js';
import { ResourceClient, type WriteOptions } from './resource.js';
import type { RestClient } from './rest.js';

/** The calls the elector makes; a ResourceClient<Lease> has them. */
export interface LeaseClient {
  in(namespace: string): LeaseClient;
  get(name: string, opts?: { signal?: AbortSignal }): Promise<Lease>;
  create(obj: Lease, opts?: WriteOptions): Promise<Lease>;
  update(obj: Lease, opts?: WriteOptions): Promise<Lease>;
  /** When present, a follower watches the Lease so that a release wakes it at once. */
  watch?(opts: {
    fieldSelector?: string;
    timeoutSeconds?: number;
    signal?: AbortSignal;
  }): AsyncIterable<{ type: string; object: Lease }>;
}

/** A client for Leases over `rest`. */
export function newLeaseClient(rest: RestClient): ResourceClient<Lease> {
  const rt = builtinRegistry.get('coordination.k8s.io', 'v1', 'leases');
  if (!rt) throw new Error('the registry has no coordination.k8s.io/v1 leases');
  return new ResourceClient<Lease>(rest, rt);
}

export interface LeaderElectorOptions {
  client: LeaseClient;
  namespace: string;
  /** Name of the Lease (the lock). */
  name: string;
  /** Who we are; unique per process, e.g. `hostname_uuid`. */
  identity: string;
  /** How long others wait after last seeing the Lease change; default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it stops; default 10 s. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew; default 2 s. */
  retryPeriodMs?: number;
  /** Release the Lease when run's signal aborts while leading; default true. */
  releaseOnCancel?: boolean;
  clock?: Clock;
  logger: Logger;
  /** Runs once leadership starts; must stop soon after `signal` aborts. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Runs once leadership ends (its work may still be winding down). */
  onStoppedLeading(): void;
  /** Runs when the observed holder changes to another non-empty identity (ours included). */
  onNewLeader?(identity: string): void;
}

/** A component's leader-election flags (--leader-elect and the lease timings). */
export interface LeaderElectionConfig {
  leaderElect: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/**
 * Runs a component's `work` as kube-scheduler and kube-controller-manager
 * do: without leaderElect at once, on `signal`; with it, only while this
 * process (identity `hostname_uuid`) holds the Lease kube-system/`name`.
 * Rejects when the lease is lost: the component should exit.
 */
export async function runLeading(
  config: LeaderElectionConfig,
  o: {
    name: string;
    rest: RestClient;
    clock: Clock;
    logger: Logger;
    signal: AbortSignal;
    work: (signal: AbortSignal) => Promise<void>;
  },
): Promise<void> {
  if (!config.leaderElect) return o.work(o.signal);
  const elector = new LeaderElector({
    client: newLeaseClient(o.rest),
    namespace: 'kube-system',
    name: o.name,
    identity: `${hostname()}_${randomUUID()}`,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    clock: o.clock,
    logger: o.logger,
    onStartedLeading: o.work,
    onStoppedLeading: () => o.logger.info('stopped leading'),
  });
  const outcome = await elector.run(o.signal);
  if (outcome === 'lost') throw new Error(`lost the ${o.name} lease`);
}

export type ElectionState = 'follower' | 'candidate' | 'leader' | 'released';
export type ElectionOutcome = 'cancelled' | 'lost';

const allowed: Record<ElectionState, readonly ElectionState[]> = {
  follower: ['candidate', 'leader', 'released'],
  candidate: ['follower', 'leader', 'released'],
  leader: ['released'],
  released: [],
};

/** Candidates' retry waits are stretched by up to this factor so they do not move in step. */
const jitterFactor = 1.2;

type Attempt = 'acquired' | 'held' | 'failed';

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectorOptions, 'onNewLeader'>> &
    Pick<LeaderElectorOptions, 'onNewLeader'>;
  private readonly leases: LeaseClient;
  private readonly log: Logger;
  private state: ElectionState = 'follower';
  private started = false;
  /** The Lease spec as last seen, and when (our clock) we saw it change. */
  private observed?: LeaseSpec;
  private observedTime = 0;
  private reportedLeader = '';
  /** Our last successful write, for renewals and release. */
  private held?: Lease;
  /** When the last successful acquire or renew was sent. */
  private renewedAt = 0;

  constructor(opts: LeaderElectorOptions) {
    // `??`, not a spread of defaults: an option passed as undefined takes its default.
    const o = {
      ...opts,
      leaseDurationMs: opts.leaseDurationMs ?? 15_000,
      renewDeadlineMs: opts.renewDeadlineMs ?? 10_000,
      retryPeriodMs: opts.retryPeriodMs ?? 2_000,
      releaseOnCancel: opts.releaseOnCancel ?? true,
      clock: opts.clock ?? realClock,
    };
    if (!o.identity) throw new Error('leader election: identity is required');
    if (!o.name || !o.namespace) throw new Error('leader election: the lock needs a namespace and a name');
    if (!(o.retryPeriodMs > 0))
      throw new Error(`leader election: retryPeriodMs must be > 0, got ${o.retryPeriodMs}`);
    if (!(o.leaseDurationMs >= 1000))
      throw new Error(`leader election: leaseDurationMs must be at least 1000, got ${o.leaseDurationMs}`);
    if (o.leaseDurationMs <= o.renewDeadlineMs)
      throw new Error(
        `leader election: leaseDurationMs (${o.leaseDurationMs}) must be greater than renewDeadlineMs (${o.renewDeadlineMs})`,
      );
    if (o.renewDeadlineMs <= o.retryPeriodMs * jitterFactor)
      throw new Error(
        `leader election: renewDeadlineMs (${o.renewDeadlineMs}) must be greater than retryPeriodMs * ${jitterFactor} (${o.retryPeriodMs * jitterFactor})`,
      );
    this.o = o;
    this.leases = o.client.in(o.namespace);
    this.log = o.logger.child({ lease: `${o.namespace}/${o.name}`, identity: o.identity });
  }

  isLeader(): boolean {
    return this.state === 'leader';
  }

  /** The holder we last observed, if any. */
  getLeader(): string | undefined {
    return this.observed?.holderIdentity || undefined;
  }

  getState(): ElectionState {
    return this.state;
  }

  async run(signal: AbortSignal): Promise<ElectionOutcome> {
    if (this.started) throw new Error('LeaderElector.run may be called only once');
    this.started = true;
    this.transition('candidate');
    if (!(await this.acquire(signal))) {
      this.transition('released');
      return 'cancelled';
    }
    return this.lead(signal);
  }

  private transition(to: ElectionState): void {
    if (this.state === to) return;
    if (!allowed[this.state].includes(to))
      throw new Error(`leader election: no transition ${this.state} -> ${to}`);
    this.log.debug({ from: this.state, to }, 'leader election state');
    this.state = to;
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.log.info('trying to acquire the lease');
    while (!signal.aborted) {
      const result = await this.tryAcquireOrRenew(signal, this.o.clock.now() + this.o.renewDeadlineMs);
      if (result === 'acquired') return true;
      this.transition(result === 'held' ? 'follower' : 'candidate');
      let wait = this.o.retryPeriodMs * (1 + Math.random() * (jitterFactor - 1));
      // Wake when the holder's lease runs out rather than up to a retry period later.
      if (result === 'held') {
        wait = Math.min(wait, Math.max(1, this.expiresAt() - this.o.clock.now()));
        await this.sleepUnlessReleased(wait, signal);
      } else await this.o.clock.sleep(wait, signal);
    }
    return false;
  }

  /**
   * Sleeps like `clock.sleep`, but wakes early when a watch on the Lease
   * shows it released or deleted, so a standby takes over as soon as the
   * leader steps down cleanly instead of at its next retry.
   */
  private async sleepUnlessReleased(ms: number, signal: AbortSignal): Promise<void> {
    const leases = this.leases.in(this.o.namespace);
    if (!leases.watch) return this.o.clock.sleep(ms, signal);
    const wake = new AbortController();
    const onAbort = () => wake.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const watching = (async () => {
      const events = leases.watch!({
        fieldSelector: `metadata.name=${this.o.name}`,
        timeoutSeconds: Math.ceil(ms / 1000) + 1,
        signal: wake.signal,
      });
      for await (const ev of events) {
        if (ev.type === 'DELETED' || (ev.type !== 'BOOKMARK' && !ev.object.spec?.holderIdentity)) {
          wake.abort();
          return;
        }
      }
    })().catch(() => undefined);
    await this.o.clock.sleep(ms, wake.signal);
    wake.abort();
    signal.removeEventListener('abort', onAbort);
    await watching;
  }

  private async lead(signal: AbortSignal): Promise<ElectionOutcome> {
    this.transition('leader');
    this.log.info('became leader');
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const work = new AbortController();
    let failure: { err: unknown } | undefined;
    const working = (async () => this.o.onStartedLeading(work.signal))().catch((err) => {
      failure = { err };
      this.log.error({ err }, 'onStartedLeading failed; stepping down');
      stop.abort();
    });

    const outcome = await this.renewLoop(stop.signal);
    signal.removeEventListener('abort', onAbort);
    this.transition('released');
    this.log.info({ outcome }, 'stopped leading');
    work.abort();
    try {
      this.o.onStoppedLeading();
    } catch (err) {
      this.log.error({ err }, 'onStoppedLeading threw');
    }
    await working;
    if (outcome === 'cancelled' && this.o.releaseOnCancel) await this.release();
    if (failure) throw failure.err;
    return outcome;
  }

  /** Renews every retry period until `stop` aborts ('cancelled') or renewing fails past the deadline ('lost'). */
  private async renewLoop(stop: AbortSignal): Promise<ElectionOutcome> {
    const clock = this.o.clock;
    for (;;) {
      const deadline = this.renewedAt + this.o.renewDeadlineMs;
      await clock.sleep(Math.min(this.o.retryPeriodMs, Math.max(0, deadline - clock.now())), stop);
      if (stop.aborted) return 'cancelled';
      if (clock.now() >= deadline) {
        this.log.error(
          { renewDeadlineMs: this.o.renewDeadlineMs },
          'failed to renew the lease before the deadline',
        );
        return 'lost';
      }
      const result = await this.tryAcquireOrRenew(stop, deadline);
      if (stop.aborted) return 'cancelled';
      if (result === 'held') {
        this.log.error({ holder: this.getLeader() }, 'the lease is held by another candidate');
        return 'lost';
      }
    }
  }

  /**
   * One round: read the Lease; create it if missing; take or renew it when
   * it is free, expired (by our observation) or ours. Never throws.
   */
  private async tryAcquireOrRenew(outer: AbortSignal, deadline: number): Promise<Attempt> {
    const clock = this.o.clock;
    const sentAt = clock.now();
    const { signal, done } = this.attemptSignal(outer, deadline);
    try {
      let current: Lease;
      try {
        current = await this.leases.get(this.o.name, { signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const made = await this.leases.create(this.newLease(sentAt), { signal });
        this.wrote(made, sentAt);
        return 'acquired';
      }
      this.observe(current.spec ?? {});
      const spec = current.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const ours = holder === this.o.identity;
      if (holder && !ours && clock.now() < this.expiresAt()) return 'held';
      const next: Lease = { ...current, spec: this.nextSpec(spec, ours, sentAt) };
      const written = await this.leases.update(next, { signal });
      if (!ours) this.log.info({ from: holder || undefined }, 'took over the lease');
      this.wrote(written, sentAt);
      return 'acquired';
    } catch (err) {
      if (isConflict(err) || isAlreadyExists(err))
        this.log.debug({ err }, 'another candidate wrote the lease first');
      else if (!outer.aborted) this.log.warn({ err }, 'could not acquire or renew the lease');
      return 'failed';
    } finally {
      done();
    }
  }

  private newLease(now: number): Lease {
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.o.name, namespace: this.o.namespace },
      spec: this.nextSpec({}, false, now, 0),
    };
  }

  /** The spec we write: our identity, renewed now; a takeover resets acquireTime and counts a transition. */
  private nextSpec(old: LeaseSpec, ours: boolean, now: number, transitions?: number): LeaseSpec {
    const stamp = microTime(now);
    return {
      ...old,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: ours && old.acquireTime ? old.acquireTime : stamp,
      renewTime: stamp,
      leaseTransitions: transitions ?? (ours ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1),
    };
  }

  private wrote(lease: Lease, sentAt: number): void {
    this.held = lease;
    this.renewedAt = sentAt;
    this.observe(lease.spec ?? {});
  }

  /** Notes the record; its change (not its renewTime) starts the expiry countdown. */
  private observe(spec: LeaseSpec): void {
    if (JSON.stringify(spec) !== JSON.stringify(this.observed)) {
      this.observed = spec;
      this.observedTime = this.o.clock.now();
    }
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== this.reportedLeader) {
      this.reportedLeader = holder;
      this.log.info({ leader: holder }, 'new leader observed');
      try {
        this.o.onNewLeader?.(holder);
      } catch (err) {
        this.log.error({ err }, 'onNewLeader threw');
      }
    }
  }

  /** When, by our clock, the observed holder's lease runs out. */
  private expiresAt(): number {
    const seconds = this.observed?.leaseDurationSeconds ?? Math.ceil(this.o.leaseDurationMs / 1000);
    return this.observedTime + seconds * 1000;
  }

  /** Hands the Lease back: empty holder, 1 s duration, so a standby takes it at once. */
  private async release(): Promise<void> {
    let held = this.held;
    if (!held) return;
    const now = this.o.clock.now();
    const stamp = microTime(now);
    const { signal, done } = this.attemptSignal(new AbortController().signal, now + this.o.renewDeadlineMs);
    try {
      // A renewal cut short by the stop may still have landed, leaving our copy
      // stale: on a conflict, re-read and release again while the Lease is ours.
      for (let attempt = 0; attempt < 3 && held; attempt++) {
        const spec: LeaseSpec = {
          ...held.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: stamp,
          renewTime: stamp,
        };
        try {
          this.held = await this.leases.update({ ...held, spec }, { signal });
          this.observe(spec);
          this.log.info('released the lease');
          return;
        } catch (err) {
          if (!isConflict(err)) throw err;
          const current = await this.leases.get(this.o.name, { signal });
          held = current.spec?.holderIdentity === this.o.identity ? current : undefined;
        }
      }
    } catch (err) {
      this.log.warn({ err }, 'could not release the lease');
    } finally {
      done();
    }
  }

  /** A signal for one attempt: aborts with `outer` or at `deadline` on our clock. */
  private attemptSignal(outer: AbortSignal, deadline: number): { signal: AbortSignal; done(): void } {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    if (outer.aborted) ac.abort();
    outer.addEventListener('abort', onAbort, { once: true });
    const timer = this.o.clock.setTimeout(onAbort, deadline - this.o.clock.now());
    return {
      signal: ac.signal,
      done: () => {
        outer.removeEventListener('abort', onAbort);
        this.o.clock.clearTimeout(timer);
      },
    };
  }
}
