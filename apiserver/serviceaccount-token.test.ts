import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authenticateToken, issueToken, type TokenIssuerConfig } from './serviceaccount-token.js';

function issuer(type: 'rsa' | 'ec'): TokenIssuerConfig {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signingKey: privateKey,
    verifyKeys: [publicKey],
    issuer: 'https://kubernetes.default.svc.cluster.local',
    apiAudiences: ['https://kubernetes.default.svc.cluster.local'],
    maxExpirationSeconds: 48 * 3600,
  };
}

const objects = (sa = 'sa-uid', pod?: string) => ({
  serviceAccountUid: (ns: string, name: string) => (ns === 'team' && name === 'robot' ? sa : undefined),
  podUid: (ns: string, name: string) => (ns === 'team' && name === 'web-0' ? pod : undefined),
});

describe('service account tokens', () => {
  it.each(['rsa', 'ec'] as const)(
    'a %s-signed token names its service account and is accepted back',
    (type) => {
      const cfg = issuer(type);
      const { token, expires } = issueToken(cfg, {
        namespace: 'team',
        serviceAccount: { name: 'robot', uid: 'sa-uid' },
      });
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      expect(claims.sub).toBe('system:serviceaccount:team:robot');
      expect(expires.getTime() - Date.now()).toBeGreaterThan(3500_000);
      expect(authenticateToken(cfg, objects(), token)).toEqual({
        name: 'system:serviceaccount:team:robot',
        uid: 'sa-uid',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:team', 'system:authenticated'],
        extra: undefined,
      });
    },
  );

  it('refuses a token whose service account was recreated, whose pod went, that expired, or that was tampered with', () => {
    const cfg = issuer('rsa');
    const bound = issueToken(cfg, {
      namespace: 'team',
      serviceAccount: { name: 'robot', uid: 'sa-uid' },
      pod: { name: 'web-0', uid: 'pod-uid' },
    }).token;
    expect(authenticateToken(cfg, objects('sa-uid', 'pod-uid'), bound)?.extra).toEqual({
      'authentication.kubernetes.io/pod-name': ['web-0'],
      'authentication.kubernetes.io/pod-uid': ['pod-uid'],
    });
    expect(authenticateToken(cfg, objects('sa-uid', undefined), bound)).toBeUndefined();
    expect(authenticateToken(cfg, objects('other-uid', 'pod-uid'), bound)).toBeUndefined();
    expect(
      authenticateToken(cfg, objects('sa-uid', 'pod-uid'), bound, Date.now() + 2 * 3600_000),
    ).toBeUndefined();
    const [h, p, s] = bound.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims['kubernetes.io'].serviceaccount.name = 'admin';
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    expect(authenticateToken(cfg, objects('sa-uid', 'pod-uid'), forged)).toBeUndefined();
    expect(authenticateToken(issuer('rsa'), objects('sa-uid', 'pod-uid'), bound)).toBeUndefined();
    expect(authenticateToken(cfg, objects(), 'not.a.jwt')).toBeUndefined();
  });

  it('refuses a token for another audience, and a lifetime under ten minutes', () => {
    const cfg = issuer('ec');
    const other = issueToken(cfg, {
      namespace: 'team',
      serviceAccount: { name: 'robot', uid: 'sa-uid' },
      audiences: ['vault'],
    }).token;
    expect(authenticateToken(cfg, objects(), other)).toBeUndefined();
    expect(() =>
      issueToken(cfg, {
        namespace: 'team',
        serviceAccount: { name: 'robot', uid: 'sa-uid' },
        expirationSeconds: 60,
      }),
    ).toThrow(/less than 10 minutes/);
  });
});
