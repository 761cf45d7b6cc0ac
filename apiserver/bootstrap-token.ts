/**
 * Bootstrap tokens (`--enable-bootstrap-token-auth`), as kubeadm join uses
 * them: a token `abcdef.0123456789abcdef` is the Secret
 * kube-system/bootstrap-token-abcdef of type bootstrap.kubernetes.io/token
 * whose token-secret matches, that allows authentication and has not
 * expired. It authenticates as `system:bootstrap:abcdef` in group
 * `system:bootstrappers` and the token's auth-extra-groups.
 */
import { timingSafeEqual } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import type { UserInfo } from './authn.js';

export const bootstrapTokenType = 'bootstrap.kubernetes.io/token';
const tokenPattern = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

interface SecretLike extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

const field = (s: SecretLike, key: string) =>
  s.data?.[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8');

/**
 * The user of a bootstrap token, or undefined when `token` is not a valid
 * one. `secret(name)` reads kube-system's Secrets (from the watch cache).
 */
export function authenticateBootstrapToken(
  token: string,
  secret: (name: string) => KubeObject | undefined,
  now = Date.now(),
): UserInfo | undefined {
  const m = tokenPattern.exec(token);
  if (!m) return undefined;
  const [, id, value] = m;
  const s = secret(`bootstrap-token-${id}`) as SecretLike | undefined;
  if (!s || s.type !== bootstrapTokenType || s.metadata.deletionTimestamp) return undefined;
  if (field(s, 'token-id') !== id) return undefined;
  const stored = Buffer.from(field(s, 'token-secret') ?? '');
  if (stored.length !== value.length || !timingSafeEqual(stored, Buffer.from(value))) return undefined;
  if (field(s, 'usage-bootstrap-authentication') !== 'true') return undefined;
  const expiration = field(s, 'expiration');
  if (expiration && !(Date.parse(expiration) > now)) return undefined;
  const extra = (field(s, 'auth-extra-groups') ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g.startsWith('system:bootstrappers:'));
  return {
    name: `system:bootstrap:${id}`,
    groups: ['system:bootstrappers', ...extra, 'system:authenticated'],
  };
}
