/**
 * Liveness, readiness and startup probes (Kubernetes' prober manager).
 *
 * One worker per probe of each running container instance. A worker waits
 * initialDelaySeconds, then probes every periodSeconds with timeoutSeconds;
 * successThreshold successes in a row make a result pass, failureThreshold
 * failures in a row make it fail. Liveness and readiness wait for the
 * startup probe to pass. A failed liveness or startup probe marks the
 * instance for a restart (the pod syncer kills it); results change only
 * through `onChange`, which asks for a pod sync.
 */
import type { Logger } from 'pino';
import type { Container, Pod, Probe } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';
import { containerRef, type PodEvents } from './container-runner.js';
import type { PodRuntimeState } from './pod-state.js';
import type { ProbeResults } from './pod-sync.js';
import { runHandler } from './probe-hook-handlers.js';
import type { Runtime } from './runtime/runtime.js';

type ProbeType = 'liveness' | 'readiness' | 'startup';

interface Worker {
  containerId: string;
  stop: AbortController;
}

export interface ProbeManagerOptions {
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  events: PodEvents;
  /** A result changed for pod `uid`: sync it. */
  onChange(uid: string): void;
}

export class ProbeManager implements ProbeResults {
  private readonly workers = new Map<string, Worker>();
  /** `${uid}/${name}` → the instance id whose readiness passed. */
  private readonly readyIds = new Map<string, string>();
  private readonly startedIds = new Map<string, string>();
  private readonly failures = new Map<string, { id: string; message: string }>();
  /** Which containers of a pod have which probes, from the last update. */
  private readonly specs = new Map<string, Map<string, Container>>();

  constructor(private readonly o: ProbeManagerOptions) {}

  update(pod: Pod, podIP: string, state: PodRuntimeState): void {
    const uid = pod.metadata?.uid ?? '';
    const specs = new Map((pod.spec?.containers ?? []).map((c) => [c.name ?? '', c]));
    this.specs.set(uid, specs);
    const wanted = new Set<string>();
    for (const [name, c] of specs) {
      const latest = state.containers.get(name)?.[0];
      if (latest?.state !== 'running') continue;
      const probes: [ProbeType, Probe | undefined][] = [
        ['startup', c.startupProbe],
        ['liveness', c.livenessProbe],
        ['readiness', c.readinessProbe],
      ];
      for (const [type, probe] of probes) {
        if (!probe) continue;
        const key = `${uid}/${name}/${type}`;
        wanted.add(key);
        const w = this.workers.get(key);
        if (w?.containerId === latest.id) continue;
        w?.stop.abort();
        const worker: Worker = { containerId: latest.id, stop: new AbortController() };
        this.workers.set(key, worker);
        void this.runWorker(pod, c, type, probe, podIP, worker).catch((err) =>
          this.o.logger.error({ err, key }, 'probe worker failed'),
        );
      }
    }
    for (const [key, w] of this.workers) {
      if (key.startsWith(`${uid}/`) && !wanted.has(key)) {
        w.stop.abort();
        this.workers.delete(key);
      }
    }
  }

  livenessFailure(uid: string, name: string, containerId: string): string | undefined {
    const f = this.failures.get(`${uid}/${name}`);
    return f?.id === containerId ? f.message : undefined;
  }

  ready(uid: string, name: string, containerId: string): boolean {
    const c = this.specs.get(uid)?.get(name);
    if (!this.started(uid, name, containerId)) return false;
    if (!c?.readinessProbe) return true;
    return this.readyIds.get(`${uid}/${name}`) === containerId;
  }

  started(uid: string, name: string, containerId: string): boolean {
    const c = this.specs.get(uid)?.get(name);
    if (!c?.startupProbe) return true;
    return this.startedIds.get(`${uid}/${name}`) === containerId;
  }

  forget(uid: string): void {
    for (const [key, w] of this.workers) {
      if (key.startsWith(`${uid}/`)) {
        w.stop.abort();
        this.workers.delete(key);
      }
    }
    for (const m of [this.readyIds, this.startedIds, this.failures])
      for (const key of m.keys()) if (key.startsWith(`${uid}/`)) m.delete(key);
    this.specs.delete(uid);
  }

  /** Stops every worker (kubelet shutdown). */
  stopAll(): void {
    for (const w of this.workers.values()) w.stop.abort();
    this.workers.clear();
  }

  private async runWorker(
    pod: Pod,
    c: Container,
    type: ProbeType,
    probe: Probe,
    podIP: string,
    w: Worker,
  ): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    const key = `${uid}/${c.name}`;
    const signal = w.stop.signal;
    const clock = this.o.clock;
    const period = (probe.periodSeconds ?? 10) * 1000;
    const timeout = (probe.timeoutSeconds ?? 1) * 1000;
    const successThreshold = type === 'readiness' ? (probe.successThreshold ?? 1) : 1;
    const failureThreshold = probe.failureThreshold ?? 3;
    const target = {
      runtime: this.o.runtime,
      containerId: w.containerId,
      podIP,
      ports: c.ports ?? [],
      clock,
    };
    const label = `${type[0].toUpperCase()}${type.slice(1)}`;
    let successes = 0;
    let failures = 0;
    await clock.sleep((probe.initialDelaySeconds ?? 0) * 1000, signal);
    while (!signal.aborted) {
      const waitsForStartup = type !== 'startup' && !this.started(uid, c.name ?? '', w.containerId);
      if (!waitsForStartup) {
        const res = await runHandler(probe, target, timeout);
        if (signal.aborted) return;
        if (res.ok) {
          successes++;
          failures = 0;
        } else {
          failures++;
          successes = 0;
          this.o.events.event(
            containerRef(pod, c, 'app'),
            'Warning',
            'Unhealthy',
            `${label} probe failed: ${res.message}`,
          );
        }
        if (
          this.record(
            type,
            key,
            w.containerId,
            successes >= successThreshold,
            failures >= failureThreshold,
            res.message,
          )
        ) {
          this.o.onChange(uid);
        }
        // A failed liveness or startup probe ends this instance; a passed startup probe is done.
        if (type !== 'readiness' && (failures >= failureThreshold || (type === 'startup' && res.ok))) return;
      }
      await clock.sleep(period, signal);
    }
  }

  /** Applies a probe outcome; true when a result others read has changed. */
  private record(
    type: ProbeType,
    key: string,
    id: string,
    passed: boolean,
    failed: boolean,
    message: string,
  ): boolean {
    if (type === 'readiness') {
      const was = this.readyIds.get(key) === id;
      if (passed && !was) this.readyIds.set(key, id);
      else if (failed && was) this.readyIds.delete(key);
      else return false;
      return true;
    }
    if (type === 'startup' && passed) {
      this.startedIds.set(key, id);
      return true;
    }
    if (failed) {
      this.failures.set(key, { id, message: `${type} probe failed: ${message}` });
      return true;
    }
    return false;
  }
}
