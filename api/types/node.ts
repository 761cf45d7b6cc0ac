/**
 * core/v1 Node: schema, defaulting, validation, field labels and the columns
 * of `kubectl get nodes`. Nodes are cluster-scoped; the kubelet registers its
 * own Node and keeps its status, the controller-manager gives it a podCIDR.
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import {
  AtomicList,
  Bool,
  Int,
  Int64,
  List,
  MapList,
  Open,
  ResourceList,
  SetList,
  Str,
  Struct,
} from '../schema.js';
import type { FieldError } from '../status.js';
import {
  duplicateError,
  forbiddenError,
  invalidError,
  isQualifiedName,
  isValidLabelValue,
  requiredError,
} from '../validation.js';
import { checkName, MaybeTime, oneOf, validateCIDR } from './core-common.js';

export const Taint = Struct(
  {
    key: Str('Taint key.'),
    value: Str('Taint value.'),
    effect: Str('NoSchedule, PreferNoSchedule or NoExecute: what happens to pods that do not tolerate it.'),
    timeAdded: MaybeTime('When the taint was added (NoExecute taints only).'),
  },
  'Keeps pods off a node unless they tolerate it.',
);
export type Taint = Static<typeof Taint>;

const NodeConfigSource = Struct(
  {
    configMap: Struct({
      namespace: Str('Namespace of the ConfigMap.'),
      name: Str('Name of the ConfigMap.'),
      uid: Str('UID of the ConfigMap.'),
      resourceVersion: Str('resourceVersion of the ConfigMap.'),
      kubeletConfigKey: Str('Key of the ConfigMap holding the KubeletConfiguration.'),
    }),
  },
  'Deprecated dynamic kubelet configuration source.',
);

export const NodeSpec = Struct(
  {
    podCIDR: Str('Pod IP range of the node; the first entry of podCIDRs.'),
    podCIDRs: SetList(Str(), 'Pod IP ranges of the node, at most one per IP family.', { merge: true }),
    providerID: Str('ID the cloud provider knows the node by: <provider>://<id>.'),
    unschedulable: Bool('Keep new pods off the node (kubectl cordon).'),
    taints: AtomicList(Taint, 'Taints of the node.'),
    configSource: Open('Deprecated: dynamic kubelet configuration; ignored.'),
    externalID: Str('Deprecated; ignored.'),
    podPreemptionPolicy: Struct({
      disableResizePreemption: List(Str(), 'Priority classes whose pods are not preempted to fit a resize.'),
    }),
  },
  'Desired state of a node.',
);

export const NodeCondition = Struct(
  {
    type: Str('Ready, MemoryPressure, DiskPressure, PIDPressure or NetworkUnavailable.'),
    status: Str('True, False or Unknown.'),
    lastHeartbeatTime: MaybeTime('Last time the kubelet reported this condition.'),
    lastTransitionTime: MaybeTime('Last time the status changed.'),
    reason: Str('Machine-readable reason of the last transition.'),
    message: Str('Human-readable details.'),
  },
  'One condition of the node: its type, status and why.',
);
export type NodeCondition = Static<typeof NodeCondition>;

export const NodeAddress = Struct(
  {
    type: Str('Hostname, InternalIP, ExternalIP, InternalDNS or ExternalDNS.'),
    address: Str('The address.'),
  },
  'An address of the node and its type (InternalIP, ExternalIP, Hostname).',
);

export const NodeSystemInfo = Struct(
  {
    machineID: Str('Machine ID (/etc/machine-id).'),
    systemUUID: Str('System UUID from the firmware.'),
    bootID: Str('Boot ID; changes on every reboot.'),
    kernelVersion: Str('Kernel version (uname -r).'),
    osImage: Str('OS image, e.g. "Debian GNU/Linux 12 (bookworm)".'),
    containerRuntimeVersion: Str('Container runtime, e.g. docker://27.3.1.'),
    kubeletVersion: Str('Kubelet version.'),
    kubeProxyVersion: Str('Deprecated: kube-proxy version.'),
    operatingSystem: Str('GOOS-style operating system: linux or windows.'),
    architecture: Str('GOARCH-style architecture: amd64, arm64...'),
    swap: Struct({ capacity: Int64('Swap space in bytes.') }),
  },
  'Identity and versions of the node machine and its software.',
);

export const NodeStatus = Struct(
  {
    capacity: ResourceList('Total resources of the node.'),
    allocatable: ResourceList('Resources available to pods; capacity by default.'),
    phase: Str('Deprecated: Pending, Running or Terminated.'),
    conditions: MapList(NodeCondition, ['type'], 'Current conditions of the node.'),
    addresses: MapList(NodeAddress, ['type'], 'Addresses the node is reachable at.'),
    daemonEndpoints: Struct({
      kubeletEndpoint: Struct({ Port: Int('Port of the kubelet API.') }),
    }),
    nodeInfo: NodeSystemInfo,
    images: List(
      Struct({ names: List(Str(), 'Names of the image.'), sizeBytes: Int64('Size in bytes.') }),
      'Container images present on the node.',
    ),
    volumesInUse: List(Str(), 'Volumes mounted by the node.'),
    volumesAttached: List(
      Struct({ name: Str('Unique volume name.'), devicePath: Str('Where the device is attached.') }),
      'Volumes attached to the node.',
    ),
    config: Struct({
      assigned: NodeConfigSource,
      active: NodeConfigSource,
      lastKnownGood: NodeConfigSource,
      error: Str('Error with the assigned configuration.'),
    }),
    runtimeHandlers: List(
      Struct({
        name: Str('Runtime handler name; empty for the default.'),
        features: Struct({
          recursiveReadOnlyMounts: Bool('Supports recursive read-only mounts.'),
          userNamespaces: Bool('Supports user namespaces.'),
        }),
      }),
      'Runtime handlers (RuntimeClasses) the container runtime offers.',
    ),
    features: Struct({ supplementalGroupsPolicy: Bool('Runtime supports supplementalGroupsPolicy.') }),
    declaredFeatures: List(Str(), 'Features the node declares, sorted.'),
  },
  'Observed state of a node, reported by its kubelet.',
);

export const Node = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: NodeSpec, status: NodeStatus },
  'A worker machine that runs pods.',
);
export type Node = Static<typeof Node>;

export function defaultNode(node: Node): void {
  node.spec ??= {};
  const spec = node.spec;
  // podCIDRs is the source of truth; podCIDR mirrors its first entry.
  if (spec.podCIDR && !spec.podCIDRs?.length) spec.podCIDRs = [spec.podCIDR];
  if (spec.podCIDRs?.length) spec.podCIDR = spec.podCIDRs[0];
  const status = node.status;
  if (status?.capacity && !status.allocatable) status.allocatable = { ...status.capacity };
}

const taintEffects = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];

export function validateNode(node: Node, old?: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  const seen = new Set<string>();
  (spec.taints ?? []).forEach((t, i) => {
    const f = `spec.taints[${i}]`;
    if (!t.key) errs.push(requiredError(`${f}.key`));
    else errs.push(...checkName(`${f}.key`, t.key, isQualifiedName));
    if (t.value) errs.push(...checkName(`${f}.value`, t.value, isValidLabelValue));
    if (!t.effect) errs.push(requiredError(`${f}.effect`));
    else errs.push(...oneOf(`${f}.effect`, t.effect, taintEffects));
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) errs.push(duplicateError(f, t));
    seen.add(key);
  });
  const cidrs = spec.podCIDRs ?? [];
  errs.push(...cidrs.flatMap((c, i) => validateCIDR(c, `spec.podCIDRs[${i}]`)));
  if (cidrs.length > 1) {
    const families = new Set(cidrs.map((c) => (c.includes(':') ? 6 : 4)));
    if (cidrs.length > 2 || families.size !== cidrs.length)
      errs.push(invalidError('spec.podCIDRs', cidrs, 'may specify no more than one CIDR for each IP family'));
  }
  if (old) errs.push(...validateNodeUpdate(node, old));
  return errs;
}

function validateNodeUpdate(node: Node, old: Node): FieldError[] {
  const errs: FieldError[] = [];
  const before = old.spec?.podCIDRs ?? [];
  const now = node.spec?.podCIDRs ?? [];
  if (before.length && JSON.stringify(before) !== JSON.stringify(now))
    errs.push(forbiddenError('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  const providerID = old.spec?.providerID;
  if (providerID && providerID !== node.spec?.providerID)
    errs.push(
      forbiddenError('spec.providerID', 'node updates may not change providerID except from "" to valid'),
    );
  return errs;
}

/** `kubectl get nodes` STATUS: Ready, NotReady or Unknown, plus SchedulingDisabled. */
export function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

