import { describe, expect, it } from 'vitest';
import type { StatusError } from '../api/status.js';
import { podType } from '../api/types/pod.js';
import { checkTypeMeta } from './admission.js';

const refused = (f: () => void): string => {
  try {
    f();
  } catch (err) {
    return `${(err as StatusError).code} ${(err as StatusError).message}`;
  }
  return 'accepted';
};

describe('checkTypeMeta', () => {
  it('takes a missing kind and apiVersion of a create or update body from the path', () => {
    for (const body of [
      { metadata: { name: 'p' } },
      { kind: '', apiVersion: '', metadata: { name: 'p' } },
      { kind: 'Pod', metadata: { name: 'p' } },
      { apiVersion: 'v1', metadata: { name: 'p' } },
    ]) {
      const obj: unknown = structuredClone(body);
      checkTypeMeta(podType, obj, { fromPath: true });
      expect(obj).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p' } });
    }
    const bare: unknown = {};
    checkTypeMeta(podType, bare, { fromPath: true });
    expect(bare).toEqual({ kind: 'Pod', apiVersion: 'v1', metadata: {} });
  });

  it('refuses a kind or apiVersion the body gives that the path does not serve', () => {
    expect(refused(() => checkTypeMeta(podType, { kind: 'Service' }, { fromPath: true }))).toBe(
      '400 Service in version "v1" cannot be handled as a Pod: the object provided is unrecognized (must be of type Pod)',
    );
    expect(refused(() => checkTypeMeta(podType, { apiVersion: 'apps/v1' }, { fromPath: true }))).toBe(
      '400 the API version in the data (apps/v1) does not match the expected API version (v1)',
    );
  });

  it('wants a patched or applied object to carry its own kind', () => {
    expect(refused(() => checkTypeMeta(podType, { apiVersion: 'v1', metadata: {} }))).toMatch(
      /^400 Object 'Kind' is missing in/,
    );
  });
});
