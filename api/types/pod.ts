/**
 * core/v1 Pod: the schemas (pod-schema.ts, pod-container.ts, pod-volume.ts),
 * defaulting (pod-defaults.ts), validation (pod-validation.ts), Table columns
 * (pod-printer.ts), field labels and the registry entry. Import pod things
 * from here.
 */
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { podDefaults } from './pod-defaults.js';
import { ephemeralContainersSubresource } from './pod-ephemeral.js';
import { podColumns } from './pod-printer.js';
import { Pod } from './pod-schema.js';
import { validatePod, validatePodEphemeralContainersUpdate } from './pod-validation.js';

export * from './pod-container.js';
export * from './pod-defaults.js';
export * from './pod-ephemeral.js';
export * from './pod-printer.js';
export * from './pod-schema.js';
export * from './pod-validation.js';
export * from './pod-volume.js';

/** Values of the fields `kubectl get pods --field-selector` can use, besides name and namespace. */
export function podFieldLabels(obj: KubeObject): Record<string, string> {
  const pod = obj as Pod;
  return {
    'spec.nodeName': pod.spec?.nodeName ?? '',
    'spec.restartPolicy': pod.spec?.restartPolicy ?? '',
    'spec.schedulerName': pod.spec?.schedulerName ?? '',
    'spec.serviceAccountName': pod.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': String(pod.spec?.hostNetwork === true),
    'status.phase': pod.status?.phase ?? '',
    'status.podIP': pod.status?.podIP ?? '',
    'status.nominatedNodeName': pod.status?.nominatedNodeName ?? '',
  };
}

export const podType: ResourceType = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  returnDeletedObject: true,
  subresources: [
    'status',
    'binding',
    'eviction',
    'log',
    'exec',
    'attach',
    'portforward',
    'ephemeralcontainers',
  ],
  schema: Pod,
  defaults: (obj) => podDefaults(obj as Pod),
  validate: (obj, old, subresource) =>
    subresource === ephemeralContainersSubresource && old
      ? validatePodEphemeralContainersUpdate(obj as Pod, old as Pod)
      : validatePod(obj as Pod, old as Pod | undefined),
  fieldLabels: podFieldLabels,
  columns: podColumns,
};
