/**
 * The container runtime as the kubelet sees it: a narrow interface over
 * Docker (docker.ts) so the pod workers can be tested against a fake
 * (fake.ts) and another runtime (containerd CRI) can be added later.
 *
 * Contract:
 * - Every container the kubelet makes carries `labels` with the keys of
 *   `Labels` below (the keys Kubernetes' Docker integration used), and
 *   `listContainers` finds them again by those labels, running or not. The
 *   kubelet's whole memory of what it started lives in these labels, so a
 *   restarted kubelet adopts what is there instead of starting it twice.
 * - A sandbox is a container of the pause image that holds the pod's
 *   network (an IP on the node's pod network, or the host's network) and
 *   IPC namespaces; app containers join them (`sandboxId`).
 * - Ids are the runtime's own container ids. Methods that take an id and
 *   find no such container throw `NotFoundError` (stop and remove do not:
 *   a container that is already gone is stopped and removed).
 * - Nothing here retries or waits for a state: callers decide.
 */
import type { Readable } from 'node:stream';
import { nodeLabel } from '../../base/docker.js';

/** Label keys on every container the kubelet makes. */
export const Labels = {
  podNamespace: 'io.kubernetes.pod.namespace',
  podName: 'io.kubernetes.pod.name',
  podUID: 'io.kubernetes.pod.uid',
  containerName: 'io.kubernetes.container.name',
  restartCount: 'io.kubernetes.container.restartCount',
  /** Hash of the container spec that made it: a different hash means the spec changed. */
  containerHash: 'io.kubernetes.container.hash',
  /** `podsandbox` or `container`, as dockershim wrote it. */
  type: 'io.kubernetes.docker.type',
  /** init, app (regular containers) or ephemeral. */
  kind: 'nanokube.io/container-kind',
  terminationMessagePath: 'io.kubernetes.container.terminationMessagePath',
  node: nodeLabel,
} as const;

/** The container name of a pod's sandbox, as Kubernetes calls it. */
export const sandboxContainerName = 'POD';

export class NotFoundError extends Error {}

export interface Mount {
  /** A path on the host, bind-mounted. */
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface SandboxConfig {
  /** The Docker container name; unique per pod attempt. */
  name: string;
  image: string;
  labels: Record<string, string>;
  hostname: string;
  /** The pod network to join, or 'host' for hostNetwork pods. */
  network: string;
  dns?: { servers: string[]; searches: string[]; options: string[] };
  /** Extra /etc/hosts lines as `host:ip`. */
  extraHosts?: string[];
  /** hostPort mappings; ignored on the host network. */
  portMappings?: { containerPort: number; hostPort: number; protocol: string; hostIP?: string }[];
  /** Share the sandbox's PID namespace with the pod's containers. */
  sharePid?: boolean;
}

export interface ContainerConfig {
  name: string;
  image: string;
  labels: Record<string, string>;
  /** The sandbox whose network, IPC (and PID, when shared) namespaces to join. */
  sandboxId: string;
  sharePid?: boolean;
  /** A container whose PID namespace to join instead (an ephemeral container's target). */
  pidTargetId?: string;
  /** Entrypoint; the image's when undefined. */
  command?: string[];
  /** Arguments; the image's CMD when undefined (and command undefined). */
  args?: string[];
  workingDir?: string;
  env: string[];
  mounts: Mount[];
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** CPU limit in millicores. */
  cpuLimitMilli?: number;
  /** CPU request in millicores, for CPU shares. */
  cpuRequestMilli?: number;
  user?: string;
  /** Extra group ids for the first process (fsGroup, supplementalGroups). */
  groupAdd?: string[];
  readOnlyRootfs?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
}

export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** What a list of containers tells: enough to notice a change of state. */
export interface ContainerSummary {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: ContainerState;
  /** RFC 3339. */
  createdAt: string;
}

/** What an inspect of one container tells. */
export interface ContainerInfo extends ContainerSummary {
  /** The image reference it was created from, and the image id. */
  image: string;
  imageId: string;
  /** RFC 3339; undefined when it never started. */
  startedAt?: string;
  finishedAt?: string;
  exitCode: number;
  oomKilled: boolean;
  /** Why the runtime could not start it, if it could not. */
  error?: string;
  /** IP on the pod network (sandboxes). */
  ip?: string;
}

export interface LogOptions {
  follow?: boolean;
  tailLines?: number;
  /** Unix seconds: only lines written at or after it. */
  since?: number;
  timestamps?: boolean;
  signal?: AbortSignal;
}

export interface ExecResult {
  /** -1 when it timed out. */
  exitCode: number;
  timedOut: boolean;
  /** stdout and stderr together, at most `maxOutput` bytes. */
  output: string;
}

/**
 * The streams an exec or attach asks for (Kubernetes' stdin, stdout, stderr
 * and tty). A stream not asked for is not attached: what the process writes
 * there goes nowhere. With a TTY, stderr is part of stdout.
 */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** An interactive exec: raw streams, for the kubelet server's exec handler; each only if asked for. */
export interface ExecSession {
  stdin?: NodeJS.WritableStream;
  stdout?: Readable;
  stderr?: Readable;
  resize(rows: number, cols: number): Promise<void>;
  /** Resolves with the exit code once the process has ended. */
  wait(): Promise<number>;
  /** Drops the connection to the process without ending it (an attach's detach). */
  detach?(): void;
}

export interface ContainerStats {
  /** Cumulative CPU time, in nanoseconds. */
  cpuUsageNanos: number;
  /** The CPU rate over the engine's last sampling interval, in nanocores; undefined without two samples. */
  cpuUsageNanoCores?: number;
  memoryWorkingSetBytes: number;
  memoryUsageBytes?: number;
  timestamp: string;
}

export interface Runtime {
  /** e.g. { name: 'docker', version: '20.10.24' } */
  version(): Promise<{ name: string; version: string }>;

