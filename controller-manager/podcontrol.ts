/**
 * The writes the workload controllers make to their children, behind narrow
 * interfaces so unit tests substitute a fake that records calls:
 *
 * - `PodControl` creates pods from a template (with a controller
 *   ownerReference that blocks the owner's foreground deletion) and deletes
 *   them, recording SuccessfulCreate/FailedCreate/SuccessfulDelete/
 *   FailedDelete Events on the owner, as Kubernetes' RealPodControl does.
 * - `claimObjects` is the controller ref manager: it adopts orphans that
 *   match the owner's selector and releases children that stopped matching,
 *   leaving children of other controllers alone.
 */
import type { Logger } from 'pino';
import { controllerRefOf, type KubeObject, type OwnerReference } from '../api/meta.js';
import type { Pod } from '../api/objects.js';
import type { Registry } from '../api/registry.js';
import type { ParsedLabelSelector } from '../api/selectors.js';
import { isConflict, isNotFound } from '../api/status.js';
import type { PodTemplateSpec } from '../api/types/pod.js';
import type { EventRecorder } from '../client/events.js';
import { ResourceClient } from '../client/resource.js';
import type { RestClient } from '../client/rest.js';

export interface PodControl {
  /** Creates `pod` (built by `podFromTemplate`) on behalf of `owner`. */
  createPod(pod: Pod, owner: KubeObject): Promise<Pod>;
  /** Deletes a pod; one that is already gone counts as deleted. */
  deletePod(namespace: string, name: string, owner: KubeObject): Promise<void>;
}

/**
 * A pod from a template: labels, annotations and spec copied, the
 * controller reference set, named by `generateName` `<owner>-` unless
 * the caller names it.
 */
export function podFromTemplate(
  template: PodTemplateSpec | undefined,
  owner: KubeObject,
  ref: OwnerReference,
  overrides: { name?: string; generateName?: string; labels?: Record<string, string> } = {},
): Pod {
  const t = structuredClone(template ?? {});
  const metadata: Pod['metadata'] = {
    namespace: owner.metadata.namespace,
    labels: { ...(t.metadata?.labels ?? {}), ...(overrides.labels ?? {}) },
    annotations: t.metadata?.annotations ? { ...t.metadata.annotations } : undefined,
    finalizers: t.metadata?.finalizers,
    ownerReferences: [ref],
  };
  if (overrides.name) metadata.name = overrides.name;
  else metadata.generateName = overrides.generateName ?? `${owner.metadata.name}-`;
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: t.spec ?? { containers: [] } } as Pod;
}

export class RealPodControl implements PodControl {
  constructor(
    private readonly pods: ResourceClient<Pod>,
    private readonly recorder: EventRecorder,
  ) {}

