/**
 * The resource types of a CustomResourceDefinition: one per served version,
 * in Kubernetes' version priority (the first is the group's preferred
 * version), each with its schema compiled into validation, defaulting and
 * pruning, its Table columns, scale paths and published OpenAPI schema.
 * Pure: the serving (stores, caches) is serving.ts.
 */
import type { KubeObject } from '../../api/meta.js';
import { ObjectMeta } from '../../api/meta.js';
import { age } from '../../api/printers.js';
import type { ResourceType, TableColumn } from '../../api/registry.js';
import { Str, T } from '../../api/schema.js';
import { nameColumn } from '../table.js';
import type { CrdVersion, CustomResourceDefinition } from './definition.js';
import { evaluate, parseJsonPath } from './jsonpath.js';
import { compileStructural, type JSONSchemaProps, openapiV2Schema, openapiV3Schema } from './structural.js';

/**
 * The TypeBox schema every custom object passes first: TypeMeta and
 * ObjectMeta checked as for any kind, everything else left to the CRD's
 * own schema (prune, validate). Listing spec makes generation track it.
 */
const CustomObject = T.Object(
  {
    apiVersion: T.Optional(Str()),
    kind: T.Optional(Str()),
    metadata: T.Optional(ObjectMeta),
    spec: T.Optional(T.Unknown()),
    status: T.Optional(T.Unknown()),
  },
  { additionalProperties: true },
);

/** Kubernetes' CompareKubeAwareVersionStrings: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else (by name). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === 'alpha' ? 0 : m[2] === 'beta' ? 1 : 2;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a < b ? -1 : a > b ? 1 : 0;
  if (pa[0] !== pb[0]) return pb[0] - pa[0];
  if (pa[1] !== pb[1]) return pb[1] - pa[1];
  return pb[2] - pa[2];
}

/** `date` cells are ages, as Kubernetes' table convertor prints them; a missing value is null (`<none>`). */
function printerColumn(c: NonNullable<CrdVersion['additionalPrinterColumns']>[number]): TableColumn {
  const steps = parseJsonPath(c.jsonPath ?? '');
  const type = (c.type ?? 'string') as TableColumn['type'];
  return {
    name: c.name ?? '',
    type,
    format: c.format,
    description: c.description ?? '',
    priority: c.priority ?? 0,
    cell: (obj, now) => {
      const v = steps ? evaluate(steps, obj)[0] : undefined;
      if (v === undefined || v === null) return null as unknown as string;
      if (type === 'date') return typeof v === 'string' ? age(v, now) : (null as unknown as string);
      if (type === 'string') return typeof v === 'object' ? JSON.stringify(v) : String(v);
      return v as string | number | boolean;
    },
  };
}

/** Name first, then the CRD's columns, or Age when it has none (Kubernetes' CR table convertor). */
export function columnsOf(v: CrdVersion): TableColumn[] {
  const own = (v.additionalPrinterColumns ?? []).map(printerColumn);
  if (own.length > 0) return [nameColumn, ...own];
  return [
    nameColumn,
    printerColumn({ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: '' }),
  ];
}

/** The types of `crd`'s served versions, under its accepted names; none before names are accepted. */
export function customTypes(crd: CustomResourceDefinition): ResourceType[] {
  const spec = crd.spec ?? {};
  const names = crd.status?.acceptedNames;
  if (!spec.group || !names?.plural || !names.kind) return [];
  const group = spec.group;
  const served = (spec.versions ?? [])
    .filter((v) => v.served && v.name)
    .sort((a, b) => compareVersions(a.name!, b.name!));
  return served.map((v): ResourceType => {
    const schema = (v.schema?.openAPIV3Schema ?? { type: 'object' }) as JSONSchemaProps;
    const structural = compileStructural(schema);
    const subresources = [
      ...(v.subresources?.status ? ['status'] : []),
      ...(v.subresources?.scale ? ['scale'] : []),
    ];
    const scale = v.subresources?.scale;
    return {
      group,
      version: v.name!,
      kind: names.kind!,
      plural: names.plural!,
      singular: names.singular ?? names.kind!.toLowerCase(),
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      namespaced: spec.scope === 'Namespaced',
      subresources,
      schema: CustomObject,
      storagePrefix: `/registry/${group}/${names.plural}/`,
      defaults: (obj: KubeObject) => structural.applyDefaults(obj),
      validate: (obj: KubeObject) => structural.validate(obj),
      prune: (obj: KubeObject) => structural.prune(obj),
      scalePaths: scale && {
        specReplicasPath: scale.specReplicasPath ?? '.spec.replicas',
        statusReplicasPath: scale.statusReplicasPath ?? '.status.replicas',
        labelSelectorPath: scale.labelSelectorPath,
      },
      openapi: { v3: openapiV3Schema(schema), v2: openapiV2Schema(schema) },
      noStrategicMerge: true,
      typedListItems: true,
      columns: columnsOf(v),
    };
  });
}

/** The version objects are written in. */
export function storageVersionOf(crd: CustomResourceDefinition): string | undefined {
  return crd.spec?.versions?.find((v) => v.storage)?.name;
}
