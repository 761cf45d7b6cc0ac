/**
 * Pure pieces of the DaemonSet controller (after Kubernetes'
 * daemon/util and daemon_controller): which nodes should run a daemon pod,
 * the pod made for a node (the daemon tolerations, and a required node
 * affinity to that node so the scheduler places it), the node a pod is for,
 * which old pods a rolling update may delete now, and the status. No I/O.
 *
 * The node predicates are the scheduler's own (api/scheduling.ts:
 * nodeMatchesPod, untoleratedTaint), so the controller and the scheduler
 * never disagree about where a daemon pod fits.
 */

import { newControllerRef } from '../api/meta.js';
import type { DaemonSet, Node, Pod } from '../api/objects.js';
import { controllerRevisionHashLabel } from '../api/rollout.js';
import { nodeMatchesPod, untoleratedTaint } from '../api/scheduling.js';
import type { Toleration } from '../api/types/pod.js';
import { isPodAvailable, isPodReady } from '../api/types/pod-facts.js';
import { podFromTemplate } from './podcontrol.js';
import { scaledValue, templateHash } from './workload-util.js';

export type DaemonSetStatus = NonNullable<DaemonSet['status']>;

/**
 * What Kubernetes adds to every daemon pod, so node conditions that keep
 * other pods away (and cordoning) do not evict or block it.
 */
export const daemonTolerations: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/** The hash of the current template, as the controller-revision-hash label carries it. */
export const currentHash = (ds: DaemonSet) => templateHash(ds.spec?.template, ds.status?.collisionCount);

/** Tolerations of the template plus the daemon ones it lacks. */
function withDaemonTolerations(own: Toleration[] | undefined): Toleration[] {
  const out = [...(own ?? [])];
  for (const t of daemonTolerations)
    if (!out.some((o) => o.key === t.key && o.effect === t.effect && o.operator === t.operator)) out.push(t);
  return out;
}

/** The pod for `nodeName`: template labels plus the revision hash, pinned there by required node affinity. */
export function newDaemonPod(ds: DaemonSet, nodeName: string, hash: string): Pod {
  const ref = newControllerRef(ds, 'apps/v1', 'DaemonSet');
  const pod = podFromTemplate(ds.spec?.template, ds, ref, {
    labels: { [controllerRevisionHashLabel]: hash },
  });
  const spec = pod.spec!;
  spec.tolerations = withDaemonTolerations(spec.tolerations);
  spec.affinity = {
    ...(spec.affinity ?? {}),
    nodeAffinity: {
      ...(spec.affinity?.nodeAffinity ?? {}),
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] }],
      },
    },
  };
  return pod;
}

export interface NodeVerdict {
  /** A daemon pod should be created here if there is none. */
  shouldRun: boolean;
  /** A daemon pod already here may stay (only NoExecute taints evict). */
  shouldContinueRunning: boolean;
}

/** nodeShouldRunDaemonPod: the template's nodeName, nodeSelector, node affinity and taints against the node. */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodeVerdict {
  const tpl = ds.spec?.template?.spec;
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (tpl?.nodeName && tpl.nodeName !== node.metadata.name) return no;
  const probe = { metadata: {}, spec: { ...(tpl ?? { containers: [] }) } } as Pod;
  if (!nodeMatchesPod(probe, node)) return no;
  const tolerations = withDaemonTolerations(tpl?.tolerations);
  const taints = node.spec?.taints ?? [];
  const blocking = untoleratedTaint(taints, tolerations);
  const evicting = untoleratedTaint(
    taints.filter((t) => t.effect === 'NoExecute'),
    tolerations,
  );
  return { shouldRun: !blocking, shouldContinueRunning: !evicting };
}

/** The node a daemon pod is for: spec.nodeName once bound, else its node affinity's metadata.name. */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const t of terms ?? [])
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  return undefined;
}

/** Pods by the node they are for; pods for no node are left out. */
export function podsByNode(pods: Pod[]): Map<string, Pod[]> {
  const out = new Map<string, Pod[]>();
  for (const p of pods) {
    const n = targetNodeName(p);
    if (!n) continue;
    const list = out.get(n) ?? [];
    list.push(p);
    out.set(n, list);
  }
  for (const list of out.values()) list.sort(byCreation);
  return out;
}

const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;
export const byCreation = (a: Pod, b: Pod) =>
  created(a) - created(b) || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');

export const isUpdated = (pod: Pod, hash: string) =>
  pod.metadata.labels?.[controllerRevisionHashLabel] === hash;
const live = (pods: Pod[] | undefined) => (pods ?? []).filter((p) => !p.metadata.deletionTimestamp);

/**
 * The old pods a RollingUpdate (maxSurge 0) deletes now: every old pod that
 * is not available (it serves nobody), and available old pods while fewer
 * than maxUnavailable of the desired nodes lack an available pod. A node
 * with no pod, or with an updated pod that is not available yet, counts as
 * unavailable.
 */
export function podsToRollOut(
  ds: DaemonSet,
  desiredNodes: string[],
  byNode: Map<string, Pod[]>,
  hash: string,
  nowMs: number,
): Pod[] {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const maxUnavailable = scaledValue(
    ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1,
    desiredNodes.length,
    true,
  );
  let unavailable = 0;
  const replace: Pod[] = [];
  const candidates: Pod[] = [];
  for (const node of desiredNodes) {
    const pods = live(byNode.get(node));
    const fresh = pods.find((p) => isUpdated(p, hash));
    const old = pods.find((p) => !isUpdated(p, hash));
    if (fresh) {
      if (!isPodAvailable(fresh, minReady, nowMs)) unavailable++;
      continue;
    }
    if (!old) {
      unavailable++;
      continue;
    }
    if (!isPodAvailable(old, minReady, nowMs)) replace.push(old);
    else candidates.push(old);
  }
  const room = Math.max(0, maxUnavailable - unavailable - replace.length);
  return [...replace, ...candidates.slice(0, room)];
}

/** The status from the nodes' verdicts and pods (pure). */
export function daemonSetStatus(
  ds: DaemonSet,
  verdicts: Map<string, NodeVerdict>,
  byNode: Map<string, Pod[]>,
  hash: string,
  nowMs: number,
): DaemonSetStatus {
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const s = {
    desiredNumberScheduled: 0,
    currentNumberScheduled: 0,
    numberMisscheduled: 0,
    numberReady: 0,
    numberAvailable: 0,
    updatedNumberScheduled: 0,
  };
  for (const [node, v] of verdicts) {
    const pods = byNode.get(node) ?? [];
    if (!v.shouldRun) {
      if (pods.length) s.numberMisscheduled++;
      continue;
    }
    s.desiredNumberScheduled++;
    if (!pods.length) continue;
    s.currentNumberScheduled++;
    const pod = pods[0];
    if (isPodReady(pod)) s.numberReady++;
    if (isPodAvailable(pod, minReady, nowMs)) s.numberAvailable++;
    if (pods.some((p) => isUpdated(p, hash))) s.updatedNumberScheduled++;
  }
  const status: DaemonSetStatus = {
    ...s,
    numberUnavailable: s.desiredNumberScheduled - s.numberAvailable,
    observedGeneration: ds.metadata.generation,
  };
  if (ds.status?.collisionCount) status.collisionCount = ds.status.collisionCount;
  if (ds.status?.conditions?.length) status.conditions = ds.status.conditions;
  return status;
}
