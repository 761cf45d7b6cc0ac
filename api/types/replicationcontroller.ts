/**
 * core/v1 ReplicationController: the ancestor of the ReplicaSet, still served
 * for core/v1 clients, conformance and old manifests. Its selector is a plain
 * map of labels, not a LabelSelector. Defaults, validation and columns follow
 * Kubernetes' SetDefaults_ReplicationController, ValidateReplicationController
 * and printReplicationController; the ReplicaSet controller runs it.
 */
import type { Static } from '@sinclair/typebox';
import { Condition, ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Int, Int64, MapList, StrMap, Struct } from '../schema.js';
import { labelSelectorFromSet } from '../selectors.js';
import type { FieldError } from '../status.js';
import { child, invalidError, requiredError } from '../validation.js';
import { PodTemplateSpec } from './pod.js';
import {
  count,
  defaultTemplate,
  formatLabels,
  nonNegative,
  templateColumns,
  validateControllerTemplate,
} from './workload.js';

export const ReplicationController = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        replicas: Int('Desired number of pods; 1 by default.'),
        minReadySeconds: Int('Seconds a new pod must be ready before it counts as available.'),
        selector: StrMap(
          'Labels a pod must have to be controlled; the template labels when empty. A map, not a LabelSelector.',
        ),
        template: PodTemplateSpec,
      },
      'The desired state of a replication controller: how many pods, from which template.',
    ),
    status: Struct(
      {
        replicas: Int('Pods the controller has.'),
        fullyLabeledReplicas: Int('Pods whose labels match the template labels.'),
        readyReplicas: Int('Pods that are ready.'),
        availableReplicas: Int('Pods that have been ready for at least minReadySeconds.'),
        observedGeneration: Int64('The generation the controller last acted on.'),
        conditions: MapList(Condition, ['type'], 'Latest observations of the controller state.'),
      },
      'The observed state of a replication controller, written by its controller.',
    ),
  },
  'A replication controller: keeps a number of pods from one template running (the older ReplicaSet).',
);
export type ReplicationController = Static<typeof ReplicationController>;

/** Replicas 1; an empty selector, and empty labels, become the template's labels. */
export function defaultReplicationController(rc: ReplicationController): void {
  rc.spec ??= {};
  const s = rc.spec;
  const labels = s.template?.metadata?.labels;
  if (labels) {
    if (!Object.keys(s.selector ?? {}).length) s.selector = { ...labels };
    rc.metadata ??= {};
    if (!Object.keys(rc.metadata.labels ?? {}).length) rc.metadata.labels = { ...labels };
  }
  s.replicas ??= 1;
  defaultTemplate(s.template);
}

/** ValidateReplicationControllerSpec. Unlike a ReplicaSet's, the selector may change. */
export function validateReplicationController(rc: ReplicationController): FieldError[] {
  const s = rc.spec ?? {};
  const selector = s.selector ?? {};
  const errs = [...nonNegative('spec.minReadySeconds', s.minReadySeconds)];
  const empty = !Object.keys(selector).length;
  if (empty) errs.push(requiredError('spec.selector'));
  errs.push(...nonNegative('spec.replicas', s.replicas));
  const labels = s.template?.metadata?.labels ?? {};
  if (s.template && !empty && !labelSelectorFromSet(selector).matches(labels))
    errs.push(
      invalidError('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'),
    );
  errs.push(...validateControllerTemplate(s.template, 'ReplicationController'));
  return errs;
}

/** ValidateReplicationControllerStatus: counts not negative, none above the pods there are. */
export function validateReplicationControllerStatus(rc: ReplicationController): FieldError[] {
  const st = rc.status ?? {};
  const path = 'status';
  const errs = [
    ...nonNegative(child(path, 'replicas'), st.replicas),
    ...nonNegative(child(path, 'fullyLabeledReplicas'), st.fullyLabeledReplicas),
    ...nonNegative(child(path, 'readyReplicas'), st.readyReplicas),
    ...nonNegative(child(path, 'availableReplicas'), st.availableReplicas),
    ...nonNegative(child(path, 'observedGeneration'), st.observedGeneration),
  ];
  const replicas = count(st.replicas);
  const above = 'cannot be greater than status.replicas';
  for (const f of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'] as const)
    if (count(st[f]) > replicas) errs.push(invalidError(child(path, f), st[f], above));
  if (count(st.availableReplicas) > count(st.readyReplicas))
    errs.push(
      invalidError(
        child(path, 'availableReplicas'),
        st.availableReplicas,
        'cannot be greater than readyReplicas',
      ),
    );
  return errs;
}

const rcOf = (o: unknown) => o as ReplicationController;
const int = { type: 'integer' } as const;

export const replicationControllerType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  plural: 'replicationcontrollers',
  singular: 'replicationcontroller',
  shortNames: ['rc'],
  categories: ['all'],
  namespaced: true,
  subresources: ['status', 'scale'],
  schema: ReplicationController,
  defaults: (o) => defaultReplicationController(rcOf(o)),
  // Replicas has no omitempty in Go: a new RC is served with status.replicas 0.
  zeroStatus: { replicas: 0 },
  validate: (o, _old, subresource) =>
    subresource === 'status'
      ? validateReplicationControllerStatus(rcOf(o))
      : validateReplicationController(rcOf(o)),
  scaleSelector: (o) => labelSelectorFromSet(rcOf(o).spec?.selector).toString(),
  fieldLabels: (o) => ({ 'status.replicas': String(count(rcOf(o).status?.replicas)) }),
  columns: [
    column('Desired', 'Desired number of pods.', (o) => count(rcOf(o).spec?.replicas), int),
    column('Current', 'Pods the controller has.', (o) => count(rcOf(o).status?.replicas), int),
    column('Ready', 'Pods that are ready.', (o) => count(rcOf(o).status?.readyReplicas), int),
    ageColumn,
    ...templateColumns((o) => rcOf(o).spec?.template?.spec),
    column('Selector', 'Labels that find the pods.', (o) => formatLabels(rcOf(o).spec?.selector), {
      priority: 1,
    }),
  ],
};
