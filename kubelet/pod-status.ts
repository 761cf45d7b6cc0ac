/**
 * A pod's status from what the runtime holds (pure): container statuses
 * (init, app and ephemeral) with their states, the phase and conditions as
 * Kubernetes' kubelet computes them (getPhase, GeneratePodReadyCondition...),
 * IPs and QoS.
 */
import { stableJson } from '../api/stable-json.js';
import {
  type ContainerStatus,
  type Pod,
  type PodCondition,
  type PodStatus,
  podQOSClass,
} from '../api/types/pod.js';
import { type PodRuntimeState, restartCountOf, toTime } from './pod-state.js';
import type { ContainerInfo } from './runtime/runtime.js';

export interface Waiting {
  reason: string;
  message?: string;
}

export interface StatusInput {
  pod: Pod;
  state: PodRuntimeState;
  podIP?: string;
  hostIP: string;
  /** Why a container is waiting, as the syncer decided (ErrImagePull, CrashLoopBackOff...). By name. */
  waiting: Map<string, Waiting>;
  /** Readiness and startup probe results for a running container instance. */
  ready(name: string, containerId: string): boolean;
  started(name: string, containerId: string): boolean;
  /** Termination messages by container id. */
  messages: Map<string, string>;
  /** RFC 3339 now, for new conditions and startTime. */
  now: string;
}

type State = NonNullable<ContainerStatus['state']>;
type Terminated = NonNullable<State['terminated']>;

function terminated(c: ContainerInfo, messages: Map<string, string>): Terminated {
  const reason = c.oomKilled
    ? 'OOMKilled'
    : c.error
      ? 'ContainerCannotRun'
      : c.exitCode === 0
        ? 'Completed'
        : 'Error';
  const t: Terminated = {
    exitCode: c.exitCode,
    reason,
    startedAt: toTime(c.startedAt) ?? null,
    finishedAt: toTime(c.finishedAt) ?? null,
    containerID: `docker://${c.id}`,
  };
  const message = messages.get(c.id) || c.error;
  if (message) t.message = message;
  return t;
}

function containerStatus(
  input: StatusInput,
  name: string,
  image: string,
  defaultReason: string,
): ContainerStatus {
  const [latest, prev] = input.state.containers.get(name) ?? [];
  const s: ContainerStatus = {
    name,
    state: {},
    lastState: {},
    ready: false,
    restartCount: latest ? restartCountOf(latest) : 0,
    image,
    imageID: '',
    started: false,
  };
  const waiting = input.waiting.get(name);
  if (!latest) {
    s.state = { waiting: waiting ?? { reason: defaultReason } };
    return s;
  }
  s.containerID = `docker://${latest.id}`;
  s.imageID = latest.imageId ? `docker://${latest.imageId}` : '';
  if (prev) s.lastState = { terminated: terminated(prev, input.messages) };
  if (latest.state === 'running') {
    s.state = { running: { startedAt: toTime(latest.startedAt) ?? null } };
    s.ready = input.ready(name, latest.id);
    s.started = input.started(name, latest.id);
  } else if (latest.state === 'exited') {
    if (waiting) {
      s.state = { waiting };
      s.lastState = { terminated: terminated(latest, input.messages) };
    } else {
      s.state = { terminated: terminated(latest, input.messages) };
    }
  } else {
    s.state = { waiting: waiting ?? { reason: 'ContainerCreating' } };
  }
  return s;
}

/**
 * An ephemeral container's status: as another container's, but never ready
 * and without `started` (no probe ever looks at it), and it counts for
 * neither the phase nor the conditions.
 */
function ephemeralStatus(input: StatusInput, name: string, image: string, hasInit: boolean): ContainerStatus {
  const { started: _started, ...s } = containerStatus(
    input,
    name,
    image,
    hasInit ? 'PodInitializing' : 'ContainerCreating',
  );
  return { ...s, ready: false };
}

