import { afterEach, describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { jsonPatch, mergePatch } from './json-patch.js';

describe('mergePatch (RFC 7386)', () => {
  it.each([
    { name: 'adds a key', doc: { a: 1 }, patch: { b: 2 }, want: { a: 1, b: 2 } },
    { name: 'null deletes a key', doc: { a: 1, b: 2 }, patch: { b: null }, want: { a: 1 } },
    {
      name: 'merges nested objects',
      doc: { m: { x: 1, y: 2 } },
      patch: { m: { y: 3 } },
      want: { m: { x: 1, y: 3 } },
    },
    { name: 'replaces lists whole', doc: { l: [1, 2, 3] }, patch: { l: [4] }, want: { l: [4] } },
    {
      name: 'replaces a scalar with an object',
      doc: { a: 1 },
      patch: { a: { b: 1 } },
      want: { a: { b: 1 } },
    },
  ])('$name', ({ doc, patch, want }) => {
    expect(mergePatch(doc, patch)).toEqual(want);
  });

  it('does not change its input', () => {
    const doc = { m: { x: 1 } };
    mergePatch(doc, { m: { x: 2 } });
    expect(doc).toEqual({ m: { x: 1 } });
  });
});

describe('jsonPatch (RFC 6902)', () => {
  it.each([
    { name: 'add to object', ops: [{ op: 'add', path: '/b', value: 2 }], want: { a: [1, 2], b: 2 } },
    { name: 'add to end of array', ops: [{ op: 'add', path: '/a/-', value: 3 }], want: { a: [1, 2, 3] } },
    { name: 'insert in array', ops: [{ op: 'add', path: '/a/0', value: 0 }], want: { a: [0, 1, 2] } },
    { name: 'remove from array', ops: [{ op: 'remove', path: '/a/0' }], want: { a: [2] } },
    { name: 'replace', ops: [{ op: 'replace', path: '/a/1', value: 9 }], want: { a: [1, 9] } },
    { name: 'move', ops: [{ op: 'move', from: '/a', path: '/c' }], want: { c: [1, 2] } },
    { name: 'copy', ops: [{ op: 'copy', from: '/a/0', path: '/d' }], want: { a: [1, 2], d: 1 } },
    { name: 'test that passes', ops: [{ op: 'test', path: '/a/0', value: 1 }], want: { a: [1, 2] } },
    { name: 'escaped pointer', ops: [{ op: 'add', path: '/x~1y', value: 1 }], want: { a: [1, 2], 'x/y': 1 } },
  ])('$name', ({ ops, want }) => {
    expect(jsonPatch({ a: [1, 2] }, ops)).toEqual(want);
  });

  it.each([
    { name: 'failed test is 422', ops: [{ op: 'test', path: '/a/0', value: 5 }], code: 422 },
    { name: 'missing path is 422', ops: [{ op: 'remove', path: '/nope' }], code: 422 },
    { name: 'index out of range is 422', ops: [{ op: 'replace', path: '/a/7', value: 1 }], code: 422 },
    { name: 'unknown op is 400', ops: [{ op: 'frob', path: '/a' }], code: 400 },
    { name: 'not an array is 400', ops: { op: 'add' }, code: 400 },
  ])('$name', ({ ops, code }) => {
    try {
      jsonPatch({ a: [1, 2] }, ops);
      expect.unreachable('patch should fail');
    } catch (err) {
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(code);
    }
  });

  it('applies nothing when a later op fails', () => {
    const doc = { a: [1, 2] };
    expect(() =>
      jsonPatch(doc, [
        { op: 'add', path: '/b', value: 1 },
        { op: 'test', path: '/a/0', value: 5 },
      ]),
    ).toThrow();
    expect(doc).toEqual({ a: [1, 2] });
  });
});

// Attacks from the wire: keys that name a prototype, and patches that grow without bound.
const polluting = ['polluted', 'x', 'apiGroups', 'resources'];
const proto = Object.prototype as Record<string, unknown>;
function unpolluted(): void {
  for (const k of polluting) expect(({} as Record<string, unknown>)[k], k).toBeUndefined();
}

/** Runs a patch that must either fail with a 4xx Status or succeed; nothing else. */
function refusedOrApplied(fn: () => unknown): unknown {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBeGreaterThanOrEqual(400);
    expect((err as StatusError).code).toBeLessThan(500);
    return undefined;
  }
}

const configMap = () => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'target', labels: { a: 'b' } },
  data: { k: 'v' },
});

