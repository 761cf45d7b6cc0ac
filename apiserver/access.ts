/**
 * Who sends a request and whether they may: the authenticators (client
 * certificates, static and bootstrap tokens, service account tokens), the
 * authorizer chain (Node, then RBAC; AlwaysAllow without either), and the
 * gate every request passes before its route, which also starts the
 * request's audit record. Built from the stores, whose caches the
 * authorizers read.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { AuditRecord } from './audit.js';
import { type AuthnConfig, authenticate, type UserInfo } from './authn.js';
import {
  type Authorizer,
  alwaysAllow,
  attributesOf,
  impersonate,
  newForbiddenFor,
  RbacAuthorizer,
} from './authz.js';
import { authenticateBootstrapToken } from './bootstrap-token.js';
import { NodeAuthorizer, unionAuthorizer } from './node-authz.js';
import { requestInfo } from './request.js';
import { authenticateToken, type TokenIssuerConfig } from './serviceaccount-token.js';
import type { Storage } from './storage.js';
import type { ResourceStore } from './store.js';

export interface AccessOptions {
  /** Who may come in; unset: no authentication (every request a cluster admin). */
  authn?: AuthnConfig;
  /** AlwaysAllow (the default), Node, RBAC. */
  authorizationModes?: string[];
  /** Checks service account tokens; unset: they authenticate nobody. */
  serviceAccountTokens?: TokenIssuerConfig;
  /** Whether requests are audited: each then gets a record, even with nothing else to check. */
  audited: boolean;
  store: Storage['store'];
}

/** Paths anyone may read, as Kubernetes' system:public-info-viewer. */
const publicPaths = new Set(['/healthz', '/livez', '/readyz', '/version']);

export class Access {
  readonly authorizer: Authorizer;
  /** For rules reviews and RBAC escalation checks; undefined when RBAC is off. */
  readonly rbac?: RbacAuthorizer;
  private readonly authn?: AuthnConfig;
  private readonly users = new WeakMap<IncomingMessage, UserInfo>();
  private readonly audits = new WeakMap<IncomingMessage, AuditRecord>();
  /**
   * With nothing to check (no authentication, AlwaysAllow, no audit) every request is the
   * loopback admin: the plain one-host default skips parsing each request's attributes.
   */
  readonly checks: boolean;

  constructor(o: AccessOptions) {
    const modes = o.authorizationModes ?? [];
    this.rbac = modes.includes('RBAC') ? rbacAuthorizer(o.store) : undefined;
    const chain: Authorizer[] = [];
    if (modes.includes('Node')) chain.push(nodeAuthorizer(o.store));
    if (this.rbac) chain.push(this.rbac);
    this.authorizer = chain.length ? unionAuthorizer(chain) : alwaysAllow;
    this.authn = o.authn && authnConfig(o.authn, o.serviceAccountTokens, o.store);
    this.checks = this.authn !== undefined || this.authorizer !== alwaysAllow || o.audited;
  }

  /** Who sent `req` and whether they may do it; throws 401 or 403. */
  gate(req: IncomingMessage): UserInfo {
    const info = requestInfo(req);
    if (publicPaths.has(info.path)) return authenticate(req, undefined);
    const rec: AuditRecord = { received: new Date(), requestURI: info.url };
    this.audits.set(req, rec);
    const user = impersonate(authenticate(req, this.authn), req.headers, this.authorizer);
    this.users.set(req, user);
    rec.user = user;
    const attrs = attributesOf(user, info);
    rec.attrs = attrs;
    const decision = this.authorizer.authorize(attrs);
    if (!decision.allowed) throw newForbiddenFor(attrs, decision.reason);
    return user;
  }

  /** Who sent a request that passed the gate (authenticated, impersonation applied). */
  userOf(req: Pick<FastifyRequest, 'raw'>): UserInfo {
    return this.users.get(req.raw) ?? authenticate(req.raw, undefined);
  }

  /** The audit record the gate started for `req`, if it started one. */
  auditRecord(req: IncomingMessage): AuditRecord | undefined {
    return this.audits.get(req);
  }
}

function rbacAuthorizer(store: Storage['store']): RbacAuthorizer {
  const rbacStore = (plural: string) => {
    const s = store('rbac.authorization.k8s.io', 'v1', plural);
    if (!s) throw new Error('RBAC authorization needs the rbac.authorization.k8s.io types');
    return s;
  };
  const s = {
    clusterRoles: rbacStore('clusterroles'),
    clusterRoleBindings: rbacStore('clusterrolebindings'),
    roles: rbacStore('roles'),
    roleBindings: rbacStore('rolebindings'),
  };
  const under = function* (store: ResourceStore, prefix: string) {
    for (const [key, e] of store.cache.items) if (key.startsWith(prefix)) yield e.obj;
  };
  return new RbacAuthorizer({
    clusterRoleBindings: () => under(s.clusterRoleBindings, s.clusterRoleBindings.prefix()),
    roleBindings: (ns) => under(s.roleBindings, s.roleBindings.prefix(ns)),
    clusterRole: (name) => s.clusterRoles.cache.items.get(s.clusterRoles.key(undefined, name))?.obj,
    role: (ns, name) => s.roles.cache.items.get(s.roles.key(ns, name))?.obj,
    fresh: async () => {
      await Promise.all(Object.values(s).map((store) => store.cache.syncToLatest().catch(() => undefined)));
    },
  });
}

function nodeAuthorizer(store: Storage['store']): NodeAuthorizer {
  const pods = store('', 'v1', 'pods')!;
  const claims = store('', 'v1', 'persistentvolumeclaims')!;
  return new NodeAuthorizer({
    pods: function* () {
      for (const e of pods.cache.items.values()) yield e.obj;
    },
    claim: (ns, name) => claims.cache.items.get(claims.key(ns, name))?.obj,
  });
}

/** The configured authenticators, with the token kinds that read objects wired to their stores. */
function authnConfig(
  authn: AuthnConfig,
  saTokens: TokenIssuerConfig | undefined,
  store: Storage['store'],
): AuthnConfig {
  const saStore = store('', 'v1', 'serviceaccounts')!;
  const podStore = store('', 'v1', 'pods')!;
  const secretStore = store('', 'v1', 'secrets')!;
  const uidIn = (s: ResourceStore, ns: string, name: string) =>
    s.cache.items.get(s.key(ns, name))?.obj.metadata.uid;
  return {
    ...authn,
    serviceAccountToken: saTokens
      ? (token: string) =>
          authenticateToken(
            saTokens,
            {
              serviceAccountUid: (ns, name) => uidIn(saStore, ns, name),
              podUid: (ns, name) => uidIn(podStore, ns, name),
            },
            token,
          )
      : undefined,
    bootstrapToken: authn.bootstrapTokens
      ? (token: string) =>
          authenticateBootstrapToken(
            token,
            (name) => secretStore.cache.items.get(secretStore.key('kube-system', name))?.obj,
          )
      : undefined,
  };
}
