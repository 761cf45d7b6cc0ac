/**
 * Hollow nodes: kubelets that register real Node objects, renew their Leases
 * and report the pods bound to them as Running and Ready, without running
 * any container (kubemark's hollow kubelet). One process can stand in for
 * thousands of nodes, so the scheduler and the controllers can be tested and
 * measured at scale against the real apiserver and etcd.
 *
 * Contract:
 * - Each node `${namePrefix}${i}` (i from `firstIndex`) is registered Ready
 *   with the given capacity, labels and taints; one that already exists is
 *   taken over (labels, taints and status rewritten).
 * - Each node's Lease in kube-node-lease is renewed every `renewIntervalMs`
 *   (10 s), and its Ready condition's heartbeat every `statusIntervalMs`
 *   (5 min), as the kubelet does.
 * - A pod bound to one of these nodes is reported Running with every
 *   container running and ready and a pod IP from the node's fake range;
 *   once it has a deletionTimestamp it is deleted with grace 0 (its
 *   "containers" stop at once). Pods of other nodes are ignored.
 * - `runHollowNodes` resolves once `signal` aborts and every loop stopped.
 *   It never deletes its Nodes: a kubelet that stops leaves its Node to the
 *   node lifecycle controller.
 */
import type { Logger } from 'pino';
import type { Lease, Node, Pod } from '../api/objects.js';
import { isAlreadyExists, isConflict, isNotFound } from '../api/status.js';
import { microTime } from '../api/time.js';
import type { LeaseSpec } from '../api/types/coordination.js';
import { builtinRegistry } from '../api/types/index.js';
import type { Taint } from '../api/types/node.js';
import { exponentialBackoff } from '../client/backoff.js';
import { type Clock, realClock } from '../client/clock.js';
import { keyOf, splitKey } from '../client/indexer.js';
import { SharedInformer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import type { RestClient } from '../client/rest.js';
import { RateLimitingQueue, runWorkers } from '../client/workqueue.js';
import {
  type HollowCapacity,
  hollowNode,
  hollowNodeIP,
  hollowPodRange,
  isReportedRunning,
  PodIPAllocator,
  refreshedConditions,
  runningPodStatus,
} from './hollow-status.js';

export interface HollowNodesOptions {
  rest: RestClient;
  count: number;
  namePrefix: string;
  /** Index of the first node (its name suffix and address); default 0. */
  firstIndex?: number;
  capacity: HollowCapacity;
  labels?: Record<string, string>;
  taints?: Taint[];
  logger: Logger;
  signal: AbortSignal;
  clock?: Clock;
  /** Lease renewal period; default 10 s. */
  renewIntervalMs?: number;
  /** leaseDurationSeconds written on the Leases; default 40. */
  leaseDurationSeconds?: number;
  /** Node status heartbeat period; default 5 min. */
  statusIntervalMs?: number;
  /** Concurrent pod status writers; default 16. */
  workers?: number;
  /** Called once every node is registered. */
  onRegistered?(names: string[]): void;
}

interface HollowNodeState {
  name: string;
  index: number;
  ip: string;
  ips: PodIPAllocator;
  node: Node;
  lease?: Lease;
}

const resource = (plural: string, group = '') => {
  const rt = builtinRegistry.get(group, 'v1', plural);
  if (!rt) throw new Error(`the registry has no ${plural}`);
  return rt;
};

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function runHollowNodes(opts: HollowNodesOptions): Promise<void> {
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error('hollow nodes: count must be >= 1');
  const o = {
    firstIndex: 0,
    renewIntervalMs: 10_000,
    leaseDurationSeconds: 40,
    statusIntervalMs: 300_000,
    workers: 16,
    ...opts,
    clock: opts.clock ?? realClock,
  };
  const { rest, logger: log, signal, clock } = o;
  const nodes = new ResourceClient<Node>(rest, resource('nodes'));
  const leases = new ResourceClient<Lease>(
    rest,
    resource('leases', 'coordination.k8s.io'),
    'kube-node-lease',
  );
  const pods = new ResourceClient<Pod>(rest, resource('pods'));

  const states = new Map<string, HollowNodeState>();
  for (let i = 0; i < o.count; i++) {
    const index = o.firstIndex + i;
    const name = `${o.namePrefix}${index}`;
    const node = hollowNode(
      { name, index, capacity: o.capacity, labels: o.labels, taints: o.taints },
      clock.now(),
    );
    states.set(name, {
      name,
      index,
      ip: hollowNodeIP(index),
      ips: new PodIPAllocator(hollowPodRange(index)),
      node,
    });
  }

  const register = async (st: HollowNodeState) => {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        st.node = await registerNode(nodes, st.node, signal);
        return;
      } catch (err) {
        log.warn({ err, node: st.name, attempt }, 'registering hollow node failed; retrying');
        await clock.sleep(exponentialBackoff(200, attempt, 10_000), signal);
      }
    }
  };
  await forEachLimit([...states.values()], 32, register);
  if (signal.aborted) return;
  log.info({ nodes: states.size, first: o.firstIndex, prefix: o.namePrefix }, 'hollow nodes registered');
  o.onRegistered?.([...states.keys()]);

  // Only bound pods matter; the index finds a node's pods.
  const informer = new SharedInformer<Pod>({
    client: pods,
    logger: log,
    fieldSelector: 'spec.nodeName!=',
    clock,
  });
  const queue = new RateLimitingQueue<string>({ clock });
  /** Pods we gave an IP, by key, so a deleted pod's IP goes back to its node. */
  const assigned = new Map<string, { node: string; uid: string }>();
  const enqueue = (pod: Pod) => {
    if (states.has(pod.spec?.nodeName ?? '')) queue.add(keyOf(pod));
  };
  informer.addEventHandler({ onAdd: enqueue, onUpdate: (_, pod) => enqueue(pod), onDelete: enqueue });

  const release = (key: string) => {
    const a = assigned.get(key);
    if (!a) return;
    states.get(a.node)?.ips.release(a.uid);
    assigned.delete(key);
  };

  const syncPod = async (key: string) => {
    const pod = informer.store.get(key);
    const uid = pod?.metadata.uid ?? '';
    const prev = assigned.get(key);
    if (prev && (prev.uid !== uid || prev.node !== pod?.spec?.nodeName)) release(key);
    const st = states.get(pod?.spec?.nodeName ?? '');
    if (!pod || !st) return;
    if (pod.metadata.deletionTimestamp) {
      const { namespace, name } = splitKey(key);
      try {
        await pods.in(namespace).delete(name, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
      release(key);
      log.debug({ pod: key, node: st.name }, 'hollow pod deleted');
      return;
    }
    const have = pod.status?.podIP;
    if (have && !pod.spec?.hostNetwork) st.ips.adopt(uid, have);
    if (isReportedRunning(pod)) {
      if (!assigned.has(key)) assigned.set(key, { node: st.name, uid });
      return;
    }
    const podIP = pod.spec?.hostNetwork ? st.ip : st.ips.allocate(uid);
    if (!podIP) throw new Error(`node ${st.name} has no free pod IP`);
    if (!pod.spec?.hostNetwork) assigned.set(key, { node: st.name, uid });
    const status = runningPodStatus(pod, st.ip, podIP, clock.now());
    try {
      await pods.updateStatus({ ...pod, status });
    } catch (err) {
      // A newer version is on its way through the informer, which queues the pod again.
      if (isConflict(err) || isNotFound(err)) return;
      throw err;
    }
  };

  const heartbeats = [...states.values()].map((st, i) =>
    heartbeat(st, {
      nodes,
      leases,
      clock,
      log,
      signal,
      // Spread the nodes over the period so renewals do not come in bursts.
      offsetMs: Math.floor((i * o.renewIntervalMs) / states.size),
      renewIntervalMs: o.renewIntervalMs,
      statusIntervalMs: o.statusIntervalMs,
      leaseDurationSeconds: o.leaseDurationSeconds,
    }),
  );
  await Promise.all([
    informer.run(signal),
    runWorkers(queue, o.workers, syncPod, { signal, logger: log }),
    ...heartbeats,
  ]);
}

/** Creates the Node, or takes over an existing one of that name; returns what the server stored. */
async function registerNode(nodes: ResourceClient<Node>, node: Node, signal: AbortSignal): Promise<Node> {
  try {
    return await nodes.create(node, { signal });
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
  }
  const name = node.metadata.name!;
  await nodes.patch(
    name,
    'merge',
    { metadata: { labels: node.metadata.labels }, spec: { taints: node.spec?.taints ?? null } },
    { signal },
  );
  return nodes.patch(name, 'merge', { status: node.status }, { subresource: 'status', signal });
}

interface HeartbeatOptions {
  nodes: ResourceClient<Node>;
  leases: ResourceClient<Lease>;
  clock: Clock;
  log: Logger;
  signal: AbortSignal;
  offsetMs: number;
  renewIntervalMs: number;
  statusIntervalMs: number;
  leaseDurationSeconds: number;
}

/** Renews the node's Lease every period and its status heartbeat less often, until `signal` aborts. */
async function heartbeat(st: HollowNodeState, h: HeartbeatOptions): Promise<void> {
  const { clock, signal } = h;
  let statusAt = clock.now();
  await renewLease(st, h).catch((err) => h.log.warn({ err, node: st.name }, 'lease renewal failed'));
  await clock.sleep(h.offsetMs, signal);
  while (!signal.aborted) {
    await clock.sleep(h.renewIntervalMs, signal);
    if (signal.aborted) break;
    try {
      await renewLease(st, h);
      if (clock.now() - statusAt >= h.statusIntervalMs) {
        statusAt = clock.now();
        st.node = await h.nodes.patch(
          st.name,
          'merge',
          { status: { conditions: refreshedConditions(st.node, statusAt)?.conditions } },
          { subresource: 'status', signal },
        );
      }
    } catch (err) {
      if (!signal.aborted) h.log.warn({ err, node: st.name }, 'node heartbeat failed');
    }
  }
}

async function renewLease(st: HollowNodeState, h: HeartbeatOptions): Promise<void> {
  const spec: LeaseSpec = {
    holderIdentity: st.name,
    leaseDurationSeconds: h.leaseDurationSeconds,
    renewTime: microTime(h.clock.now()),
  };
  if (st.lease) {
    try {
      st.lease = await h.leases.update(
        { ...st.lease, spec: { ...st.lease.spec, ...spec } },
        { signal: h.signal },
      );
      return;
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err)) throw err;
      st.lease = undefined;
    }
  }
  try {
    const cur = await h.leases.get(st.name, { signal: h.signal });
    st.lease = await h.leases.update({ ...cur, spec: { ...cur.spec, ...spec } }, { signal: h.signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    const owner = { apiVersion: 'v1', kind: 'Node', name: st.name, uid: st.node.metadata.uid ?? '' };
    st.lease = await h.leases.create(
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: st.name, namespace: 'kube-node-lease', ownerReferences: owner.uid ? [owner] : [] },
        spec,
      },
      { signal: h.signal },
    );
  }
}