/** Kubernetes' getPhase: from the app containers, once the init containers are done. */
export function podPhase(pod: Pod, init: ContainerStatus[], apps: ContainerStatus[]): string {
  const policy = pod.spec?.restartPolicy ?? 'Always';
  const initFailed = init.some((s) => (s.state?.terminated?.exitCode ?? 0) !== 0);
  if (initFailed && policy === 'Never') return 'Failed';
  if (!init.every((s) => s.state?.terminated?.exitCode === 0)) return 'Pending';
  let waiting = 0;
  let running = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of apps) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.lastState?.terminated) stopped++;
    else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (policy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function condition(type: string, ok: boolean, reason?: string, message?: string): PodCondition {
  const c: PodCondition = { type, status: ok ? 'True' : 'False', lastProbeTime: null };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

function conditions(
  pod: Pod,
  phase: string,
  init: ContainerStatus[],
  apps: ContainerStatus[],
): PodCondition[] {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled') ?? {
    type: 'PodScheduled',
    status: 'True',
    lastProbeTime: null,
  };
  const notInit = init.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const unready = apps.filter((s) => !s.ready).map((s) => s.name);
  const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType ?? '');
  const gatesOk = gates.every((t) => pod.status?.conditions?.find((c) => c.type === t)?.status === 'True');
  const readyWhy = terminal ? 'PodCompleted' : 'ContainersNotReady';
  const readyMsg = terminal ? undefined : `containers with unready status: [${unready.join(' ')}]`;
  const initialized = terminal && notInit.length === 0 ? true : notInit.length === 0;
  return [
    condition(
      'Initialized',
      initialized,
      'ContainersNotInitialized',
      `containers with incomplete status: [${notInit.join(' ')}]`,
    ),
    condition('Ready', !terminal && unready.length === 0 && gatesOk, readyWhy, readyMsg),
    condition('ContainersReady', !terminal && unready.length === 0, readyWhy, readyMsg),
    scheduled,
    ...(pod.status?.conditions ?? []).filter((c) => gates.includes(c.type ?? '')),
  ];
}

/** The status to write; `mergeTransitions` then carries over unchanged conditions' times. */
export function computePodStatus(input: StatusInput): PodStatus {
  const { pod } = input;
  const initSpecs = pod.spec?.initContainers ?? [];
  const init = initSpecs.map((c) => containerStatus(input, c.name ?? '', c.image ?? '', 'PodInitializing'));
  const initDone = init.every((s) => s.state?.terminated?.exitCode === 0);
  const apps = (pod.spec?.containers ?? []).map((c) =>
    containerStatus(input, c.name ?? '', c.image ?? '', initDone ? 'ContainerCreating' : 'PodInitializing'),
  );
  const phase = podPhase(pod, init, apps);
  const status: PodStatus = {
    phase,
    conditions: conditions(pod, phase, init, apps),
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    startTime: pod.status?.startTime ?? input.now,
    containerStatuses: apps,
    qosClass: pod.status?.qosClass ?? podQOSClass(pod.spec ?? {}),
  };
  if (initSpecs.length) status.initContainerStatuses = init;
  const ephemeral = (pod.spec?.ephemeralContainers ?? []).map((c) =>
    ephemeralStatus(input, c.name ?? '', c.image ?? '', initSpecs.length > 0),
  );
  if (ephemeral.length) status.ephemeralContainerStatuses = ephemeral;
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  if (pod.status?.nominatedNodeName) status.nominatedNodeName = pod.status.nominatedNodeName;
  return status;
}

/** Keeps lastTransitionTime of conditions whose status did not change; stamps the others `now`. */
export function mergeTransitions(next: PodStatus, old: PodStatus | undefined, now: string): PodStatus {
  for (const c of next.conditions ?? []) {
    const before = old?.conditions?.find((o) => o.type === c.type);
    c.lastTransitionTime =
      before && before.status === c.status
        ? (before.lastTransitionTime ?? now)
        : (c.lastTransitionTime ?? now);
  }
  return next;
}

/** True when two statuses differ in anything the kubelet writes. */
export function statusChanged(next: PodStatus, old: PodStatus | undefined): boolean {
  return stableJson(next) !== stableJson(old ?? {});
}
