import { describe, expect, it } from 'vitest';
import { genericStrategy } from '../strategy.js';
import { tableColumns } from '../table.js';
import { compareVersions, customTypes } from './custom-type.js';
import type { CustomResourceDefinition } from './definition.js';

const crd = (): CustomResourceDefinition => ({
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Cluster',
    names: { plural: 'widgets', kind: 'Widget', singular: 'widget', listKind: 'WidgetList' },
    versions: [
      { name: 'v1beta1', served: true, storage: false },
      { name: 'v1', served: true, storage: true, subresources: { status: {} } },
      { name: 'v1alpha1', served: false, storage: false },
    ],
  },
  status: { acceptedNames: { plural: 'widgets', kind: 'Widget', singular: 'widget', shortNames: ['wg'] } },
});

describe('custom resource types', () => {
  it('orders versions as Kubernetes does', () => {
    const sorted = ['foo', 'v1alpha1', 'v11alpha2', 'v1', 'v2beta1', 'v10', 'v1beta2', 'v2'].sort(
      compareVersions,
    );
    expect(sorted).toEqual(['v10', 'v2', 'v1', 'v2beta1', 'v1beta2', 'v11alpha2', 'v1alpha1', 'foo']);
  });

  it('serves the served versions under the accepted names, preferred first', () => {
    const types = customTypes(crd());
    expect(types.map((t) => t.version)).toEqual(['v1', 'v1beta1']);
    expect(types[0]).toMatchObject({
      group: 'example.com',
      plural: 'widgets',
      kind: 'Widget',
      shortNames: ['wg'],
      namespaced: false,
      subresources: ['status'],
      storagePrefix: '/registry/example.com/widgets/',
    });
    expect(types[1].subresources).toEqual([]);
  });

  it('serves nothing before names are accepted', () => {
    const c = crd();
    delete c.status;
    expect(customTypes(c)).toEqual([]);
  });

  it('prints Name and Age without printer columns, Name and the columns with them', () => {
    const c = crd();
    expect(tableColumns(customTypes(c)[0]).map((x) => x.name)).toEqual(['Name', 'Age']);
    c.spec!.versions![1].additionalPrinterColumns = [
      { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
      { name: 'Since', type: 'date', jsonPath: '.status.since', priority: 1 },
    ];
    const rt = customTypes(c)[0];
    const cols = tableColumns(rt);
    expect(cols.map((x) => x.name)).toEqual(['Name', 'Size', 'Since']);
    const now = new Date('2026-01-01T01:00:00Z');
    const obj = { metadata: { name: 'w' }, spec: { size: 3 }, status: { since: '2026-01-01T00:00:00Z' } };
    expect(cols.map((x) => x.cell(obj, now))).toEqual(['w', 3, '60m']);
    expect(cols[1].cell({ metadata: {} }, now)).toBeNull();
  });

  it.each([
    ['with the status subresource, status changes keep the generation', 0, 1],
    ['without it, status is a field like any other and moves the generation', 1, 2],
  ])('%s', (_name, version, want) => {
    const rt = customTypes(crd())[version];
    const strategy = genericStrategy(rt);
    const old = { metadata: { name: 'w', generation: 1 }, spec: { a: 1 }, status: { s: 1 } };
    const obj = { ...structuredClone(old), status: { s: 2 } };
    strategy.prepareForUpdate(obj, old);
    expect(obj.metadata.generation).toBe(want);
  });
});
