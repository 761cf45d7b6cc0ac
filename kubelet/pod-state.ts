/**
 * What the runtime holds for one pod, read back from container labels
 * (runtime.ts `Labels`), and the names and labels the kubelet gives what it
 * makes. The runtime is the only record: nothing here is remembered between
 * syncs, so a restarted kubelet reads the same state.
 */
import { createHash } from 'node:crypto';
import { metaTime } from '../api/time.js';
import type { Container, Pod } from '../api/types/pod.js';
import {
  type ContainerInfo,
  type ContainerSummary,
  Labels,
  type Runtime,
  sandboxContainerName,
} from './runtime/runtime.js';

/** Instances of one container name, newest (highest restartCount) first. */
export interface PodRuntimeState {
  uid: string;
  /** Sandboxes newest first; [0] is the current one. */
  sandboxes: ContainerInfo[];
  /** By container name; each list newest first. Only the two newest are inspected. */
  containers: Map<string, ContainerInfo[]>;
  /** Instances beyond the two newest of each name, and old sandboxes: garbage. */
  garbage: ContainerSummary[];
}

export function restartCountOf(c: { labels: Record<string, string> }): number {
  const n = Number(c.labels[Labels.restartCount]);
  return Number.isInteger(n) && n >= 0 ? n : 0;
}

const newestFirst = (a: ContainerSummary, b: ContainerSummary) =>
  restartCountOf(b) - restartCountOf(a) ||
  (b.createdAt < a.createdAt ? -1 : b.createdAt > a.createdAt ? 1 : 0);

/**
 * Lists and inspects the containers of pod `uid` on `node`; `awaitOomEvent`
 * as `Runtime.inspectContainer` (true unless said otherwise).
 */
export async function readPodState(
  runtime: Runtime,
  node: string,
  uid: string,
  opts: { awaitOomEvent?: boolean } = {},
): Promise<PodRuntimeState> {
  const all = await runtime.listContainers({ [Labels.node]: node, [Labels.podUID]: uid });
  const byName = new Map<string, ContainerSummary[]>();
  for (const c of all) {
    const name = c.labels[Labels.containerName] ?? '';
    byName.set(name, [...(byName.get(name) ?? []), c]);
  }
  const garbage: ContainerSummary[] = [];
  const inspect = async (list: ContainerSummary[], keep: number): Promise<ContainerInfo[]> => {
    list.sort(newestFirst);
    garbage.push(...list.slice(keep));
    const infos = await Promise.all(
      list.slice(0, keep).map((c) => runtime.inspectContainer(c.id, opts).catch(() => undefined)),
    );
    return infos.filter((i): i is ContainerInfo => i !== undefined);
  };
  const sandboxes = await inspect(byName.get(sandboxContainerName) ?? [], 1);
  byName.delete(sandboxContainerName);
  const containers = new Map<string, ContainerInfo[]>();
  for (const [name, list] of byName) containers.set(name, await inspect(list, 2));
  return { uid, sandboxes, containers, garbage };
}

/** The Docker name of a container, as dockershim named it: k8s_<container>_<pod>_<ns>_<uid>_<attempt>. */
export function dockerName(pod: Pod, container: string, attempt: number): string {
  const m = pod.metadata ?? {};
  return `k8s_${container}_${m.name}_${m.namespace}_${m.uid}_${attempt}`;
}

export function podLabels(
  node: string,
  pod: Pod,
  container: string,
  restartCount: number,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    [Labels.node]: node,
    [Labels.podNamespace]: pod.metadata?.namespace ?? '',
    [Labels.podName]: pod.metadata?.name ?? '',
    [Labels.podUID]: pod.metadata?.uid ?? '',
    [Labels.containerName]: container,
    [Labels.restartCount]: String(restartCount),
    [Labels.type]: container === sandboxContainerName ? 'podsandbox' : 'container',
    ...extra,
  };
}

/**
 * A hash of what a container was made from. Only the fields that change
 * what runs count, so defaults added later by the apiserver do not restart
 * anything.
 */
export function containerHash(c: Container): string {
  const { name, image, command, args, workingDir, ports, env, envFrom, resources, volumeMounts } = c;
  const { securityContext, tty, stdin } = c;
  const data = JSON.stringify({ name, image, command, args, workingDir, ports, env, envFrom, resources });
  const more = JSON.stringify({ volumeMounts, securityContext, tty, stdin });
  return createHash('sha256')
    .update(data + more)
    .digest('hex')
    .slice(0, 16);
}

/** RFC 3339 in whole seconds, as metav1.Time. */
export function toTime(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : metaTime(ms);
}
