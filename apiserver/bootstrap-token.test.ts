import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { authenticateBootstrapToken } from './bootstrap-token.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const secret = (data: Record<string, string>, type = 'bootstrap.kubernetes.io/token') =>
  ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'bootstrap-token-abcdef', namespace: 'kube-system' },
    type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  }) as KubeObject;
const good = {
  'token-id': 'abcdef',
  'token-secret': '0123456789abcdef',
  'usage-bootstrap-authentication': 'true',
  'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token,not-allowed',
};
const lookup = (s: KubeObject) => (name: string) => (name === 'bootstrap-token-abcdef' ? s : undefined);

describe('bootstrap tokens', () => {
  it('authenticate as system:bootstrap:<id> with the bootstrappers groups', () => {
    expect(authenticateBootstrapToken('abcdef.0123456789abcdef', lookup(secret(good)))).toEqual({
      name: 'system:bootstrap:abcdef',
      groups: [
        'system:bootstrappers',
        'system:bootstrappers:kubeadm:default-node-token',
        'system:authenticated',
      ],
    });
  });

  it('refuse a wrong secret, a wrong type, no authentication usage, an expired token, and bad shapes', () => {
    const t = 'abcdef.0123456789abcdef';
    expect(authenticateBootstrapToken('abcdef.0123456789abcdee', lookup(secret(good)))).toBeUndefined();
    expect(authenticateBootstrapToken(t, lookup(secret(good, 'Opaque')))).toBeUndefined();
    expect(
      authenticateBootstrapToken(t, lookup(secret({ ...good, 'usage-bootstrap-authentication': 'false' }))),
    ).toBeUndefined();
    expect(
      authenticateBootstrapToken(t, lookup(secret({ ...good, expiration: '2020-01-01T00:00:00Z' }))),
    ).toBeUndefined();
    expect(authenticateBootstrapToken('ABCDEF.0123456789abcdef', lookup(secret(good)))).toBeUndefined();
    expect(authenticateBootstrapToken('abcdef', lookup(secret(good)))).toBeUndefined();
  });
});
