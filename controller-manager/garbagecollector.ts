/**
 * The garbage collector (`garbagecollector`): ownerReferences across every
 * kind, as Kubernetes' GC.
 *
 * It watches every resource (through the shared informers) and keys its
 * queue by object uid. For one uid, `sync`:
 * - object has the `orphan` finalizer and is being deleted: removes the
 *   ownerReference to it from each dependent, then the finalizer;
 * - object has the `foregroundDeletion` finalizer and is being deleted:
 *   deletes its dependents (they are queued and take the branch below) and
 *   removes the finalizer once no dependent with blockOwnerDeletion is left;
 * - object has ownerReferences: looks each owner up (cache by uid, then a
 *   live GET, since the cache may lag), and deletes the object when every
 *   owner is gone or waiting for its dependents, or drops the references to
 *   such owners while a live owner remains.
 * Deleting an object queues its dependents and owners, so background
 * deletion cascades and foreground deletion finishes; at start every object
 * with owners is queued, so dependents whose owners went while the collector
 * was down are collected too.
 *
 * Kinds beyond the built-in ones (custom resources) are found by discovery,
 * at start and every `discoveryResyncMs` as Kubernetes' collector resyncs
 * its monitors; each gets an informer of its own, stopped when the kind goes.
 */
import type { KubeObject, OwnerReference } from '../api/meta.js';
import { isNotFound, StatusError } from '../api/status.js';
import { discoverResources } from '../client/discovery.js';
import { keyOf, ownerUidIndex } from '../client/indexer.js';
import { SharedInformer } from '../client/informer.js';
import { ResourceClient, type ResourceRef } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

export const orphanFinalizer = 'orphan';
export const foregroundFinalizer = 'foregroundDeletion';

/** Kinds the collector neither watches nor collects, as Kubernetes' default ignored resources. */
const ignoredResources = new Set(['/events', 'events.k8s.io/events']);

type Propagation = 'Foreground' | 'Background' | 'Orphan';

interface Watched {
  rt: ResourceRef;
  informer: SharedInformer<KubeObject>;
  /** Stops the informer of a discovered kind (built-in kinds run for good). */
  stop?: AbortController;
}

interface Located {
  rt: ResourceRef;
  obj: KubeObject;
}

/** How often discovery is asked for kinds that came or went. */
export const discoveryResyncMs = 15_000;

/** What an owner reference points at: a live object, nothing, or a kind we cannot look up. */
type OwnerState = { state: 'present'; obj: KubeObject } | { state: 'absent' } | { state: 'unknown' };