const rolePrefix = 'node-role.kubernetes.io/';

/** `kubectl get nodes` ROLES, from node-role.kubernetes.io/<role> labels (and the old kubernetes.io/role). */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(rolePrefix) && k.length > rolePrefix.length) roles.add(k.slice(rolePrefix.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function addressOf(node: Node, type: string): string {
  return node.status?.addresses?.find((a) => a.type === type)?.address ?? '<none>';
}

const info = (o: unknown) => (o as Node).status?.nodeInfo ?? {};

export const nodeType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  categories: [],
  namespaced: false,
  subresources: ['status', 'proxy'],
  schema: Node,
  defaults: (obj) => defaultNode(obj as Node),
  validate: (obj, old) => validateNode(obj as Node, old as Node | undefined),
  fieldLabels: (obj) => ({ 'spec.unschedulable': String((obj as Node).spec?.unschedulable ?? false) }),
  columns: [
    column('Status', 'Readiness of the node, and whether it takes new pods.', (o) => nodeStatus(o as Node)),
    column('Roles', 'Roles of the node, from its node-role labels.', (o) => nodeRoles(o as Node)),
    ageColumn,
    column('Version', 'Kubelet version.', (o) => info(o).kubeletVersion ?? ''),
    column('Internal-IP', 'Internal IP of the node.', (o) => addressOf(o as Node, 'InternalIP'), {
      priority: 1,
    }),
    column('External-IP', 'External IP of the node.', (o) => addressOf(o as Node, 'ExternalIP'), {
      priority: 1,
    }),
    column('OS-Image', 'Operating system image.', (o) => info(o).osImage || '<unknown>', { priority: 1 }),
    column('Kernel-Version', 'Kernel version.', (o) => info(o).kernelVersion || '<unknown>', { priority: 1 }),
    column(
      'Container-Runtime',
      'Container runtime and version.',
      (o) => info(o).containerRuntimeVersion || '<unknown>',
      {
        priority: 1,
      },
    ),
  ],
};
