/**
 * The `kubectl get pods` row: Ready, Status, Restarts, Age and the wide
 * columns, with the status reason worked out as kubectl's printPod does.
 * Re-exported from `pod.ts`.
 */
import type { KubeObject } from '../meta.js';
import { age, ageColumn, column } from '../printers.js';
import type { TableColumn } from '../registry.js';
import type { Container } from './pod-container.js';
import type { ContainerStatus, Pod, PodCondition } from './pod-schema.js';

export interface PodSummary {
  /** "ready/total", counting app containers and sidecars. */
  ready: string;
  /** Phase, or the most telling reason: Init:1/2, CrashLoopBackOff, Completed, Terminating... */
  status: string;
  /** Restart count, with "(5m ago)" when the last restart time is known. */
  restarts: string;
}

const isSidecar = (c: Container | undefined) => c?.restartPolicy === 'Always';

const conditionTrue = (conditions: PodCondition[] | undefined, type: string) =>
  conditions?.find((c) => c.type === type)?.status === 'True';

/** Time of the last termination before the current run, as epoch ms (0 when unknown). */
function lastTerminated(cs: ContainerStatus): number {
  const ms = Date.parse(cs.lastState?.terminated?.finishedAt ?? '');
  return Number.isNaN(ms) ? 0 : ms;
}

/** The reason shown for a terminated container: its reason, else Signal:N or ExitCode:N. */
function terminatedReason(t: NonNullable<NonNullable<ContainerStatus['state']>['terminated']>): string {
  if (t.reason) return t.reason;
  return t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
}

interface Tally {
  reason: string;
  ready: number;
  restarts: number;
  lastRestart: number;
}

/** Walks init containers in order; returns whether the pod is still initializing. */
function tallyInit(pod: Pod, t: Tally, sidecars: Tally): boolean {
  const specs = new Map((pod.spec?.initContainers ?? []).map((c) => [c.name, c]));
  const total = pod.spec?.initContainers?.length ?? 0;
  const statuses = pod.status?.initContainerStatuses ?? [];
  for (let i = 0; i < statuses.length; i++) {
    const cs = statuses[i];
    const sidecar = isSidecar(specs.get(cs.name ?? ''));
    t.restarts += cs.restartCount ?? 0;
    t.lastRestart = Math.max(t.lastRestart, lastTerminated(cs));
    if (sidecar) {
      sidecars.restarts += cs.restartCount ?? 0;
      sidecars.lastRestart = Math.max(sidecars.lastRestart, lastTerminated(cs));
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started) {
      if (cs.ready) t.ready++;
      continue;
    }
    if (terminated) t.reason = `Init:${terminatedReason(terminated)}`;
    else if (waiting?.reason && waiting.reason !== 'PodInitializing') t.reason = `Init:${waiting.reason}`;
    else t.reason = `Init:${i}/${total}`;
    return true;
  }
  return false;
}

/** Ready, Status and Restarts of a pod, as `kubectl get pods` prints them. */
export function podSummary(pod: Pod, now: Date): PodSummary {
  const status = pod.status ?? {};
  const t: Tally = { reason: status.reason || status.phase || '', ready: 0, restarts: 0, lastRestart: 0 };
  const sidecars: Tally = { reason: '', ready: 0, restarts: 0, lastRestart: 0 };
  if (status.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated'))
    t.reason = 'SchedulingGated';
  const total =
    (pod.spec?.containers?.length ?? 0) + (pod.spec?.initContainers ?? []).filter(isSidecar).length;

  const initializing = tallyInit(pod, t, sidecars);
  if (!initializing || conditionTrue(status.conditions, 'Initialized')) {
    // Once initialized, only sidecar restarts count besides the app containers'.
    t.restarts = sidecars.restarts;
    t.lastRestart = sidecars.lastRestart;
    let hasRunning = false;
    let errorReason = '';
    const statuses = status.containerStatuses ?? [];
    // Backwards, so that the first container's reason wins.
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      t.restarts += cs.restartCount ?? 0;
      t.lastRestart = Math.max(t.lastRestart, lastTerminated(cs));
      const { waiting, terminated, running } = cs.state ?? {};
      if (waiting?.reason) t.reason = waiting.reason;
      else if (terminated) {
        t.reason = terminatedReason(terminated);
        if ((terminated.exitCode ?? 0) !== 0) errorReason = t.reason;
      } else if (cs.ready && running) {
        hasRunning = true;
        t.ready++;
      }
    }
    // A pod whose finished containers say Completed while others still run is not complete.
    if (t.reason === 'Completed') {
      if (hasRunning && conditionTrue(status.conditions, 'Ready')) t.reason = 'Running';
      else if (errorReason) t.reason = errorReason;
      else if (hasRunning) t.reason = 'NotReady';
    }
  }

  if (pod.metadata?.deletionTimestamp) {
    if (status.reason === 'NodeLost') t.reason = 'Unknown';
    else if (status.phase !== 'Succeeded' && status.phase !== 'Failed') t.reason = 'Terminating';
  }
  const restarts =
    t.restarts !== 0 && t.lastRestart > 0
      ? `${t.restarts} (${age(new Date(t.lastRestart).toISOString(), now)} ago)`
      : String(t.restarts);
  return { ready: `${t.ready}/${total}`, status: t.reason, restarts };
}

const none = (s: string | undefined) => s || '<none>';

function readinessGates(pod: Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const ok = gates.filter((g) => conditionTrue(pod.status?.conditions, g.conditionType ?? '')).length;
  return `${ok}/${gates.length}`;
}

const asPod = (o: KubeObject) => o as Pod;

export const podColumns: TableColumn[] = [
  column('Ready', 'Containers ready out of all containers.', (o, now) => podSummary(asPod(o), now).ready),
  column(
    'Status',
    'Phase of the pod, or the reason it is not running.',
    (o, now) => podSummary(asPod(o), now).status,
  ),
  column(
    'Restarts',
    'Container restarts, and how long ago the last one was.',
    (o, now) => podSummary(asPod(o), now).restarts,
  ),
  ageColumn,
  column(
    'IP',
    'IP address of the pod.',
    (o) => none(asPod(o).status?.podIPs?.[0]?.ip ?? asPod(o).status?.podIP),
    {
      priority: 1,
    },
  ),
  column('Node', 'Node the pod is bound to.', (o) => none(asPod(o).spec?.nodeName), { priority: 1 }),
  column(
    'Nominated Node',
    'Node the pod may run on once preemption ends.',
    (o) => none(asPod(o).status?.nominatedNodeName),
    {
      priority: 1,
    },
  ),
  column('Readiness Gates', 'Readiness gates that are true, out of all.', (o) => readinessGates(asPod(o)), {
    priority: 1,
  }),
];
