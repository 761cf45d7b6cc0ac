/**
 * The TTL-after-finished controller: deletes a Job (and, in the background,
 * its pods) ttlSecondsAfterFinished after it completed or failed, and
 * re-checks with `queue.addAfter` until then.
 */

import type { Job } from '../api/objects.js';
import { isNotFound } from '../api/status.js';
import { splitKey } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';
import { finishedCondition } from './job-util.js';
import { clientFor } from './podcontrol.js';

/** When a finished job with a TTL expires (ms), or undefined. */
export function expiresAt(job: Job): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  const done = finishedCondition(job);
  if (ttl === undefined || !done || job.metadata.deletionTimestamp) return undefined;
  const at = Date.parse(job.status?.completionTime ?? done.lastTransitionTime ?? '');
  return Number.isNaN(at) ? undefined : at + ttl * 1000;
}

export class TTLAfterFinishedController extends QueueController {
  readonly jobs: SharedInformer<Job>;
  private readonly client: ResourceClient<Job>;

  constructor(ctx: ControllerContext, opts: { client?: ResourceClient<Job> } = {}) {
    super('ttl-after-finished', ctx);
    this.client = opts.client ?? clientFor<Job>(ctx, 'jobs');
    this.jobs = this.informer<Job>('jobs');
    const maybe = (j: Job) => {
      if (expiresAt(j) !== undefined) this.enqueue(j);
    };
    this.jobs.addEventHandler({ onAdd: maybe, onUpdate: (_o, j) => maybe(j) });
  }

  async sync(key: string): Promise<void> {
    const job = this.jobs.store.get(key);
    if (!job) return;
    const at = expiresAt(job);
    if (at === undefined) return;
    const now = this.ctx.clock.now();
    if (at > now) {
      this.queue.addAfter(key, at - now);
      return;
    }
    const { namespace, name } = splitKey(key);
    this.log.info({ job: key }, 'deleting job after its TTL');
    try {
      await this.client.in(namespace).delete(name, {
        propagationPolicy: 'Background',
        preconditions: { uid: job.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
