import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { jsonPatch, mergePatch } from './patch.js';

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
