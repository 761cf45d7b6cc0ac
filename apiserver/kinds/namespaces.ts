/**
 * Namespaces: the system namespaces are never deleted (NamespaceLifecycle);
 * spec.finalizers hold a deleted namespace, which is Terminating until they
 * are gone, and only /finalize may change them. The namespaces resource is
 * also served under `/namespaces/{ns}/`, as Kubernetes' paths allow.
 */
import type { KubeObject } from '../../api/meta.js';
import { newForbidden } from '../../api/status.js';
import { replaceOnly } from '../subresources.js';
import type { Kind } from './kind.js';

/** The namespaces every cluster has; they may never be deleted. */
export const defaultNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const specFinalizers = (obj: KubeObject) => (obj.spec as { finalizers?: string[] } | undefined)?.finalizers;

export const namespaces: Kind = {
  keepsStatusOnCreate: true,
  strategy: (base) => ({
    ...base,
    subresourceUpdates: {
      ...base.subresourceUpdates,
      finalize: {
        // Only a namespace's spec.finalizers may change through /finalize.
        prepare(obj, old) {
          const finalizers = specFinalizers(obj) ?? [];
          for (const k of Object.keys(obj)) delete obj[k];
          Object.assign(obj, structuredClone(old));
          obj.spec = { ...(old.spec as object), finalizers };
        },
      },
    },
    pendingFinalizers: (obj) => base.pendingFinalizers(obj) + (specFinalizers(obj)?.length ?? 0),
    prepareForGracefulDelete(obj) {
      base.prepareForGracefulDelete(obj);
      (obj.status as { phase?: string }) = { ...(obj.status as object), phase: 'Terminating' };
    },
  }),
  admission: () => ({
    // As Kubernetes' NamespaceLifecycle admission: the system namespaces stay.
    admitDelete(name, gr) {
      if (defaultNamespaces.includes(name)) throw newForbidden(gr, name, 'this namespace may not be deleted');
    },
  }),
  subresources: { finalize: replaceOnly },
  servedUnderNamespace: true,
};