  /** Makes (or reuses) a bridge network with this subnet, labelled for this node. */
  ensureNetwork(name: string, subnet: string, labels: Record<string, string>): Promise<void>;
  removeNetwork(name: string): Promise<void>;

  /** Creates and starts a sandbox; returns its id and IP (the host's IP on the host network: ''). */
  runSandbox(cfg: SandboxConfig): Promise<{ id: string; ip: string }>;

  createContainer(cfg: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Sends `signal` (SIGTERM by default), waits up to `timeoutSeconds`, then SIGKILL. */
  stopContainer(id: string, timeoutSeconds: number, signal?: string): Promise<void>;
  removeContainer(id: string): Promise<void>;
  /**
   * With `awaitOomEvent` (the default), a memory-limited container SIGKILLed a
   * moment ago is asked again until the engine's late OOM event can have landed
   * (up to 5 s after its exit), so `oomKilled` is right; without it, at once.
   */
  inspectContainer(id: string, opts?: { awaitOomEvent?: boolean }): Promise<ContainerInfo>;
  /** All containers (running or not) whose labels include every pair in `labels`. */
  listContainers(labels: Record<string, string>): Promise<ContainerSummary[]>;

  /** The container's log as a stream of text (stdout and stderr interleaved). */
  logs(id: string, opts: LogOptions): Promise<Readable>;
  /** Runs a command to completion (probes, hooks); after `timeoutMs` it is reported as timed out and left alone. */
  exec(id: string, command: string[], opts: { timeoutMs: number; maxOutput?: number }): Promise<ExecResult>;
  /** Starts an interactive command. */
  execStream(id: string, command: string[], opts: StreamOptions): Promise<ExecSession>;

  /** Attaches to the container's main process (see ExecSession; `wait` is -1 after a detach). */
  attachStream(id: string, opts: StreamOptions): Promise<ExecSession>;

  imagePresent(image: string): Promise<{ id: string } | undefined>;
  pullImage(image: string, signal?: AbortSignal): Promise<void>;

  stats(id: string): Promise<ContainerStats>;
}
