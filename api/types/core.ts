/**
 * core/v1 kinds besides Pod (pod.ts): Namespace and ConfigMap here, the rest
 * in sibling files (service.ts, node.ts, secret.ts, event.ts, storage.ts,
 * replicationcontroller.ts),
 * re-exported here and gathered into `coreTypes`.
 */
import type { Static } from '@sinclair/typebox';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Bool, List, MapList, Open, Str, StrMap, Struct } from '../schema.js';
import { eventType } from './event.js';
import { nodeType } from './node.js';
import { replicationControllerType } from './replicationcontroller.js';
import { secretTypes } from './secret.js';
import { serviceTypes } from './service.js';
import { storageTypes } from './storage.js';

export * from './core-common.js';
export * from './event.js';
export * from './node.js';
export * from './replicationcontroller.js';
export * from './secret.js';
export * from './service.js';
export * from './storage.js';

// ---- Namespace ----

export const NamespaceSpec = Struct(
  {
    finalizers: List(
      Str(),
      'Things that must finish before the namespace is removed; "kubernetes" empties it.',
    ),
  },
  'The desired state of a namespace.',
);
export const NamespaceStatus = Struct(
  {
    phase: Str('Active, or Terminating once deletion has begun.'),
    conditions: MapList(Open(), ['type'], 'Current conditions of the namespace.'),
  },
  'The observed state of a namespace.',
);
export const Namespace = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: NamespaceSpec, status: NamespaceStatus },
  'A namespace: a scope for names, and the unit that access rules and quotas apply to.',
);
export type Namespace = Static<typeof Namespace>;

// ---- ConfigMap ----

export const ConfigMap = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    data: StrMap('Configuration data as UTF-8 strings.'),
    binaryData: StrMap('Binary configuration data, base64-encoded.'),
    immutable: Bool('If true, data cannot be changed after creation.'),
  },
  'Non-secret configuration data for pods to consume as environment variables, arguments or files.',
);
export type ConfigMap = Static<typeof ConfigMap>;

export const coreTypes: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    shortNames: ['ns'],
    categories: [],
    namespaced: false,
    returnDeletedObject: true,
    subresources: ['status', 'finalize'],
    schema: Namespace,
    nameIsLabel: true,
    defaults: (obj) => {
      const ns = obj as Namespace;
      ns.spec ??= {};
      ns.spec.finalizers ??= ['kubernetes'];
      ns.status ??= {};
      ns.status.phase ??= 'Active';
    },
    fieldLabels: (obj) => ({ 'status.phase': (obj as Namespace).status?.phase ?? '' }),
    columns: [column('Status', 'Phase of the namespace.', (o) => (o as Namespace).status?.phase ?? '')],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    shortNames: ['cm'],
    categories: [],
    namespaced: true,
    subresources: [],
    schema: ConfigMap,
    validate: (obj, old) => {
      const cm = obj as ConfigMap;
      const prev = old as ConfigMap | undefined;
      if (
        prev?.immutable &&
        JSON.stringify([cm.data, cm.binaryData, cm.immutable]) !==
          JSON.stringify([prev.data, prev.binaryData, prev.immutable])
      ) {
        return [
          {
            type: 'FieldValueForbidden',
            field: 'data',
            detail: 'field is immutable when `immutable` is set',
          },
        ];
      }
      return [];
    },
    columns: [
      column(
        'Data',
        'Number of entries in data and binaryData.',
        (o) =>
          Object.keys((o as ConfigMap).data ?? {}).length +
          Object.keys((o as ConfigMap).binaryData ?? {}).length,
        { type: 'integer' },
      ),
    ],
  },
  ...serviceTypes,
  nodeType,
  ...secretTypes,
  eventType,
  ...storageTypes,
  replicationControllerType,
];
