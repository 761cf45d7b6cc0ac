/**
 * Starting and stopping one container of a pod: the image (by
 * imagePullPolicy, with pull backoff), its configuration, create and start,
 * the postStart hook; and stopping with the preStop hook, the stop signal
 * and the grace period. Reasons a container cannot start are recorded as
 * its waiting state and as Events, as Kubernetes does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Container, Pod } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';
import type { Backoff } from './backoff.js';
import { buildContainerConfig, type ContainerKind, type VolumePath } from './container-config.js';
import { ConfigError, type ObjectSource } from './env.js';
import { containerHash } from './pod-state.js';
import type { Waiting } from './pod-status.js';
import { runHandler } from './probe-hook-handlers.js';
import type { ContainerInfo, Runtime } from './runtime/runtime.js';

/** Records Events about a pod (client/events.ts EventRecorder fits). */
export interface PodEvents {
  event(
    ref: {
      kind: string;
      apiVersion: string;
      namespace?: string;
      name?: string;
      uid?: string;
      fieldPath?: string;
    },
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): void;
}

export interface ContainerRunnerOptions {
  runtime: Runtime;
  node: string;
  hostIP: string;
  clock: Clock;
  logger: Logger;
  events: PodEvents;
  source: ObjectSource;
  imageBackoff: Backoff;
  allocatable: Record<string, string>;
  /** The pod's folder on the host (termination logs live under it). */
  podDir(uid: string): string;
}

export interface StartRequest {
  pod: Pod;
  container: Container;
  kind: ContainerKind;
  restartCount: number;
  sandboxId: string;
  /** The running target of an ephemeral container, whose PID namespace it joins. */
  pidTargetId?: string;
  podIP: string;
  volumes: Map<string, VolumePath>;
  /** The pod's waiting reasons by container name: set when it cannot start, cleared when it does. */
  waiting: Map<string, Waiting>;
}

const specField: Record<ContainerKind, string> = {
  init: 'initContainers',
  app: 'containers',
  ephemeral: 'ephemeralContainers',
};

/** Where Events about a container point: the pod, at spec.containers{name} (or its kind's list). */
export function containerRef(pod: Pod, c: Container, kind: ContainerKind) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    namespace: pod.metadata?.namespace,
    name: pod.metadata?.name,
    uid: pod.metadata?.uid,
    fieldPath: `spec.${specField[kind]}{${c.name}}`,
  };
}

export class ContainerRunner {
  constructor(private readonly o: ContainerRunnerOptions) {}

  /** Host file for a container instance's termination message. */
  terminationLogPath(uid: string, name: string, restartCount: number): string {
    return path.join(this.o.podDir(uid), 'containers', name, `${restartCount}.termination-log`);
  }

