/**
 * Authentication: who is asking. A request on the TLS port is identified by
 * its client certificate (signed by --client-ca-file: CN is the user, each O
 * a group), else by a bearer token from --token-auth-file, else it is
 * anonymous (only with --anonymous-auth) or refused with 401. A request on
 * the plain loopback port comes from this host, as it always did in
 * Kubernetes' insecure port: it is a cluster admin.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { StatusError } from '../api/status.js';

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export const mastersGroup = 'system:masters';
export const authenticatedGroup = 'system:authenticated';
export const unauthenticatedGroup = 'system:unauthenticated';

/** The user of the plain loopback port. */
export const loopbackUser: UserInfo = {
  name: 'system:apiserver',
  groups: [mastersGroup, authenticatedGroup],
};
export const anonymousUser: UserInfo = { name: 'system:anonymous', groups: [unauthenticatedGroup] };

export interface AuthnConfig {
  /** Whether a request without credentials is system:anonymous rather than 401. */
  anonymous: boolean;
  /** Static bearer tokens. */
  tokens: Map<string, UserInfo>;
  /** Whether bootstrap tokens (Secrets in kube-system) authenticate. */
  bootstrapTokens?: boolean;
  /** Service account tokens (JWTs the apiserver signed); undefined for a token that is not one. */
  serviceAccountToken?: (token: string) => UserInfo | undefined;
  /** Bootstrap tokens (`--enable-bootstrap-token-auth`); undefined for a token that is not one. */
  bootstrapToken?: (token: string) => UserInfo | undefined;
}

export function newUnauthorized(): StatusError {
  return new StatusError(401, 'Unauthorized', 'Unauthorized');
}

/**
 * Reads a static token file: one `token,user,uid[,"group1,group2"]` per
 * line, as Kubernetes' --token-auth-file.
 */
export function parseTokenFile(text: string, file = 'token file'): Map<string, UserInfo> {
  const tokens = new Map<string, UserInfo>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = splitCsv(line);
    if (fields.length < 3 || !fields[0] || !fields[1])
      throw new Error(`${file} line ${i + 1}: want token,user,uid[,"group1,group2"]`);
    const groups = fields[3]
      ? fields[3]
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean)
      : [];
    tokens.set(fields[0], { name: fields[1], uid: fields[2] || undefined, groups });
  });
  return tokens;
}

export function readTokenFile(file: string): Map<string, UserInfo> {
  return parseTokenFile(readFileSync(file, 'utf8'), file);
}

/** Splits one CSV line; a field in double quotes may hold commas. */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** Adds system:authenticated to an authenticated user's groups, as Kubernetes does. */
function authenticated(u: UserInfo): UserInfo {
  return u.groups.includes(authenticatedGroup) ? u : { ...u, groups: [...u.groups, authenticatedGroup] };
}

const asList = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : Array.isArray(v) ? v : [v];

/**
 * Who sent `req`. Throws 401 for a bad token, or no credentials when
 * anonymous requests are off. `config` undefined means authentication is
 * off (the plain one-host default): everyone is the loopback user.
 */
export function authenticate(req: IncomingMessage, config: AuthnConfig | undefined): UserInfo {
  const socket = req.socket as TLSSocket;
  if (!config || !socket.encrypted) return loopbackUser;
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const user = m
      ? (config.tokens.get(m[1]) ?? config.bootstrapToken?.(m[1]) ?? config.serviceAccountToken?.(m[1]))
      : undefined;
    // A token that is not ours is refused, also when a certificate came along.
    if (!user) throw newUnauthorized();
    return authenticated(user);
  }
  if (socket.authorized) {
    const cert = socket.getPeerCertificate();
    const cn = cert?.subject?.CN;
    const name = Array.isArray(cn) ? cn[0] : cn;
    if (name) return authenticated({ name, groups: asList(cert.subject.O) });
  }
  if (config.anonymous) return anonymousUser;
  throw newUnauthorized();
}
