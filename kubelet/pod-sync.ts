/**
 * One pass of making the runtime match one pod (Kubernetes' SyncPod and
 * SyncTerminatingPod): level-triggered, reading the runtime state fresh
 * each time, so it is safe to run again at any point and after a restart.
 *
 * Contract: the pod workers never run two passes of one pod at once. A
 * pass returns the status to write (if any) and when to run again; it
 * throws only for errors worth a rate-limited retry.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { metaTime } from '../api/time.js';
import type { Container, EphemeralContainer, Pod, PodStatus } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';
import type { Backoff } from './backoff.js';
import type { ContainerKind, VolumePath } from './container-config.js';
import { type ContainerRunner, containerRef, type PodEvents } from './container-runner.js';
import {
  containerHash,
  dockerName,
  type PodRuntimeState,
  podLabels,
  readPodState,
  restartCountOf,
} from './pod-state.js';
import { computePodStatus, type Waiting } from './pod-status.js';
import { type ContainerInfo, Labels, type Runtime, sandboxContainerName } from './runtime/runtime.js';

export interface PodVolumes {
  /** Makes the pod's volumes (again: their sources may have changed); host paths by volume name. */
  prepare(pod: Pod): Promise<Map<string, VolumePath>>;
  /** Removes what `prepare` made for pod `uid`. */
  cleanup(uid: string): Promise<void>;
  /** How soon pod `uid`'s volumes need `prepare` again (a token to refresh); undefined: no hurry. */
  refreshAfterMs?(uid: string): number | undefined;
}

export interface ProbeResults {
  /** Starts probing new running instances and stops probing gone ones. */
  update(pod: Pod, podIP: string, state: PodRuntimeState): void;
  /** Why the liveness (or startup) probe of this instance failed for good, if it did. */
  livenessFailure(uid: string, name: string, containerId: string): string | undefined;
  ready(uid: string, name: string, containerId: string): boolean;
  started(uid: string, name: string, containerId: string): boolean;
  forget(uid: string): void;
}

export interface PodSyncerOptions {
  runtime: Runtime;
  runner: ContainerRunner;
  volumes: PodVolumes;
  probes: ProbeResults;
  events: PodEvents;
  node: string;
  hostIP: string;
  /** The pod network's name (a Docker bridge with the node's podCIDR). */
  network(): string;
  /** Where hostPorts without a hostIP listen; every address when undefined. */
  hostPortAddress?: string;
  pauseImage: string;
  clusterDNS: string[];
  clusterDomain: string;
  crashBackoff: Backoff;
  clock: Clock;
  logger: Logger;
}

export interface SyncResult {
  status?: PodStatus;
  /** Sync again after this long (backoff, pending work). */
  requeueAfterMs?: number;
  /** All stopped after a graceful deletion: delete the pod object for good. */
  finished?: boolean;
}

const podRef = (pod: Pod) => ({
  kind: 'Pod',
  apiVersion: 'v1',
  namespace: pod.metadata?.namespace,
  name: pod.metadata?.name,
  uid: pod.metadata?.uid,
});

const now = (clock: Clock) => metaTime(clock.now());

export class PodSyncer {
  /** Waiting reasons by pod uid, then container name; only the syncer knows them. */
  private readonly waiting = new Map<string, Map<string, Waiting>>();

  constructor(private readonly o: PodSyncerOptions) {}

  private waitingOf(uid: string): Map<string, Waiting> {
    let w = this.waiting.get(uid);
    if (!w) {
      w = new Map();
      this.waiting.set(uid, w);
    }
    return w;
  }

