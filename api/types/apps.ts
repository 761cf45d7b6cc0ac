/**
 * apps/v1 Deployment, ReplicaSet, StatefulSet and DaemonSet: defaults, Table
 * columns and registry entries. Schemas (apps-schema.ts) and validation
 * (apps-validation.ts) are re-exported here; import apps things from here.
 */
import type { KubeObject } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import type { LabelSelectorObject } from '../selectors.js';
import { ControllerRevision, DaemonSet, Deployment, ReplicaSet, StatefulSet } from './apps-schema.js';
import {
  validateDaemonSet,
  validateDeployment,
  validateReplicaSet,
  validateStatefulSet,
} from './apps-validation.js';
import type { PodTemplateSpec } from './pod.js';
import {
  count,
  defaultTemplate,
  formatLabels,
  immutable,
  nonNegative,
  selectorColumn,
  templateColumns,
} from './workload.js';

export * from './apps-schema.js';
export * from './apps-validation.js';

const podSpecOf = (o: KubeObject) => (o as { spec?: { template?: PodTemplateSpec } }).spec?.template?.spec;
const selectorOf = (o: KubeObject) => (o as { spec?: { selector?: LabelSelectorObject } }).spec?.selector;

// ---- defaults ----

export function defaultDeployment(d: Deployment): void {
  d.spec ??= {};
  const s = d.spec;
  s.replicas ??= 1;
  s.strategy ??= {};
  s.strategy.type ||= 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    s.strategy.rollingUpdate ??= {};
    s.strategy.rollingUpdate.maxUnavailable ??= '25%';
    s.strategy.rollingUpdate.maxSurge ??= '25%';
  }
  s.revisionHistoryLimit ??= 10;
  s.progressDeadlineSeconds ??= 600;
  defaultTemplate(s.template);
}

export function defaultReplicaSet(rs: ReplicaSet): void {
  rs.spec ??= {};
  rs.spec.replicas ??= 1;
  defaultTemplate(rs.spec.template);
}

export function defaultStatefulSet(sts: StatefulSet): void {
  sts.spec ??= {};
  const s = sts.spec;
  s.podManagementPolicy ||= 'OrderedReady';
  s.updateStrategy ??= {};
  const strategy = s.updateStrategy;
  if (!strategy.type) {
    strategy.type = 'RollingUpdate';
    strategy.rollingUpdate ??= {};
  }
  if (strategy.type === 'RollingUpdate' && strategy.rollingUpdate) strategy.rollingUpdate.partition ??= 0;
  s.persistentVolumeClaimRetentionPolicy ??= {};
  s.persistentVolumeClaimRetentionPolicy.whenDeleted ||= 'Retain';
  s.persistentVolumeClaimRetentionPolicy.whenScaled ||= 'Retain';
  s.replicas ??= 1;
  s.revisionHistoryLimit ??= 10;
  // Claim templates get the defaults of a PersistentVolumeClaim, as Kubernetes writes them back.
  for (const claim of s.volumeClaimTemplates ?? []) {
    claim.apiVersion ??= 'v1';
    claim.kind ??= 'PersistentVolumeClaim';
    claim.spec ??= {};
    claim.spec.volumeMode ||= 'Filesystem';
    claim.status ??= {};
    claim.status.phase ||= 'Pending';
  }
  defaultTemplate(s.template);
}

export function defaultDaemonSet(ds: DaemonSet): void {
  ds.spec ??= {};
  const s = ds.spec;
  s.updateStrategy ??= {};
  s.updateStrategy.type ||= 'RollingUpdate';
  if (s.updateStrategy.type === 'RollingUpdate') {
    s.updateStrategy.rollingUpdate ??= {};
    s.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
    s.updateStrategy.rollingUpdate.maxSurge ??= 0;
  }
  s.revisionHistoryLimit ??= 10;
  defaultTemplate(s.template);
}

// ---- printing ----

const apps = { group: 'apps', version: 'v1', namespaced: true };
const int = { type: 'integer' } as const;

