/**
 * The object types the scheduler works on, and what it derives from a pod
 * once: its resource requests (counted as Kubernetes counts them), its
 * priority, and its key. Requests are plain numbers (milli-CPU, bytes,
 * counts): exact for any realistic cluster and fast to add up in the filter
 * loop; they are parsed from the quantities once per pod (api/quantity.ts).
 */
import type { Pod } from '../api/objects.js';
import { quantityToMilli, quantityToValue } from '../api/quantity.js';
import type { Container } from '../api/types/pod.js';

export const defaultSchedulerName = 'default-scheduler';

/** Requests of one pod or the sum over a node: cpu in milli-cores, the rest in bytes or counts. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources (example.com/gpu), in whole units. */
  scalar: Record<string, number>;
}

export const emptyResource = (): Resource => ({ milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: {} });

/** What GetNonzeroRequests assumes for a container that requests no cpu or memory, for scoring. */
export const defaultMilliCPURequest = 100;
export const defaultMemoryRequest = 200 * 1024 * 1024;

type ResourceList = Record<string, string | number> | undefined;

export function resourceFromList(list: ResourceList): Resource {
  const r = emptyResource();
  for (const [name, q] of Object.entries(list ?? {})) {
    if (name === 'cpu') r.milliCPU = Number(quantityToMilli(q));
    else if (name === 'memory') r.memory = Number(quantityToValue(q));
    else if (name === 'ephemeral-storage') r.ephemeralStorage = Number(quantityToValue(q));
    else if (name !== 'pods' && (name.includes('/') || name.startsWith('hugepages-')))
      r.scalar[name] = Number(quantityToValue(q));
  }
  return r;
}

export function addResource(into: Resource, r: Resource, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = (into.scalar[k] ?? 0) + sign * v;
}

function maxResource(into: Resource, r: Resource): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = Math.max(into.scalar[k] ?? 0, v);
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const r = resourceFromList(c.resources?.requests);
  if (nonZero) {
    const req = c.resources?.requests ?? {};
    if (req.cpu === undefined) r.milliCPU = defaultMilliCPURequest;
    if (req.memory === undefined) r.memory = defaultMemoryRequest;
  }
  return r;
}

/**
 * A pod's effective requests, as Kubernetes' resource helpers compute them:
 * the app containers and restartable init containers (sidecars) add up;
 * each ordinary init container runs alone beside the sidecars started
 * before it, so the pod needs the larger of the two; then the overhead.
 * Pod-level requests (spec.resources) replace the cpu and memory sums.
 * `nonZero` counts containers without a cpu or memory request as 100m and
 * 200Mi, for scoring.
 */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const spec = pod.spec ?? {};
  const reqs = emptyResource();
  for (const c of spec.containers ?? []) addResource(reqs, containerRequests(c, nonZero));
  const sidecars = emptyResource();
  const initMax = emptyResource();
  for (const c of spec.initContainers ?? []) {
    const r = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addResource(reqs, r);
      addResource(sidecars, r);
      maxResource(initMax, sidecars);
    } else {
      const alone = emptyResource();
      addResource(alone, r);
      addResource(alone, sidecars);
      maxResource(initMax, alone);
    }
  }
  maxResource(reqs, initMax);
  const podLevel = spec.resources?.requests;
  if (podLevel) {
    const p = resourceFromList(podLevel);
    if (podLevel.cpu !== undefined) reqs.milliCPU = p.milliCPU;
    if (podLevel.memory !== undefined) reqs.memory = p.memory;
  }
  if (spec.overhead) addResource(reqs, resourceFromList(spec.overhead));
  return reqs;
}

export function podPriority(pod: Pod): number {
  return pod.spec?.priority ?? 0;
}

export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}

/** The uid of the pod's controlling owner (ReplicaSet, StatefulSet, Job...), if any. */
export function controllerUid(pod: Pod): string | undefined {
  return pod.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}

export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** A Kubernetes-style "was this pod started at" time, for ordering victims. */
export function podStartMs(pod: Pod): number {
  const t = pod.status?.startTime ?? pod.metadata.creationTimestamp;
  return t ? Date.parse(t) : 0;
}
