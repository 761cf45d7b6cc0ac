/**
 * The Job controller: runs up to `parallelism` pods until `completions`
 * succeed (each index 0..completions-1 once, for Indexed jobs), replaces
 * failed pods after an exponential backoff, fails the job after
 * backoffLimit failures or activeDeadlineSeconds, stops pods while
 * suspended, and writes status with Complete/Failed conditions. Creates go
 * through expectations and slow-start batches like the ReplicaSet's.
 * Deleting finished jobs after ttlSecondsAfterFinished is ttlafterfinished.ts.
 */
import { newControllerRef } from '../api/meta.js';
import type { Job, Pod } from '../api/objects.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { stableJson } from '../api/stable-json.js';
import { compareForDeletion } from '../api/types/pod-facts.js';
import { keyOf } from '../client/indexer.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { childEventHandler, ownerEventHandler } from './childhandlers.js';
import { type ControllerContext, QueueController } from './controller.js';
import { ControllerExpectations, createExpected, deleteExpected } from './expectations.js';
import {
  backoffUntil,
  complete,
  completionIndexAnnotation,
  countPods,
  failure,
  finishedCondition,
  isIndexed,
  jobStatus,
  missingIndexes,
  type PodCounts,
  wantActive,
} from './job-util.js';
import {
  claimObjects,
  clientFor,
  type MetaPatcher,
  type PodControl,
  type PodWriterOptions,
  podFromTemplate,
  podWriters,
} from './podcontrol.js';
import { burstReplicas } from './replicaset.js';

export interface JobControllerOptions extends PodWriterOptions {
  client?: ResourceClient<Job>;
}

export class JobController extends QueueController {
  readonly expectations: ControllerExpectations;
  readonly jobs: SharedInformer<Job>;
  readonly pods: SharedInformer<Pod>;
  private readonly podControl: PodControl;
  private readonly podPatcher: MetaPatcher<Pod>;
  private readonly client: ResourceClient<Job>;

  constructor(ctx: ControllerContext, opts: JobControllerOptions = {}) {
    super('job', ctx);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.client = opts.client ?? clientFor<Job>(ctx, 'jobs');
    ({ podControl: this.podControl, podPatcher: this.podPatcher } = podWriters(ctx, 'job-controller', opts));
    this.jobs = this.informer<Job>('jobs');
    this.pods = this.informer<Pod>('pods');
    this.jobs.addEventHandler(ownerEventHandler((j) => this.enqueue(j), this.expectations));
    this.pods.addEventHandler(
      childEventHandler<Job, Pod>({
        ownerKind: 'Job',
        owners: this.jobs.store,
        enqueue: (k) => this.enqueue(k),
        expectations: this.expectations,
      }),
    );
  }

  async sync(key: string): Promise<void> {
    const job = this.jobs.store.get(key);
    if (!job) {
      this.expectations.delete(key);
      return;
    }
    if (finishedCondition(job) || job.metadata.deletionTimestamp) return;
    const pods = await claimObjects<Pod>({
      owner: job,
      ref: newControllerRef(job, 'batch/v1', 'Job'),
      selector: labelSelectorFromObject(job.spec?.selector),
      objects: this.pods.store.byIndex('namespace', job.metadata.namespace ?? ''),
      patcher: this.podPatcher,
      log: this.log,
    });
    const now = this.ctx.clock.now();
    const counts = countPods(job, pods);
    const failed = failure(job, counts, now);
    let thrown: unknown;
    let finished: Parameters<typeof jobStatus>[3];
    if (failed) {
      finished = { type: 'Failed', ...failed };
      await this.deleteActive(key, job, counts.active, counts.active.length).catch((e) => {
        thrown = e;
      });
    } else if (complete(job, counts)) {
      finished = {
        type: 'Complete',
        reason: 'CompletionsReached',
        message: 'Reached expected number of succeeded pods',
      };
    } else if (this.expectations.satisfied(key)) {
      try {
        await this.manage(key, job, counts, now);
      } catch (err) {
        thrown = err;
      }
    }
    const status = jobStatus(job, counts, now, finished);
    if (finished) {
      const type = finished.type === 'Complete' ? 'Normal' : 'Warning';
      this.ctx
        .recorder('job-controller')
        .event(
          job,
          type,
          finished.type === 'Complete' ? 'Completed' : finished.reason,
          finished.type === 'Complete' ? 'Job completed' : finished.message,
        );
    }
    if (stableJson(job.status ?? {}) !== stableJson(status))
      await this.client.in(job.metadata.namespace).updateStatus({ ...structuredClone(job), status });
    const ads = job.spec?.activeDeadlineSeconds;
    if (!finished && ads !== undefined) {
      const start = Date.parse(status.startTime ?? '');
      this.queue.addAfter(key, Math.max(0, start + ads * 1000 - now) + 1);
    }
    if (thrown) throw thrown;
  }

  private async manage(key: string, job: Job, c: PodCounts, now: number): Promise<void> {
    const want = wantActive(job, c);
    const active = c.active.length;
    if (active > want) return this.deleteActive(key, job, c.active, active - want);
    if (active === want) return;
    const until = backoffUntil(c.failed);
    if (until > now) {
      this.queue.addAfter(key, until - now);
      return;
    }
    const n = Math.min(want - active, burstReplicas);
    const indexes = isIndexed(job) ? missingIndexes(job, c, n) : [];
    const count = isIndexed(job) ? indexes.length : n;
    if (count === 0) return;
    this.expectations.expectCreations(key, count);
    this.log.info({ job: key, active, want, creating: count }, 'too few active pods');
    const ref = newControllerRef(job, 'batch/v1', 'Job');
    await createExpected(this.expectations, key, count, (i) =>
      this.podControl.createPod(this.newPod(job, ref, isIndexed(job) ? indexes[i] : undefined), job),
    );
  }

  private newPod(job: Job, ref: ReturnType<typeof newControllerRef>, index?: number): Pod {
    if (index === undefined) return podFromTemplate(job.spec?.template, job, ref);
    const pod = podFromTemplate(job.spec?.template, job, ref, {
      generateName: `${job.metadata.name}-${index}-`,
      labels: { [completionIndexAnnotation]: String(index) },
    });
    pod.metadata.annotations = {
      ...(pod.metadata.annotations ?? {}),
      [completionIndexAnnotation]: String(index),
    };
    const spec = pod.spec!;
    spec.hostname ??= `${job.metadata.name}-${index}`;
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      c.env = [...(c.env ?? []), { name: 'JOB_COMPLETION_INDEX', value: String(index) }];
    return pod;
  }

  private async deleteActive(key: string, job: Job, active: Pod[], n: number): Promise<void> {
    if (n <= 0) return;
    const victims = [...active].sort(compareForDeletion).slice(0, n);
    this.expectations.expectDeletions(key, victims.map(keyOf));
    await deleteExpected(this.expectations, key, victims, (p) =>
      this.podControl.deletePod(p.metadata.namespace ?? '', p.metadata.name!, job),
    );
  }
}
