/**
 * The pod workers: which pods to sync and when. Pods bound to this node
 * come from an informer (fieldSelector spec.nodeName=<node>); each is keyed
 * by uid in one rate-limited workqueue, so one pod is never synced twice at
 * once. A pod is synced when its object changes, when a container of it
 * changes state in the runtime (a relist every second, as Kubernetes'
 * PLEG), when a probe result changes, when a backoff ends, and every
 * `resyncMs` (so file volumes follow their sources).
 *
 * Static pods (static-pods.ts) come from `setStaticPods` instead; their
 * mirror pods in the API are kept in step here and are never run
 * themselves, and a static pod's status is written to its mirror.
 *
 * Status is written only when it differs from what the API holds (and from
 * what was last written). After a graceful deletion has stopped everything,
 * the pod object is deleted for good (gracePeriodSeconds=0, uid
 * precondition). Containers whose pod is gone are stopped and removed.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { metaTime } from '../api/time.js';
import type { Pod, PodStatus } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';
import type { SharedInformer } from '../client/informer.js';
import type { ResourceClient } from '../client/resource.js';
import { ItemExponentialFailureRateLimiter, RateLimitingQueue, runWorkers } from '../client/workqueue.js';
import { mergeTransitions, statusChanged } from './pod-status.js';
import type { PodSyncer } from './pod-sync.js';
import { Labels, type Runtime } from './runtime/runtime.js';
import { ConfigAnnotations, isMirrorPod, mirrorPodOf } from './static-pods.js';

export interface PodWorkersOptions {
  node: string;
  pods: ResourceClient<Pod & KubeObject>;
  informer: SharedInformer<Pod & KubeObject>;
  syncer: PodSyncer;
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  workers?: number;
  /** The Node, for mirror pods' owner reference; without it static pods get no mirror. */
  nodeRef?: () => Promise<{ name: string; uid: string } | undefined>;
  /** Every pod is synced at least this often; default 10 s. */
  resyncMs?: number;
  /** The runtime is relisted this often to notice container changes; default 1 s. */
  relistMs?: number;
}