export const appsTypes: ResourceType[] = [
  {
    ...apps,
    categories: ['all'],
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
    schema: Deployment,
    defaults: (o) => defaultDeployment(o as Deployment),
    zeroStatus: {},
    validate: (o, old) => validateDeployment(o as Deployment, old as Deployment | undefined),
    columns: [
      column('Ready', 'Ready pods out of the desired count.', (o) => {
        const d = o as Deployment;
        return `${count(d.status?.readyReplicas)}/${count(d.spec?.replicas)}`;
      }),
      column(
        'Up-to-date',
        'Pods that run the current template.',
        (o) => count((o as Deployment).status?.updatedReplicas),
        int,
      ),
      column(
        'Available',
        'Pods available to users.',
        (o) => count((o as Deployment).status?.availableReplicas),
        int,
      ),
      ageColumn,
      ...templateColumns(podSpecOf),
      selectorColumn(selectorOf),
    ],
  },
  {
    ...apps,
    categories: ['all'],
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
    schema: ReplicaSet,
    defaults: (o) => defaultReplicaSet(o as ReplicaSet),
    zeroStatus: { replicas: 0 },
    validate: (o, old) => validateReplicaSet(o as ReplicaSet, old as ReplicaSet | undefined),
    fieldLabels: (o) => ({ 'status.replicas': String(count((o as ReplicaSet).status?.replicas)) }),
    columns: [
      column('Desired', 'Desired number of pods.', (o) => count((o as ReplicaSet).spec?.replicas), int),
      column('Current', 'Pods the replica set has.', (o) => count((o as ReplicaSet).status?.replicas), int),
      column('Ready', 'Pods that are ready.', (o) => count((o as ReplicaSet).status?.readyReplicas), int),
      ageColumn,
      ...templateColumns(podSpecOf),
      selectorColumn(selectorOf),
    ],
  },
  {
    ...apps,
    categories: ['all'],
    kind: 'StatefulSet',
    plural: 'statefulsets',
    singular: 'statefulset',
    shortNames: ['sts'],
    subresources: ['status', 'scale'],
    schema: StatefulSet,
    defaults: (o) => defaultStatefulSet(o as StatefulSet),
    zeroStatus: { replicas: 0, availableReplicas: 0 },
    validate: (o, old) => validateStatefulSet(o as StatefulSet, old as StatefulSet | undefined),
    columns: [
      column('Ready', 'Ready pods out of the desired count.', (o) => {
        const sts = o as StatefulSet;
        return `${count(sts.status?.readyReplicas)}/${count(sts.spec?.replicas)}`;
      }),
      ageColumn,
      ...templateColumns(podSpecOf),
    ],
  },
  {
    ...apps,
    categories: ['all'],
    kind: 'DaemonSet',
    plural: 'daemonsets',
    singular: 'daemonset',
    shortNames: ['ds'],
    subresources: ['status'],
    schema: DaemonSet,
    defaults: (o) => defaultDaemonSet(o as DaemonSet),
    zeroStatus: {
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    },
    validate: (o, old) => validateDaemonSet(o as DaemonSet, old as DaemonSet | undefined),
    columns: [
      column(
        'Desired',
        'Nodes that should run the pod.',
        (o) => count((o as DaemonSet).status?.desiredNumberScheduled),
        int,
      ),
      column(
        'Current',
        'Nodes that run the pod.',
        (o) => count((o as DaemonSet).status?.currentNumberScheduled),
        int,
      ),
      column('Ready', 'Nodes whose pod is ready.', (o) => count((o as DaemonSet).status?.numberReady), int),
      column(
        'Up-to-date',
        'Nodes that run the current template.',
        (o) => count((o as DaemonSet).status?.updatedNumberScheduled),
        int,
      ),
      column(
        'Available',
        'Nodes whose pod is available.',
        (o) => count((o as DaemonSet).status?.numberAvailable),
        int,
      ),
      column('Node Selector', 'Labels a node must have to run the pod.', (o) =>
        formatLabels(podSpecOf(o)?.nodeSelector),
      ),
      ageColumn,
      ...templateColumns(podSpecOf),
      selectorColumn(selectorOf),
    ],
  },
  {
    ...apps,
    kind: 'ControllerRevision',
    plural: 'controllerrevisions',
    singular: 'controllerrevision',
    shortNames: [],
    categories: [],
    subresources: [],
    schema: ControllerRevision,
    validate: (o, old) => {
      const cr = o as ControllerRevision;
      const errs = nonNegative('revision', cr.revision);
      if (old) errs.push(...immutable('data', cr.data, (old as ControllerRevision).data));
      return errs;
    },
    columns: [
      column('Controller', 'The object that owns this revision.', (o) => {
        const ref = o.metadata.ownerReferences?.find((r) => r.controller);
        return ref
          ? `${(ref.kind ?? '').toLowerCase()}.${(ref.apiVersion ?? '').split('/')[0]}/${ref.name}`
          : '';
      }),
      column('Revision', 'Revision number.', (o) => (o as ControllerRevision).revision ?? 0, int),
      ageColumn,
    ],
  },
];
