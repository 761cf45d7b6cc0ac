/**
 * CustomResourceDefinitions: the first delete marks the definition
 * Terminating and adds the customresourcecleanup finalizer, as Kubernetes'
 * CRD storage does, so that the CRD controller (crd/controller.ts) removes
 * every custom object before the definition goes.
 */
import type { KubeObject } from '../../api/meta.js';
import { type CustomResourceDefinition, cleanupFinalizer } from '../crd/definition.js';
import { setCondition } from '../crd/status.js';
import type { Kind } from './kind.js';

/** True for a definition whose first delete has not come yet: that delete will add the finalizer. */
const awaitsFinalizer = (obj: KubeObject) =>
  !obj.metadata.deletionTimestamp && !(obj.metadata.finalizers ?? []).includes(cleanupFinalizer);

export const customResourceDefinitions: Kind = {
  strategy: (base, now) => ({
    ...base,
    // Counted before the delete marks the object, so the store marks it instead of removing it.
    pendingFinalizers: (obj) => base.pendingFinalizers(obj) + (awaitsFinalizer(obj) ? 1 : 0),
    prepareForGracefulDelete(obj) {
      base.prepareForGracefulDelete(obj);
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(cleanupFinalizer)) obj.metadata.finalizers = [...finalizers, cleanupFinalizer];
      const crd = obj as CustomResourceDefinition;
      crd.status ??= {};
      crd.status.conditions ??= [];
      setCondition(
        crd.status.conditions,
        {
          type: 'Terminating',
          status: 'True',
          reason: 'InstanceDeletionPending',
          message: 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon',
        },
        now(),
      );
    },
  }),
};
