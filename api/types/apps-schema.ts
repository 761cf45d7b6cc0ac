/**
 * apps/v1 schemas: Deployment, ReplicaSet, StatefulSet and DaemonSet.
 * Re-exported from `apps.ts`; import from there.
 */
import type { Static } from '@sinclair/typebox';
import { Condition, LabelSelector, ObjectMeta, TypeMeta } from '../meta.js';
import {
  Bool,
  Int,
  Int64,
  IntOrString,
  List,
  MapList,
  Open,
  ResourceList,
  RetainKeys,
  Str,
  StrMap,
  Struct,
} from '../schema.js';
import { PersistentVolumeClaimSpec, PodTemplateSpec } from './pod.js';

const RollingUpdate = Struct(
  {
    maxUnavailable: IntOrString(
      'Pods (a number, or a percent of the desired count) that may be unavailable during an update.',
    ),
    maxSurge: IntOrString(
      'Pods (a number or a percent) that may be created above the desired count during an update.',
    ),
  },
  'How a rolling update proceeds: how many pods may be missing or extra while old pods are replaced.',
);

export const DeploymentSpec = Struct(
  {
    replicas: Int('Desired number of pods; 1 by default.'),
    selector: LabelSelector,
    template: PodTemplateSpec,
    strategy: RetainKeys(
      Struct(
        { type: Str('RollingUpdate (default) or Recreate.'), rollingUpdate: RollingUpdate },
        'How old pods are replaced by new ones.',
      ),
    ),
    minReadySeconds: Int('Seconds a new pod must be ready before it counts as available.'),
    revisionHistoryLimit: Int('Old ReplicaSets to keep for rollback; 10 by default.'),
    paused: Bool('While true, template changes do not start a rollout.'),
    progressDeadlineSeconds: Int(
      'Seconds a rollout may make no progress before it is reported failed; 600 by default.',
    ),
  },
  'The desired state of a deployment: how many pods, from which template, and how to roll out changes.',
);

const replicaCounts = {
  observedGeneration: Int64('The generation the controller last acted on.'),
  replicas: Int('Pods the controller has, whatever their template.'),
  readyReplicas: Int('Pods that are ready.'),
  availableReplicas: Int('Pods that have been ready for at least minReadySeconds.'),
  terminatingReplicas: Int('Pods that are being deleted.'),
  conditions: MapList(Condition, ['type'], 'Latest observations of the object state.'),
};

export const DeploymentStatus = Struct(
  {
    ...replicaCounts,
    updatedReplicas: Int('Pods that run the current template.'),
    unavailableReplicas: Int('Pods still needed to reach the desired count of available pods.'),
    collisionCount: Int('Counts hash collisions of ReplicaSet names, to make the next name unique.'),
  },
  'The observed state of a deployment, written by its controller.',
);

export const Deployment = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: DeploymentSpec, status: DeploymentStatus },
  'A deployment: keeps a number of identical pods running and rolls out template changes through ReplicaSets.',
);
export type Deployment = Static<typeof Deployment>;

export const ReplicaSet = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        replicas: Int('Desired number of pods; 1 by default.'),
        minReadySeconds: Int('Seconds a new pod must be ready before it counts as available.'),
        selector: LabelSelector,
        template: PodTemplateSpec,
      },
      'The desired state of a replica set: how many pods, from which template.',
    ),
    status: Struct(
      {
        ...replicaCounts,
        fullyLabeledReplicas: Int('Pods whose labels match the template labels.'),
      },
      'The observed state of a replica set, written by its controller.',
    ),
  },
  'A replica set: keeps a number of pods from one template running.',
);
export type ReplicaSet = Static<typeof ReplicaSet>;

const PersistentVolumeClaimTemplate = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: PersistentVolumeClaimSpec,
    status: Struct({
      accessModes: List(Str()),
      capacity: ResourceList(),
      conditions: List(Condition),
      allocatedResources: ResourceList(),
      allocatedResourceStatuses: StrMap(),
      currentVolumeAttributesClassName: Str(),
      modifyVolumeStatus: Struct({ targetVolumeAttributesClassName: Str(), status: Str() }),
      phase: Str(),
    }),
  },
  'A PersistentVolumeClaim made for each pod, named <claim>-<statefulset>-<ordinal>.',
);

