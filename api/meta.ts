/**
 * metav1: ObjectMeta, ListMeta, OwnerReference, LabelSelector, Condition and
 * the object shape every kind shares.
 */
import type { Static } from '@sinclair/typebox';
import {
  AtomicList,
  Bool,
  Int64,
  List,
  MapList,
  Open,
  SetList,
  Str,
  StrMap,
  Struct,
  T,
  Time,
} from './schema.js';

export const OwnerReference = Struct(
  {
    apiVersion: Str('API version of the owner.'),
    kind: Str('Kind of the owner.'),
    name: Str('Name of the owner.'),
    uid: Str('UID of the owner.'),
    controller: Bool('True if the owner is the managing controller.'),
    blockOwnerDeletion: Bool('If true, foreground deletion of the owner waits for this object to go first.'),
  },
  'Names an object that owns this one; when every owner is gone the garbage collector deletes it.',
);
export type OwnerReference = Static<typeof OwnerReference>;

export const ManagedFieldsEntry = Struct(
  {
    manager: Str('Name of the workflow that manages these fields.'),
    operation: Str('Apply or Update.'),
    apiVersion: Str('Version of the resource the fields are in.'),
    time: Time('When the entry was last changed.'),
    fieldsType: Str('Format of fieldsV1: always FieldsV1.'),
    fieldsV1: Open('The set of fields owned, in the FieldsV1 trie form.'),
    subresource: Str('Subresource the fields were written through, if any.'),
  },
  'The fields one manager owns, for server-side apply.',
);

export const ObjectMeta = Struct(
  {
    name: Str('Name, unique within a namespace (or the cluster, for cluster-scoped kinds).'),
    generateName: Str('Prefix the server uses to make a unique name when name is empty.'),
    namespace: Str('Namespace the object lives in; empty for cluster-scoped kinds.'),
    selfLink: Str('Deprecated; always empty.'),
    uid: Str('Unique id the server gives the object at creation; never reused.'),
    resourceVersion: Str(
      'Opaque version of the object (the etcd revision of its last write); send it back to update.',
    ),
    generation: Int64('Incremented by the server on every change to the desired state (spec).'),
    creationTimestamp: T.Union([Time(), T.Null()], {
      description: 'When the object was created (RFC 3339).',
    }),
    deletionTimestamp: Time('When the object will be (or began to be) deleted; set by the server.'),
    deletionGracePeriodSeconds: Int64(
      'Seconds allowed for graceful termination before the object is removed.',
    ),
    labels: StrMap('Key/value pairs for selecting and grouping objects.'),
    annotations: StrMap('Key/value pairs for tools and people; not used for selection.'),
    ownerReferences: MapList(OwnerReference, ['uid'], 'Objects this one depends on.'),
    finalizers: SetList(Str(), 'Names of things that must finish before the object is removed.', {
      merge: true,
    }),
    managedFields: AtomicList(ManagedFieldsEntry, 'Which manager owns which fields (server-side apply).'),
  },
  'Standard object metadata: name, namespace, labels, versioning and ownership.',
);
export type ObjectMeta = Static<typeof ObjectMeta>;

export const ListMeta = Struct({
  resourceVersion: Str(),
  continue: Str(),
  remainingItemCount: Int64(),
  selfLink: Str(),
});
export type ListMeta = Static<typeof ListMeta>;

export const LabelSelectorRequirement = Struct({
  key: Str('The label key.'),
  operator: Str('In, NotIn, Exists or DoesNotExist.'),
  values: List(Str(), 'Values for In and NotIn; empty for Exists and DoesNotExist.'),
});

/** Atomic for server-side apply: one manager owns a selector as a whole, as in Kubernetes. */
export const LabelSelector = {
  ...Struct(
    {
      matchLabels: StrMap('Labels that must all be present with these values.'),
      matchExpressions: List(LabelSelectorRequirement, 'Requirements that must all hold.'),
    },
    'Selects objects by their labels; an empty selector matches everything.',
  ),
  'x-kubernetes-map-type': 'atomic',
};
export type LabelSelector = Static<typeof LabelSelector>;

export const Condition = Struct({
  type: Str('Type of condition.'),
  status: Str('True, False or Unknown.'),
  observedGeneration: Int64(),
  lastTransitionTime: Time(),
  lastUpdateTime: Time(),
  lastProbeTime: T.Union([Time(), T.Null()]),
  lastHeartbeatTime: Time(),
  reason: Str(),
  message: Str(),
});

export const LocalObjectReference = Struct({ name: Str('Name of the referent.') });

export const TypeMeta = {
  apiVersion: Str('Versioned schema of this representation of the object.'),
  kind: Str('The kind of object this is.'),
};

/** The shape every stored object has; kinds narrow spec and status. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface KubeList<O = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: O[];
}

/** The owner reference with controller: true, if any. */
export function controllerRefOf(obj: KubeObject): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** The reference a controller puts on what it makes: controller, blocks the owner's foreground deletion. */
export function newControllerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}
