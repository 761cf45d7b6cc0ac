/**
 * Graceful node shutdown, as the kubelet's GracefulNodeShutdown does it:
 * when the machine itself is shutting down (not when only the kubelet is
 * stopped or restarted, as in an upgrade), the kubelet marks every pod it
 * runs as Failed ("Terminated": the node is shutting down) and not Ready
 * before it exits, so Services stop sending them traffic while their
 * containers still answer, and their controllers replace them elsewhere.
 * The containers then stop with the machine's Docker engine.
 *
 * Kubernetes learns of the shutdown from logind's PrepareForShutdown
 * signal; here systemd says so (`systemctl is-system-running` is "stopping"
 * while it takes the machine down), which needs no D-Bus client.
 */

import type { Logger } from 'pino';
import { metaTime } from '../api/time.js';
import type { Pod, PodCondition } from '../api/types/pod.js';
import { ExecError, exec } from '../base/exec.js';
import type { Clock } from '../client/clock.js';

/** Whether systemd is taking this machine down; false where there is no systemd. */
export async function systemShuttingDown(): Promise<boolean> {
  // It exits non-zero in every state but "running", stopping among them: read stdout either way.
  const { stdout } = await exec('systemctl', ['is-system-running'], { timeoutMs: 3000 }).catch((err) =>
    err instanceof ExecError ? err : { stdout: '' },
  );
  return stdout.trim() === 'stopping';
}

export const shutdownReason = 'Terminated';
export const shutdownMessage = 'Pod was terminated in response to imminent node shutdown.';

/** The status a running pod gets when its node shuts down: Failed, and its Ready conditions False. */
export function shutdownStatus(pod: Pod, now: string): Pod['status'] {
  const notReady = new Set(['Ready', 'ContainersReady']);
  const conditions: PodCondition[] = (pod.status?.conditions ?? []).map((c) =>
    notReady.has(c.type ?? '')
      ? {
          ...c,
          status: 'False',
          reason: 'PodFailed',
          lastTransitionTime: c.status === 'False' ? c.lastTransitionTime : now,
        }
      : c,
  );
  const containerStatuses = pod.status?.containerStatuses?.map((c) => ({
    ...c,
    ready: false,
    started: false,
  }));
  return {
    ...pod.status,
    phase: 'Failed',
    reason: shutdownReason,
    message: shutdownMessage,
    conditions,
    ...(containerStatuses ? { containerStatuses } : {}),
  };
}

export interface ShutdownDeps {
  pods: Iterable<Pod>;
  writeStatus: (pod: Pod, status: Pod['status']) => Promise<void>;
  clock: Clock;
  logger: Logger;
  /** How long to wait after marking the pods, for Services to drop them (bounded by the grace period). */
  drainMs: number;
}

/** Marks every non-terminal pod (static ones have no pod object to mark) Failed; then waits `drainMs`. */
export async function terminatePodsForShutdown(d: ShutdownDeps): Promise<number> {
  const now = metaTime(d.clock.now());
  let marked = 0;
  for (const pod of d.pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    if (pod.metadata?.annotations?.['kubernetes.io/config.source'] === 'file') continue;
    try {
      await d.writeStatus(pod, shutdownStatus(pod, now));
      marked++;
    } catch (err) {
      d.logger.warn(
        { pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: (err as Error).message },
        'could not mark pod terminated',
      );
    }
  }
  d.logger.info({ pods: marked }, 'node shutting down: pods marked terminated');
  if (marked > 0) await new Promise((r) => setTimeout(r, d.drainMs));
  return marked;
}
