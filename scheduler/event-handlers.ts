/**
 * Informer handlers that keep the scheduler cache and queue in step with
 * the cluster: bound pods go to the cache, pending pods of this scheduler to
 * the queue, and every change that could make a rejected pod fit is a
 * cluster event for the queue.
 */
import type { KubeObject } from '../api/meta.js';
import type { Node, Pod } from '../api/objects.js';
import type { EventHandler } from '../client/informer.js';
import type { SchedulerCache } from './cache.js';
import { PodInfo } from './nodeinfo.js';
import type { Nominator } from './nominator.js';
import type { SchedulingQueue } from './queue.js';
import { isTerminal, podKey } from './types.js';

export interface HandlerDeps {
  cache: SchedulerCache;
  queue: SchedulingQueue;
  nominator: Nominator;
  schedulerName: string;
}

const assigned = (p: Pod) => !!p.spec?.nodeName;
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function podHandler({ cache, queue, nominator, schedulerName }: HandlerDeps): EventHandler<Pod> {
  const responsible = (p: Pod) =>
    (p.spec?.schedulerName || 'default-scheduler') === schedulerName &&
    !isTerminal(p) &&
    !p.metadata.deletionTimestamp &&
    !(p.spec?.schedulingGates?.length ?? 0);
  const forget = (p: Pod) => {
    queue.delete(podKey(p));
    nominator.remove(podKey(p));
  };
  // A pod nominated by an earlier preemption (perhaps by another scheduler process) keeps its room.
  const nominate = (p: Pod) => {
    const node = p.status?.nominatedNodeName;
    if (node && nominator.nodeFor(podKey(p)) !== node) nominator.add(new PodInfo(p), node);
  };
  return {
    onAdd(pod) {
      if (assigned(pod)) {
        cache.addPod(pod);
        queue.moveOnEvent('PodAdd');
      } else if (responsible(pod)) {
        queue.add(pod);
        nominate(pod);
      }
    },
    onUpdate(old, pod) {
      if (assigned(pod)) {
        if (!assigned(old)) forget(pod);
        const wasCounted = cache.hasPod(podKey(pod));
        cache.addPod(pod);
        if (isTerminal(pod) && !isTerminal(old)) queue.moveOnEvent('PodDelete');
        else if (!wasCounted) queue.moveOnEvent('PodAdd');
        else if (!same(old.metadata.labels, pod.metadata.labels)) queue.moveOnEvent('PodUpdate');
      } else if (responsible(pod)) {
        queue.update(pod);
        nominate(pod);
      } else forget(pod);
    },
    onDelete(pod) {
      if (assigned(pod)) {
        cache.removePod(podKey(pod));
        queue.moveOnEvent('PodDelete');
      }
      forget(pod);
    },
  };
}

/** What of a Node can change whether a pod fits it. */
function schedulingView(n: Node): unknown {
  return [n.metadata.labels, n.spec?.taints, n.spec?.unschedulable, n.status?.allocatable];
}

export function nodeHandler({ cache, queue }: HandlerDeps): EventHandler<Node> {
  return {
    onAdd(node) {
      cache.addNode(node);
      queue.moveOnEvent('NodeAdd');
    },
    onUpdate(old, node) {
      cache.addNode(node);
      if (!same(schedulingView(old), schedulingView(node))) queue.moveOnEvent('NodeUpdate');
    },
    onDelete(node) {
      cache.removeNode(node.metadata.name ?? '');
    },
  };
}

export function namespaceHandler({ cache, queue }: HandlerDeps): EventHandler<KubeObject> {
  return {
    onAdd(ns) {
      cache.setNamespace(ns.metadata.name ?? '', ns.metadata.labels ?? {});
    },
    onUpdate(old, ns) {
      cache.setNamespace(ns.metadata.name ?? '', ns.metadata.labels ?? {});
      if (!same(old.metadata.labels, ns.metadata.labels)) queue.moveOnEvent('NamespaceChange');
    },
    onDelete(ns) {
      cache.setNamespace(ns.metadata.name ?? '', undefined);
    },
  };
}
