/**
 * The sync loop: informers on Services and EndpointSlices mark the state
 * dirty; a sync writes the rules with one restore, no more often than
 * `minSyncPeriodMs`, and at least every `syncPeriodMs`. A sync is partial,
 * as Kubernetes' are: the top-level chains whole, and the chains of the
 * service ports that changed since the last sync. A full sync (every chain
 * re-read and rewritten, base jumps re-ensured) comes first, after any
 * failure, and every `fullSyncPeriodMs`. A sync of many service ports is
 * written in parts (rules.ts says why): first the chains of `partSize` per
 * restore, jumped to by nothing new yet, then one restore of the top-level
 * chains that makes them live and deletes what is stale. Every step leaves
 * the tables consistent, and a failed step makes the next sync full.
 * After a sync, conntrack entries of UDP endpoints that went away are deleted.
 *
 * States: waiting → syncing → waiting; `run` ends when `signal` aborts.
 */
import type { Logger } from 'pino';
import { Gauge, Histogram, type Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../api/meta.js';
import { doubledBackoff } from '../client/backoff.js';
import type { Clock } from '../client/clock.js';
import type { SharedInformer } from '../client/informer.js';
import { type Conntrack, staleUdpEntries } from './conntrack.js';
import { baseJumps, type Iptables } from './iptables.js';
import { buildServicePorts, type ServicePort } from './model.js';
import { type Rendered, type RenderOptions, renderRules } from './rules.js';

/** Service ports per restore when a full sync is written in parts. */
export const partSize = 100;

/**
 * Writes the rules of `ports` (those in `o.only`, or all): in one restore,
 * or in parts when there are more than `partSize` to write.
 */
export async function writeRules(
  iptables: Iptables,
  ports: ServicePort[],
  o: RenderOptions,
): Promise<{ rendered: Rendered; restores: number }> {
  const toWrite = o.only ? ports.filter((p) => o.only?.has(p.id)) : ports;
  let restores = 0;
  const inParts = toWrite.length > partSize;
  if (inParts) {
    for (let i = 0; i < toWrite.length; i += partSize) {
      const step = renderRules(toWrite.slice(i, i + partSize), {
        clusterCIDR: o.clusterCIDR,
        chainsOnly: true,
      });
      await iptables.restore(step.text);
      restores++;
    }
  }
  const rendered = renderRules(ports, { ...o, only: inParts ? new Set() : o.only });
  await iptables.restore(rendered.text);
  return { rendered, restores: restores + 1 };
}

export interface ProxierOptions {
  services: SharedInformer;
  slices: SharedInformer;
  iptables: Iptables;
  clusterCIDR: string;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
  /** How often a sync rewrites every chain; Kubernetes' is an hour. */
  fullSyncPeriodMs?: number;
  clock: Clock;
  logger: Logger;
  metrics: MetricsRegistry;
  /** Deletes stale UDP conntrack entries after each sync; absent: none are deleted. */
  conntrack?: Conntrack;
}

export class Proxier {
  /** When the last sync finished well (our clock), for health. */
  lastGoodSync = 0;
  private dirty = true;
  private needFull = true;
  private chains?: { nat: string[]; filter: string[] };
  /** What the last sync wrote, to find UDP endpoints that went away. */
  private lastPorts?: ServicePort[];
  /** What each service port's chains were written from, to find the ones that changed. */
  private written = new Map<string, string>();
  private lastFullSync = 0;
  private wake?: () => void;
  private readonly o: ProxierOptions;
  private readonly duration: Histogram;
  private readonly rules: Gauge;

  constructor(o: ProxierOptions) {
    if (o.minSyncPeriodMs > o.syncPeriodMs) throw new Error('minSyncPeriod must not exceed syncPeriod');
    this.o = o;
    const poke = () => this.markDirty();
    for (const inf of [o.services, o.slices])
      inf.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
    this.duration = new Histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'One sync of all rules.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [o.metrics],
    });
    this.rules = new Gauge({
      name: 'kubeproxy_sync_proxy_rules_iptables_total',
      help: 'Rules written by the last sync.',
      registers: [o.metrics],
    });
  }

  markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  /** Healthy when a sync succeeded within two sync periods. */
  healthy(): boolean {
    return this.lastGoodSync > 0 && this.o.clock.now() - this.lastGoodSync < 2 * this.o.syncPeriodMs;
  }

  async run(signal: AbortSignal): Promise<void> {
    await Promise.all([this.o.services.waitForSync(signal), this.o.slices.waitForSync(signal)]);
    let last = 0;
    let backoff = 0;
    while (!signal.aborted) {
      const now = this.o.clock.now();
      const due = this.dirty || this.needFull || now - last >= this.o.syncPeriodMs;
      const wait = due
        ? Math.max(0, last + this.o.minSyncPeriodMs + backoff - now)
        : this.o.syncPeriodMs - (now - last);
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          const ac = new AbortController();
          const done = () => {
            ac.abort();
            this.wake = undefined;
            resolve();
          };
          this.wake = due ? undefined : done;
          this.o.clock.sleep(wait, AbortSignal.any([signal, ac.signal])).then(done);
        });
        continue;
      }
      last = this.o.clock.now();
      try {
        await this.syncOnce();
        backoff = 0;
      } catch (err) {
        backoff = doubledBackoff(backoff, 1000, 30_000);
        this.o.logger.error({ err }, 'syncing proxy rules failed; a full resync follows');
      }
    }
  }

  /** Renders and writes every rule once. */
  async syncOnce(): Promise<void> {
    const end = this.duration.startTimer();
    this.dirty = false;
    const full =
      this.needFull ||
      !this.chains ||
      this.o.clock.now() - this.lastFullSync >= (this.o.fullSyncPeriodMs ?? 3_600_000);
    if (full) {
      this.chains = {
        nat: await this.o.iptables.listChains('nat'),
        filter: await this.o.iptables.listChains('filter'),
      };
    }
    const ports = buildServicePorts(
      this.o.services.store.list() as KubeObject[],
      this.o.slices.store.list() as KubeObject[],
    );
    const fingerprints = new Map(ports.map((p) => [p.id, JSON.stringify(p)]));
    const only = full
      ? undefined
      : new Set(ports.filter((p) => this.written.get(p.id) !== fingerprints.get(p.id)).map((p) => p.id));
    this.needFull = true; // until the restore has worked: after a failure nothing is known
    const { rendered: r, restores } = await writeRules(this.o.iptables, ports, {
      clusterCIDR: this.o.clusterCIDR,
      existingChains: this.chains,
      only,
    });
    if (full) {
      for (const j of baseJumps)
        await this.o.iptables.ensureJump(j).catch((err) => {
          if (!j.optional) throw err;
        });
      this.lastFullSync = this.o.clock.now();
    }
    this.chains = r.chains;
    this.written = fingerprints;
    this.needFull = false;
    if (this.o.conntrack && this.lastPorts) {
      for (const f of staleUdpEntries(this.lastPorts, ports))
        await this.o.conntrack
          .delete(f)
          .catch((err) => this.o.logger.warn({ err }, 'conntrack cleanup failed'));
    }
    this.lastPorts = ports;
    this.lastGoodSync = this.o.clock.now();
    this.rules.set(r.totalRules);
    end();
    this.o.logger.debug(
      {
        servicePorts: ports.length,
        written: only?.size ?? ports.length,
        restores,
        full,
      },
      'synced proxy rules',
    );
  }
}
