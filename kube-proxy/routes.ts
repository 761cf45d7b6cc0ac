/**
 * Pod-to-pod across nodes, host-gateway style (docs/architecture.md, Networks): this
 * node routes every other node's pod range (spec.podCIDR) to that node's
 * InternalIP, kept in step with the Node objects. Nodes whose address is
 * one of this host's own (several kubelets on one machine, as in tests and
 * `nkctl up --nodes`) need no route: their pod bridges are local already.
 * Our routes carry their own protocol number, so they are told apart from
 * anyone else's and `--cleanup` removes exactly them.
 */

import os from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { exec } from '../base/exec.js';
import type { Clock } from '../client/clock.js';
import type { SharedInformer } from '../client/informer.js';
import { Wakeup } from '../client/wakeup.js';

/** The `proto` of our routes in the kernel's table (an unassigned number). */
export const routeProto = '199';

export interface Route {
  cidr: string;
  via: string;
}

interface NodeObj extends KubeObject {
  spec?: { podCIDR?: string };
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** The routes this node needs: one per other node with a pod range and a remote InternalIP. */
export function desiredRoutes(nodes: NodeObj[], self: string, localAddresses: Set<string>): Route[] {
  const out: Route[] = [];
  for (const n of nodes) {
    if (n.metadata.name === self) continue;
    const cidr = n.spec?.podCIDR;
    const via = n.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
    if (!cidr || !via || !/^\d+\.\d+\.\d+\.\d+$/.test(via)) continue;
    if (via.startsWith('127.') || localAddresses.has(via)) continue;
    out.push({ cidr, via });
  }
  return out.sort((a, b) => a.cidr.localeCompare(b.cidr));
}

export function localAddresses(): Set<string> {
  return new Set(
    Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a?.family === 'IPv4')
      .map((a) => a!.address),
  );
}

export interface RouteTable {
  /** Our routes, as the kernel has them. */
  list(): Promise<Route[]>;
  replace(r: Route): Promise<void>;
  remove(cidr: string): Promise<void>;
}

const ip = async (args: string[]): Promise<string> => (await exec('ip', args)).stdout;

/** The host's main IPv4 table through `ip route`. */
export class ExecRouteTable implements RouteTable {
  async list(): Promise<Route[]> {
    const out = await ip(['-4', 'route', 'show', 'proto', routeProto]);
    return out
      .split('\n')
      .map((l) => /^(\S+) via (\S+)/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ cidr: m[1], via: m[2] }));
  }

  async replace(r: Route): Promise<void> {
    await ip(['route', 'replace', r.cidr, 'via', r.via, 'proto', routeProto]);
  }

  async remove(cidr: string): Promise<void> {
    await ip(['route', 'del', cidr, 'proto', routeProto]).catch(() => undefined);
  }
}

/**
 * True when the kernel refused a route because its gateway is not on a
 * directly connected network (a node reached through this host's default
 * gateway, as `nkctl up --nodes` containers reach the host's node).
 */
export function isOffLink(err: unknown): boolean {
  return /invalid gateway|network is unreachable/i.test(String((err as Error)?.message ?? err));
}

/**
 * Brings the table to `want`: adds or corrects what differs, removes our
 * routes nobody needs. A route whose gateway is off-link is left out
 * (`skipped`): traffic to that node's pods follows the default route.
 */
export async function syncRoutes(
  table: RouteTable,
  want: Route[],
): Promise<{ set: Route[]; removed: string[]; skipped: Route[] }> {
  const have = new Map((await table.list()).map((r) => [r.cidr, r.via]));
  const set: Route[] = [];
  const removed: string[] = [];
  const skipped: Route[] = [];
  for (const r of want)
    if (have.get(r.cidr) !== r.via) {
      try {
        await table.replace(r);
        set.push(r);
      } catch (err) {
        if (!isOffLink(err)) throw err;
        skipped.push(r);
      }
    }
  const wanted = new Set(want.map((r) => r.cidr));
  for (const cidr of have.keys())
    if (!wanted.has(cidr)) {
      await table.remove(cidr);
      removed.push(cidr);
    }
  return { set, removed, skipped };
}

export interface NodeRoutesOptions {
  nodes: SharedInformer;
  nodeName: string;
  table: RouteTable;
  clock: Clock;
  logger: Logger;
  /** Resync at least this often; default 30 s. */
  resyncMs?: number;
}

/** Keeps the routes in step with the Nodes: on every Node change, and on a timer. */
export class NodeRoutes {
  private readonly wakeup = new Wakeup();

  constructor(private readonly o: NodeRoutesOptions) {
    const poke = () => this.wakeup.poke();
    o.nodes.addEventHandler({ onAdd: poke, onUpdate: poke, onDelete: poke });
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.o.nodes.waitForSync(signal))) return;
    let failed = false;
    let lastSkipped = '';
    while (!signal.aborted) {
      try {
        const want = desiredRoutes(this.o.nodes.store.list() as NodeObj[], this.o.nodeName, localAddresses());
        const { set, removed, skipped } = await syncRoutes(this.o.table, want);
        if (set.length || removed.length)
          this.o.logger.info({ set, removed }, 'pod routes to other nodes updated');
        const skippedNow = JSON.stringify(skipped);
        if (skipped.length && skippedNow !== lastSkipped)
          this.o.logger.info(
            { skipped },
            'no route for these nodes: their address is off-link, so the default route reaches them',
          );
        lastSkipped = skippedNow;
        failed = false;
      } catch (err) {
        failed = true;
        this.o.logger.warn({ err }, 'updating pod routes failed; will retry');
      }
      await this.wakeup.wait(this.o.clock, failed ? 1000 : (this.o.resyncMs ?? 30_000), signal);
    }
  }
}