  /**
   * Makes sure the image is there. Returns undefined when it is, else the
   * milliseconds after which to try again (the waiting reason is set).
   */
  private async ensureImage(r: StartRequest): Promise<number | undefined> {
    const { pod, container: c } = r;
    const image = c.image ?? '';
    const ref = containerRef(pod, c, r.kind);
    const present = await this.o.runtime.imagePresent(image);
    const policy = c.imagePullPolicy ?? 'IfNotPresent';
    if (policy === 'Never' || (present && policy !== 'Always')) {
      if (present) {
        this.o.events.event(ref, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
        return undefined;
      }
      const message = `Container image "${image}" is not present with pull policy of Never`;
      r.waiting.set(c.name ?? '', { reason: 'ErrImageNeverPull', message });
      this.o.events.event(ref, 'Warning', 'ErrImageNeverPull', message);
      return 10_000;
    }
    const key = `${pod.metadata?.uid}/${c.name}/image`;
    const left = this.o.imageBackoff.remainingSinceLast(key);
    if (left > 0) {
      const message = `Back-off pulling image "${image}"`;
      r.waiting.set(c.name ?? '', { reason: 'ImagePullBackOff', message });
      this.o.events.event(ref, 'Normal', 'BackOff', message);
      this.o.events.event(ref, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      return left;
    }
    this.o.events.event(ref, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const started = this.o.clock.now();
    try {
      await this.o.runtime.pullImage(image);
    } catch (err) {
      this.o.imageBackoff.next(key);
      const message = `Failed to pull image "${image}": ${(err as Error).message}`;
      r.waiting.set(c.name ?? '', { reason: 'ErrImagePull', message });
      this.o.events.event(ref, 'Warning', 'Failed', message);
      this.o.events.event(ref, 'Warning', 'Failed', 'Error: ErrImagePull');
      // Show ErrImagePull for a moment, then ImagePullBackOff until the delay is over.
      return 1_000;
    }
    this.o.imageBackoff.reset(key);
    const took = ((this.o.clock.now() - started) / 1000).toFixed(3);
    this.o.events.event(ref, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${took}s`);
    return undefined;
  }

  /**
   * Creates and starts a new instance. Returns undefined when it runs, or
   * milliseconds after which the pod should be synced again.
   */
  async start(r: StartRequest): Promise<number | undefined> {
    const { pod, container: c } = r;
    const name = c.name ?? '';
    const ref = containerRef(pod, c, r.kind);
    const wait = await this.ensureImage(r);
    if (wait !== undefined) return wait;
    const uid = pod.metadata?.uid ?? '';
    const terminationLogPath = this.terminationLogPath(uid, name, r.restartCount);
    let id: string;
    try {
      await mkdir(path.dirname(terminationLogPath), { recursive: true });
      await writeFile(terminationLogPath, '', { mode: 0o666 });
      // The env may name the pod's IPs, which the API object may not have yet.
      const status = { ...pod.status, podIP: r.podIP, podIPs: [{ ip: r.podIP }], hostIP: this.o.hostIP };
      const cfg = await buildContainerConfig({
        node: this.o.node,
        pod: { ...pod, status: { ...status, hostIPs: [{ ip: this.o.hostIP }] } },
        container: c,
        kind: r.kind,
        restartCount: r.restartCount,
        hash: containerHash(c),
        sandboxId: r.sandboxId,
        pidTargetId: r.pidTargetId,
        volumes: r.volumes,
        terminationLogPath,
        source: this.o.source,
        allocatable: this.o.allocatable,
      });
      id = await this.o.runtime.createContainer(cfg);
    } catch (err) {
      const reason = err instanceof ConfigError ? 'CreateContainerConfigError' : 'CreateContainerError';
      const message = (err as Error).message;
      r.waiting.set(name, { reason, message });
      this.o.events.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      return 5_000;
    }
    this.o.events.event(ref, 'Normal', 'Created', `Created container ${name}`);
    try {
      await this.o.runtime.startContainer(id);
    } catch (err) {
      // The engine leaves it dead ("created" with an error); the next sync restarts it with backoff.
      const message = (err as Error).message;
      this.o.events.event(ref, 'Warning', 'Failed', `Error: ${message}`);
      r.waiting.delete(name);
      return 0;
    }
    r.waiting.delete(name);
    this.o.events.event(ref, 'Normal', 'Started', `Started container ${name}`);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const grace = (pod.spec?.terminationGracePeriodSeconds ?? 30) * 1000;
      const res = await runHandler(postStart, this.target(r.podIP, c, id), grace);
      if (!res.ok) {
        this.o.events.event(ref, 'Warning', 'FailedPostStartHook', res.message);
        await this.stop(pod, c, r.kind, await this.o.runtime.inspectContainer(id), r.podIP, 2);
        return 0;
      }
    }
    return undefined;
  }

  private target(podIP: string, c: Container, containerId: string) {
    return { runtime: this.o.runtime, containerId, podIP, ports: c.ports ?? [], clock: this.o.clock };
  }

  /**
   * Stops a running instance: the preStop hook, then the stop signal, then
   * SIGKILL once `graceSeconds` (counted from the start of the hook) are up.
   * The hook's own time leaves the signal at least 2 s, as Kubernetes does.
   */
  async stop(
    pod: Pod,
    c: Container | undefined,
    kind: ContainerKind,
    info: ContainerInfo,
    podIP: string,
    graceSeconds: number,
  ): Promise<void> {
    if (info.state !== 'running') return;
    const began = this.o.clock.now();
    if (c) {
      this.o.events.event(containerRef(pod, c, kind), 'Normal', 'Killing', `Stopping container ${c.name}`);
      const preStop = c.lifecycle?.preStop;
      if (preStop && graceSeconds > 0) {
        const res = await runHandler(preStop, this.target(podIP, c, info.id), graceSeconds * 1000);
        if (!res.ok)
          this.o.events.event(containerRef(pod, c, kind), 'Warning', 'FailedPreStopHook', res.message);
      }
    }
    const used = (this.o.clock.now() - began) / 1000;
    const left = graceSeconds > 0 ? Math.max(2, graceSeconds - used) : 0;
    this.o.logger.debug({ container: info.name, grace: left }, 'stopping container');
    await this.o.runtime.stopContainer(info.id, left, c?.lifecycle?.stopSignal);
  }
}