describe('objects from the wire cannot reach prototypes', () => {
  afterEach(() => {
    for (const k of polluting) delete proto[k];
  });

  it.each([
    '/__proto__/polluted',
    '/metadata/__proto__/x',
    '/constructor/prototype/x',
    '/data/__proto__/polluted',
    '/metadata/labels/constructor/prototype/apiGroups',
    '/__proto__',
  ])('json patch add, replace, copy and move to %s write no prototype', (path) => {
    for (const op of [
      { op: 'add', path, value: ['*'] },
      { op: 'replace', path, value: ['*'] },
      { op: 'copy', from: '/metadata/labels', path },
      { op: 'move', from: '/data/k', path },
    ]) {
      refusedOrApplied(() => jsonPatch(configMap(), [op]));
      unpolluted();
    }
  });

  it('json patch reads no inherited value: from, test and remove see own properties only', () => {
    for (const ops of [
      [{ op: 'copy', from: '/__proto__', path: '/data/p' }],
      [{ op: 'copy', from: '/constructor', path: '/data/p' }],
      [{ op: 'move', from: '/metadata/__proto__', path: '/data/p' }],
      [{ op: 'remove', path: '/__proto__/hasOwnProperty' }],
      [{ op: 'remove', path: '/metadata/constructor' }],
    ]) {
      expect(() => jsonPatch(configMap(), ops), JSON.stringify(ops)).toThrow(StatusError);
    }
    expect(typeof Object.prototype.hasOwnProperty).toBe('function');
  });

  it('json patch keeps __proto__, constructor and prototype as plain data keys', () => {
    const out = jsonPatch(configMap(), [
      { op: 'add', path: '/data/__proto__', value: 'p' },
      { op: 'add', path: '/data/constructor', value: 'c' },
      { op: 'add', path: '/data/prototype', value: 'q' },
    ]) as { data: Record<string, string> };
    expect(Object.getPrototypeOf(out.data)).toBe(Object.prototype);
    expect(Object.hasOwn(out.data, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(out)).data).toEqual(
      JSON.parse('{"k":"v","__proto__":"p","constructor":"c","prototype":"q"}'),
    );
    unpolluted();
  });

  it('merge patch treats __proto__ and constructor keys at every depth as data', () => {
    const patch = JSON.parse(
      '{"__proto__":{"polluted":"yes"},"metadata":{"__proto__":{"x":"yes"},"labels":{"constructor":{"prototype":{"apiGroups":["*"]}}}},' +
        '"constructor":{"prototype":{"resources":["*"]}},"data":{"__proto__":"p"}}',
    );
    const out = mergePatch(configMap(), patch) as Record<string, any>;
    unpolluted();
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.metadata)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(out.data)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(out.data).toEqual(JSON.parse('{"k":"v","__proto__":"p"}'));
    // The patch's own keys survive a JSON round trip: nothing was lost into a prototype.
    expect(
      Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(out)).metadata, '__proto__')?.value,
    ).toEqual({ x: 'yes' });
  });

  it('a merge patch null deletes an own __proto__ key and nothing else', () => {
    const doc = JSON.parse('{"data":{"__proto__":"p","k":"v"}}');
    const out = mergePatch(doc, JSON.parse('{"data":{"__proto__":null,"constructor":null}}')) as any;
    expect(out.data).toEqual({ k: 'v' });
    expect(Object.hasOwn(out.data, '__proto__')).toBe(false);
    expect(typeof Object.prototype.constructor).toBe('function');
  });
});

describe('json patch limits, as Kubernetes has them', () => {
  it('refuses more than 10000 operations with 413', () => {
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/a', value: 1 }));
    try {
      jsonPatch({ a: 1 }, ops);
      expect.unreachable('patch should fail');
    } catch (err) {
      expect((err as StatusError).code).toBe(413);
      expect((err as StatusError).message).toContain(
        'The allowed maximum operations in a JSON patch is 10000, got 10001',
      );
    }
    expect(jsonPatch({ a: 1 }, ops.slice(1))).toEqual({ a: 1 });
  });

  it('refuses copies that add up to more than 3 MiB with 422', () => {
    const big = 'x'.repeat(1024 * 1024);
    const ops = [1, 2, 3, 4].map((i) => ({ op: 'copy', from: '/big', path: `/c${i}` }));
    try {
      jsonPatch({ big }, ops);
      expect.unreachable('patch should fail');
    } catch (err) {
      expect((err as StatusError).code).toBe(422);
      expect((err as StatusError).message).toMatch(
        /Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728/,
      );
    }
    expect(Object.keys(jsonPatch({ big }, ops.slice(0, 2)) as object)).toHaveLength(3);
  });

  it('refuses 40 copies of the whole document (doubling to 2^40 times its size) with 422', () => {
    const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '', path: `/d${i}` }));
    expect(() => jsonPatch({ data: { k: 'v'.repeat(1000) } }, ops)).toThrow(/accumulated size increase/);
  });
});
