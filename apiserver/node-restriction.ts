/**
 * The NodeRestriction admission plugin, as Kubernetes'
 * (plugin/pkg/admission/noderestriction): what a kubelet (user
 * `system:node:<name>` in group `system:nodes`) may write, beyond what the
 * Node authorizer lets it ask for at all.
 *
 * - pods: create only mirror pods (annotation kubernetes.io/config.mirror)
 *   bound to itself, owned by its own Node (a controller reference with
 *   that Node's uid), referencing no service account, Secret, ConfigMap
 *   or PersistentVolumeClaim; delete and evict only pods bound to itself;
 *   update only pods/status of pods bound to itself, labels untouched.
 * - nodes: create and change only its own Node; no labels under
 *   node-restriction.kubernetes.io/, and no kubernetes.io/ or k8s.io/
 *   label beyond the kubelet's own set; no change to its taints; no new
 *   spec.configSource.
 * - leases: only its own, in kube-node-lease.
 * - serviceaccounts/token: only bound to a pod (uid given) that runs on it.
 *
 * The Node authorizer already refuses updates and deletes of other Nodes
 * and Leases by name, and every kind a kubelet has no rule for; this plugin
 * sees what the URL does not tell: the object's name on create, the pod's
 * node, labels, taints and references.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../api/meta.js';
import { type GroupResource, newForbidden, newNotFound } from '../api/status.js';
import type { AdmissionAttributes, ValidatingAdmission } from './admission.js';
import type { UserInfo } from './authn.js';
import { nodesGroup, podReferences } from './node-authz.js';
import { mirrorPodAnnotation } from './serviceaccount-admission.js';

const nodeUserPrefix = 'system:node:';
const nodeLeaseNamespace = 'kube-node-lease';
const nodeRestrictionNamespace = 'node-restriction.kubernetes.io';

/** The labels a kubelet may set on its own Node (k8s.io/kubelet/pkg/apis well_known_labels.go). */
const kubeletLabels = new Set([
  'kubernetes.io/hostname',
  'topology.kubernetes.io/zone',
  'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone',
  'failure-domain.beta.kubernetes.io/region',
  'beta.kubernetes.io/instance-type',
  'node.kubernetes.io/instance-type',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'beta.kubernetes.io/os',
  'beta.kubernetes.io/arch',
]);
/** ...and the label namespaces (and their subdomains) it may use freely. */
const kubeletLabelNamespaces = ['kubelet.kubernetes.io', 'node.kubernetes.io'];

/** What the plugin reads besides the request: the Nodes, as the watch cache holds them. */
export interface NodeRestrictionSource {
  node(name: string): Promise<KubeObject | undefined>;
}

/** The node a user is, or undefined for users that are not nodes (`NodeIdentity`). */
export function nodeIdentity(user: UserInfo): { name: string } | undefined {
  if (!user.groups.includes(nodesGroup) || !user.name.startsWith(nodeUserPrefix)) return undefined;
  return { name: user.name.slice(nodeUserPrefix.length) };
}

const labelNamespace = (key: string) => (key.includes('/') ? key.slice(0, key.indexOf('/')) : '');
const inNamespace = (ns: string, of: string) => ns === of || ns.endsWith(`.${of}`);

export function isKubeletLabel(key: string): boolean {
  if (kubeletLabels.has(key)) return true;
  const ns = labelNamespace(key);
  return kubeletLabelNamespaces.some((allowed) => inNamespace(ns, allowed));
}

/** The keys added, removed or changed between two label maps. */
export function modifiedLabels(a: Record<string, string> = {}, b: Record<string, string> = {}): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !Object.hasOwn(a, k) || !Object.hasOwn(b, k) || a[k] !== b[k]).sort();
}

/** The labels of `modified` a node may not add, remove or change (`getForbiddenLabels`). */
export function forbiddenLabels(modified: string[]): string[] {
  return modified.filter((key) => {
    const ns = labelNamespace(key);
    if (inNamespace(ns, nodeRestrictionNamespace)) return true;
    const kubernetes = inNamespace(ns, 'kubernetes.io') || inNamespace(ns, 'k8s.io');
    return kubernetes && !isKubeletLabel(key);
  });
}

