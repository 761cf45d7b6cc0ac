/**
 * The pure parts of the hollow kubelet: the Node object a hollow node
 * registers, the status it reports for a pod it "runs", and the fake pod IP
 * ranges it hands out. Nothing here talks to the apiserver.
 */
import type { Node, Pod } from '../api/objects.js';
import { metaTime } from '../api/time.js';
import type { Taint } from '../api/types/node.js';
import type { ContainerStatus, PodCondition, PodStatus } from '../api/types/pod.js';

export const hollowKubeletVersion = 'v1.32.0-nanokube';
export const hollowRuntimeVersion = 'hollow://0.1.0';
/** Label every hollow node carries, so tests and benchmarks can find (and remove) them. */
export const hollowNodeLabel = 'nanokube.io/hollow';

export interface HollowCapacity {
  cpu: string;
  memory: string;
  pods: number | string;
  'ephemeral-storage'?: string;
}

/**
 * The node's address on loopback: 127.0.0.2 for the first node, then
 * 127.0.0.3 and on, carrying into the third octet past 255. Hollow nodes
 * serve nothing there; it only has to be an address nobody else is.
 */
export function hollowNodeIP(index: number): string {
  const n = index + 2;
  return `127.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/**
 * The fake /24 a hollow node takes its pod IPs from: 100.64.0.0/10 (shared
 * address space, never routed on this host), one /24 per node index.
 */
export function hollowPodRange(index: number): string {
  return `100.${64 + ((index >> 8) & 63)}.${index & 255}`;
}

/** Hands out the addresses .1 to .254 of one /24, lowest free first. */
export class PodIPAllocator {
  private readonly used = new Map<string, number>();
  private readonly free: boolean[] = new Array(255).fill(true);

  constructor(private readonly prefix: string) {}

  /** The IP of pod `uid`, allocating one if it has none; undefined when the range is full. */
  allocate(uid: string): string | undefined {
    const have = this.used.get(uid);
    if (have !== undefined) return `${this.prefix}.${have}`;
    for (let i = 1; i < 255; i++) {
      if (this.free[i]) return this.take(uid, i);
    }
    return undefined;
  }

  /** Records an IP a pod already reports (after a restart), if it is ours and free. */
  adopt(uid: string, ip: string): boolean {
    if (!ip.startsWith(`${this.prefix}.`)) return false;
    const i = Number(ip.slice(this.prefix.length + 1));
    if (!Number.isInteger(i) || i < 1 || i > 254) return false;
    if (this.used.get(uid) === i) return true;
    if (!this.free[i]) return false;
    this.take(uid, i);
    return true;
  }

  release(uid: string): void {
    const i = this.used.get(uid);
    if (i === undefined) return;
    this.used.delete(uid);
    this.free[i] = true;
  }

  get size(): number {
    return this.used.size;
  }

  private take(uid: string, i: number): string {
    this.free[i] = false;
    this.used.set(uid, i);
    return `${this.prefix}.${i}`;
  }
}

export interface HollowNodeSpec {
  name: string;
  index: number;
  capacity: HollowCapacity;
  labels?: Record<string, string>;
  taints?: Taint[];
}

function nodeConditions(now: number): NonNullable<NonNullable<Node['status']>['conditions']> {
  const t = metaTime(now);
  const cond = (type: string, status: string, reason: string, message: string) => ({
    type,
    status,
    reason,
    message,
    lastHeartbeatTime: t,
    lastTransitionTime: t,
  });
  return [
    cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
  ];
}

/** The Node a hollow kubelet registers: Ready, with the given capacity, labels and taints. */
export function hollowNode(spec: HollowNodeSpec, now: number): Node {
  const capacity: Record<string, string> = {
    cpu: spec.capacity.cpu,
    memory: spec.capacity.memory,
    pods: String(spec.capacity.pods),
    'ephemeral-storage': spec.capacity['ephemeral-storage'] ?? '100Gi',
  };
  const ip = hollowNodeIP(spec.index);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: spec.name,
      labels: {
        'kubernetes.io/hostname': spec.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        [hollowNodeLabel]: 'true',
        ...(spec.labels ?? {}),
      },
    },
    spec: spec.taints?.length ? { taints: spec.taints } : {},
    status: {
      capacity,
      allocatable: { ...capacity },
      phase: 'Running',
      conditions: nodeConditions(now),
      addresses: [
        { type: 'InternalIP', address: ip },
        { type: 'Hostname', address: spec.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: `hollow-${spec.index}`,
        systemUUID: `hollow-${spec.index}`,
        bootID: `hollow-${spec.index}-${now}`,
        kernelVersion: 'hollow',
        osImage: 'hollow',
        containerRuntimeVersion: hollowRuntimeVersion,
        kubeletVersion: hollowKubeletVersion,
        kubeProxyVersion: hollowKubeletVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** Node status as a heartbeat refreshes it: the same, with new heartbeat times. */
export function refreshedConditions(node: Node, now: number): Node['status'] {
  const t = metaTime(now);
  const conditions = (node.status?.conditions ?? nodeConditions(now)).map((c) => ({
    ...c,
    lastHeartbeatTime: t,
  }));
  return { ...node.status, conditions };
}

/** True when the pod already shows what a hollow kubelet reports for a running pod. */
export function isReportedRunning(pod: Pod): boolean {
  const s = pod.status;
  if (s?.phase !== 'Running' || !s.podIP) return false;
  const ready = s.conditions?.find((c) => c.type === 'Ready');
  return (
    ready?.status === 'True' && (s.containerStatuses?.length ?? 0) === (pod.spec?.containers?.length ?? 0)
  );
}

/**
 * The status of a pod whose containers all "run" and are ready: phase
 * Running, the node's IP, the pod IP, init containers completed, and the
 * conditions a real kubelet reports. Keeps what others set (qosClass,
 * PodScheduled, nominatedNodeName).
 */
export function runningPodStatus(pod: Pod, hostIP: string, podIP: string, now: number): PodStatus {
  const prev = pod.status ?? {};
  const t = metaTime(now);
  const started = prev.startTime ?? metaTime(now);
  const id = (name = '') => `hollow://${pod.metadata.uid ?? pod.metadata.name}/${name}`;
  const running = (pod.spec?.containers ?? []).map(
    (c): ContainerStatus => ({
      name: c.name ?? '',
      state: { running: { startedAt: started } },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: c.image,
      imageID: `hollow://${c.image}`,
      containerID: id(c.name),
      started: true,
    }),
  );
  const inits = (pod.spec?.initContainers ?? []).map(
    (c): ContainerStatus => ({
      name: c.name ?? '',
      state: {
        terminated: {
          exitCode: 0,
          reason: 'Completed',
          startedAt: started,
          finishedAt: started,
          containerID: id(c.name),
        },
      },
      lastState: {},
      ready: true,
      restartCount: 0,
      image: c.image,
      imageID: `hollow://${c.image}`,
      containerID: id(c.name),
    }),
  );
  const ours = ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready'];
  const kept = (prev.conditions ?? []).filter((c) => !ours.includes(c.type ?? ''));
  const conditions: PodCondition[] = [
    ...ours.map((type) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: t })),
    ...kept,
  ];
  const status: PodStatus = {
    ...prev,
    phase: 'Running',
    conditions,
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: started,
    containerStatuses: running,
  };
  if (inits.length) status.initContainerStatuses = inits;
  return status;
}
