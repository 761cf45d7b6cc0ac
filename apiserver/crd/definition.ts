/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition: the kind, its defaults
 * and its validation, after Kubernetes' apiextensions validation. It lives
 * in the apiserver (not api/types) because validating a version's schema
 * needs the structural library beside it.
 */
import type { Static } from '@sinclair/typebox';
import { Condition, ObjectMeta, TypeMeta } from '../../api/meta.js';
import { column } from '../../api/printers.js';
import type { ResourceType } from '../../api/registry.js';
import { Bool, Int, List, Str, Struct, T } from '../../api/schema.js';
import type { FieldError } from '../../api/status.js';
import {
  child,
  index,
  invalidError,
  isDNS1035Label,
  isDNS1123Subdomain,
  notSupportedError,
  requiredError,
} from '../../api/validation.js';
import { nameColumn } from '../table.js';
import { checkStructural } from './structural.js';

export const crdGroup = 'apiextensions.k8s.io';
/** Held by every CRD being deleted until its custom objects are gone. */
export const cleanupFinalizer = 'customresourcecleanup.apiextensions.k8s.io';

const Names = Struct({
  plural: Str('The plural name of the resource, lowercase: the path segment.'),
  singular: Str('The singular name, lowercase; defaults to the lowercased kind.'),
  shortNames: List(Str(), 'Short names kubectl accepts.'),
  kind: Str('The kind of the objects, CamelCase.'),
  listKind: Str('The kind of a list; defaults to `kind`List.'),
  categories: List(Str(), 'Groups of resources (`all`) kubectl expands.'),
});

/** A JSONSchemaProps: any JSON object, checked by the structural library. */
const Schema = T.Record(T.String(), T.Unknown(), { description: 'An OpenAPI v3 schema (JSONSchemaProps).' });

const ScaleSubresource = Struct({
  specReplicasPath: Str('JSON path to the desired replicas under .spec.'),
  statusReplicasPath: Str('JSON path to the observed replicas under .status.'),
  labelSelectorPath: Str('JSON path to the pods label selector (a string) under .spec or .status.'),
});

const PrinterColumn = Struct({
  name: Str('Column name.'),
  type: Str('integer, number, string, boolean or date.'),
  format: Str('Optional format of the type.'),
  description: Str(),
  priority: Int('0 for `kubectl get`, above for -o wide.'),
  jsonPath: Str('Simple JSON path evaluated against each object.'),
});

const Version = Struct({
  name: Str('The version name, as in /apis/<group>/<version>.'),
  served: Bool('Whether the version is served.'),
  storage: Bool('Whether objects are stored in this version; exactly one version is.'),
  deprecated: Bool(),
  deprecationWarning: Str(),
  schema: Struct({ openAPIV3Schema: Schema }),
  subresources: Struct({ status: Struct({}), scale: ScaleSubresource }),
  additionalPrinterColumns: List(PrinterColumn),
  selectableFields: List(Struct({ jsonPath: Str() })),
});

const WebhookClientConfig = Struct({
  url: Str(),
  service: Struct({ namespace: Str(), name: Str(), path: Str(), port: Int() }),
  caBundle: Str(),
});

export const CustomResourceDefinition = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct({
      group: Str('The API group, a DNS subdomain with at least one dot.'),
      names: Names,
      scope: Str('Namespaced or Cluster.'),
      versions: List(Version),
      conversion: Struct({
        strategy: Str('None or Webhook.'),
        webhook: Struct({ clientConfig: WebhookClientConfig, conversionReviewVersions: List(Str()) }),
      }),
      preserveUnknownFields: Bool(),
    }),
    status: Struct({
      conditions: List(Condition),
      acceptedNames: Names,
      storedVersions: List(Str()),
    }),
  },
  'A CustomResourceDefinition: a new kind of object the apiserver serves.',
);
export type CustomResourceDefinition = Static<typeof CustomResourceDefinition>;
export type CrdNames = Static<typeof Names>;
export type CrdVersion = Static<typeof Version>;

/** Kubernetes' v1 defaults: conversion None, singular and listKind from the kind. */
export function defaultCrd(crd: CustomResourceDefinition): void {
  crd.spec ??= {};
  const spec = crd.spec;
  spec.conversion ??= {};
  spec.conversion.strategy ??= 'None';
  const names = spec.names;
  if (names?.kind) {
    names.singular ||= names.kind.toLowerCase();
    names.listKind ||= `${names.kind}List`;
  }
}