export class PodWorkers {
  private readonly pods = new Map<string, Pod>();
  /** Static pods by uid (also in `pods`), with the status last computed for each. */
  private readonly statics = new Map<string, Pod>();
  private readonly staticStatus = new Map<string, PodStatus>();
  /** Mirror pods in the API, by namespace/name. */
  private readonly mirrors = new Map<string, Pod>();
  private readonly queue: RateLimitingQueue<string>;
  private readonly lastWritten = new Map<string, string>();
  /** Container id → state at the last relist. */
  private seen = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly o: PodWorkersOptions) {
    this.log = o.logger.child({ part: 'pod-workers' });
    this.queue = new RateLimitingQueue<string>({
      clock: o.clock,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseMs: 500, maxMs: 30_000 }),
    });
    o.informer.addEventHandler({
      onAdd: (pod) => (isMirrorPod(pod) ? this.mirrorChanged(pod, false) : this.upsert(pod)),
      onUpdate: (old, pod) => {
        if (isMirrorPod(pod)) return this.mirrorChanged(pod, false);
        // Our own status writes come back as updates; only other changes need a sync.
        if (differsBeyondStatus(old, pod)) this.upsert(pod);
        else this.pods.set(pod.metadata?.uid ?? '', pod);
      },
      onDelete: (pod) => {
        if (isMirrorPod(pod)) return this.mirrorChanged(pod, true);
        const uid = pod.metadata?.uid ?? '';
        this.pods.delete(uid);
        this.queue.add(uid);
      },
    });
  }

  private upsert(pod: Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.pods.set(uid, pod);
    this.queue.add(uid);
  }

  /** Replaces the static pods with those the manifest folder holds now. */
  setStaticPods(pods: Pod[]): void {
    const next = new Map(pods.map((p) => [p.metadata?.uid ?? '', p]));
    for (const uid of this.statics.keys())
      if (!next.has(uid)) {
        this.statics.delete(uid);
        this.pods.delete(uid);
        this.queue.add(uid);
      }
    for (const [uid, pod] of next)
      if (!this.statics.has(uid)) {
        this.statics.set(uid, pod);
        this.upsert(pod);
      }
    // Mirrors whose static pod is gone are deleted by the sync of any name they share, or here.
    for (const key of this.mirrors.keys()) this.queue.add(`mirror:${key}`);
  }

  private mirrorChanged(pod: Pod, deleted: boolean): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (deleted) {
      this.mirrors.delete(key);
      this.lastWritten.delete(pod.metadata?.uid ?? '');
    } else this.mirrors.set(key, pod);
    // A static pod of that name syncs its mirror and writes its status to it.
    const owner = [...this.statics.values()].find(
      (p) => `${p.metadata?.namespace}/${p.metadata?.name}` === key,
    );
    this.queue.add(owner ? (owner.metadata?.uid ?? '') : `mirror:${key}`);
  }

  /** Asks for a sync of pod `uid` (probe results, backoff ends). */
  enqueue(uid: string, afterMs = 0): void {
    this.queue.addAfter(uid, afterMs);
  }

  /** Pods this kubelet runs now, by uid. */
  get running(): ReadonlyMap<string, Pod> {
    return this.pods;
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.o.informer.waitForSync(signal))) return;
    this.log.info({ pods: this.pods.size }, 'pod informer synced; starting pod workers');
    await Promise.all([
      runWorkers(this.queue, this.o.workers ?? 10, (uid) => this.process(uid), { signal, logger: this.log }),
      this.relistLoop(signal),
      this.resyncLoop(signal),
    ]);
  }

  private async process(uid: string): Promise<void> {
    if (uid.startsWith('mirror:')) {
      await this.syncMirror(uid.slice('mirror:'.length));
      return;
    }
    const pod = this.pods.get(uid);
    if (!pod) {
      await this.o.syncer.cleanup(uid);
      this.lastWritten.delete(uid);
      this.staticStatus.delete(uid);
      return;
    }
    if (this.statics.has(uid)) return this.processStatic(uid, pod);
    const result = await this.o.syncer.sync(pod);
    if (result.status) await this.writeStatus(pod, result.status);
    if (result.finished) await this.deleteFinal(pod);
    if (result.requeueAfterMs !== undefined) this.queue.addAfter(uid, Math.max(100, result.requeueAfterMs));
  }

  /** A static pod runs from its own last status; what the API sees is its mirror's. */
  private async processStatic(uid: string, pod: Pod): Promise<void> {
    const result = await this.o.syncer.sync({ ...pod, status: this.staticStatus.get(uid) ?? {} });
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const mirror = await this.syncMirror(key);
    if (result.status) {
      const now = metaTime(this.o.clock.now());
      this.staticStatus.set(uid, mergeTransitions(result.status, this.staticStatus.get(uid), now));
      if (mirror) await this.writeStatus(pod, result.status, mirror);
    }
    if (result.requeueAfterMs !== undefined) this.queue.addAfter(uid, Math.max(100, result.requeueAfterMs));
  }

  /**
   * Keeps the mirror of namespace/name in step with the static pod of that
   * name: created when missing, replaced when it mirrors another version or
   * is being deleted, deleted when no static pod has the name. Returns the
   * mirror as the cache holds it, if it is current.
   */
  private async syncMirror(key: string): Promise<Pod | undefined> {
    const [ns, name] = key.split('/');
    const pod = [...this.statics.values()].find(
      (p) => p.metadata?.namespace === ns && p.metadata?.name === name,
    );
    const mirror = this.mirrors.get(key);
    const hash = pod?.metadata?.uid;
    const current =
      mirror &&
      pod &&
      mirror.metadata?.annotations?.[ConfigAnnotations.mirror] === hash &&
      !mirror.metadata?.deletionTimestamp;
    if (current) return mirror;
    const client = this.o.pods.in(ns);
    if (mirror) {
      try {
        await client.delete(name, { gracePeriodSeconds: 0, preconditions: { uid: mirror.metadata?.uid } });
        this.log.info(
          { pod: key },
          pod ? 'replacing a stale mirror pod' : 'deleted the mirror of a removed static pod',
        );
      } catch (err) {
        if (!(err instanceof StatusError && (err.code === 404 || err.code === 409))) throw err;
      }
      this.mirrors.delete(key);
    }
    if (!pod) return undefined;
    const nodeRef = await this.o.nodeRef?.();
    if (!nodeRef) return undefined;
    try {
      await client.create(mirrorPodOf(pod, nodeRef));
      this.log.info({ pod: key }, 'created mirror pod');
    } catch (err) {
      // A mirror the cache has not shown yet: its event brings it here again.
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    }
    return undefined;
  }

  private async writeStatus(pod: Pod, computed: PodStatus, target?: Pod): Promise<void> {
    // Keyed by the object written to: a new mirror needs the status again.
    const uid = (target ?? pod).metadata?.uid ?? '';
    const current = target ?? this.pods.get(uid) ?? pod;
    const now = metaTime(this.o.clock.now());
    const status = mergeTransitions(computed, current.status, now);
    const text = JSON.stringify(status);
    if (!statusChanged(status, pick(current.status, status)) || this.lastWritten.get(uid) === text) return;
    try {
      await this.o.pods
        .in(pod.metadata?.namespace ?? 'default')
        .patch(pod.metadata?.name ?? '', 'merge', { status }, { subresource: 'status' });
      this.lastWritten.set(uid, text);
      this.log.debug(
        { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, phase: status.phase },
        'pod status written',
      );
    } catch (err) {
      if (err instanceof StatusError && err.code === 404) return;
      throw err;
    }
  }

  private async deleteFinal(pod: Pod): Promise<void> {
    const name = pod.metadata?.name ?? '';
    try {
      await this.o.pods.in(pod.metadata?.namespace ?? 'default').delete(name, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata?.uid },
      });
      this.log.info({ pod: `${pod.metadata?.namespace}/${name}` }, 'pod terminated; deleted its object');
    } catch (err) {
      // Gone already, or a new pod of the same name: nothing of ours to delete.
      if (err instanceof StatusError && (err.code === 404 || err.code === 409)) return;
      throw err;
    }
  }

  /** Notices containers that started, died or vanished, and pods that exist only in the runtime. */
  private async relistLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const list = await this.o.runtime.listContainers({ [Labels.node]: this.o.node });
        const now = new Map<string, string>();
        const touched = new Set<string>();
        for (const c of list) {
          const uid = c.labels[Labels.podUID] ?? '';
          now.set(c.id, `${uid} ${c.state}`);
          if (this.seen.get(c.id) !== `${uid} ${c.state}`) touched.add(uid);
          if (!this.pods.has(uid)) touched.add(uid);
        }
        for (const [id, was] of this.seen) if (!now.has(id)) touched.add(was.split(' ')[0]);
        this.seen = now;
        for (const uid of touched) if (uid) this.queue.add(uid);
      } catch (err) {
        this.log.warn({ err }, 'relisting containers failed');
      }
      await this.o.clock.sleep(this.o.relistMs ?? 1000, signal);
    }
  }

  private async resyncLoop(signal: AbortSignal): Promise<void> {
    const every = this.o.resyncMs ?? 10_000;
    while (!signal.aborted) {
      await this.o.clock.sleep(every, signal);
      for (const uid of this.pods.keys()) this.queue.add(uid);
    }
  }
}

/** Whether a pod changed in anything but status (and the bookkeeping that moves with every write). */
function differsBeyondStatus(a: Pod, b: Pod): boolean {
  if (a.metadata?.uid !== b.metadata?.uid) return true;
  const strip = (p: Pod) => {
    const { resourceVersion: _rv, managedFields: _mf, ...meta } = p.metadata ?? {};
    return JSON.stringify({ meta, spec: p.spec });
  };
  return strip(a) !== strip(b);
}

/** The fields of `status` that `like` has: the part of the API's status the kubelet writes. */
function pick(status: PodStatus | undefined, like: PodStatus): PodStatus | undefined {
  if (!status) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(like)) out[k] = (status as Record<string, unknown>)[k];
  return out as PodStatus;
}