  async createPod(pod: Pod, owner: KubeObject): Promise<Pod> {
    try {
      const created = await this.pods.in(pod.metadata.namespace).create(pod);
      this.recorder.event(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
      return created;
    } catch (err) {
      this.recorder.event(owner, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      throw err;
    }
  }

  async deletePod(namespace: string, name: string, owner: KubeObject): Promise<void> {
    try {
      await this.pods.in(namespace).delete(name);
      this.recorder.event(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (err) {
      if (isNotFound(err)) return;
      this.recorder.event(owner, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
      throw err;
    }
  }
}

/** Patches one object's metadata (a JSON merge patch); the ref manager's only write. */
export interface MetaPatcher<T extends KubeObject> {
  patchMeta(namespace: string, name: string, patch: { metadata: Record<string, unknown> }): Promise<T>;
}

export function metaPatcher<T extends KubeObject>(client: ResourceClient<T>): MetaPatcher<T> {
  return { patchMeta: (ns, name, patch) => client.in(ns).patch(name, 'merge', patch) };
}

export interface ClaimOptions<T extends KubeObject> {
  owner: KubeObject;
  /** The reference the owner puts on children it adopts. */
  ref: OwnerReference;
  selector: ParsedLabelSelector;
  objects: T[];
  patcher: MetaPatcher<T>;
  log: Logger;
}

/**
 * The children `owner` controls after adopting and releasing (ClaimObject):
 * - ours and matching: kept; ours and no longer matching: released (kept
 *   while the owner is being deleted, as the garbage collector needs them);
 * - orphans that match, are not being deleted, while the owner is not being
 *   deleted: adopted; everything else is left alone.
 * Writes pin the child's resourceVersion, so a racing change is a Conflict
 * (thrown: the sync retries). A child that is gone is skipped.
 */
export async function claimObjects<T extends KubeObject>(o: ClaimOptions<T>): Promise<T[]> {
  const claimed: T[] = [];
  const ownerDeleting = !!o.owner.metadata.deletionTimestamp;
  for (const obj of o.objects) {
    const ref = controllerRefOf(obj);
    const matches = o.selector.matches(obj.metadata.labels ?? {});
    if (ref) {
      if (ref.uid !== o.owner.metadata.uid) continue;
      if (matches || ownerDeleting) {
        claimed.push(obj);
        continue;
      }
      const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== o.owner.metadata.uid);
      await patchRefs(o, obj, refs, 'released');
      continue;
    }
    if (!matches || ownerDeleting || obj.metadata.deletionTimestamp) continue;
    const adopted = await patchRefs(o, obj, [...(obj.metadata.ownerReferences ?? []), o.ref], 'adopted');
    if (adopted) claimed.push(adopted);
  }
  return claimed;
}

async function patchRefs<T extends KubeObject>(
  o: ClaimOptions<T>,
  obj: T,
  refs: OwnerReference[],
  what: 'adopted' | 'released',
): Promise<T | undefined> {
  try {
    const out = await o.patcher.patchMeta(obj.metadata.namespace ?? '', obj.metadata.name!, {
      metadata: { ownerReferences: refs, resourceVersion: obj.metadata.resourceVersion },
    });
    o.log.info({ child: obj.metadata.name, owner: o.owner.metadata.name }, what);
    return out;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A typed client for a registered resource (all namespaces; use `.in(ns)` to write). */
export function clientFor<T extends KubeObject>(
  ctx: { rest: RestClient; registry: Registry },
  resource: string,
): ResourceClient<T> {
  const rt = ctx.registry.resolve(resource);
  if (!rt) throw new Error(`the registry has no ${resource}`);
  return new ResourceClient<T>(ctx.rest, rt);
}

/** The options through which unit tests give a pod owner their fakes. */
export interface PodWriterOptions {
  podControl?: PodControl;
  podPatcher?: MetaPatcher<Pod>;
}

/** A pod owner's writers: the given ones, or the real ones recording Events as `component`. */
export function podWriters(
  ctx: { rest: RestClient; registry: Registry; recorder(component: string): EventRecorder },
  component: string,
  opts: PodWriterOptions,
): { podControl: PodControl; podPatcher: MetaPatcher<Pod> } {
  const pods = clientFor<Pod>(ctx, 'pods');
  return {
    podControl: opts.podControl ?? new RealPodControl(pods, ctx.recorder(component)),
    podPatcher: opts.podPatcher ?? metaPatcher(pods),
  };
}

/**
 * Writes an owner's status from the cached copy; after a Conflict (its spec
 * changed meanwhile, say a resize) once more on a fresh copy.
 */
export async function updateStatusOf<T extends KubeObject & { status?: unknown }>(
  client: ResourceClient<T>,
  owner: T,
  status: T['status'],
): Promise<void> {
  const c = client.in(owner.metadata.namespace);
  try {
    await c.updateStatus({ ...structuredClone(owner), status });
  } catch (err) {
    if (!isConflict(err)) throw err;
    const fresh = await c.get(owner.metadata.name!);
    await c.updateStatus({ ...fresh, status });
  }
}
