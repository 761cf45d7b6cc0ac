import { describe, expect, it } from 'vitest';
import { firstValue, parseJsonPath, setValue } from './jsonpath.js';

const obj = JSON.parse(
  '{"spec":{"replicas":3,"items":[{"name":"a"},{"name":"b"}]},"metadata":{"labels":{"app.kubernetes.io/name":"x"}},' +
    '"status":{"conditions":[{"type":"Synced","status":"False"},{"type":"Ready","status":"True"}]},' +
    '"extra":{"__proto__":{"p":"own"}}}',
);

describe('printer column JSON paths', () => {
  it.each([
    ['a plain field', '.spec.replicas', 3],
    ['an index', '.spec.items[1].name', 'b'],
    ['every item, first taken', '.spec.items[*].name', 'a'],
    ['a filter', '.status.conditions[?(@.type=="Ready")].status', 'True'],
    ['a quoted key', ".metadata.labels['app.kubernetes.io/name']", 'x'],
    ['braces', '{.spec.replicas}', 3],
    ['a missing field', '.spec.nothing.here', undefined],
    ['an index past the end', '.spec.items[5].name', undefined],
    ['an own __proto__ key', '.extra.__proto__.p', 'own'],
    ['a prototype member', '.spec.constructor', undefined],
    ['not a path', 'spec.replicas', undefined],
  ])('%s', (_name, path, want) => {
    expect(firstValue(path, obj)).toEqual(want);
  });

  it('refuses paths with too many steps', () => {
    expect(parseJsonPath('.a'.repeat(40))).toBeUndefined();
  });

  it('sets a value along plain fields, making objects on the way, never a prototype', () => {
    const o: Record<string, any> = {};
    expect(setValue('.spec.scale.replicas', o, 4)).toBe(true);
    expect(o).toEqual({ spec: { scale: { replicas: 4 } } });
    expect(setValue('.__proto__.polluted', o, 1)).toBe(true);
    expect(({} as any).polluted).toBeUndefined();
    expect(setValue('.spec.items[0]', o, 1)).toBe(false);
  });
});