function dns1035(field: string, value: string | undefined): FieldError[] {
  const errs = value ? isDNS1035Label(value) : [];
  return errs.length ? [invalidError(field, value, errs.join(','))] : [];
}

function validateNames(names: CrdNames | undefined, path: string): FieldError[] {
  const n = names ?? {};
  const errs: FieldError[] = [];
  if (!n.plural) errs.push(requiredError(child(path, 'plural')));
  errs.push(...dns1035(child(path, 'plural'), n.plural));
  if (!n.singular) errs.push(requiredError(child(path, 'singular')));
  errs.push(...dns1035(child(path, 'singular'), n.singular));
  if (!n.kind) errs.push(requiredError(child(path, 'kind'), 'kind must be specified'));
  else errs.push(...dns1035(child(path, 'kind'), n.kind.toLowerCase()).map((e) => ({ ...e, value: n.kind })));
  if (!n.listKind) errs.push(requiredError(child(path, 'listKind'), 'listKind must be specified'));
  else if (n.listKind === n.kind)
    errs.push(invalidError(child(path, 'listKind'), n.listKind, 'kind and listKind may not be the same'));
  for (const list of ['shortNames', 'categories'] as const)
    for (const [i, s] of (n[list] ?? []).entries()) errs.push(...dns1035(index(child(path, list), i), s));
  return errs;
}

const columnTypes = ['integer', 'number', 'string', 'boolean', 'date'];
const columnFormats = ['int32', 'int64', 'float', 'double', 'byte', 'date', 'date-time', 'password'];

function validateVersion(v: CrdVersion, path: string): FieldError[] {
  const errs = dns1035(child(path, 'name'), v.name);
  if (!v.name) errs.push(requiredError(child(path, 'name')));
  const schema = v.schema?.openAPIV3Schema;
  if (schema === undefined)
    errs.push(requiredError(child(path, 'schema', 'openAPIV3Schema'), 'schemas are required'));
  else errs.push(...checkStructural(schema, child(path, 'schema', 'openAPIV3Schema')));
  const scale = v.subresources?.scale;
  if (scale) {
    const sp = child(path, 'subresources', 'scale');
    if (!scale.specReplicasPath) errs.push(requiredError(child(sp, 'specReplicasPath')));
    else if (!scale.specReplicasPath.startsWith('.spec.'))
      errs.push(
        invalidError(
          child(sp, 'specReplicasPath'),
          scale.specReplicasPath,
          'should be a json path under .spec',
        ),
      );
    if (!scale.statusReplicasPath) errs.push(requiredError(child(sp, 'statusReplicasPath')));
    else if (!scale.statusReplicasPath.startsWith('.status.'))
      errs.push(
        invalidError(
          child(sp, 'statusReplicasPath'),
          scale.statusReplicasPath,
          'should be a json path under .status',
        ),
      );
    const sel = scale.labelSelectorPath;
    if (sel && !sel.startsWith('.spec.') && !sel.startsWith('.status.'))
      errs.push(
        invalidError(
          child(sp, 'labelSelectorPath'),
          sel,
          'should be a json path under either .spec or .status',
        ),
      );
  }
  (v.additionalPrinterColumns ?? []).forEach((c, i) => {
    const cp = index(child(path, 'additionalPrinterColumns'), i);
    if (!c.name) errs.push(requiredError(child(cp, 'name')));
    if (!c.type) errs.push(requiredError(child(cp, 'type')));
    else if (!columnTypes.includes(c.type))
      errs.push(notSupportedError(child(cp, 'type'), c.type, columnTypes));
    if (c.format && !columnFormats.includes(c.format))
      errs.push(notSupportedError(child(cp, 'format'), c.format, columnFormats));
    if (!c.jsonPath) errs.push(requiredError(child(cp, 'jsonPath')));
    else if (!c.jsonPath.startsWith('.'))
      errs.push(
        invalidError(child(cp, 'jsonPath'), c.jsonPath, 'must be a simple json path starting with .'),
      );
    if ((c.priority ?? 0) < 0)
      errs.push(invalidError(child(cp, 'priority'), c.priority, 'must be greater than or equal to 0'));
  });
  return errs;
}

