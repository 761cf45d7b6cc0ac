/**
 * Stored objects of each kind, as controllers, the scheduler, the kubelet
 * and nkctl read them. The schema types in types/ leave every field
 * optional (a Struct is Partial, since a request may omit anything); an
 * object read from the store always has metadata, so each kind here is
 * its schema type intersected with KubeObject. One declaration per kind:
 * import kinds from here.
 */
import type { Static } from '@sinclair/typebox';
import type { Condition as ConditionSchema, KubeObject } from './meta.js';
import type { APIService as APIServiceSchema } from './types/apiregistration.js';
import type {
  ControllerRevision as ControllerRevisionSchema,
  DaemonSet as DaemonSetSchema,
  Deployment as DeploymentSchema,
  ReplicaSet as ReplicaSetSchema,
  StatefulSet as StatefulSetSchema,
} from './types/apps-schema.js';
import type { CronJob as CronJobSchema, Job as JobSchema } from './types/batch-schema.js';
import type { Lease as LeaseSchema } from './types/coordination.js';
import type { ConfigMap as ConfigMapSchema, Namespace as NamespaceSchema } from './types/core.js';
import type { EndpointSlice as EndpointSliceSchema } from './types/discovery.js';
import type { Node as NodeSchema } from './types/node.js';
import type { Pod as PodSchema } from './types/pod-schema.js';
import type { ClusterRole as ClusterRoleSchema } from './types/rbac.js';
import type { ReplicationController as ReplicationControllerSchema } from './types/replicationcontroller.js';
import type { ServiceAccount as ServiceAccountSchema } from './types/secret.js';
import type { Endpoints as EndpointsSchema, Service as ServiceSchema } from './types/service.js';
import type { PersistentVolumeClaim as PersistentVolumeClaimSchema } from './types/storage.js';

/** A stored object of a kind: the schema types leave metadata optional, the store never does. */
export type Obj<T> = T & KubeObject;

/** A condition of a workload's status (Deployment, ReplicaSet, Job...). */
export type Condition = Static<typeof ConditionSchema>;

export type Pod = Obj<PodSchema>;
export type Node = Obj<NodeSchema>;
export type Namespace = Obj<NamespaceSchema>;
export type Service = Obj<ServiceSchema>;
export type Endpoints = Obj<EndpointsSchema>;
export type EndpointSlice = Obj<EndpointSliceSchema>;
export type ConfigMap = Obj<ConfigMapSchema>;
export type ServiceAccount = Obj<ServiceAccountSchema>;
export type Lease = Obj<LeaseSchema>;
export type APIService = Obj<APIServiceSchema>;
export type ClusterRole = Obj<ClusterRoleSchema>;
export type PersistentVolumeClaim = Obj<PersistentVolumeClaimSchema>;
export type Deployment = Obj<DeploymentSchema>;
export type ReplicaSet = Obj<ReplicaSetSchema>;
export type StatefulSet = Obj<StatefulSetSchema>;
export type DaemonSet = Obj<DaemonSetSchema>;
export type ControllerRevision = Obj<ControllerRevisionSchema>;
export type ReplicationController = Obj<ReplicationControllerSchema>;
export type Job = Obj<JobSchema>;
export type CronJob = Obj<CronJobSchema>;
