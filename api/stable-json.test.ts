import { describe, expect, it } from 'vitest';
import { stableJson } from './stable-json.js';

describe('stableJson', () => {
  it('sorts keys at every depth and leaves undefined members out', () => {
    expect(stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives equal text for equal values whatever their key order', () => {
    expect(stableJson({ x: 1, y: [1, 'a', null] })).toBe(stableJson({ y: [1, 'a', null], x: 1 }));
  });

  it('orders keys by code unit, capitals first, as the pod-template-hash always has', () => {
    expect(stableJson({ a: 1, B: 2 })).toBe('{"B":2,"a":1}');
  });

  it('writes scalars and undefined array elements as JSON.stringify does', () => {
    expect(stableJson('s')).toBe('"s"');
    expect(stableJson(null)).toBe('null');
    expect(stableJson([undefined, 1])).toBe('[null,1]');
  });
});