function validateVersions(versions: CrdVersion[] | undefined, path: string): FieldError[] {
  const vs = versions ?? [];
  if (vs.length === 0)
    return [requiredError(path, 'must have exactly one version marked as storage version')];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  vs.forEach((v, i) => {
    const vp = index(path, i);
    if (v.name && seen.has(v.name)) errs.push(invalidError(child(vp, 'name'), v.name, 'must be unique'));
    seen.add(v.name ?? '');
    errs.push(...validateVersion(v, vp));
  });
  if (vs.filter((v) => v.storage).length !== 1)
    errs.push({
      type: 'FieldValueInvalid',
      field: path,
      detail: 'must have exactly one version marked as storage version',
    });
  if (!vs.some((v) => v.served))
    errs.push({
      type: 'FieldValueInvalid',
      field: path,
      detail: 'must have at least one version marked as served',
    });
  return errs;
}

/** Groups of Kubernetes itself: a CRD there needs the approval annotation, as Kubernetes asks. */
const protectedGroup = (group: string) =>
  ['k8s.io', 'kubernetes.io'].some((g) => group === g || group.endsWith(`.${g}`));
export const apiApprovalAnnotation = 'api-approved.kubernetes.io';

/** Old objects stay readable: a version some are stored in may not be removed. */
function validateStoredVersions(crd: CustomResourceDefinition, old: CustomResourceDefinition): FieldError[] {
  const names = new Set((crd.spec?.versions ?? []).map((v) => v.name));
  return (old.status?.storedVersions ?? []).flatMap((v, i) =>
    names.has(v) ? [] : [invalidError(`status.storedVersions[${i}]`, v, 'must appear in spec.versions')],
  );
}

export function validateCrd(crd: CustomResourceDefinition, old?: CustomResourceDefinition): FieldError[] {
  const spec = crd.spec ?? {};
  const errs: FieldError[] = [];
  const name = crd.metadata?.name ?? '';
  if (name !== `${spec.names?.plural ?? ''}.${spec.group ?? ''}`)
    errs.push(invalidError('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  if (!spec.group) errs.push(requiredError('spec.group'));
  else {
    const groupErrs = isDNS1123Subdomain(spec.group);
    if (groupErrs.length) errs.push(invalidError('spec.group', spec.group, groupErrs.join(',')));
    else if (!spec.group.includes('.'))
      errs.push(invalidError('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  if (old && old.spec?.group !== spec.group)
    errs.push(invalidError('spec.group', spec.group, 'field is immutable'));
  if (spec.group && protectedGroup(spec.group) && !crd.metadata?.annotations?.[apiApprovalAnnotation])
    errs.push(
      requiredError(
        `metadata.annotations[${apiApprovalAnnotation}]`,
        `protected groups must have approval annotation "${apiApprovalAnnotation}", see https://github.com/kubernetes/enhancements/pull/1111`,
      ),
    );
  if (old) errs.push(...validateStoredVersions(crd, old));
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    if (!spec.scope) errs.push(requiredError('spec.scope'));
    else errs.push(notSupportedError('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  } else if (old && old.spec?.scope !== spec.scope)
    errs.push(invalidError('spec.scope', spec.scope, 'field is immutable'));
  errs.push(...validateNames(spec.names, 'spec.names'));
  errs.push(...validateVersions(spec.versions, 'spec.versions'));
  const strategy = spec.conversion?.strategy;
  if (strategy !== 'None' && strategy !== 'Webhook')
    errs.push(notSupportedError('spec.conversion.strategy', strategy, ['None', 'Webhook']));
  else if (strategy === 'Webhook' && !spec.conversion?.webhook?.clientConfig)
    errs.push(requiredError('spec.conversion.webhook', 'required when strategy is set to Webhook'));
  return errs;
}

export const crdType: ResourceType = {
  group: crdGroup,
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  namespaced: false,
  subresources: ['status'],
  schema: CustomResourceDefinition,
  defaults: (obj) => defaultCrd(obj as CustomResourceDefinition),
  validate: (obj, old, subresource) =>
    subresource === 'status'
      ? []
      : validateCrd(obj as CustomResourceDefinition, old as CustomResourceDefinition | undefined),
  // As Kubernetes' default table: the name and when it was created, no Age.
  columns: [
    nameColumn,
    column('Created At', 'When the definition was created.', (o) => o.metadata.creationTimestamp ?? '', {
      type: 'date',
    }),
  ],
};
