/**
 * The namespace controller (`namespace`): empties a namespace that is being
 * deleted, then lets it go.
 *
 * A deleted namespace is Terminating (the apiserver sets deletionTimestamp
 * and phase) and held by the `kubernetes` entry of `spec.finalizers`. This
 * controller deletes every namespaced kind in it with deletecollection
 * (background propagation), lists what is left, and requeues itself while
 * anything remains: objects with finalizers and pods still terminating are
 * waited for, never forced. The kinds are the built-in ones and, from
 * discovery at each sync, custom resources. When nothing is left it removes `kubernetes`
 * through PUT .../namespaces/{name}/finalize, and the apiserver deletes the
 * namespace once no finalizer remains.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import { isNotFound, StatusError } from '../api/status.js';
import { metaTime } from '../api/time.js';
import { discoverResources } from '../client/discovery.js';
import { ResourceClient, type ResourceRef } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

export const kubernetesFinalizer = 'kubernetes';

type Namespace = KubeObject & {
  spec?: { finalizers?: string[] };
  status?: { phase?: string; conditions?: Record<string, unknown>[] };
};

interface Remaining {
  /** Objects still there, by resource. */
  counts: Record<string, number>;
  /** Finalizers that hold them, with how many objects each holds. */
  finalizers: Record<string, number>;
  /** Longest graceful termination still running, in seconds. */
  graceSeconds: number;
}

export class NamespaceController extends QueueController {
  private readonly namespaces;
  private readonly nsClient: ResourceClient<Namespace>;
  private readonly kinds: ResourceType[];

  constructor(ctx: ControllerContext) {
    super('namespace', ctx);
    this.nsClient = new ResourceClient<Namespace>(ctx.rest, ctx.registry.get('', 'v1', 'namespaces')!);
    this.kinds = ctx.registry.all.filter((rt) => rt.namespaced);
    this.namespaces = this.informer<Namespace>('namespaces');
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueue(ns),
      onUpdate: (_o, ns) => this.enqueue(ns),
    });
  }

  async sync(name: string): Promise<void> {
    const ns = this.namespaces.store.get(name);
    if (!ns?.metadata.deletionTimestamp) return;
    if (!(ns.spec?.finalizers ?? []).includes(kubernetesFinalizer)) return;
    const left = await this.deleteContent(name);
    const total = Object.values(left.counts).reduce((a, b) => a + b, 0);
    if (total > 0) {
      this.log.info(
        { namespace: name, remaining: left.counts, finalizers: left.finalizers },
        'namespace content remains',
      );
      await this.updateConditions(ns, left);
      this.queue.addAfter(name, (Math.floor(left.graceSeconds / 2) + 1) * 1000);
      return;
    }
    await this.finalize(ns);
  }

  /**
   * The namespaced kinds to empty: the built-in ones, and what discovery
   * lists besides them (custom resources) that can be listed and deleted.
   */
  private async kindsNow(): Promise<ResourceRef[]> {
    const known = new Set(this.kinds.map((rt) => `${rt.group}/${rt.plural}`));
    const found = await discoverResources(this.ctx.rest);
    const extra = found.filter(
      (r) =>
        r.namespaced &&
        !r.plural.includes('/') &&
        !known.has(`${r.group}/${r.plural}`) &&
        r.verbs.includes('list') &&
        r.verbs.includes('delete'),
    );
    return [...this.kinds, ...extra];
  }

  /** Deletes every namespaced kind in `namespace`; returns what is still there. */
  private async deleteContent(namespace: string): Promise<Remaining> {
    const left: Remaining = { counts: {}, finalizers: {}, graceSeconds: 0 };
    await Promise.all(
      (await this.kindsNow()).map(async (rt) => {
        const client = new ResourceClient(this.ctx.rest, rt, namespace);
        try {
          await client.deleteCollection({}, { propagationPolicy: 'Background' });
        } catch (err) {
          // A kind that cannot be deleted as a collection is deleted one by one below.
          if (!(err instanceof StatusError && err.code === 405)) throw err;
        }
        const { items } = await client.list();
        for (const obj of items) {
          if (!obj.metadata.deletionTimestamp) await this.deleteOne(client, obj);
          for (const f of obj.metadata.finalizers ?? []) left.finalizers[f] = (left.finalizers[f] ?? 0) + 1;
          left.graceSeconds = Math.max(left.graceSeconds, obj.metadata.deletionGracePeriodSeconds ?? 0);
        }
        if (items.length > 0) left.counts[rt.group ? `${rt.plural}.${rt.group}` : rt.plural] = items.length;
      }),
    );
    return left;
  }

  private async deleteOne(client: ResourceClient, obj: KubeObject): Promise<void> {
    try {
      await client.delete(obj.metadata.name!, {
        propagationPolicy: 'Background',
        preconditions: { uid: obj.metadata.uid },
      });
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof StatusError && err.code === 409)) throw err;
    }
  }

  /** Status conditions as Kubernetes sets them while content remains. */
  private async updateConditions(ns: Namespace, left: Remaining): Promise<void> {
    const now = metaTime(this.ctx.clock.now());
    const counts = Object.entries(left.counts).map(([r, n]) => `${r} has ${n} resource instances`);
    const fins = Object.entries(left.finalizers).map(([f, n]) => `${f} in ${n} resource instances`);
    const want = [
      {
        type: 'NamespaceContentRemaining',
        status: 'True',
        reason: 'SomeResourcesRemain',
        message: `Some resources are remaining: ${counts.sort().join(', ')}`,
      },
      fins.length
        ? {
            type: 'NamespaceFinalizersRemaining',
            status: 'True',
            reason: 'SomeFinalizersRemain',
            message: `Some content in the namespace has finalizers remaining: ${fins.sort().join(', ')}`,
          }
        : {
            type: 'NamespaceFinalizersRemaining',
            status: 'False',
            reason: 'ContentHasNoFinalizers',
            message: 'All content-preserving finalizers finished',
          },
    ];
    const have = (ns.status?.conditions ?? []) as { type: string; status: string; message?: string }[];
    const same = want.every((w) =>
      have.some((h) => h.type === w.type && h.status === w.status && h.message === w.message),
    );
    if (same) return;
    const others = have.filter((h) => !want.some((w) => w.type === h.type));
    const next = structuredClone(ns);
    next.status = {
      ...next.status,
      conditions: [...others, ...want.map((w) => ({ ...w, lastTransitionTime: now }))],
    };
    try {
      await this.nsClient.updateStatus(next);
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof StatusError && err.code === 409)) throw err;
    }
  }

  private async finalize(ns: Namespace): Promise<void> {
    const name = ns.metadata.name!;
    const next = structuredClone(ns);
    next.spec = {
      ...next.spec,
      finalizers: (ns.spec?.finalizers ?? []).filter((f) => f !== kubernetesFinalizer),
    };
    try {
      await this.ctx.rest.request({
        method: 'PUT',
        path: this.nsClient.objectPath(name, 'finalize'),
        body: { apiVersion: 'v1', kind: 'Namespace', ...next },
      });
      this.log.info({ namespace: name }, 'namespace emptied; removed the kubernetes finalizer');
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const newNamespaceController = (ctx: ControllerContext) => new NamespaceController(ctx);