interface PodLike extends KubeObject {
  spec?: {
    nodeName?: string;
    serviceAccountName?: string;
    volumes?: Record<string, any>[];
  };
}

interface NodeLike extends KubeObject {
  spec?: { taints?: unknown[]; configSource?: unknown };
}

/** Semantic equality as Kubernetes' for lists: absent, null and empty are the same. */
const sameList = (a: unknown[] | undefined | null, b: unknown[] | undefined | null) =>
  isDeepStrictEqual(a?.length ? a : [], b?.length ? b : []);

/** The plugin; `source` gives the Node a mirror pod's owner reference must name. */
export function nodeRestriction(source: NodeRestrictionSource): ValidatingAdmission {
  return async (a) => {
    const node = nodeIdentity(a.user);
    if (!node) return;
    const gr: GroupResource = { group: a.rt.group, resource: a.rt.plural };
    const forbid = (why: string) => newForbidden(gr, a.name || (a.obj?.metadata.name ?? ''), why);
    if (!node.name) throw forbid(`could not determine node from user "${a.user.name}"`);
    const key = `${a.rt.group}/${a.rt.plural}`;
    if (key === '/pods') return admitPod(node.name, a, source, forbid);
    if (key === '/nodes') return admitNode(node.name, a, forbid);
    if (key === 'coordination.k8s.io/leases') return admitLease(node.name, a, forbid);
  };
}

type Forbid = (why: string) => Error;

