import { describe, expect, it } from 'vitest';
import { mutate, validate } from './admission-webhook.js';

const settings = { forbiddenKey: 'bad', label: 'example.nanokube.io/mutated=true' };
const request = (object: unknown) => ({
  uid: 'u-1',
  kind: { group: '', version: 'v1', kind: 'ConfigMap' },
  operation: 'CREATE',
  object: object as never,
});

describe('the example webhook', () => {
  it('refuses a ConfigMap with a bad key, naming it', () => {
    expect(
      validate(request({ metadata: { name: 'c' }, data: { ok: '1', 'my-bad-key': '2' } }), settings),
    ).toEqual({
      uid: 'u-1',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'ConfigMap keys may not contain "bad": my-bad-key' },
    });
  });

  it('allows a ConfigMap without one', () => {
    expect(validate(request({ metadata: { name: 'c' }, data: { ok: '1' } }), settings).allowed).toBe(true);
  });

  it('adds the label, escaping the key, with or without labels there', () => {
    const decode = (p?: string) => JSON.parse(Buffer.from(p ?? '', 'base64').toString());
    expect(decode(mutate(request({ metadata: { name: 'c', labels: { a: 'b' } } }), settings).patch)).toEqual([
      { op: 'add', path: '/metadata/labels/example.nanokube.io~1mutated', value: 'true' },
    ]);
    expect(decode(mutate(request({ metadata: { name: 'c' } }), settings).patch)).toEqual([
      { op: 'add', path: '/metadata/labels', value: { 'example.nanokube.io/mutated': 'true' } },
    ]);
  });
});
