/**
 * `nkctl drain`: cordons a node, then evicts its pods through the eviction
 * API (policy/v1 Eviction) and waits until they are gone, as kubectl does.
 * Eviction (not a plain delete) lets the apiserver refuse with 429 when a
 * disruption budget would be broken; drain then says so and tries again every
 * 5 s until its --timeout.
 *
 * It refuses, before evicting anything, when the node runs pods that would
 * not come back or whose loss the user has not agreed to, with kubectl's
 * words: DaemonSet pods (they would be recreated on the node at once; pass
 * --ignore-daemonsets to leave them), pods with emptyDir data
 * (--delete-emptydir-data) and pods no controller would recreate (--force).
 * Mirror pods of static pods are skipped: only the kubelet's files remove
 * them. Running it again after a refusal or a timeout is safe.
 */
import { Command } from 'commander';
import type { Pod } from '../../api/objects.js';
import { isNotFound, StatusError } from '../../api/status.js';
import { boolFlag, parseDuration } from '../../base/component-main.js';
import { type Clock, realClock } from '../../client/clock.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { setUnschedulable } from './cordon.js';

export interface DrainFlags {
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  gracePeriod: string;
  timeout: string;
}

/** What drain does with one pod: kubectl's PodDeleteStatus. */
export interface PodDeleteStatus {
  delete: boolean;
  reason: 'Okay' | 'Skip' | 'Warning' | 'Error';
  message?: string;
}

const daemonSetFatal = 'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)';
const daemonSetWarning = 'ignoring DaemonSet-managed Pods';
const localStorageFatal = 'Pods with local storage (use --delete-emptydir-data to override)';
const localStorageWarning = 'deleting Pods with local storage';
const unmanagedFatal = 'Pods that declare no controller (use --force to override)';
const unmanagedWarning = 'deleting Pods that declare no controller';
const mirrorAnnotation = 'kubernetes.io/config.mirror';

const okay: PodDeleteStatus = { delete: true, reason: 'Okay' };
const warn = (del: boolean, message: string): PodDeleteStatus => ({
  delete: del,
  reason: 'Warning',
  message,
});
const fail = (message: string): PodDeleteStatus => ({ delete: false, reason: 'Error', message });

const finished = (pod: Pod) => pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
const controllerOf = (pod: Pod) => pod.metadata.ownerReferences?.find((r) => r.controller);
const daemonSetOf = (pod: Pod) => {
  const ref = controllerOf(pod);
  return ref?.kind === 'DaemonSet' && ref.apiVersion === 'apps/v1' ? ref.name : undefined;
};
const podKey = (pod: Pod) => `${pod.metadata.namespace}/${pod.metadata.name}`;

type Filter = (pod: Pod) => PodDeleteStatus;

/**
 * kubectl's filters, in its order; the first that keeps a pod decides. A
 * pod that may go carries the last warning raised (kubectl drops a warning
 * when a later filter passes; it says so in a TODO). `daemonSets` holds the
 * `ns/name` of the DaemonSets that exist: a pod whose DaemonSet is gone is
 * deleted with --force.
 */
export function podDeleteStatus(pod: Pod, f: DrainFlags, daemonSets: Set<string>): PodDeleteStatus {
  const filters: Filter[] = [
    (p) => {
      const ds = daemonSetOf(p);
      if (!ds || finished(p)) return okay;
      if (!daemonSets.has(`${p.metadata.namespace}/${ds}`)) {
        const notFound = `daemonsets.apps "${ds}" not found`;
        return f.force ? warn(true, notFound) : fail(notFound);
      }
      return f.ignoreDaemonsets ? warn(false, daemonSetWarning) : fail(daemonSetFatal);
    },
    (p) =>
      p.metadata.annotations?.[mirrorAnnotation] !== undefined ? { delete: false, reason: 'Skip' } : okay,
    (p) => {
      if (!(p.spec?.volumes ?? []).some((v) => v.emptyDir) || finished(p)) return okay;
      return f.deleteEmptydirData ? warn(true, localStorageWarning) : fail(localStorageFatal);
    },
    (p) => {
      if (finished(p) || controllerOf(p)) return okay;
      return f.force ? warn(true, unmanagedWarning) : fail(unmanagedFatal);
    },
  ];
  let result = okay;
  for (const filter of filters) {
    const status = filter(pod);
    if (!status.delete) return status;
    if (status.reason === 'Warning') result = status;
  }
  return result;
}

/** `message: ns/a, ns/b` per message, as kubectl groups its warnings and errors. */
function grouped(pods: Pod[], statuses: PodDeleteStatus[], reason: PodDeleteStatus['reason']): string[] {
  const byMessage = new Map<string, string[]>();
  statuses.forEach((s, i) => {
    if (s.reason !== reason) return;
    const msg = s.message || 'unexpected error';
    byMessage.set(msg, [...(byMessage.get(msg) ?? []), podKey(pods[i])]);
  });
  return [...byMessage].map(([msg, keys]) => `${msg}: ${keys.join(', ')}`);
}

export interface DrainPlan {
  evict: Pod[];
  /** One line for `Warning: `, empty when there is nothing to warn about. */
  warnings: string;
  /** kubectl's `cannot delete ...` errors; any one of them stops the drain. */
  errors: string[];
}

export function planDrain(pods: Pod[], f: DrainFlags, daemonSets: Set<string>): DrainPlan {
  const statuses = pods.map((p) => podDeleteStatus(p, f, daemonSets));
  return {
    evict: pods.filter((_, i) => statuses[i].delete),
    warnings: grouped(pods, statuses, 'Warning').join('; '),
    errors: grouped(pods, statuses, 'Error').map((e) => `cannot delete ${e}`),
  };
}

