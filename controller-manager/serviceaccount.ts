/**
 * The service account controller (`serviceaccount`): every namespace that is
 * not being deleted has a ServiceAccount named `default`, the one pods run
 * as when they name none. Keyed by namespace name.
 */
import type { KubeObject } from '../api/meta.js';
import type { ServiceAccount } from '../api/objects.js';
import { isAlreadyExists } from '../api/status.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

export const defaultServiceAccountName = 'default';

export class ServiceAccountsController extends QueueController {
  private readonly namespaces;
  private readonly accounts;
  private readonly client: ResourceClient<ServiceAccount>;

  constructor(ctx: ControllerContext) {
    super('serviceaccount', ctx);
    this.client = new ResourceClient<ServiceAccount>(
      ctx.rest,
      ctx.registry.get('', 'v1', 'serviceaccounts')!,
    );
    this.namespaces = this.informer('namespaces');
    this.accounts = this.informer<ServiceAccount>('serviceaccounts');
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueue(ns),
      onUpdate: (_o, ns) => this.enqueue(ns),
    });
    const byNamespace = (sa: KubeObject) => {
      if (sa.metadata.name === defaultServiceAccountName) this.enqueue(sa.metadata.namespace!);
    };
    this.accounts.addEventHandler({ onDelete: byNamespace, onUpdate: (_o, sa) => byNamespace(sa) });
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    if (this.accounts.store.getByName(namespace, defaultServiceAccountName)) return;
    try {
      await this.client.create({ metadata: { name: defaultServiceAccountName, namespace } });
      this.log.info({ namespace }, 'created the default service account');
    } catch (err) {
      // Already there (the cache lags), or the namespace began terminating: nothing to do.
      if (isAlreadyExists(err) || (err as { code?: number }).code === 403) return;
      throw err;
    }
  }
}

export const newServiceAccountsController = (ctx: ControllerContext) => new ServiceAccountsController(ctx);
