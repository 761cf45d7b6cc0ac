/**
 * The informer handlers every owner of children (ReplicaSet of pods,
 * Deployment of ReplicaSets, Job, DaemonSet, StatefulSet of pods) wires up,
 * as kube-controller-manager's addPod/updatePod/deletePod:
 *
 * - a child with a controller ref enqueues its owner (if the owner is in the
 *   cache with that uid) and lowers the owner's expectations: an add or
 *   update observes a creation, a deletionTimestamp or delete a deletion;
 * - a child whose controller ref changed also enqueues the old owner;
 * - an orphan enqueues every owner whose selector matches it, so one of them
 *   adopts it; an orphan whose labels changed does the same.
 */
import { controllerRefOf, type KubeObject } from '../api/meta.js';
import type { Pod } from '../api/objects.js';
import { labelSelectorFromObject } from '../api/selectors.js';
import { availableAt } from '../api/types/pod-facts.js';
import { type Indexer, keyOf } from '../client/indexer.js';
import type { EventHandler } from '../client/informer.js';
import type { ControllerExpectations } from './expectations.js';

export interface ChildHandlerOptions<O extends KubeObject, C extends KubeObject> {
  ownerKind: string;
  owners: Indexer<O>;
  enqueue: (ownerKey: string) => void;
  expectations?: ControllerExpectations;
  /** Owners that may adopt an orphan; by default those whose spec.selector matches in its namespace. */
  ownersOf?: (child: C) => O[];
  /** Extra work on an update of an owned child (e.g. a requeue when it became ready). */
  onOwnedUpdate?: (old: C, cur: C, ownerKey: string) => void;
}

export function childEventHandler<O extends KubeObject, C extends KubeObject>(
  o: ChildHandlerOptions<O, C>,
): EventHandler<C> {
  const ownerKeyOf = (child: C): string | undefined => {
    const ref = controllerRefOf(child);
    if (!ref || ref.kind !== o.ownerKind) return undefined;
    const owner = o.owners.getByName(child.metadata.namespace, ref.name ?? '');
    return owner && owner.metadata.uid === ref.uid ? keyOf(owner) : undefined;
  };
  const ownersOf =
    o.ownersOf ??
    ((child: C) =>
      o.owners.byIndex('namespace', child.metadata.namespace ?? '').filter((owner) => {
        const sel = (owner.spec as { selector?: object } | undefined)?.selector;
        if (!sel) return false;
        try {
          return labelSelectorFromObject(sel).matches(child.metadata.labels ?? {});
        } catch {
          return false;
        }
      }));
  const enqueueOrphanOwners = (child: C) => {
    for (const owner of ownersOf(child)) o.enqueue(keyOf(owner));
  };
  return {
    onAdd: (child) => {
      const ownerKey = ownerKeyOf(child);
      if (child.metadata.deletionTimestamp) {
        if (ownerKey) {
          o.expectations?.deletionObserved(ownerKey, keyOf(child));
          o.enqueue(ownerKey);
        }
        return;
      }
      if (ownerKey) {
        o.expectations?.creationObserved(ownerKey);
        o.enqueue(ownerKey);
      } else if (!controllerRefOf(child)) enqueueOrphanOwners(child);
    },
    onUpdate: (old, cur) => {
      if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
      const oldKey = ownerKeyOf(old);
      const curKey = ownerKeyOf(cur);
      if (cur.metadata.deletionTimestamp && !old.metadata.deletionTimestamp && curKey)
        o.expectations?.deletionObserved(curKey, keyOf(cur));
      if (oldKey && oldKey !== curKey) o.enqueue(oldKey);
      if (curKey) {
        o.onOwnedUpdate?.(old, cur, curKey);
        o.enqueue(curKey);
        return;
      }
      const labelsChanged =
        JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {});
      if (!controllerRefOf(cur) && (labelsChanged || controllerRefOf(old))) enqueueOrphanOwners(cur);
    },
    onDelete: (child) => {
      const ownerKey = ownerKeyOf(child);
      if (!ownerKey) return;
      o.expectations?.deletionObserved(ownerKey, keyOf(child));
      o.enqueue(ownerKey);
    },
  };
}

/**
 * The handler of an owner's own informer (Job, DaemonSet, StatefulSet): a
 * change syncs the owner; a delete only forgets its expectations.
 */
export function ownerEventHandler<O extends KubeObject>(
  enqueue: (owner: O) => void,
  expectations: ControllerExpectations,
): EventHandler<O> {
  return {
    onAdd: (owner) => enqueue(owner),
    onUpdate: (_old, owner) => enqueue(owner),
    onDelete: (owner) => expectations.delete(keyOf(owner)),
  };
}

/**
 * An `onOwnedUpdate` for owners with spec.minReadySeconds: a pod that just
 * became ready becomes available minReadySeconds later, so its owner syncs
 * again then.
 */
export function requeueWhenAvailable<O extends KubeObject & { spec?: { minReadySeconds?: number } }>(
  owners: Indexer<O>,
  addAfter: (ownerKey: string, ms: number) => void,
): (old: Pod, cur: Pod, ownerKey: string) => void {
  return (old, cur, key) => {
    const minReady = owners.get(key)?.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && availableAt(old, minReady) === undefined && availableAt(cur, minReady))
      addAfter(key, minReady * 1000);
  };
}
