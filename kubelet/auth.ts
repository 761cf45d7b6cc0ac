/**
 * Who may use the kubelet's port (10250), as Kubernetes' kubelet decides:
 *
 * - Authentication: a client certificate signed by `--client-ca-file` (CN
 *   the user, O the groups), checked in the TLS handshake. Without one the
 *   request is 401 unless `--anonymous-auth` lets it in as
 *   `system:anonymous`.
 * - Authorization (`--authorization-mode Webhook`): the apiserver is asked
 *   with a SubjectAccessReview whether the user may use this node's
 *   `nodes/<subresource>` (proxy, log, stats, metrics, healthz, pods) with
 *   the verb of the HTTP method. Answers are kept a while (allowed 5 min,
 *   denied 30 s), as the kubelet's webhook cache does.
 */
import type http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { RestClient } from '../client/rest.js';

export interface KubeletUser {
  name: string;
  groups: string[];
}

export interface NodeRequestAttributes {
  verb: string;
  /** The `nodes` subresource the path maps to. */
  subresource: string;
}

export const anonymousUser: KubeletUser = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

/** The user of a verified client certificate, or undefined when there is none. */
export function certificateUser(socket: unknown): KubeletUser | undefined {
  const s = socket as Partial<TLSSocket>;
  if (!s.authorized || typeof s.getPeerCertificate !== 'function') return undefined;
  const subject = s.getPeerCertificate().subject as Record<string, string | string[]> | undefined;
  const cn = subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return undefined;
  const o = subject?.O;
  const groups = o === undefined ? [] : Array.isArray(o) ? o : [o];
  return { name, groups: [...groups, 'system:authenticated'] };
}

const verbs: Record<string, string> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** Path prefixes with their own subresource; everything else is `proxy` (exec, logs of containers...). */
const subresources: [RegExp, string][] = [
  [/^\/stats(\/|$)/, 'stats'],
  [/^\/metrics(\/|$)/, 'metrics'],
  [/^\/logs(\/|$)/, 'log'],
  [/^\/healthz(\/|$)/, 'healthz'],
  [/^\/pods\/?$/, 'pods'],
];

export function nodeRequestAttributes(method: string, path: string): NodeRequestAttributes {
  const sub = subresources.find(([re]) => re.test(path))?.[1] ?? 'proxy';
  return { verb: verbs[method.toUpperCase()] ?? 'get', subresource: sub };
}

export type Decision = { allowed: true } | { allowed: false; reason: string };

export interface KubeletAuthorizer {
  authorize(user: KubeletUser, attrs: NodeRequestAttributes): Promise<Decision>;
}

/** Asks the apiserver (SubjectAccessReview), with a cache of recent answers. */
export class WebhookAuthorizer implements KubeletAuthorizer {
  private readonly cache = new Map<string, { decision: Decision; until: number }>();

  constructor(
    private readonly o: {
      rest: RestClient;
      node: string;
      allowedTtlMs?: number;
      deniedTtlMs?: number;
      now?: () => number;
    },
  ) {}

  async authorize(user: KubeletUser, attrs: NodeRequestAttributes): Promise<Decision> {
    const now = (this.o.now ?? Date.now)();
    const key = JSON.stringify([user.name, [...user.groups].sort(), attrs.verb, attrs.subresource]);
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.decision;
    const review = await this.o.rest.request<{ status?: { allowed?: boolean; reason?: string } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: user.name,
          groups: user.groups,
          resourceAttributes: {
            verb: attrs.verb,
            group: '',
            version: 'v1',
            resource: 'nodes',
            subresource: attrs.subresource,
            name: this.o.node,
          },
        },
      },
    });
    const decision: Decision = review.status?.allowed
      ? { allowed: true }
      : { allowed: false, reason: review.status?.reason ?? '' };
    const ttl = decision.allowed ? (this.o.allowedTtlMs ?? 300_000) : (this.o.deniedTtlMs ?? 30_000);
    if (this.cache.size > 1_000) this.cache.clear();
    this.cache.set(key, { decision, until: now + ttl });
    return decision;
  }
}

/** What the kubelet server checks before it answers; throws nothing, returns the refusal. */
export interface KubeletGate {
  /** Undefined: go on; else the Status to answer with. */
  check(req: http.IncomingMessage): Promise<{ code: number; reason: string; message: string } | undefined>;
}

export function newKubeletGate(o: { anonymous: boolean; authorizer?: KubeletAuthorizer }): KubeletGate {
  return {
    async check(req) {
      const user = certificateUser(req.socket) ?? (o.anonymous ? anonymousUser : undefined);
      if (!user) return { code: 401, reason: 'Unauthorized', message: 'Unauthorized' };
      if (!o.authorizer) return undefined;
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const attrs = nodeRequestAttributes(req.method ?? 'GET', path);
      const d = await o.authorizer.authorize(user, attrs);
      if (d.allowed) return undefined;
      return {
        code: 403,
        reason: 'Forbidden',
        message: `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=nodes, subresource=${attrs.subresource})`,
      };
    },
  };
}
