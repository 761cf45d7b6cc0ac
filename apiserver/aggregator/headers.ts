/**
 * The request headers an aggregated API server gets, as Kubernetes'
 * transport.SetAuthProxyHeaders and the generic apiserver's filters leave
 * them: the caller's own headers without its credentials (Authorization and
 * Impersonate-* were spent on authenticating it here) and without any
 * front-proxy header it sent (X-Remote-User, -Uid, -Group, -Extra-*: a
 * caller could otherwise name itself anyone), without hop-by-hop headers;
 * then the identity this apiserver established, in the front-proxy headers.
 * The backend trusts them only because the connection shows the
 * front-proxy client certificate.
 */
import { isHopByHop } from '../../base/hop-by-hop.js';
import type { UserInfo } from '../authn.js';

/** What the caller authenticated with here, or could pose as someone with there. */
const dropped = /^(authorization|impersonate-.*|x-remote-(user|uid|group|extra-.*))$/i;

/** An RFC 7230 token byte; everything else in an extra's key is %-encoded, as headerKeyEscape. */
const tokenByte = /^[!#$&'*+\-.^_`|~0-9A-Za-z]$/;

/** Kubernetes' headerKeyEscape: the key of a user's extra as a header name suffix. */
export function headerKeyEscape(key: string): string {
  let out = '';
  for (const b of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b < 0x80 && tokenByte.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The headers for the backend: `incoming` (each name with all its values,
 * as node's headersDistinct) filtered as the module says, plus the
 * front-proxy headers for `user`.
 */
export function proxyHeaders(
  incoming: Readonly<Record<string, string[] | undefined>>,
  user: UserInfo,
): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  const named = new Set(
    (incoming.connection ?? []).flatMap((v) => v.split(',').map((s) => s.trim().toLowerCase())),
  );
  for (const [name, values] of Object.entries(incoming)) {
    const n = name.toLowerCase();
    // The connection's headers, and Host (set for the backend), stay here.
    if (!values || isHopByHop(n) || n === 'host' || named.has(n) || dropped.test(n)) continue;
    out[n] = [...values];
  }
  out['x-remote-user'] = [user.name];
  if (user.uid) out['x-remote-uid'] = [user.uid];
  if (user.groups.length) out['x-remote-group'] = [...user.groups];
  for (const [key, values] of Object.entries(user.extra ?? {}))
    if (values.length) out[`x-remote-extra-${headerKeyEscape(key)}`] = [...values];
  return out;
}
