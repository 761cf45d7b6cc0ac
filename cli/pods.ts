/**
 * How logs, exec and port-forward find the pod and container a user means,
 * as kubectl does: `POD`, or `TYPE/NAME` of a workload or Service whose
 * selector picks one of its pods (the best for the purpose: for logs
 * kubectl's ByLogging order, for exec and port-forward the most active
 * pod), waiting a while for a first pod when there is none yet; and the
 * container: the one named, the pod's default-container annotation, or
 * the first (saying so when there was a choice).
 */
import type { KubeObject } from '../api/meta.js';
import type { Pod } from '../api/objects.js';
import { labelSelectorFromObject, labelSelectorFromSet } from '../api/selectors.js';
import { compareForDeletion, isPodReady, podCondition, podRestarts } from '../api/types/pod-facts.js';
import { type CliContext, CliError } from './context.js';
import { splitSlash } from './objectref.js';

export type { Pod };

/** Which pod of several to pick: the one with the best logs, or the one to attach to. */
export type PodPurpose = 'logs' | 'attach';

export const defaultContainerAnnotation = 'kubectl.kubernetes.io/default-container';

/** Splits `TYPE/NAME`; a bare name is a pod. */
export function splitTypeName(arg: string): { type: string; name: string } {
  return arg.includes('/') ? splitSlash(arg) : { type: 'pods', name: arg };
}

/** The label selector of the pods an object runs (kubectl's SelectorsForObject). */
export function podSelectorOf(kind: string, obj: KubeObject): string {
  const spec = (obj as { spec?: { selector?: unknown } }).spec;
  if (kind === 'Service' || kind === 'ReplicationController') {
    const set = spec?.selector as Record<string, string> | undefined;
    if (kind === 'Service' && (!set || Object.keys(set).length === 0))
      throw new CliError(`invalid service '${obj.metadata.name}': Service is defined without a selector`);
    return labelSelectorFromSet(set).toString();
  }
  if (!['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job'].includes(kind))
    throw new CliError(`selector for ${kind} not implemented`);
  return labelSelectorFromObject(spec?.selector as never).toString();
}

const loggingPhase: Record<string, number> = { Running: 0, Unknown: 1, Pending: 2 };
const time = (t: string | null | undefined) => (t ? Date.parse(t) : Number.POSITIVE_INFINITY);

/**
 * kubectl's ByLogging: assigned, then running before unknown before
 * pending, ready, ready for longer, more restarts (their logs tell more),
 * older.
 */
export function compareForLogs(a: Pod, b: Pod): number {
  const assigned = (p: Pod) => (p.spec?.nodeName ? 0 : 1);
  if (assigned(a) !== assigned(b)) return assigned(a) - assigned(b);
  const pa = loggingPhase[a.status?.phase ?? ''] ?? 3;
  const pb = loggingPhase[b.status?.phase ?? ''] ?? 3;
  if (pa !== pb) return pa - pb;
  if (isPodReady(a) !== isPodReady(b)) return isPodReady(a) ? -1 : 1;
  if (isPodReady(a)) {
    const ra = time(podCondition(a, 'Ready')?.lastTransitionTime);
    const rb = time(podCondition(b, 'Ready')?.lastTransitionTime);
    if (ra !== rb) return ra - rb;
  }
  if (podRestarts(a) !== podRestarts(b)) return podRestarts(b) - podRestarts(a);
  return time(a.metadata.creationTimestamp) - time(b.metadata.creationTimestamp);
}

const orders: Record<PodPurpose, (a: Pod, b: Pod) => number> = {
  logs: compareForLogs,
  // kubectl's sort.Reverse(ActivePods): the pod a controller would delete last.
  attach: (a, b) => compareForDeletion(b, a),
};

/** The pods of `selector`, best first; waits up to `timeoutMs` for a first one. */
export async function podsFor(
  ctx: CliContext,
  selector: string,
  purpose: PodPurpose,
  timeoutMs: number,
): Promise<Pod[]> {
  const pods = ctx.client(ctx.resource('pods'), ctx.namespace);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const items = (await pods.list({ labelSelector: selector })).items as Pod[];
    if (items.length) return items.sort(orders[purpose]);
    if (Date.now() >= deadline) throw new CliError('timed out waiting for the condition');
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * The pod `arg` (POD or TYPE/NAME) means, and how many pods it chose from.
 * A missing object is the server's NotFound.
 */
export async function podFor(
  ctx: CliContext,
  arg: string,
  purpose: PodPurpose,
  timeoutMs: number,
): Promise<{ pod: Pod; of: number; owner: KubeObject }> {
  const { type, name } = splitTypeName(arg);
  const rt = ctx.resource(type);
  const obj = await ctx.client(rt, ctx.namespace).get(name);
  if (rt.kind === 'Pod') return { pod: obj as Pod, of: 1, owner: obj };
  const pods = await podsFor(ctx, podSelectorOf(rt.kind, obj), purpose, timeoutMs);
  return { pod: pods[0], of: pods.length, owner: obj };
}

/** kubectl's AllContainerNames: `app, sidecar, setup (init)`. */
export function containerNames(pod: Pod): string {
  return [
    ...(pod.spec?.containers ?? []).map((c) => c.name),
    ...(pod.spec?.initContainers ?? []).map((c) => `${c.name} (init)`),
  ].join(', ');
}

/**
 * The container to use: `name` if given (it must exist), else the pod's
 * default-container annotation, else the first container, noting on
 * `warn` that it chose when there was more than one.
 */
export function chooseContainer(pod: Pod, name: string | undefined, warn?: (line: string) => void): string {
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  const wanted = name || pod.metadata.annotations?.[defaultContainerAnnotation];
  if (wanted) {
    if (!all.includes(wanted))
      throw new CliError(
        `container ${wanted} is not valid for pod ${pod.metadata.name} out of: ${containerNames(pod)}`,
      );
    return wanted;
  }
  const first = pod.spec?.containers?.[0]?.name;
  if (!first)
    throw new CliError(`pod ${pod.metadata.namespace}/${pod.metadata.name} does not have any containers`);
  if (all.length > 1) warn?.(`Defaulted container "${first}" out of: ${containerNames(pod)}`);
  return first;
}