async function admitPod(node: string, a: AdmissionAttributes, source: NodeRestrictionSource, forbid: Forbid) {
  const old = a.old as PodLike | undefined;
  switch (a.subresource) {
    case '':
      if (a.operation === 'CREATE') return admitMirrorPod(node, a.obj as PodLike, source, forbid);
      if (a.operation === 'DELETE') {
        if (old?.spec?.nodeName !== node)
          throw forbid(`node "${node}" can only delete pods with spec.nodeName set to itself`);
        return;
      }
      throw forbid(
        `unexpected operation "${a.operation}", node "${node}" can only create and delete mirror pods`,
      );
    case 'status': {
      if (a.operation !== 'UPDATE') throw forbid(`unexpected operation "${a.operation}"`);
      if (old?.spec?.nodeName !== node)
        throw forbid(`node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
      if (modifiedLabels(a.obj?.metadata.labels, old.metadata.labels).length > 0)
        throw forbid(`node "${node}" cannot update labels through pod status`);
      return;
    }
    case 'eviction':
      if (old?.spec?.nodeName !== node)
        throw forbid(`node ${node} can only evict pods with spec.nodeName set to itself`);
      return;
    default:
      throw forbid(`unexpected pod subresource "${a.subresource}", only 'status' and 'eviction' are allowed`);
  }
}

async function admitMirrorPod(node: string, pod: PodLike, source: NodeRestrictionSource, forbid: Forbid) {
  if (pod.metadata.annotations?.[mirrorPodAnnotation] === undefined)
    throw forbid(
      `pod does not have "${mirrorPodAnnotation}" annotation, node "${node}" can only create mirror pods`,
    );
  if (pod.spec?.nodeName !== node)
    throw forbid(`node "${node}" can only create pods with spec.nodeName set to itself`);
  const owners = pod.metadata.ownerReferences ?? [];
  if (owners.length > 1)
    throw forbid(`node "${node}" can only create pods with a single owner reference set to itself`);
  const owner = owners[0];
  if (owner?.apiVersion !== 'v1' || owner.kind !== 'Node' || owner.name !== node)
    throw forbid(`node "${node}" can only create pods with an owner reference set to itself`);
  if (owner.controller !== true)
    throw forbid(`node "${node}" can only create pods with a controller owner reference set to itself`);
  if (owner.blockOwnerDeletion === true)
    throw forbid(`node "${node}" must not set blockOwnerDeletion on an owner reference`);
  const self = await source.node(node);
  if (!self) throw newNotFound({ group: '', resource: 'nodes' }, node);
  if (owner.uid !== self.metadata.uid)
    throw forbid(`node ${node} UID mismatch: expected ${owner.uid} got ${self.metadata.uid}`);
  // No reference to any other API object: the Node authorizer would let the node read it.
  const projectsToken = (pod.spec?.volumes ?? []).some((v) =>
    (v.projected?.sources ?? []).some((s: Record<string, unknown>) => s.serviceAccountToken),
  );
  if (pod.spec?.serviceAccountName || projectsToken)
    throw forbid(`node "${node}" can not create pods that reference a service account`);
  const refs = [...podReferences(pod)];
  for (const [prefix, what] of [
    ['secrets/', 'secrets'],
    ['configmaps/', 'configmaps'],
    ['persistentvolumeclaims/', 'persistentvolumeclaims'],
  ])
    if (refs.some((r) => r.startsWith(prefix)))
      throw forbid(`node "${node}" can not create pods that reference ${what}`);
}

function admitNode(node: string, a: AdmissionAttributes, forbid: Forbid) {
  const requested = a.name || (a.obj?.metadata.name ?? '');
  if (requested !== node) throw forbid(`node "${node}" is not allowed to modify node "${requested}"`);
  const obj = a.obj as NodeLike | undefined;
  if (a.operation === 'CREATE' && obj) {
    if (obj.spec?.configSource)
      throw forbid(`node "${node}" is not allowed to create pods with a non-nil configSource`);
    const bad = forbiddenLabels(modifiedLabels(obj.metadata.labels, undefined));
    if (bad.length)
      throw forbid(`node "${node}" is not allowed to set the following labels: ${bad.join(', ')}`);
  }
  if (a.operation === 'UPDATE' && obj) {
    const old = a.old as NodeLike;
    if (obj.spec?.configSource && !isDeepStrictEqual(obj.spec.configSource, old.spec?.configSource))
      throw forbid(`node "${node}" is not allowed to update configSource to a new non-nil configSource`);
    if (!sameList(obj.spec?.taints, old.spec?.taints))
      throw forbid(`node "${node}" is not allowed to modify taints`);
    const bad = forbiddenLabels(modifiedLabels(obj.metadata.labels, old.metadata.labels));
    if (bad.length) throw forbid(`is not allowed to modify labels: ${bad.join(', ')}`);
  }
}

function admitLease(node: string, a: AdmissionAttributes, forbid: Forbid) {
  if (a.namespace !== nodeLeaseNamespace)
    throw forbid(`can only access leases in the "${nodeLeaseNamespace}" system namespace`);
  const name = a.operation === 'CREATE' ? (a.obj?.metadata.name ?? '') : a.name;
  if (name !== node) throw forbid('can only access node lease with the same name as the requesting node');
}

/**
 * A TokenRequest from a node (`admitServiceAccount`): bound to a pod, with
 * its uid, that runs on the node. Other users pass.
 */
export async function admitNodeTokenRequest(
  user: UserInfo,
  namespace: string,
  name: string,
  ref: { apiVersion?: string; kind?: string; name?: string; uid?: string } | undefined,
  pod: (namespace: string, name: string) => Promise<KubeObject | undefined>,
): Promise<void> {
  const node = nodeIdentity(user);
  if (!node) return;
  const forbid = (why: string) => newForbidden({ group: '', resource: 'serviceaccounts' }, name, why);
  if (!node.name) throw forbid(`could not determine node from user "${user.name}"`);
  if (ref?.apiVersion !== 'v1' || ref.kind !== 'Pod' || !ref.name)
    throw forbid('node requested token not bound to a pod');
  if (!ref.uid) throw forbid('node requested token with a pod binding without a uid');
  const p = (await pod(namespace, ref.name)) as PodLike | undefined;
  if (!p) throw newNotFound({ group: '', resource: 'pods' }, ref.name);
  if (ref.uid !== p.metadata.uid)
    throw forbid(
      `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
    );
  if (p.spec?.nodeName !== node.name)
    throw forbid('node requested token bound to a pod scheduled on a different node');
}
