/**
 * `rollout status`: how far a rollout is, in kubectl's words (its
 * polymorphichelpers/rollout_status.go, message for message), and the
 * watch that prints it until the rollout is done. `rolloutStatus` is pure;
 * a rollout that cannot finish (past its progress deadline, or a strategy
 * without rollouts) is a CliError.
 */
import type { KubeObject } from '../../api/meta.js';
import { revisionAnnotation } from '../../api/rollout.js';
import type { ResourceClient } from '../../client/resource.js';
import { CliError } from '../context.js';

export interface RolloutState {
  /** One line, without its newline. */
  message: string;
  done: boolean;
}

interface Workload extends KubeObject {
  spec?: {
    replicas?: number;
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
  };
  status?: Record<string, unknown> & { conditions?: { type?: string; reason?: string }[] };
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

function deploymentStatus(d: Workload, revision: number): RolloutState {
  const name = d.metadata.name;
  const s = d.status ?? {};
  if (revision > 0) {
    const running = Number(d.metadata.annotations?.[revisionAnnotation] ?? 0);
    if (running !== revision)
      throw new CliError(
        `desired revision (${revision}) is different from the running revision (${running})`,
      );
  }
  if ((d.metadata.generation ?? 0) > num(s.observedGeneration))
    return { message: 'Waiting for deployment spec update to be observed...', done: false };
  const progressing = s.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded')
    throw new CliError(`deployment "${name}" exceeded its progress deadline`);
  const replicas = d.spec?.replicas ?? 1;
  const updated = num(s.updatedReplicas);
  const wait = `Waiting for deployment "${name}" rollout to finish:`;
  if (updated < replicas)
    return {
      message: `${wait} ${updated} out of ${replicas} new replicas have been updated...`,
      done: false,
    };
  if (num(s.replicas) > updated)
    return {
      message: `${wait} ${num(s.replicas) - updated} old replicas are pending termination...`,
      done: false,
    };
  if (num(s.availableReplicas) < updated)
    return {
      message: `${wait} ${num(s.availableReplicas)} of ${updated} updated replicas are available...`,
      done: false,
    };
  return { message: `deployment "${name}" successfully rolled out`, done: true };
}

function daemonSetStatus(ds: Workload): RolloutState {
  const name = ds.metadata.name;
  const s = ds.status ?? {};
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate')
    throw new CliError('rollout status is only available for RollingUpdate strategy type');
  if ((ds.metadata.generation ?? 0) > num(s.observedGeneration))
    return { message: 'Waiting for daemon set spec update to be observed...', done: false };
  const desired = num(s.desiredNumberScheduled);
  const wait = `Waiting for daemon set "${name}" rollout to finish:`;
  if (num(s.updatedNumberScheduled) < desired)
    return {
      message: `${wait} ${num(s.updatedNumberScheduled)} out of ${desired} new pods have been updated...`,
      done: false,
    };
  if (num(s.numberAvailable) < desired)
    return {
      message: `${wait} ${num(s.numberAvailable)} of ${desired} updated pods are available...`,
      done: false,
    };
  return { message: `daemon set "${name}" successfully rolled out`, done: true };
}

function statefulSetStatus(sts: Workload): RolloutState {
  const s = sts.status ?? {};
  const strategy = sts.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate')
    throw new CliError('rollout status is only available for RollingUpdate strategy type');
  if (num(s.observedGeneration) === 0 || (sts.metadata.generation ?? 0) > num(s.observedGeneration))
    return { message: 'Waiting for statefulset spec update to be observed...', done: false };
  const replicas = sts.spec?.replicas ?? 1;
  if (num(s.readyReplicas) < replicas)
    return { message: `Waiting for ${replicas - num(s.readyReplicas)} pods to be ready...`, done: false };
  if (strategy?.rollingUpdate) {
    const partition = strategy.rollingUpdate.partition;
    if (partition !== undefined && num(s.updatedReplicas) < replicas - partition)
      return {
        message: `Waiting for partitioned roll out to finish: ${num(s.updatedReplicas)} out of ${replicas - partition} new pods have been updated...`,
        done: false,
      };
    return {
      message: `partitioned roll out complete: ${num(s.updatedReplicas)} new pods have been updated...`,
      done: true,
    };
  }
  if (s.updateRevision !== s.currentRevision)
    return {
      message: `waiting for statefulset rolling update to complete ${num(s.updatedReplicas)} pods at revision ${s.updateRevision}...`,
      done: false,
    };
  return {
    message: `statefulset rolling update complete ${num(s.currentReplicas)} pods at revision ${s.currentRevision}...`,
    done: true,
  };
}

const viewers: Record<string, (o: Workload, revision: number) => RolloutState> = {
  Deployment: deploymentStatus,
  DaemonSet: daemonSetStatus,
  StatefulSet: statefulSetStatus,
};

/** Whether the kind has rollouts to follow (Deployment, DaemonSet, StatefulSet). */
export function hasRolloutStatus(kind: string): boolean {
  return kind in viewers;
}

/** The rollout's state as kubectl words it; `revision` > 0 pins a Deployment's revision. */
export function rolloutStatus(kind: string, obj: KubeObject, revision = 0): RolloutState {
  const viewer = viewers[kind];
  if (!viewer) throw new CliError(`no status viewer has been implemented for ${kind}`);
  return viewer(obj as Workload, revision);
}

export interface WatchRolloutOptions {
  revision?: number;
  /** false: report the state once and return. */
  watch: boolean;
  signal: AbortSignal;
  /** Called with each state, changed or not. */
  report(state: RolloutState): void;
}

/**
 * Reports the rollout's state from the object and then from a watch of it
 * (resumed where it left off when the server ends it), until the rollout is
 * done, `watch` is false, or `signal` aborts (then it throws "timed out").
 */
export async function watchRollout(
  client: ResourceClient,
  kind: string,
  name: string,
  o: WatchRolloutOptions,
): Promise<void> {
  const timedOut = () => new CliError('timed out waiting for the condition');
  let obj = await client.get(name);
  for (;;) {
    const state = rolloutStatus(kind, obj, o.revision);
    o.report(state);
    if (state.done || !o.watch) return;
    const next = await nextVersion(client, obj, o.signal);
    if (!next) throw timedOut();
    obj = next;
  }
}

/** The next version of `obj` from a watch, or undefined when `signal` aborted. */
async function nextVersion(
  client: ResourceClient,
  obj: KubeObject,
  signal: AbortSignal,
): Promise<KubeObject | undefined> {
  let resourceVersion = obj.metadata.resourceVersion;
  while (!signal.aborted) {
    try {
      for await (const ev of client.watch({
        fieldSelector: `metadata.name=${obj.metadata.name}`,
        resourceVersion,
        timeoutSeconds: 60,
        signal,
      })) {
        if (ev.type === 'DELETED') throw new CliError('object has been deleted');
        if (ev.type === 'ADDED' || ev.type === 'MODIFIED') return ev.object;
        resourceVersion = ev.object.metadata.resourceVersion;
      }
    } catch (err) {
      if (signal.aborted) return undefined;
      // 410 Gone: our resourceVersion is too old; the object as it is now is the next version.
      if ((err as { code?: number }).code === 410) return client.get(obj.metadata.name!);
      throw err;
    }
  }
  return undefined;
}