/** How one error or several read on one line, as Kubernetes aggregates them. */
export const aggregate = (errors: string[]) => (errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`);

/** The two calls eviction needs; `get` resolves undefined once the pod is gone. */
export interface PodApi {
  evict(pod: Pod): Promise<unknown>;
  get(pod: Pod): Promise<Pod | undefined>;
}

export interface EvictOptions {
  clock: Clock;
  /** Clock time after which drain gives up; Infinity for no limit. */
  deadline: number;
  /** As the user wrote --timeout, for the message. */
  timeout: string;
  retryDelayMs: number;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

/**
 * Evicts one pod, retrying while the apiserver answers 429, then waits until
 * the pod is gone (or replaced by one of the same name). Throws kubectl's
 * message on any other refusal or at the deadline.
 */
export async function evictPod(pod: Pod, api: PodApi, o: EvictOptions): Promise<void> {
  const { name, namespace } = pod.metadata;
  let active = pod;
  for (;;) {
    o.out.write(`evicting pod ${namespace}/${name}\n`);
    if (o.clock.now() >= o.deadline)
      throw new Error(
        `error when evicting pods/"${name}" -n "${namespace}": global timeout reached: ${o.timeout}`,
      );
    try {
      await api.evict(active);
      break;
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
      if (isNotFound(e)) return;
      if (e.code !== 429)
        throw new Error(`error when evicting pods/"${name}" -n "${namespace}": ${e.message}`);
      o.err.write(
        `error when evicting pods/"${name}" -n "${namespace}" (will retry after ${o.retryDelayMs / 1000}s): ${e.message}\n`,
      );
      await o.clock.sleep(o.retryDelayMs);
    }
    active = (await api.get(active).catch(() => undefined)) ?? active;
  }
  for (;;) {
    const current = await api.get(pod);
    if (!current || current.metadata.uid !== pod.metadata.uid) {
      o.out.write(`pod/${name} evicted\n`);
      return;
    }
    if (o.clock.now() >= o.deadline)
      throw new Error(
        `error when waiting for pod "${name}" in namespace "${namespace}" to terminate: global timeout reached: ${o.timeout}`,
      );
    await o.clock.sleep(1000);
  }
}

/** The `ns/name` of the DaemonSets that the node's DaemonSet pods name and that exist. */
async function existingDaemonSets(ctx: CliContext, pods: Pod[]): Promise<Set<string>> {
  const wanted = new Set(
    pods.flatMap((p) => {
      const ds = daemonSetOf(p);
      return ds ? [`${p.metadata.namespace}/${ds}`] : [];
    }),
  );
  const found = new Set<string>();
  for (const key of wanted) {
    const [ns, name] = key.split('/');
    try {
      await ctx.client(ctx.resource('daemonsets.apps'), ns).get(name);
      found.add(key);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return found;
}

function podApi(ctx: CliContext, gracePeriodSeconds: number | undefined): PodApi {
  const pods = ctx.client(ctx.resource('pods'));
  return {
    evict: (pod) => pods.in(pod.metadata.namespace).evict(pod.metadata.name!, { gracePeriodSeconds }),
    async get(pod) {
      try {
        return (await pods.in(pod.metadata.namespace).get(pod.metadata.name!)) as Pod;
      } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
      }
    },
  };
}

export async function drain(
  ctx: CliContext,
  node: string,
  f: DrainFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  clock: Clock = realClock,
): Promise<void> {
  const grace = Number(f.gracePeriod);
  if (!Number.isInteger(grace) || grace < -1) throw new CliError(`invalid --grace-period "${f.gracePeriod}"`);
  const timeoutMs = parseDuration('--timeout', f.timeout);
  await setUnschedulable(ctx, node, true, out);
  const pods = (await ctx.client(ctx.resource('pods')).list({ fieldSelector: `spec.nodeName=${node}` }))
    .items as Pod[];
  const plan = planDrain(pods, f, await existingDaemonSets(ctx, pods));
  if (plan.errors.length) throw new CliError(aggregate(plan.errors));
  if (plan.warnings) err.write(`Warning: ${plan.warnings}\n`);
  const api = podApi(ctx, grace < 0 ? undefined : grace);
  const o: EvictOptions = {
    clock,
    deadline: timeoutMs === 0 ? Number.POSITIVE_INFINITY : clock.now() + timeoutMs,
    timeout: f.timeout,
    retryDelayMs: 5000,
    out,
    err,
  };
  const results = await Promise.allSettled(plan.evict.map((p) => evictPod(p, api, o)));
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length) throw new CliError(aggregate(failed));
  out.write(`node/${node} drained\n`);
}

export function newDrainCommand(): Command {
  return new Command('drain')
    .description(
      'Cordon a node and evict its pods, waiting until they are gone. Refuses DaemonSet pods, emptyDir data and pods without a controller unless told. Safe to run again.',
    )
    .argument('<node>', 'name of the node')
    .addOption(boolFlag('--ignore-daemonsets', 'leave DaemonSet-managed pods where they are'))
    .addOption(boolFlag('--delete-emptydir-data', 'evict pods with emptyDir volumes, losing their data'))
    .addOption(boolFlag('--force', 'evict pods that no controller will recreate, too'))
    .option('--grace-period <seconds>', "seconds each pod has to stop (-1: the pod's own)", '-1')
    .option('--timeout <duration>', 'give up after this long, like 5m (0: wait for ever)', '0s')
    .action(async (node: string, f: DrainFlags, cmd: Command) => {
      await drain(cliContext(cmd), node, f);
    });
}