export function groupOf(apiVersion: string | undefined): string {
  const v = apiVersion ?? '';
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

const uidIndex = 'garbagecollector/uid';
const byUid = (o: KubeObject) => (o.metadata.uid ? [o.metadata.uid] : []);
const uidOf = (r: OwnerReference) => r.uid ?? '';
const hasFinalizer = (obj: KubeObject, f: string) => (obj.metadata.finalizers ?? []).includes(f);
const refTo = (obj: KubeObject, uid: string) =>
  (obj.metadata.ownerReferences ?? []).find((r) => uidOf(r) === uid);

export class GarbageCollector extends QueueController {
  private readonly watched = new Map<string, Watched>();
  /** Owners confirmed gone; uids are never reused, so this only grows (bounded). */
  private readonly absentOwners = new Set<string>();
  /**
   * Dependents whose owner is of a kind not watched yet (a custom resource
   * discovery has not shown us), by the owner's `group/kind`: synced again
   * once that kind is watched, or its owner's going would never reach them.
   */
  private readonly awaitingKind = new Map<string, Set<string>>();
  /** Ends the wait for the next discovery early (an owner of an unknown kind was met). */
  private wakeDiscovery = () => {};

  constructor(ctx: ControllerContext) {
    super('garbagecollector', ctx);
    for (const rt of ctx.registry.all) {
      const gr = `${rt.group}/${rt.plural}`;
      if (ignoredResources.has(gr)) continue;
      const informer = this.informer<KubeObject>(rt.group ? `${rt.plural}.${rt.group}` : rt.plural, {
        indexers: { [uidIndex]: byUid },
      });
      this.watch(gr, rt, informer);
    }
  }

  private watch(gr: string, rt: ResourceRef, informer: SharedInformer<KubeObject>, stop?: AbortController) {
    this.watched.set(gr, { rt, informer, stop });
    informer.addEventHandler({
      onAdd: (obj) => this.observe(obj),
      onUpdate: (old, obj) => this.observe(obj, old),
      onDelete: (obj) => this.gone(obj),
    });
  }

  override async run(signal: AbortSignal): Promise<void> {
    await Promise.all([super.run(signal), this.followDiscovery(signal)]);
  }

  /** Watches the kinds discovery lists beyond the built-in ones, and stops watching those that went. */
  private async followDiscovery(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const found = (await discoverResources(this.ctx.rest, signal)).filter(
          (r) =>
            !r.plural.includes('/') &&
            ['list', 'watch', 'delete'].every((v) => r.verbs.includes(v)) &&
            !ignoredResources.has(`${r.group}/${r.plural}`),
        );
        const now = new Set(found.map((r) => `${r.group}/${r.plural}`));
        for (const [gr, w] of this.watched)
          if (w.stop && !now.has(gr)) {
            w.stop.abort();
            this.watched.delete(gr);
          }
        for (const r of found) {
          const gr = `${r.group}/${r.plural}`;
          if (this.watched.has(gr)) continue;
          const stop = new AbortController();
          // Ends with the collector or with the kind; a kind that goes takes its listener along.
          const onAbort = () => stop.abort();
          signal.addEventListener('abort', onAbort, { once: true });
          stop.signal.addEventListener('abort', () => signal.removeEventListener('abort', onAbort), {
            once: true,
          });
          const informer = new SharedInformer<KubeObject>({
            client: new ResourceClient<KubeObject>(this.ctx.rest, r),
            logger: this.log,
            indexers: { [uidIndex]: byUid },
            clock: this.ctx.clock,
          });
          this.watch(gr, r, informer, stop);
          informer.run(stop.signal).catch((err) => this.log.warn({ err, resource: gr }, 'informer stopped'));
          const waiting = this.awaitingKind.get(`${r.group}/${r.kind}`);
          this.awaitingKind.delete(`${r.group}/${r.kind}`);
          for (const uid of waiting ?? []) this.queue.add(uid);
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn({ err }, 'discovery failed; will retry');
      }
      const wake = new AbortController();
      const stop = () => wake.abort();
      signal.addEventListener('abort', stop, { once: true });
      this.wakeDiscovery = stop;
      await this.ctx.clock.sleep(discoveryResyncMs, wake.signal);
      signal.removeEventListener('abort', stop);
      // Woken early: at most one discovery a second all the same.
      await this.ctx.clock.sleep(1_000, signal);
    }
  }

  /** Remembers a dependent whose owner's kind is not watched, and asks discovery again soon. */
  private awaitKind(ref: OwnerReference, dependent: string): void {
    const key = `${groupOf(ref.apiVersion)}/${ref.kind ?? ''}`;
    if (this.awaitingKind.size > 1_000) this.awaitingKind.clear();
    const set = this.awaitingKind.get(key) ?? new Set<string>();
    if (set.size < 10_000) set.add(dependent);
    this.awaitingKind.set(key, set);
    this.wakeDiscovery();
  }

  private observe(obj: KubeObject, old?: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    const refs = obj.metadata.ownerReferences ?? [];
    const deleting = !!obj.metadata.deletionTimestamp;
    if (
      refs.length ||
      (deleting && (hasFinalizer(obj, orphanFinalizer) || hasFinalizer(obj, foregroundFinalizer)))
    )
      this.queue.add(uid);
    // A foreground-deleting owner waits on its dependents: tell it when one lets go or starts going.
    const now = new Set(refs.map((r) => uidOf(r)));
    for (const r of old?.metadata.ownerReferences ?? []) if (!now.has(uidOf(r))) this.queue.add(uidOf(r));
    if (deleting && !old?.metadata.deletionTimestamp) for (const r of refs) this.queue.add(uidOf(r));
  }

  private gone(obj: KubeObject): void {
    const uid = obj.metadata.uid;
    if (!uid) return;
    for (const d of this.dependentsOf(uid)) this.queue.add(d.obj.metadata.uid!);
    for (const r of obj.metadata.ownerReferences ?? []) this.queue.add(uidOf(r));
  }

  private dependentsOf(uid: string): Located[] {
    const out: Located[] = [];
    for (const { rt, informer } of this.watched.values())
      for (const obj of informer.store.byIndex(ownerUidIndex, uid)) out.push({ rt, obj });
    return out;
  }

  private cached(uid: string): Located | undefined {
    for (const { rt, informer } of this.watched.values()) {
      const [obj] = informer.store.byIndex(uidIndex, uid);
      if (obj) return { rt, obj };
    }
    return undefined;
  }

  private client(rt: ResourceRef, obj: KubeObject): ResourceClient<KubeObject> {
    return new ResourceClient<KubeObject>(this.ctx.rest, rt, obj.metadata.namespace);
  }

  async sync(uid: string): Promise<void> {
    const item = this.cached(uid);
    if (!item) return;
    const { obj } = item;
    if (obj.metadata.deletionTimestamp) {
      if (hasFinalizer(obj, orphanFinalizer)) await this.orphanDependents(item);
      else if (hasFinalizer(obj, foregroundFinalizer)) await this.deleteDependentsFirst(item);
      return;
    }
    if (obj.metadata.ownerReferences?.length) await this.attemptToDelete(item);
  }

  /** Orphan propagation: dependents lose their reference to the owner, then the owner goes. */
  private async orphanDependents(owner: Located): Promise<void> {
    const uid = owner.obj.metadata.uid!;
    for (const dep of this.dependentsOf(uid)) await this.dropReferences(dep, new Set([uid]));
    this.log.info({ owner: this.describe(owner) }, 'orphaned dependents');
    await this.removeFinalizer(owner, orphanFinalizer);
  }

  /** Foreground propagation: dependents go first; blocking ones hold the owner until they are gone. */
  private async deleteDependentsFirst(owner: Located): Promise<void> {
    const uid = owner.obj.metadata.uid!;
    const deps = this.dependentsOf(uid);
    for (const d of deps) if (!d.obj.metadata.deletionTimestamp) this.queue.add(d.obj.metadata.uid!);
    const blocking = deps.filter((d) => refTo(d.obj, uid)?.blockOwnerDeletion === true);
    if (blocking.length > 0) {
      this.log.debug(
        { owner: this.describe(owner), blocking: blocking.length },
        'waiting for blocking dependents',
      );
      return;
    }
    await this.removeFinalizer(owner, foregroundFinalizer);
  }

  private async attemptToDelete(item: Located): Promise<void> {
    const { obj } = item;
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const owner = await this.lookupOwner(ref, obj.metadata.namespace);
      if (owner.state === 'absent') dangling.push(ref);
      else if (owner.state === 'unknown') {
        this.awaitKind(ref, obj.metadata.uid!);
        solid.push(ref);
      } else if (owner.obj.metadata.deletionTimestamp && hasFinalizer(owner.obj, foregroundFinalizer))
        waiting.push(ref);
      else solid.push(ref);
    }
    if (solid.length > 0) {
      if (dangling.length || waiting.length)
        await this.dropReferences(item, new Set([...dangling, ...waiting].map((r) => uidOf(r))));
      return;
    }
    const deps = this.dependentsOf(obj.metadata.uid!);
    if (waiting.length > 0 && deps.length > 0) {
      // Our own dependents go first, and we keep blocking the owners meanwhile. Only when a
      // dependent is itself waiting on its dependents might that be a circle back to an
      // owner: then unblock the owners, as Kubernetes does.
      if (deps.some((d) => d.obj.metadata.deletionTimestamp && hasFinalizer(d.obj, foregroundFinalizer)))
        await this.unblock(item, new Set(waiting.map((r) => uidOf(r))));
      await this.deleteObject(item, 'Foreground');
      return;
    }
    const policy: Propagation = hasFinalizer(obj, orphanFinalizer)
      ? 'Orphan'
      : hasFinalizer(obj, foregroundFinalizer)
        ? 'Foreground'
        : 'Background';
    await this.deleteObject(item, policy);
  }

  private async lookupOwner(ref: OwnerReference, namespace: string | undefined): Promise<OwnerState> {
    if (this.absentOwners.has(uidOf(ref))) return { state: 'absent' };
    const cached = this.cached(uidOf(ref));
    if (cached) return { state: 'present', obj: cached.obj };
    const group = groupOf(ref.apiVersion);
    const rt =
      this.ctx.registry.byKind(group, ref.kind ?? '') ??
      [...this.watched.values()].find((w) => w.rt.group === group && w.rt.kind === ref.kind)?.rt;
    if (!rt) {
      this.log.warn({ ref }, 'owner of a kind this server does not serve; leaving its dependents alone');
      return { state: 'unknown' };
    }
    if (rt.namespaced && !namespace) return this.absent(uidOf(ref));
    try {
      const live = await new ResourceClient<KubeObject>(
        this.ctx.rest,
        rt,
        rt.namespaced ? namespace : undefined,
      ).get(ref.name ?? '');
      if (live.metadata.uid !== uidOf(ref)) return this.absent(uidOf(ref));
      return { state: 'present', obj: live };
    } catch (err) {
      if (isNotFound(err)) return this.absent(uidOf(ref));
      throw err;
    }
  }

  private absent(uid: string): OwnerState {
    if (this.absentOwners.size > 10_000) this.absentOwners.clear();
    this.absentOwners.add(uid);
    return { state: 'absent' };
  }

  private async deleteObject(item: Located, propagationPolicy: Propagation): Promise<void> {
    try {
      await this.client(item.rt, item.obj).delete(item.obj.metadata.name!, {
        propagationPolicy,
        preconditions: { uid: item.obj.metadata.uid },
      });
      this.log.info(
        { object: this.describe(item), propagationPolicy },
        'deleted an object whose owners are gone',
      );
    } catch (err) {
      // Gone already, or replaced by a namesake (the uid precondition failed).
      if (
        isNotFound(err) ||
        (err instanceof StatusError && err.code === 409 && /Precondition/.test(err.message))
      )
        return;
      throw err;
    }
  }

  /** Removes the references to `uids`; conditional on the cached resourceVersion. */
  private async dropReferences(item: Located, uids: Set<string>): Promise<void> {
    const refs = (item.obj.metadata.ownerReferences ?? []).filter((r) => !uids.has(uidOf(r)));
    await this.patchMeta(item, { ownerReferences: refs });
  }

  private async unblock(item: Located, uids: Set<string>): Promise<void> {
    const refs = (item.obj.metadata.ownerReferences ?? []).map((r) =>
      uids.has(uidOf(r)) && r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r,
    );
    await this.patchMeta(item, { ownerReferences: refs });
  }

  private async removeFinalizer(item: Located, finalizer: string): Promise<void> {
    const finalizers = (item.obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.patchMeta(item, { finalizers });
  }

  private async patchMeta(item: Located, meta: Record<string, unknown>): Promise<void> {
    try {
      await this.client(item.rt, item.obj).patch(item.obj.metadata.name!, 'merge', {
        metadata: { ...meta, resourceVersion: item.obj.metadata.resourceVersion },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private describe({ rt, obj }: Located): string {
    return `${rt.group ? `${rt.plural}.${rt.group}` : rt.plural} ${keyOf(obj)}`;
  }
}

export const newGarbageCollector = (ctx: ControllerContext) => new GarbageCollector(ctx);
