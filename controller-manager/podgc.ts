/**
 * The pod garbage collector (`podgc`): one pass every 20 s (and soon after
 * a Node goes) over the cached pods that
 * - deletes terminated pods (Succeeded/Failed) beyond
 *   `--terminated-pod-gc-threshold`, oldest first;
 * - force-deletes pods bound to a Node that no longer exists (confirmed by a
 *   live GET, after a 40 s quarantine), marking them Failed with a
 *   DisruptionTarget condition first;
 * - force-deletes terminating pods that were never scheduled.
 */
import type { Pod } from '../api/objects.js';
import { isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

export const gcCheckPeriodMs = 20_000;
export const quarantineMs = 40_000;
const passKey = 'podgc';

const terminated = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export class PodGCController extends QueueController {
  private readonly pods;
  private readonly nodes;
  private readonly podClient: ResourceClient<Pod>;
  private readonly nodeClient: ResourceClient;
  /** Node names not in the cache, and since when we have seen them missing. */
  private readonly missingSince = new Map<string, number>();

  constructor(ctx: ControllerContext) {
    super('podgc', ctx);
    this.podClient = new ResourceClient<Pod>(ctx.rest, ctx.registry.get('', 'v1', 'pods')!);
    this.nodeClient = new ResourceClient(ctx.rest, ctx.registry.get('', 'v1', 'nodes')!);
    this.pods = this.informer<Pod>('pods');
    this.nodes = this.informer('nodes');
    this.nodes.addEventHandler({ onDelete: () => this.queue.addAfter(passKey, quarantineMs + 1) });
    this.queue.add(passKey);
  }

  async sync(): Promise<void> {
    this.queue.addAfter(passKey, gcCheckPeriodMs);
    const pods = this.pods.store.list();
    await this.gcTerminated(pods);
    await this.gcOrphaned(pods);
    for (const p of pods)
      if (p.metadata.deletionTimestamp && !p.spec?.nodeName)
        await this.forceDelete(p, 'unscheduled and terminating');
  }

  private async gcTerminated(pods: Pod[]): Promise<void> {
    const threshold = this.ctx.config.terminatedPodGCThreshold;
    if (threshold <= 0) return;
    const done = pods.filter((p) => terminated(p) && !p.metadata.deletionTimestamp);
    const excess = done.length - threshold;
    if (excess <= 0) return;
    done.sort((a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''),
    );
    this.log.info({ terminated: done.length, threshold, deleting: excess }, 'too many terminated pods');
    for (const p of done.slice(0, excess)) await this.forceDelete(p, 'terminated beyond the threshold');
  }

  private async gcOrphaned(pods: Pod[]): Promise<void> {
    const now = this.ctx.clock.now();
    const missing = new Set<string>();
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (node && !this.nodes.store.get(node)) missing.add(node);
    }
    for (const n of this.missingSince.keys()) if (!missing.has(n)) this.missingSince.delete(n);
    for (const node of missing) {
      const since = this.missingSince.get(node) ?? now;
      this.missingSince.set(node, since);
      if (now - since < quarantineMs) {
        this.queue.addAfter(passKey, since + quarantineMs - now + 1);
        continue;
      }
      if (!(await this.nodeGone(node))) continue;
      for (const p of pods.filter((x) => x.spec?.nodeName === node)) {
        await this.markFailed(p);
        await this.forceDelete(p, `bound to node ${node}, which no longer exists`);
      }
    }
  }

  private async nodeGone(name: string): Promise<boolean> {
    try {
      await this.nodeClient.get(name);
      return false;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
  }

  private async markFailed(p: Pod): Promise<void> {
    if (terminated(p)) return;
    const next = structuredClone(p);
    const conditions = (next.status?.conditions ?? []).filter((c) => c.type !== 'DisruptionTarget');
    conditions.push({
      type: 'DisruptionTarget',
      status: 'True',
      reason: 'DeletionByPodGC',
      message: 'PodGC: node no longer exists',
      lastTransitionTime: metaTime(this.ctx.clock.now()),
    });
    next.status = { ...next.status, phase: 'Failed', conditions };
    try {
      await this.podClient.in(p.metadata.namespace).updateStatus(next);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async forceDelete(p: Pod, why: string): Promise<void> {
    try {
      await this.podClient
        .in(p.metadata.namespace)
        .delete(p.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid: p.metadata.uid } });
      this.log.info({ pod: `${p.metadata.namespace}/${p.metadata.name}`, why }, 'garbage-collected pod');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const newPodGCController = (ctx: ControllerContext) => new PodGCController(ctx);
