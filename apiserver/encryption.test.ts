import { describe, expect, it } from 'vitest';
import { codecFor, parseEncryptionConfig } from './encryption.js';

const key1 = Buffer.alloc(32, 1).toString('base64');
const key2 = Buffer.alloc(32, 2).toString('base64');
const config = (keys: string[], identity = false) => `
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
- resources: [secrets]
  providers:
  - aesgcm:
      keys:
${keys.map((k, i) => `      - name: ${k === key1 ? 'key1' : 'key2'}\n        secret: ${keys[i]}`).join('\n')}
${identity ? '  - identity: {}' : ''}
`;
const plain = Buffer.from('{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}');
const key = '/registry/secrets/default/db';

describe('encryption at rest', () => {
  it('stores aesgcm data under the first key, with Kubernetes prefix, and reads it back', () => {
    const codec = codecFor(parseEncryptionConfig(config([key1])), 'secrets', '');
    const stored = codec.encode(key, plain);
    expect(stored.subarray(0, 23).toString()).toBe('k8s:enc:aesgcm:v1:key1:');
    expect(stored.includes(Buffer.from('aHVudGVyMg'))).toBe(false);
    expect(codec.decode(key, stored)).toEqual(plain);
    // A fresh nonce each time.
    expect(codec.encode(key, plain).equals(stored)).toBe(false);
  });

  it('rotates: a new first key writes, the old key still reads, and without it the value is unreadable', () => {
    const old = codecFor(parseEncryptionConfig(config([key1])), 'secrets', '');
    const rotated = codecFor(parseEncryptionConfig(config([key2, key1])), 'secrets', '');
    const onlyNew = codecFor(parseEncryptionConfig(config([key2])), 'secrets', '');
    const before = old.encode(key, plain);
    expect(rotated.decode(key, before)).toEqual(plain);
    const after = rotated.encode(key, plain);
    expect(after.subarray(0, 23).toString()).toBe('k8s:enc:aesgcm:v1:key2:');
    expect(onlyNew.decode(key, after)).toEqual(plain);
    expect(() => onlyNew.decode(key, before)).toThrow(/no provider/);
  });

  it('binds the value to its key, and reads plain values only with identity listed', () => {
    const codec = codecFor(parseEncryptionConfig(config([key1])), 'secrets', '');
    const stored = codec.encode(key, plain);
    expect(() => codec.decode('/registry/secrets/default/other', stored)).toThrow(/does not decrypt/);
    expect(() => codec.decode(key, plain)).toThrow(/no provider/);
    const withIdentity = codecFor(parseEncryptionConfig(config([key1], true)), 'secrets', '');
    expect(withIdentity.decode(key, plain)).toEqual(plain);
  });

  it('leaves resources the config does not name as plain JSON', () => {
    const codec = codecFor(parseEncryptionConfig(config([key1])), 'configmaps', '');
    expect(codec.encode('/registry/configmaps/a/b', plain)).toEqual(plain);
  });

  it('says what is wrong with a bad config', () => {
    expect(() => parseEncryptionConfig('kind: Foo')).toThrow(/not an EncryptionConfiguration/);
    expect(() =>
      parseEncryptionConfig(
        'kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - aesgcm:\n      keys:\n      - name: k\n        secret: c2hvcnQ=\n',
      ),
    ).toThrow(/16, 24 or 32 bytes/);
    expect(() =>
      parseEncryptionConfig(
        'kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms: {}\n',
      ),
    ).toThrow(/"kms" is not supported/);
  });
});
