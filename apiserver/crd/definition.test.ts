import { describe, expect, it } from 'vitest';
import { type CustomResourceDefinition, defaultCrd, validateCrd } from './definition.js';

const schema = { openAPIV3Schema: { type: 'object' } };
const valid = (): CustomResourceDefinition => ({
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', kind: 'Widget' },
    versions: [{ name: 'v1', served: true, storage: true, schema }],
  },
});

const fieldsOf = (crd: CustomResourceDefinition) => {
  defaultCrd(crd);
  return validateCrd(crd).map((e) => `${e.field}: ${e.type}`);
};

describe('CRD defaults', () => {
  it('fills conversion None, singular and listKind from the kind', () => {
    const crd = valid();
    defaultCrd(crd);
    expect(crd.spec?.conversion).toEqual({ strategy: 'None' });
    expect(crd.spec?.names).toMatchObject({ singular: 'widget', listKind: 'WidgetList' });
    expect(validateCrd(crd)).toEqual([]);
  });
});

describe('CRD validation', () => {
  it.each<[string, (c: CustomResourceDefinition) => void, string]>([
    [
      'name not plural.group',
      (c) => (c.metadata!.name = 'w.example.com'),
      'metadata.name: FieldValueInvalid',
    ],
    [
      'group without a dot',
      (c) => {
        c.spec!.group = 'example';
        c.metadata!.name = 'widgets.example';
      },
      'spec.group: FieldValueInvalid',
    ],
    ['bad scope', (c) => (c.spec!.scope = 'Global'), 'spec.scope: FieldValueNotSupported'],
    ['no versions', (c) => (c.spec!.versions = []), 'spec.versions: FieldValueRequired'],
    [
      'two storage versions',
      (c) => c.spec!.versions!.push({ name: 'v2', served: true, storage: true, schema }),
      'spec.versions: FieldValueInvalid',
    ],
    ['none served', (c) => (c.spec!.versions![0].served = false), 'spec.versions: FieldValueInvalid'],
    [
      'a version name not DNS-1035',
      (c) => (c.spec!.versions![0].name = '1v'),
      'spec.versions[0].name: FieldValueInvalid',
    ],
    [
      'no schema',
      (c) => delete c.spec!.versions![0].schema,
      'spec.versions[0].schema.openAPIV3Schema: FieldValueRequired',
    ],
    [
      'an uppercase plural',
      (c) => {
        c.spec!.names!.plural = 'Widgets';
        c.metadata!.name = 'Widgets.example.com';
      },
      'spec.names.plural: FieldValueInvalid',
    ],
    [
      'a bad short name',
      (c) => (c.spec!.names!.shortNames = ['w_g']),
      'spec.names.shortNames[0]: FieldValueInvalid',
    ],
    [
      'a column without jsonPath',
      (c) => (c.spec!.versions![0].additionalPrinterColumns = [{ name: 'X', type: 'string' }]),
      'spec.versions[0].additionalPrinterColumns[0].jsonPath: FieldValueRequired',
    ],
    [
      'a column of a bad type',
      (c) => (c.spec!.versions![0].additionalPrinterColumns = [{ name: 'X', type: 'map', jsonPath: '.a' }]),
      'spec.versions[0].additionalPrinterColumns[0].type: FieldValueNotSupported',
    ],
    [
      'scale outside .spec',
      (c) =>
        (c.spec!.versions![0].subresources = {
          scale: { specReplicasPath: '.status.r', statusReplicasPath: '.status.r' },
        }),
      'spec.versions[0].subresources.scale.specReplicasPath: FieldValueInvalid',
    ],
    [
      'an unknown conversion',
      (c) => (c.spec!.conversion = { strategy: 'Magic' }),
      'spec.conversion.strategy: FieldValueNotSupported',
    ],
  ])('%s', (_name, mutate, want) => {
    const crd = valid();
    mutate(crd);
    expect(fieldsOf(crd)).toContain(want);
  });

  it('a group of Kubernetes itself needs the approval annotation', () => {
    const crd = valid();
    crd.spec!.group = 'networking.k8s.io';
    crd.metadata!.name = 'widgets.networking.k8s.io';
    expect(fieldsOf(crd)).toEqual(['metadata.annotations[api-approved.kubernetes.io]: FieldValueRequired']);
    crd.metadata!.annotations = {
      'api-approved.kubernetes.io': 'https://github.com/kubernetes/enhancements/pull/1111',
    };
    expect(fieldsOf(crd)).toEqual([]);
  });

  it('a version objects are stored in may not be removed', () => {
    const old = valid();
    defaultCrd(old);
    old.status = { storedVersions: ['v1'] };
    const crd = structuredClone(old);
    crd.spec!.versions![0].name = 'v2';
    expect(validateCrd(crd, old).map((e) => e.field)).toEqual(['status.storedVersions[0]']);
  });

  it('group and scope are immutable', () => {
    const old = valid();
    defaultCrd(old);
    const crd = structuredClone(old);
    crd.spec!.scope = 'Cluster';
    expect(validateCrd(crd, old).map((e) => e.field)).toEqual(['spec.scope']);
  });
});
