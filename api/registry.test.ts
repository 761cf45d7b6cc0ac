import { describe, expect, it } from 'vitest';
import { Registry, type ResourceType } from './registry.js';

const rt = (group: string, version: string, plural: string, kind: string): ResourceType => ({
  group,
  version,
  kind,
  plural,
  singular: kind.toLowerCase(),
  shortNames: [],
  categories: [],
  namespaced: true,
  subresources: [],
  schema: {} as ResourceType['schema'],
  columns: [],
});

describe('Registry', () => {
  it('adds and removes types at run time, moving its generation', () => {
    const pods = rt('', 'v1', 'pods', 'Pod');
    const r = new Registry([pods]);
    const widgets = [
      rt('example.com', 'v1', 'widgets', 'Widget'),
      rt('example.com', 'v1beta1', 'widgets', 'Widget'),
    ];
    r.add(widgets);
    expect(r.generation).toBe(1);
    expect(r.get('example.com', 'v1beta1', 'widgets')).toBe(widgets[1]);
    expect(r.resolve('widgets.example.com')).toBe(widgets[0]);
    r.remove(widgets);
    expect(r.get('example.com', 'v1', 'widgets')).toBeUndefined();
    expect(r.byKind('example.com', 'Widget')).toBeUndefined();
    expect(r.all).toEqual([pods]);
    expect(r.generation).toBe(2);
  });

  it('refuses a resource served already, changing nothing', () => {
    const r = new Registry([rt('', 'v1', 'pods', 'Pod')]);
    expect(() => r.add([rt('x.io', 'v1', 'a', 'A'), rt('', 'v1', 'pods', 'Fake')])).toThrow(
      /registered twice/,
    );
    expect(r.get('x.io', 'v1', 'a')).toBeUndefined();
    expect(r.generation).toBe(0);
  });

  it('derives a value once per generation', () => {
    const r = new Registry([]);
    let builds = 0;
    const count = r.derived((x) => {
      builds++;
      return x.all.length;
    });
    expect([count(), count()]).toEqual([0, 0]);
    r.add([rt('x.io', 'v1', 'a', 'A')]);
    expect([count(), count(), builds]).toEqual([1, 1, 2]);
  });
});