export const StatefulSetSpec = Struct(
  {
    replicas: Int('Desired number of pods; 1 by default.'),
    selector: LabelSelector,
    template: PodTemplateSpec,
    volumeClaimTemplates: List(
      PersistentVolumeClaimTemplate,
      'Claims each pod gets, mounted as volumes of the same name.',
    ),
    serviceName: Str('Headless Service that gives the pods their stable DNS names.'),
    podManagementPolicy: Str('OrderedReady (default: one pod at a time, in order) or Parallel.'),
    updateStrategy: Struct(
      {
        type: Str('RollingUpdate (default) or OnDelete.'),
        rollingUpdate: Struct({
          partition: Int('Only pods with an ordinal at or above this are updated; 0 by default.'),
          maxUnavailable: IntOrString('Pods that may be unavailable during an update.'),
        }),
      },
      'How pods are replaced when the template changes.',
    ),
    revisionHistoryLimit: Int('Old ControllerRevisions to keep; 10 by default.'),
    minReadySeconds: Int('Seconds a new pod must be ready before it counts as available.'),
    persistentVolumeClaimRetentionPolicy: Struct(
      {
        whenDeleted: Str('Retain (default) or Delete the claims when the set is deleted.'),
        whenScaled: Str('Retain (default) or Delete the claims of pods removed by scaling down.'),
      },
      'What happens to the claims made from volumeClaimTemplates.',
    ),
    ordinals: Struct({ start: Int('Ordinal of the first pod; 0 by default.') }, 'Numbering of the pods.'),
  },
  'The desired state of a stateful set: ordered pods with stable names and their own volumes.',
);

export const StatefulSet = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: StatefulSetSpec,
    status: Struct(
      {
        ...replicaCounts,
        currentReplicas: Int('Pods made from currentRevision.'),
        updatedReplicas: Int('Pods made from updateRevision.'),
        currentRevision: Str('Revision the pods below the partition run.'),
        updateRevision: Str('Revision the set is rolling out.'),
        collisionCount: Int('Counts hash collisions of revision names.'),
      },
      'The observed state of a stateful set, written by its controller.',
    ),
  },
  'A stateful set: pods with stable names, ordinals and storage, started and updated in order.',
);
export type StatefulSet = Static<typeof StatefulSet>;

export const DaemonSet = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        selector: LabelSelector,
        template: PodTemplateSpec,
        updateStrategy: Struct(
          { type: Str('RollingUpdate (default) or OnDelete.'), rollingUpdate: RollingUpdate },
          'How pods are replaced when the template changes.',
        ),
        minReadySeconds: Int('Seconds a new pod must be ready before it counts as available.'),
        revisionHistoryLimit: Int('Old ControllerRevisions to keep; 10 by default.'),
      },
      'The desired state of a daemon set: the pod template and how to update it.',
    ),
    status: Struct(
      {
        currentNumberScheduled: Int('Nodes that run a daemon pod and should.'),
        numberMisscheduled: Int('Nodes that run a daemon pod but should not.'),
        desiredNumberScheduled: Int('Nodes that should run a daemon pod.'),
        numberReady: Int('Nodes whose daemon pod is ready.'),
        observedGeneration: Int64('The generation the controller last acted on.'),
        updatedNumberScheduled: Int('Nodes that run the current template.'),
        numberAvailable: Int('Nodes whose daemon pod is available.'),
        numberUnavailable: Int('Nodes that should run an available daemon pod and do not.'),
        collisionCount: Int('Counts hash collisions of revision names.'),
        conditions: MapList(Condition, ['type'], 'Latest observations of the object state.'),
      },
      'The observed state of a daemon set, written by its controller.',
    ),
  },
  'A daemon set: runs one copy of a pod on every (selected) node.',
);
export type DaemonSet = Static<typeof DaemonSet>;

export const ControllerRevision = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    data: Open(
      'The state this revision records: for StatefulSets and DaemonSets, a patch that restores spec.template.',
    ),
    revision: Int64('The revision number: higher is newer.'),
  },
  'An immutable snapshot of state that a StatefulSet or DaemonSet rolls out and can roll back to.',
);
export type ControllerRevision = Static<typeof ControllerRevision>;
