/**
 * ServiceAccount tokens, as Kubernetes' TokenRequest API makes them: a JWT
 * (RS256 or ES256, by the signing key) naming the service account, its
 * namespace and uid, and, when bound, the pod it was made for; with an
 * issuer, audiences and an expiry. The apiserver signs them with
 * --service-account-signing-key-file and accepts them back as bearer
 * tokens while the service account (and the bound pod) still exist with
 * the same uid.
 */

import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomUUID,
  sign,
  verify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KubeObject } from '../api/meta.js';
import { newBadRequest, newConflict, StatusError } from '../api/status.js';
import { metaTime } from '../api/time.js';
import type { UserInfo } from './authn.js';
import { decodeBody } from './request.js';

export interface TokenIssuerConfig {
  signingKey: KeyObject;
  /** Keys a token may be signed with; the signing key's public half among them. */
  verifyKeys: KeyObject[];
  issuer: string;
  /** Audiences the apiserver itself accepts (--api-audiences); the issuer by default. */
  apiAudiences: string[];
  /** The longest lifetime a request may ask for. */
  maxExpirationSeconds: number;
}

interface Claims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function algorithmOf(key: KeyObject): 'RS256' | 'ES256' {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec') return 'ES256';
  throw new Error(`service account keys must be RSA or EC P-256, not ${key.asymmetricKeyType}`);
}

/** The key id Kubernetes puts in `kid`: a hash of the public key, so verifiers pick the right one. */
function keyId(key: KeyObject): string {
  const der = createPublicKey(key).export({ type: 'spki', format: 'der' });
  return b64url(createHash('sha256').update(der).digest());
}

export function readTokenIssuer(opts: {
  signingKeyFile: string;
  keyFiles: string[];
  issuer: string;
  apiAudiences: string[];
  maxExpirationSeconds?: number;
}): TokenIssuerConfig {
  const signingKey = createPrivateKey(readFileSync(opts.signingKeyFile));
  algorithmOf(signingKey);
  const verifyKeys = [
    createPublicKey(signingKey),
    ...opts.keyFiles.map((f) => createPublicKey(readFileSync(f))),
  ];
  return {
    signingKey,
    verifyKeys,
    issuer: opts.issuer,
    apiAudiences: opts.apiAudiences.length ? opts.apiAudiences : [opts.issuer],
    maxExpirationSeconds: opts.maxExpirationSeconds ?? 48 * 3600,
  };
}

export interface TokenSpec {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  pod?: { name: string; uid: string };
  audiences?: string[];
  expirationSeconds?: number;
}

/** A signed token and when it expires. */
export function issueToken(
  cfg: TokenIssuerConfig,
  spec: TokenSpec,
  now = Date.now(),
): { token: string; expires: Date } {
  const lifetime = spec.expirationSeconds ?? 3600;
  if (lifetime < 600)
    throw newBadRequest('spec.expirationSeconds: may not specify a duration less than 10 minutes');
  const seconds = Math.min(lifetime, cfg.maxExpirationSeconds);
  const iat = Math.floor(now / 1000);
  const claims: Claims = {
    iss: cfg.issuer,
    sub: `system:serviceaccount:${spec.namespace}:${spec.serviceAccount.name}`,
    aud: spec.audiences?.length ? spec.audiences : cfg.apiAudiences,
    exp: iat + seconds,
    iat,
    nbf: iat,
    jti: randomUUID(),
    'kubernetes.io': {
      namespace: spec.namespace,
      serviceaccount: spec.serviceAccount,
      ...(spec.pod ? { pod: spec.pod } : {}),
    },
  };
  const alg = algorithmOf(cfg.signingKey);
  const header = { alg, kid: keyId(cfg.signingKey) };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = sign(
    'sha256',
    Buffer.from(input),
    alg === 'ES256' ? { key: cfg.signingKey, dsaEncoding: 'ieee-p1363' } : cfg.signingKey,
  );
  return { token: `${input}.${b64url(signature)}`, expires: new Date(claims.exp * 1000) };
}

/** What the authenticator needs to know about the objects a token names. */
export interface TokenObjects {
  serviceAccountUid(namespace: string, name: string): string | undefined;
  podUid(namespace: string, name: string): string | undefined;
}

/**
 * The user a service account token stands for, or undefined when `token`
 * is not one of ours (not a JWT, another issuer, a bad signature, expired,
 * not for this apiserver, or its service account or pod is gone).
 */