  async sync(pod: Pod): Promise<SyncResult> {
    const uid = pod.metadata?.uid ?? '';
    // A container killed with SIGKILL (exit 137) is restarted whatever the reason unless
    // restartPolicy is Never: waiting up to 5 s for an OOM event that a kill -9 never sends
    // kept a dead DNS or ingress container down 5 s longer (the nkctl drill). The reason in
    // lastState is then read again by the syncs that follow, once the event has landed.
    const inspect = { awaitOomEvent: pod.spec?.restartPolicy === 'Never' };
    let state = await readPodState(this.o.runtime, this.o.node, uid, inspect);
    await this.collectGarbage(state);
    if (pod.metadata?.deletionTimestamp) return this.terminate(pod, state);
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') {
      await this.stopAll(pod, state, 0);
      return {};
    }
    let volumes: Map<string, VolumePath>;
    try {
      volumes = await this.o.volumes.prepare(pod);
    } catch (err) {
      // Nothing new starts until the volumes can be made; what runs keeps running.
      this.o.events.event(podRef(pod), 'Warning', 'FailedMount', (err as Error).message);
      const result = await this.statusOnly(pod, state, pod.status?.podIP ?? '');
      return { ...result, requeueAfterMs: 5_000 };
    }
    let sandbox = state.sandboxes[0];
    if (sandbox?.state !== 'running') {
      if (sandbox && !this.shouldRecreateSandbox(pod, state)) return this.statusOnly(pod, state, '');
      await this.stopAll(pod, state, 2);
      sandbox = await this.runSandbox(pod, sandbox ? restartCountOf(sandbox) + 1 : 0);
      state = await readPodState(this.o.runtime, this.o.node, uid, inspect);
    }
    const podIP = pod.spec?.hostNetwork ? this.o.hostIP : (sandbox.ip ?? '');
    let requeue: number | undefined;
    const later = (ms: number | undefined) => {
      if (ms !== undefined) requeue = requeue === undefined ? ms : Math.min(requeue, ms);
    };
    // A token must be rewritten before it expires, however long the resync period.
    later(this.o.volumes.refreshAfterMs?.(uid));
    // Before the init containers, as Kubernetes' SyncPod: a pod stuck initialising can be debugged.
    for (const c of pod.spec?.ephemeralContainers ?? [])
      later(await this.syncEphemeral(pod, c, state, sandbox.id, podIP, volumes));
    let initDone = true;
    for (const c of pod.spec?.initContainers ?? []) {
      const r = await this.syncContainer(pod, c, 'init', state, sandbox.id, podIP, volumes);
      later(r.requeueAfterMs);
      if (!r.done) {
        initDone = false;
        break;
      }
    }
    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        later((await this.syncContainer(pod, c, 'app', state, sandbox.id, podIP, volumes)).requeueAfterMs);
      }
    }
    state = await readPodState(this.o.runtime, this.o.node, uid, inspect);
    this.o.probes.update(pod, podIP, state);
    const result = await this.statusOnly(pod, state, podIP);
    return { ...result, requeueAfterMs: requeue };
  }

  /** A dead sandbox is replaced unless the pod is done and will not restart anything. */
  private shouldRecreateSandbox(pod: Pod, state: PodRuntimeState): boolean {
    if ((pod.spec?.restartPolicy ?? 'Always') !== 'Never') return true;
    return (pod.spec?.containers ?? []).some((c) => !state.containers.get(c.name ?? '')?.length);
  }

  private async statusOnly(pod: Pod, state: PodRuntimeState, podIP: string): Promise<SyncResult> {
    const uid = pod.metadata?.uid ?? '';
    const status = computePodStatus({
      pod,
      state,
      podIP: podIP || undefined,
      hostIP: this.o.hostIP,
      waiting: this.waitingOf(uid),
      ready: (name, id) => this.o.probes.ready(uid, name, id),
      started: (name, id) => this.o.probes.started(uid, name, id),
      messages: await this.terminationMessages(pod, state),
      now: now(this.o.clock),
    });
    return { status };
  }

  private async runSandbox(pod: Pod, attempt: number): Promise<ContainerInfo> {
    const spec = pod.spec ?? {};
    const host = spec.hostNetwork === true;
    const ns = pod.metadata?.namespace ?? 'default';
    const policy = spec.dnsPolicy ?? 'ClusterFirst';
    const clusterFirst = policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !host);
    let dns: { servers: string[]; searches: string[]; options: string[] } | undefined;
    if ((clusterFirst && this.o.clusterDNS.length) || policy === 'None') {
      const d = this.o.clusterDomain;
      dns = clusterFirst
        ? { servers: this.o.clusterDNS, searches: [`${ns}.svc.${d}`, `svc.${d}`, d], options: ['ndots:5'] }
        : { servers: [], searches: [], options: [] };
    }
    if (spec.dnsConfig) {
      dns ??= { servers: [], searches: [], options: [] };
      dns.servers.push(...(spec.dnsConfig.nameservers ?? []));
      dns.searches.push(...(spec.dnsConfig.searches ?? []));
      for (const o of spec.dnsConfig.options ?? [])
        dns.options.push(o.value ? `${o.name}:${o.value}` : `${o.name}`);
    }
    const ports = (spec.containers ?? []).flatMap((c) => c.ports ?? []).filter((p) => p.hostPort);
    const { id } = await this.o.runtime.runSandbox({
      name: dockerName(pod, sandboxContainerName, attempt),
      image: this.o.pauseImage,
      labels: podLabels(this.o.node, pod, sandboxContainerName, attempt),
      hostname: (spec.hostname || pod.metadata?.name || 'pod').slice(0, 63),
      network: host ? 'host' : this.o.network(),
      dns,
      extraHosts: (spec.hostAliases ?? []).flatMap((a) => (a.hostnames ?? []).map((h) => `${h}:${a.ip}`)),
      portMappings: ports.map((p) => ({
        containerPort: p.containerPort ?? 0,
        hostPort: p.hostPort ?? 0,
        protocol: p.protocol ?? 'TCP',
        hostIP: p.hostIP || this.o.hostPortAddress,
      })),
      sharePid: spec.shareProcessNamespace === true,
    });
    this.o.logger.info({ pod: `${ns}/${pod.metadata?.name}`, attempt }, 'started pod sandbox');
    return this.o.runtime.inspectContainer(id);
  }

  /**
   * Brings one container to what the spec asks. `done` is true for an init
   * container that has completed (the next may start).
   */
  private async syncContainer(
    pod: Pod,
    c: Container,
    kind: 'init' | 'app',
    state: PodRuntimeState,
    sandboxId: string,
    podIP: string,
    volumes: Map<string, VolumePath>,
  ): Promise<{ done: boolean; requeueAfterMs?: number }> {
    const uid = pod.metadata?.uid ?? '';
    const name = c.name ?? '';
    const waiting = this.waitingOf(uid);
    let latest: ContainerInfo | undefined = state.containers.get(name)?.[0];
    if (latest?.state === 'created') {
      // Made but never started: the kubelet stopped in between. Start it now.
      await this.o.runtime.startContainer(latest.id);
      return { done: false, requeueAfterMs: 1000 };
    }
    if (latest?.state === 'running') {
      const changed = latest.labels[Labels.containerHash] !== containerHash(c);
      const unhealthy = kind === 'app' ? this.o.probes.livenessFailure(uid, name, latest.id) : undefined;
      if (!changed && !unhealthy) return { done: false };
      const why = changed ? 'definition changed' : `failed liveness probe`;
      this.o.events.event(
        containerRef(pod, c, kind),
        'Normal',
        'Killing',
        `Container ${name} ${why}, will be restarted`,
      );
      const probeGrace = c.livenessProbe?.terminationGracePeriodSeconds;
      await this.o.runner.stop(
        pod,
        c,
        kind,
        latest,
        podIP,
        probeGrace ?? pod.spec?.terminationGracePeriodSeconds ?? 30,
      );
      latest = await this.o.runtime.inspectContainer(latest.id);
    }
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (latest) {
      if (kind === 'init' && latest.exitCode === 0) return { done: true };
      const restart =
        policy === 'Always' ||
        (policy === 'OnFailure' && latest.exitCode !== 0) ||
        (kind === 'init' && policy !== 'Never');
      if (!restart) {
        waiting.delete(name);
        return { done: false };
      }
      const key = `${uid}/${name}`;
      const finished = Date.parse(latest.finishedAt ?? latest.createdAt);
      const left = this.o.crashBackoff.remaining(key, finished);
      if (left > 0) {
        const secs = Math.round(this.o.crashBackoff.delay(key) / 1000);
        const message = `back-off ${secs}s restarting failed container=${name} pod=${pod.metadata?.name}_${pod.metadata?.namespace}(${uid})`;
        waiting.set(name, { reason: 'CrashLoopBackOff', message });
        this.o.events.event(
          containerRef(pod, c, kind),
          'Warning',
          'BackOff',
          'Back-off restarting failed container',
        );
        return { done: false, requeueAfterMs: left };
      }
      this.o.crashBackoff.next(key);
    }
    const wait = await this.o.runner.start({
      pod,
      container: c,
      kind,
      restartCount: latest ? restartCountOf(latest) + 1 : 0,
      sandboxId,
      podIP,
      volumes,
      waiting,
    });
    // An init container just started: the pod is synced again when it exits.
    return { done: false, requeueAfterMs: wait };
  }

  /**
   * Starts an ephemeral container that has not run yet, in the PID namespace
   * of its target when it names one (which must be running, as Kubernetes'
   * getTargetID requires). One that has run is left as it is: ephemeral
   * containers are never restarted. Returns when to sync again.
   */
  private async syncEphemeral(
    pod: Pod,
    c: EphemeralContainer,
    state: PodRuntimeState,
    sandboxId: string,
    podIP: string,
    volumes: Map<string, VolumePath>,
  ): Promise<number | undefined> {
    const name = c.name ?? '';
    const latest = state.containers.get(name)?.[0];
    if (latest?.state === 'created') {
      // Made but never started: the kubelet stopped in between. Start it now.
      await this.o.runtime.startContainer(latest.id);
      return 1000;
    }
    if (latest) return undefined;
    const waiting = this.waitingOf(pod.metadata?.uid ?? '');
    let pidTargetId: string | undefined;
    if (c.targetContainerName) {
      const target = state.containers.get(c.targetContainerName)?.[0];
      if (target?.state !== 'running') {
        const message = `unable to find target container ${c.targetContainerName}`;
        waiting.set(name, { reason: 'CreateContainerConfigError', message });
        this.o.events.event(containerRef(pod, c, 'ephemeral'), 'Warning', 'Failed', `Error: ${message}`);
        return 5_000;
      }
      pidTargetId = target.id;
    }
    return this.o.runner.start({
      pod,
      container: c,
      kind: 'ephemeral',
      restartCount: 0,
      sandboxId,
      pidTargetId,
      podIP,
      volumes,
      waiting,
    });
  }

  /** Stops every running container of the pod (sandbox last). */
  private async stopAll(pod: Pod, state: PodRuntimeState, graceSeconds: number): Promise<void> {
    const specs = new Map<string, [Container, ContainerKind]>();
    for (const c of pod.spec?.initContainers ?? []) specs.set(c.name ?? '', [c, 'init']);
    for (const c of pod.spec?.containers ?? []) specs.set(c.name ?? '', [c, 'app']);
    for (const c of pod.spec?.ephemeralContainers ?? []) specs.set(c.name ?? '', [c, 'ephemeral']);
    const podIP = pod.status?.podIP ?? '';
    await Promise.all(
      [...state.containers.values()].flatMap((list) =>
        list
          .filter((i) => i.state === 'running')
          .map((i) => {
            const [spec, kind] = specs.get(i.labels[Labels.containerName] ?? '') ?? [
              undefined,
              'app' as ContainerKind,
            ];
            return this.o.runner.stop(pod, spec, kind, i, podIP, graceSeconds);
          }),
      ),
    );
    for (const s of state.sandboxes) if (s.state === 'running') await this.o.runtime.stopContainer(s.id, 2);
  }

  /** Graceful deletion: preStop hooks, stop signal, grace period, SIGKILL; then the final status. */
  private async terminate(pod: Pod, state: PodRuntimeState): Promise<SyncResult> {
    const uid = pod.metadata?.uid ?? '';
    const grace = pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    await this.stopAll(pod, state, grace);
    this.o.probes.forget(uid);
    this.waiting.delete(uid);
    const after = await readPodState(this.o.runtime, this.o.node, uid);
    const { status } = await this.statusOnly(pod, after, pod.status?.podIP ?? '');
    if (status) {
      const codes = (status.containerStatuses ?? []).map((s) => s.state?.terminated?.exitCode ?? 0);
      status.phase = codes.every((c) => c === 0) ? 'Succeeded' : 'Failed';
      for (const c of status.conditions ?? [])
        if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False';
    }
    return { status, finished: true };
  }

  /** The pod object is gone: stop and remove everything it had. */
  async cleanup(uid: string): Promise<void> {
    const state = await readPodState(this.o.runtime, this.o.node, uid);
    const all = [...state.containers.values()].flat();
    await Promise.all(
      all.filter((c) => c.state === 'running').map((c) => this.o.runtime.stopContainer(c.id, 2)),
    );
    for (const c of [...all, ...state.sandboxes, ...state.garbage])
      await this.o.runtime.removeContainer(c.id);
    await this.o.volumes.cleanup(uid);
    this.o.probes.forget(uid);
    this.o.crashBackoff.forgetPrefix(`${uid}/`);
    this.waiting.delete(uid);
  }

  /** Dead instances beyond the two newest of each container, and old sandboxes. */
  private async collectGarbage(state: PodRuntimeState): Promise<void> {
    for (const c of state.garbage) {
      if (c.state !== 'running') await this.o.runtime.removeContainer(c.id);
    }
  }

  private async terminationMessages(pod: Pod, state: PodRuntimeState): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const uid = pod.metadata?.uid ?? '';
    for (const [name, list] of state.containers) {
      for (const c of list) {
        if (c.state !== 'exited') continue;
        const file = this.o.runner.terminationLogPath(uid, name, restartCountOf(c));
        const text = await readFile(file, 'utf8').catch(() => '');
        if (text) out.set(c.id, text.slice(0, 4096));
      }
    }
    return out;
  }
}
