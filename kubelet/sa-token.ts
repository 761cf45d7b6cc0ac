/**
 * Service account tokens for `projected` volumes, kept as the kubelet's
 * token manager keeps them (pkg/kubelet/token): one TokenRequest per pod,
 * service account, audience and lifetime, bound to the pod, reused until
 * 80% of its lifetime has passed or it is older than 24 hours, then asked
 * for again. A refresh that fails keeps serving the cached token while it
 * is still valid; a pod's tokens are forgotten when the pod is cleaned up.
 *
 * Contract: the pod workers never prepare one pod's volumes twice at once,
 * so `get` for one pod is never concurrent with itself or with `forget`.
 */
import type { Logger } from 'pino';
import type { Pod } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';

/** authentication.k8s.io/v1 TokenRequest, as far as the kubelet uses it. */
export interface TokenRequest {
  apiVersion: 'authentication.k8s.io/v1';
  kind: 'TokenRequest';
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  spec: {
    audiences: string[];
    expirationSeconds?: number;
    boundObjectRef?: { kind: 'Pod'; apiVersion: 'v1'; name: string; uid: string } | null;
  };
  status?: { token: string; expirationTimestamp: string };
}

/** POSTs `request` to serviceaccounts/{serviceAccount}/token in `namespace`; the apiserver's answer. */
export type RequestToken = (
  namespace: string,
  serviceAccount: string,
  request: TokenRequest,
) => Promise<TokenRequest>;

/** What a projected volume's serviceAccountToken source asks for (after defaulting). */
export interface TokenProjection {
  audience?: string;
  expirationSeconds?: number;
  path?: string;
}

export interface TokenManagerOptions {
  request: RequestToken;
  clock: Clock;
  logger: Logger;
}

/** Tokens older than this are refreshed whatever their lifetime (the kubelet's maxTTL). */
const maxTTLMs = 24 * 3600_000;
/** How soon a sync comes back for a token whose refresh is overdue (it failed last time). */
const overdueRetryMs = 10_000;

/** The service account a pod runs as: spec.serviceAccountName, `default` when unset. */
export function serviceAccountOf(pod: Pod): string {
  return pod.spec?.serviceAccountName || 'default';
}

/** The TokenRequest for one serviceAccountToken source of `pod`, bound to the pod. */
export function tokenRequestFor(pod: Pod, p: TokenProjection): TokenRequest {
  return {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {
      audiences: p.audience ? [p.audience] : [],
      expirationSeconds: p.expirationSeconds ?? 3600,
      boundObjectRef: {
        kind: 'Pod',
        apiVersion: 'v1',
        name: pod.metadata?.name ?? '',
        uid: pod.metadata?.uid ?? '',
      },
    },
  };
}

interface Cached {
  podUid: string;
  token: string;
  /** Milliseconds since the epoch on the manager's clock. */
  issuedAt: number;
  expiresAt: number;
}

export class TokenManager {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly o: TokenManagerOptions) {}

  /**
   * The token for `request` in `namespace`: the cached one while it needs no
   * refresh, else a new one from the apiserver. Throws when there is no
   * valid token to give (the request failed and nothing usable is cached).
   */
  async get(namespace: string, serviceAccount: string, request: TokenRequest): Promise<string> {
    const key = cacheKey(namespace, serviceAccount, request);
    const cached = this.cache.get(key);
    const now = this.o.clock.now();
    if (cached && now < refreshAt(cached)) return cached.token;
    let fresh: Cached;
    try {
      fresh = parseAnswer(await this.o.request(namespace, serviceAccount, request), request, now);
    } catch (err) {
      const message = (err as Error).message;
      if (!cached) throw new Error(`failed to fetch token: ${message}`);
      if (now >= cached.expiresAt)
        throw new Error(
          `token for service account "${serviceAccount}" expired and refresh failed: ${message}`,
        );
      this.o.logger.warn(
        { namespace, serviceAccount, pod: request.spec.boundObjectRef?.name, err: message },
        'could not refresh service account token; keeping the current one',
      );
      return cached.token;
    }
    this.cache.set(key, fresh);
    return fresh.token;
  }

  /**
   * How long until a token of pod `podUid` needs refreshing, so the pod is
   * synced (and its volume rewritten) in time; undefined when it has none.
   */
  refreshAfterMs(podUid: string): number | undefined {
    let soonest: number | undefined;
    for (const c of this.cache.values()) {
      if (c.podUid !== podUid) continue;
      const at = refreshAt(c);
      soonest = soonest === undefined ? at : Math.min(soonest, at);
    }
    if (soonest === undefined) return undefined;
    const left = soonest - this.o.clock.now();
    // Overdue means the last refresh failed: try again soon, not in a tight loop.
    return left > 0 ? left : overdueRetryMs;
  }

  /** Drops every token bound to pod `podUid`. */
  forget(podUid: string): void {
    for (const [key, c] of this.cache) if (c.podUid === podUid) this.cache.delete(key);
  }

  /** The number of cached tokens (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }
}

function cacheKey(namespace: string, serviceAccount: string, r: TokenRequest): string {
  return JSON.stringify([
    r.spec.boundObjectRef?.uid ?? '',
    namespace,
    serviceAccount,
    r.spec.audiences,
    r.spec.expirationSeconds ?? null,
  ]);
}

/** Refresh once 80% of the lifetime has passed, or once the token is older than 24 hours. */
function refreshAt(c: Cached): number {
  const lifetime = c.expiresAt - c.issuedAt;
  return Math.min(c.expiresAt - lifetime / 5, c.issuedAt + maxTTLMs);
}

/**
 * The token in the apiserver's answer and its lifetime. The issue time is
 * the expiry less the lifetime the answer states (the apiserver may shorten
 * what was asked), as the kubelet reckons it.
 */
function parseAnswer(answer: TokenRequest, asked: TokenRequest, now: number): Cached {
  const token = answer?.status?.token;
  const expiresAt = Date.parse(answer?.status?.expirationTimestamp ?? '');
  if (!token || !Number.isFinite(expiresAt))
    throw new Error('the apiserver answered a TokenRequest without status.token and expirationTimestamp');
  const seconds = answer.spec?.expirationSeconds ?? asked.spec.expirationSeconds;
  const issuedAt = seconds ? expiresAt - seconds * 1000 : now;
  return { podUid: asked.spec.boundObjectRef?.uid ?? '', token, issuedAt, expiresAt };
}