export function authenticateToken(
  cfg: TokenIssuerConfig,
  objects: TokenObjects,
  token: string,
  now = Date.now(),
): UserInfo | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  let header: { alg?: string };
  let claims: Claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (claims?.iss !== cfg.issuer) return undefined;
  const input = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const signed = cfg.verifyKeys.some((key) => {
    if (algorithmOf(key) !== header.alg) return false;
    return verify(
      'sha256',
      input,
      header.alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key,
      signature,
    );
  });
  if (!signed) return undefined;
  const t = Math.floor(now / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= t || (claims.nbf ?? 0) > t + 60) return undefined;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!aud.some((a) => cfg.apiAudiences.includes(a))) return undefined;
  const k = claims['kubernetes.io'];
  if (!k?.namespace || !k.serviceaccount?.name) return undefined;
  if (objects.serviceAccountUid(k.namespace, k.serviceaccount.name) !== k.serviceaccount.uid)
    return undefined;
  if (k.pod && objects.podUid(k.namespace, k.pod.name) !== k.pod.uid) return undefined;
  return {
    name: `system:serviceaccount:${k.namespace}:${k.serviceaccount.name}`,
    uid: k.serviceaccount.uid,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${k.namespace}`, 'system:authenticated'],
    extra: k.pod
      ? {
          'authentication.kubernetes.io/pod-name': [k.pod.name],
          'authentication.kubernetes.io/pod-uid': [k.pod.uid],
        }
      : undefined,
  };
}

/** The stores the TokenRequest handler reads, and the admission it runs first. */
export interface TokenRequestStores {
  serviceAccount(namespace: string, name: string): Promise<KubeObject>;
  pod(namespace: string, name: string): Promise<KubeObject>;
  /** Throws a Status to refuse the request (NodeRestriction); called before anything is read. */
  admit?(
    req: FastifyRequest,
    namespace: string,
    name: string,
    ref: BoundObjectRef | undefined,
  ): Promise<void>;
}

export interface BoundObjectRef {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
}

/**
 * POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token: a TokenRequest
 * in, the same with status.token and status.expirationTimestamp out
 * (`kubectl create token NAME [--bound-object-kind Pod --bound-object-name P]`).
 */
export function registerTokenRequest(
  app: FastifyInstance,
  cfg: TokenIssuerConfig | undefined,
  stores: TokenRequestStores,
): void {
  app.post<{ Params: { ns: string; name: string } }>(
    '/api/v1/namespaces/:ns/serviceaccounts/:name/token',
    async (req, reply) => {
      if (!cfg)
        throw new StatusError(
          503,
          'ServiceUnavailable',
          'service account tokens are not issued: the apiserver has no --service-account-signing-key-file',
        );
      const { ns, name } = req.params;
      const raw = req.body as Buffer | undefined;
      const body = (
        raw?.length ? decodeBody(raw, req.headers['content-type'] || 'application/json') : {}
      ) as Record<string, any>;
      if (!body || typeof body !== 'object' || Array.isArray(body))
        throw newBadRequest('the body of a TokenRequest must be an object');
      const spec = (body.spec ?? {}) as Record<string, any>;
      const ref = (spec.boundObjectRef ?? undefined) as BoundObjectRef | undefined;
      await stores.admit?.(req, ns, name, ref);
      const sa = await stores.serviceAccount(ns, name);
      let pod: { name: string; uid: string } | undefined;
      if (ref) {
        if (ref.kind !== 'Pod')
          throw newBadRequest(
            `spec.boundObjectRef.kind: Unsupported value: "${ref.kind}": supported values: "Pod"`,
          );
        if (!ref.name) throw newBadRequest('spec.boundObjectRef.name: Required value');
        const p = (await stores.pod(ns, ref.name)) as KubeObject & { spec?: { serviceAccountName?: string } };
        // A token bound to a pod carries the pod's identity: only for the account the pod runs as.
        const runsAs = p.spec?.serviceAccountName ?? '';
        if (runsAs !== name)
          throw newBadRequest(
            `cannot bind token for serviceaccount "${name}" to pod running with serviceaccount "${runsAs}"`,
          );
        if (ref.uid && ref.uid !== p.metadata.uid)
          throw newConflict(
            { group: '', resource: 'pods' },
            ref.name,
            `the UID in the bound object reference (${ref.uid}) does not match the UID in record (${p.metadata.uid}). The object might have been deleted and then recreated`,
          );
        pod = { name: ref.name, uid: p.metadata.uid! };
      }
      const { token, expires } = issueToken(cfg, {
        namespace: ns,
        serviceAccount: { name, uid: sa.metadata.uid! },
        pod,
        audiences: Array.isArray(spec.audiences) ? spec.audiences.map(String) : undefined,
        expirationSeconds: spec.expirationSeconds === undefined ? undefined : Number(spec.expirationSeconds),
      });
      reply.code(201);
      return {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: {
          name,
          namespace: ns,
          creationTimestamp: metaTime(),
        },
        spec: {
          audiences:
            Array.isArray(spec.audiences) && spec.audiences.length ? spec.audiences : cfg.apiAudiences,
          expirationSeconds: Math.round((expires.getTime() - Date.now()) / 1000),
          boundObjectRef: ref ?? null,
        },
        status: { token, expirationTimestamp: metaTime(expires.getTime()) },
      };
    },
  );
}
