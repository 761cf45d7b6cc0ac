/**
 * The root CA publisher (`root-ca-cert-publisher`): every namespace that is
 * not being deleted has a ConfigMap `kube-root-ca.crt` whose `ca.crt` is the
 * bundle from --root-ca-file, so pods can check the apiserver's certificate
 * (the ServiceAccount admission plugin projects it into every pod's
 * `kube-api-access-*` volume). Recreated when deleted; its data reset when
 * edited. Without --root-ca-file it does not run. Keyed by namespace name.
 */
import type { KubeObject } from '../api/meta.js';
import type { ConfigMap } from '../api/objects.js';
import { isAlreadyExists, isNotFound } from '../api/status.js';
import { ResourceClient } from '../client/resource.js';
import { type Controller, type ControllerContext, QueueController } from './controller.js';

export const rootCACertPublisherName = 'root-ca-cert-publisher';
/** The name apiserver/serviceaccount-admission.ts puts in the token volume. */
export const rootCAConfigMapName = 'kube-root-ca.crt';
export const descriptionAnnotation = 'kubernetes.io/description';
export const rootCADescription =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

/** As Kubernetes compares them: exactly these keys and values. */
function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const keys = Object.keys(a ?? {});
  return keys.length === Object.keys(b).length && keys.every((k) => a?.[k] === b[k]);
}

export class RootCACertPublisher extends QueueController {
  private readonly namespaces;
  private readonly configMaps;
  private readonly client: ResourceClient<ConfigMap>;
  private readonly rootCA: string;

  constructor(ctx: ControllerContext) {
    super(rootCACertPublisherName, ctx);
    if (!ctx.config.rootCA) throw new Error(`${rootCACertPublisherName} needs a root CA (--root-ca-file)`);
    this.rootCA = ctx.config.rootCA;
    this.client = new ResourceClient<ConfigMap>(ctx.rest, ctx.registry.get('', 'v1', 'configmaps')!);
    this.namespaces = this.informer('namespaces');
    this.configMaps = this.informer<ConfigMap>('configmaps');
    this.namespaces.addEventHandler({
      onAdd: (ns) => this.enqueue(ns),
      onUpdate: (_o, ns) => this.enqueue(ns),
    });
    this.configMaps.addEventHandler({
      onAdd: (cm) => this.configMapChanged(cm),
      onUpdate: (_o, cm) => this.configMapChanged(cm),
      onDelete: (cm) => this.configMapChanged(cm),
    });
  }

  /** Queues the namespace of a `kube-root-ca.crt` that appeared, changed or went; other ConfigMaps are not ours. */
  configMapChanged(cm: KubeObject): void {
    if (cm.metadata.name === rootCAConfigMapName && cm.metadata.namespace)
      this.enqueue(cm.metadata.namespace);
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.store.get(namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const data = { 'ca.crt': this.rootCA };
    const cm = this.configMaps.store.getByName(namespace, rootCAConfigMapName);
    if (!cm) {
      await this.create(namespace, data);
      return;
    }
    if (sameData(cm.data, data) && cm.metadata.annotations?.[descriptionAnnotation]) return;
    // A description someone wrote stays, as in Kubernetes; the data does not.
    const next = structuredClone(cm);
    next.data = data;
    if (!next.metadata.annotations?.[descriptionAnnotation])
      next.metadata.annotations = {
        ...next.metadata.annotations,
        [descriptionAnnotation]: rootCADescription,
      };
    await this.client.update(next);
    this.log.info({ namespace }, 'reset the root CA ConfigMap');
  }

  private async create(namespace: string, data: Record<string, string>): Promise<void> {
    try {
      await this.client.create({
        metadata: {
          name: rootCAConfigMapName,
          namespace,
          annotations: { [descriptionAnnotation]: rootCADescription },
        },
        data,
      });
      this.log.info({ namespace }, 'published the root CA');
    } catch (err) {
      // Already there (the cache lags: its add event brings us back), or the
      // namespace is gone or terminating: nothing to do.
      if (isAlreadyExists(err) || isNotFound(err) || (err as { code?: number }).code === 403) return;
      throw err;
    }
  }
}

/** Runs the publisher when the manager has a root CA; otherwise a controller that only says why not. */
export function newRootCACertPublisher(ctx: ControllerContext): Controller {
  if (ctx.config.rootCA) return new RootCACertPublisher(ctx);
  return {
    name: rootCACertPublisherName,
    run: async () => {
      ctx.logger.info({ controller: rootCACertPublisherName }, 'no --root-ca-file: not running');
    },
  };
}
