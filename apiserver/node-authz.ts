/**
 * The Node authorizer (`--authorization-mode Node,RBAC`), as Kubernetes has
 * it: a kubelet (user `system:node:<name>` in group `system:nodes`) may read
 * a Secret, ConfigMap, PersistentVolumeClaim or PersistentVolume only when a
 * pod bound to its node uses it, and may ask for a token only for the
 * service account of such a pod. Everything else a kubelet needs comes from
 * Kubernetes' node rules, checked here too; writes to Node and Lease objects
 * are limited to its own. Requests of other users get no opinion (denied
 * here, left to the next authorizer).
 */
import type { KubeObject } from '../api/meta.js';
import type { Attributes, Authorizer, Decision, PolicyRule } from './authz.js';
import { ruleAllows } from './authz.js';

export const nodesGroup = 'system:nodes';
const nodeUserPrefix = 'system:node:';

/** What the authorizer reads: the pods and claims as the watch caches hold them. */
export interface NodeGraphSource {
  pods(): Iterable<KubeObject>;
  claim(namespace: string, name: string): KubeObject | undefined;
}

const read = ['get', 'list', 'watch'];

/** Kubernetes' NodeRules, the part a kubelet of this project uses. */
export const nodeRules: PolicyRule[] = [
  { verbs: ['create', 'get', 'list', 'watch'], apiGroups: [''], resources: ['nodes'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['nodes/status', 'nodes'] },
  { verbs: ['create', 'update', 'patch'], apiGroups: ['', 'events.k8s.io'], resources: ['events'] },
  { verbs: read, apiGroups: [''], resources: ['pods', 'services', 'endpoints'] },
  { verbs: read, apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'] },
  { verbs: ['create', 'delete'], apiGroups: [''], resources: ['pods'] },
  { verbs: ['update', 'patch'], apiGroups: [''], resources: ['pods/status'] },
  { verbs: ['create'], apiGroups: [''], resources: ['pods/eviction'] },
  {
    verbs: ['get', 'create', 'update', 'patch', 'delete'],
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
  },
  { verbs: ['get'], apiGroups: ['storage.k8s.io'], resources: ['storageclasses'] },
  { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'] },
  // A kubelet asks for its next client (and serving) certificate and watches for it.
  {
    verbs: ['create', 'get', 'list', 'watch'],
    apiGroups: ['certificates.k8s.io'],
    resources: ['certificatesigningrequests'],
  },
  {
    verbs: ['create'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['subjectaccessreviews', 'localsubjectaccessreviews'],
  },
  {
    verbs: ['get'],
    nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/version', '/healthz', '/readyz', '/livez'],
  },
];

interface PodLike extends KubeObject {
  spec?: {
    nodeName?: string;
    serviceAccountName?: string;
    imagePullSecrets?: { name?: string }[];
    volumes?: Record<string, any>[];
    containers?: Record<string, any>[];
    initContainers?: Record<string, any>[];
  };
}

/** The Secrets, ConfigMaps and claims a pod uses, as `kind/name`. */
export function podReferences(pod: PodLike): Set<string> {
  const refs = new Set<string>();
  const spec = pod.spec ?? {};
  for (const s of spec.imagePullSecrets ?? []) if (s.name) refs.add(`secrets/${s.name}`);
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) refs.add(`secrets/${v.secret.secretName}`);
    if (v.configMap?.name) refs.add(`configmaps/${v.configMap.name}`);
    if (v.persistentVolumeClaim?.claimName)
      refs.add(`persistentvolumeclaims/${v.persistentVolumeClaim.claimName}`);
    for (const src of v.projected?.sources ?? []) {
      if (src.secret?.name) refs.add(`secrets/${src.secret.name}`);
      if (src.configMap?.name) refs.add(`configmaps/${src.configMap.name}`);
    }
  }
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    for (const e of c.env ?? []) {
      if (e.valueFrom?.secretKeyRef?.name) refs.add(`secrets/${e.valueFrom.secretKeyRef.name}`);
      if (e.valueFrom?.configMapKeyRef?.name) refs.add(`configmaps/${e.valueFrom.configMapKeyRef.name}`);
    }
    for (const f of c.envFrom ?? []) {
      if (f.secretRef?.name) refs.add(`secrets/${f.secretRef.name}`);
      if (f.configMapRef?.name) refs.add(`configmaps/${f.configMapRef.name}`);
    }
  }
  refs.add(`serviceaccounts/${spec.serviceAccountName || 'default'}`);
  return refs;
}

const graphResources = new Set(['secrets', 'configmaps', 'persistentvolumeclaims', 'persistentvolumes']);

export class NodeAuthorizer implements Authorizer {
  constructor(private readonly source: NodeGraphSource) {}

  authorize(a: Attributes): Decision {
    const node = a.user.name.startsWith(nodeUserPrefix) ? a.user.name.slice(nodeUserPrefix.length) : '';
    if (!node || !a.user.groups.includes(nodesGroup)) return { allowed: false, reason: '' };
    const no = (why: string): Decision => ({ allowed: false, reason: `node '${node}' ${why}` });
    if (a.resourceRequest && a.apiGroup === '' && graphResources.has(a.resource) && !a.subresource) {
      if (a.verb !== 'get') return no(`can only get individual ${a.resource}`);
      return this.uses(node, a.resource, a.namespace, a.name)
        ? { allowed: true, reason: '' }
        : { allowed: false, reason: `no relationship found between node '${node}' and this object` };
    }
    if (
      a.resourceRequest &&
      a.apiGroup === '' &&
      a.resource === 'serviceaccounts' &&
      a.subresource === 'token'
    ) {
      if (a.verb !== 'create') return no('can only create tokens');
      return this.uses(node, 'serviceaccounts', a.namespace, a.name)
        ? { allowed: true, reason: '' }
        : no('has no pod that runs as this service account');
    }
    // A node writes only its own Node and its own Lease.
    const writes = ['update', 'patch', 'delete'].includes(a.verb);
    if (writes && a.resource === 'nodes' && a.name !== node) return no('may only change its own Node');
    if (writes && a.resource === 'leases' && (a.namespace !== 'kube-node-lease' || a.name !== node))
      return no('may only change its own Lease');
    return nodeRules.some((r) => ruleAllows(r, a))
      ? { allowed: true, reason: '' }
      : { allowed: false, reason: '' };
  }

  /** Whether a pod bound to `node` uses the object (a PersistentVolume through its claim). */
  private uses(node: string, resource: string, namespace: string, name: string): boolean {
    for (const obj of this.source.pods()) {
      const pod = obj as PodLike;
      if (pod.spec?.nodeName !== node) continue;
      // Namespaced objects: only this namespace's pods can use them, so the others' references go unbuilt.
      if (resource !== 'persistentvolumes' && pod.metadata.namespace !== namespace) continue;
      const refs = podReferences(pod);
      if (resource === 'persistentvolumes') {
        for (const r of refs) {
          if (!r.startsWith('persistentvolumeclaims/')) continue;
          const claim = this.source.claim(
            pod.metadata.namespace ?? '',
            r.slice('persistentvolumeclaims/'.length),
          ) as (KubeObject & { spec?: { volumeName?: string } }) | undefined;
          if (claim?.spec?.volumeName === name) return true;
        }
      } else if (refs.has(`${resource}/${name}`)) return true;
    }
    return false;
  }
}

/** Several authorizers in order: the first that allows wins, as `--authorization-mode Node,RBAC`. */
export function unionAuthorizer(authorizers: Authorizer[]): Authorizer {
  return {
    authorize(a) {
      let reason = '';
      for (const z of authorizers) {
        const d = z.authorize(a);
        if (d.allowed) return d;
        reason ||= d.reason;
      }
      return { allowed: false, reason };
    },
  };
}
