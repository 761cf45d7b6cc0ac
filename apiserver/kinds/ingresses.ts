/** Ingresses: the DefaultIngressClass admission step. */
import type { KubeObject } from '../../api/meta.js';
import type { ResourceStore } from '../store.js';
import type { Kind } from './kind.js';

export const ingresses: Kind = {
  admission: (ctx) => ({
    async admit(obj, old) {
      if (!old) defaultIngressClass(obj, ctx.store('networking.k8s.io', 'v1', 'ingressclasses'));
      return { rollback: async () => undefined };
    },
  }),
};

/**
 * The DefaultIngressClass admission step: a new Ingress that names no class
 * (neither spec.ingressClassName nor the old annotation) gets the class
 * marked default, if exactly one is.
 */
function defaultIngressClass(obj: KubeObject, classes: ResourceStore | undefined): void {
  const ing = obj as KubeObject & { spec?: { ingressClassName?: string } };
  if (!classes || ing.spec?.ingressClassName || ing.metadata.annotations?.['kubernetes.io/ingress.class'])
    return;
  const defaults = [...classes.cache.items.values()]
    .map((e) => e.obj)
    .filter((c) => c.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true');
  if (defaults.length !== 1) return;
  ing.spec = { ...ing.spec, ingressClassName: defaults[0].metadata.name };
}
