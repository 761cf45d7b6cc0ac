/** The scheduler's Prometheus metrics, named as kube-scheduler names them. */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type AttemptResult = 'scheduled' | 'unschedulable' | 'error';

export interface SchedulerMetrics {
  attempt(result: AttemptResult, seconds: number): void;
  /** From the pod's first time in the queue to its bind succeeding. */
  scheduled(seconds: number, attempts: number): void;
  preemption(victims: number): void;
}

export function newSchedulerMetrics(
  reg: Registry,
  depth: () => { active: number; backoff: number; unschedulable: number },
): SchedulerMetrics {
  const attempts = new Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Number of attempts to schedule pods, by the result.',
    labelNames: ['result', 'profile'],
    registers: [reg],
  });
  const duration = new Histogram({
    name: 'scheduler_scheduling_attempt_duration_seconds',
    help: 'Scheduling attempt latency in seconds (scheduling algorithm + binding decision).',
    labelNames: ['result', 'profile'],
    buckets: [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [reg],
  });
  const sli = new Histogram({
    name: 'scheduler_pod_scheduling_sli_duration_seconds',
    help: 'E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue.',
    labelNames: ['attempts'],
    buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 60],
    registers: [reg],
  });
  new Gauge({
    name: 'scheduler_pending_pods',
    help: 'Number of pending pods, by the queue type.',
    labelNames: ['queue'],
    registers: [reg],
    collect() {
      const d = depth();
      this.set({ queue: 'active' }, d.active);
      this.set({ queue: 'backoff' }, d.backoff);
      this.set({ queue: 'unschedulable' }, d.unschedulable);
    },
  });
  const preemptionAttempts = new Counter({
    name: 'scheduler_preemption_attempts_total',
    help: 'Total preemption attempts in the cluster till now.',
    registers: [reg],
  });
  const victims = new Histogram({
    name: 'scheduler_preemption_victims',
    help: 'Number of selected preemption victims.',
    buckets: [1, 2, 4, 8, 16, 32, 64],
    registers: [reg],
  });
  return {
    attempt(result, seconds) {
      attempts.inc({ result, profile: 'default-scheduler' });
      duration.observe({ result, profile: 'default-scheduler' }, seconds);
    },
    scheduled(seconds, n) {
      sli.observe({ attempts: String(Math.min(n, 15)) }, seconds);
    },
    preemption(n) {
      preemptionAttempts.inc();
      if (n > 0) victims.observe(n);
    },
  };
}

/** Metrics that go nowhere, for tests. */
export const noMetrics: SchedulerMetrics = { attempt() {}, scheduled() {}, preemption() {} };
