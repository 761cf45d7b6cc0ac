/**
 * Builds and runs the apiserver: one etcd client, one watch cache and store
 * per resource, the HTTP routes, health and metrics, the default namespaces
 * and etcd compaction. All state lives in etcd, so any number of these can
 * serve one etcd.
 */
import { setMaxListeners } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../api/meta.js';
import type { Registry, ResourceType } from '../api/registry.js';
import {
  type GroupResource,
  isAlreadyExists,
  isNotFound,
  newForbidden,
  newInternalError,
  newNotFound,
  newRequestEntityTooLarge,
  newUnsupportedMediaType,
  StatusError,
} from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { realClock } from '../client/clock.js';
import type { ValidatingAdmission } from './admission.js';
import { AuditLog, type AuditRecord } from './audit.js';
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
import { admitCertificateUpdate } from './csr-admission.js';
import { registerDiscovery } from './discovery.js';
import { codecFor, type parseEncryptionConfig } from './encryption.js';
import { EtcdStore, type EtcdTLS } from './etcd.js';
import { KubeletClient, type KubeletClientTLS, registerKubeletUpgradeProxy } from './kubelet-proxy.js';
import { ensureKubernetesService, runServiceAllocations } from './kubernetes-service.js';
import { NodeAuthorizer, unionAuthorizer } from './node-authz.js';
import { admitNodeTokenRequest, nodeRestriction } from './node-restriction.js';
import { registerOpenAPI } from './openapi.js';
import { registerOpenAPIV2 } from './openapi-v2.js';
import { ensureBootstrapPolicy } from './rbac-bootstrap.js';
import { rbacEscalation } from './rbac-escalation.js';
import { isPrettyPrint, type RequestInfo, requestInfo } from './request.js';
import { registerResourceRoutes } from './resources.js';
import { registerReviews, reviewResources } from './reviews.js';
import { ServiceAllocator } from './service-alloc.js';
import { serviceAccountAdmission, serviceAccountLookup } from './serviceaccount-admission.js';
import { authenticateToken, registerTokenRequest, type TokenIssuerConfig } from './serviceaccount-token.js';
import { ResourceStore } from './store.js';
import { strategyFor } from './strategy.js';
import { WatchCache } from './watch-cache.js';
import { WatchLimiter } from './watch-limiter.js';

export interface ApiserverConfig {
  etcdServers: string[];
  /** TLS to etcd (https URLs): the members' CA, and a client certificate when they ask for one. */
  etcdTLS?: EtcdTLS;
  bindAddress: string;
  port: number;
  /** Serve HTTPS on `port` with this certificate; `clientCA` checks client certificates. */
  tls?: { cert: Buffer; key: Buffer; clientCA?: Buffer };
  /** The apiserver's client certificate for kubelets (and their CA); absent: kubelets are plain HTTP. */
  kubeletClient?: KubeletClientTLS;
  /** With tls: also plain HTTP on 127.0.0.1 at this port, for this host only (every request a cluster admin). */
  insecurePort?: number;
  /** Who may come in on the TLS port; unset: no authentication (every request a cluster admin). */
  authn?: AuthnConfig;
  /** AlwaysAllow (the default) or RBAC. */
  authorizationModes?: string[];
  /** Where the audit log goes (a file, or - for standard output); unset: no audit log. */
  auditLogPath?: string;
  /** Signs and checks service account tokens; unset: TokenRequest answers 503. */
  serviceAccountTokens?: TokenIssuerConfig;
  /** Encryption at rest (--encryption-provider-config); unset: plain JSON. */
  encryption?: ReturnType<typeof parseEncryptionConfig>;
  serviceClusterIPRange: string;
  serviceNodePortRange: string;
  /** Address in the `kubernetes` Endpoints; unset for a loopback-only apiserver. */
  advertiseAddress?: string;
  watchCacheSize: number;
  compactionIntervalMs: number;
  bookmarkIntervalMs: number;
  /** Open watches of everyone but system:masters together (--max-watches); 0: no limit. Default 3000. */
  maxWatches?: number;
  /** Open watches of one user (--max-watches-per-user); 0: no limit. Default 300. */
  maxWatchesPerUser?: number;
}

export const maxBodyBytes = 3 * 1024 * 1024;

/**
 * Reads and drops what is left of a request body before an early answer (a
 * 401, 403 or 413 sent before the body was read), as Go's server does: the
 * connection then closes after the answer, and closing it while the client
 * still writes would reset it before the client reads the answer. Bounded
 * in bytes and time; past either the connection just closes.
 */
function drainUnread(req: IncomingMessage, maxBytes = 4 * maxBodyBytes, ms = 5_000): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, ms);
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.resume();
  });
}
export const defaultNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
/** How long requests in flight may take to finish once the server stops. */
const shutdownGraceMs = 1_000;

export interface Apiserver {
  app: FastifyInstance;
  etcd: EtcdStore;
  stores: Map<ResourceType, ResourceStore>;
  /** Resolves when every background loop has stopped. */
  done: Promise<void>;
}

function statusOf(err: FastifyError | StatusError | Error): StatusError {
  if (err instanceof StatusError) return err;
  const e = err as FastifyError;
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return newRequestEntityTooLarge(`limit is ${maxBodyBytes}`);
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return newUnsupportedMediaType(String(e.message));
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new StatusError(e.statusCode, 'BadRequest', e.message);
  return newInternalError(err);
}

/** Builds everything; nothing listens and no loop runs until `start`. */
export function buildApiserver(
  config: ApiserverConfig,
  logger: Logger,
  registry: Registry = builtinRegistry,
) {
  const groupOf = new Map(registry.all.map((rt) => [rt.plural, rt.group]));
  const codecs = new Map<string, ReturnType<typeof codecFor>>();
  const encryption = config.encryption;
  const metrics = new MetricsRegistry();
  const decodeErrors = new Counter({
    name: 'apiserver_storage_decode_errors_total',
    help: 'Stored values a list or watch left out because they cannot be decoded, by resource.',
    labelNames: ['resource'],
    registers: [metrics],
  });
  const etcd = new EtcdStore({
    endpoints: config.etcdServers,
    tls: config.etcdTLS,
    logger,
    // /registry/{plural}/...: the plural names the resource, as DESIGN.md keys it.
    onUndecodable: (key) => decodeErrors.inc({ resource: key.split('/')[2] ?? '' }),
    codecFor: encryption
      ? (key) => {
          // /registry/{plural}/...: the plural names the resource, as DESIGN.md keys it.
          const plural = key.split('/')[2] ?? '';
          let codec = codecs.get(plural);
          if (!codec) {
            codec = codecFor(encryption, plural, groupOf.get(plural) ?? '');
            codecs.set(plural, codec);
          }
          return codec;
        }
      : undefined,
  });
  const stores = new Map<ResourceType, ResourceStore>();
  const nsType = registry.get('', 'v1', 'namespaces')!;
  const caches: WatchCache[] = [];

  const namespaceGuard = async (ns: string, gr: GroupResource, name: string) => {
    const nsStore = stores.get(nsType)!;
    let obj = nsStore.cache.items.get(nsStore.key(undefined, ns))?.obj;
    if (!obj) {
      try {
        obj = await nsStore.get(undefined, ns);
      } catch (err) {
        if (isNotFound(err)) throw newNotFound({ group: '', resource: 'namespaces' }, ns);
        throw err;
      }
    }
    if (obj.metadata.deletionTimestamp) {
      throw newForbidden(
        gr,
        name,
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  };

  const serviceAllocator = new ServiceAllocator(
    etcd,
    { clusterIPRange: config.serviceClusterIPRange, nodePortRange: config.serviceNodePortRange },
    logger,
  );
  const podAdmission = serviceAccountAdmission({
    serviceAccount: (ns, name) =>
      serviceAccountLookup(stores.get(registry.get('', 'v1', 'serviceaccounts')!)!)(ns, name),
    mountServiceAccountToken: config.serviceAccountTokens !== undefined,
  });
  // The validating admission chain, in order; each plugin picks the kinds it handles.
  const validators: ValidatingAdmission[] = [];
  validators.push(rbacEscalation({ rbac: () => rbac, authorizer: () => authorizer }));
  /** A core object, or undefined when there is none (admission reads these, as Kubernetes' listers). */
  const lookup = (plural: string, ns: string | undefined, name: string) =>
    stores
      .get(registry.get('', 'v1', plural)!)!
      .get(ns, name)
      .catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  // NodeRestriction goes with the Node authorizer, as Kubernetes pairs them.
  if (config.authorizationModes?.includes('Node'))
    validators.push(nodeRestriction({ node: (n) => lookup('nodes', undefined, n) }));
  for (const rt of registry.all) {
    const cache = new WatchCache({
      etcd,
      prefix: `/registry/${rt.plural}/`,
      capacity: config.watchCacheSize,
      logger,
    });
    caches.push(cache);
    const admit =
      rt.group === '' && rt.plural === 'services'
        ? (o: KubeObject, old?: KubeObject) => serviceAllocator.admit(o, old)
        : rt.group === 'networking.k8s.io' && rt.plural === 'ingresses'
          ? async (o: KubeObject, old?: KubeObject) => {
              if (!old)
                defaultIngressClass(
                  o,
                  stores.get(registry.get('networking.k8s.io', 'v1', 'ingressclasses')!),
                );
              return { rollback: async () => undefined };
            }
          : undefined;
    const mutateOnCreate = rt.group === '' && rt.plural === 'pods' ? podAdmission : undefined;
    // The authorizer is built from the stores below; requests come after.
    const admitUpdate =
      rt.group === 'certificates.k8s.io' && rt.plural === 'certificatesigningrequests'
        ? (o: KubeObject, old: KubeObject, sub: string | undefined, user: UserInfo) =>
            admitCertificateUpdate(authorizer, o, old, sub, user)
        : undefined;
    stores.set(
      rt,
      new ResourceStore({
        rt,
        etcd,
        cache,
        strategy: strategyFor(rt),
        namespaceGuard,
        admit,
        mutateOnCreate,
        admitUpdate,
        validators,
      }),
    );
  }

  collectDefaultMetrics({ register: metrics });
  const requests = new Counter({
    name: 'apiserver_request_total',
    help: 'Requests by verb, resource and code.',
    labelNames: ['verb', 'resource', 'code'],
    registers: [metrics],
  });
  const latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'Request latency by verb and resource (watches excluded).',
    labelNames: ['verb', 'resource'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [metrics],
  });
  new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watches by resource.',
    labelNames: ['resource'],
    registers: [metrics],
    collect() {
      for (const [rt, s] of stores) this.set({ resource: rt.plural }, s.cache.listenerCount);
    },
  });
  const terminatedWatchers = new Counter({
    name: 'apiserver_terminated_watchers_total',
    help: 'Watchers closed for falling too far behind, by resource.',
    labelNames: ['group', 'resource'],
    registers: [metrics],
  });
  const watchLimiter = new WatchLimiter({
    maxWatches: config.maxWatches ?? 3000,
    maxWatchesPerUser: config.maxWatchesPerUser ?? 300,
  });
  new Gauge({
    name: 'apiserver_longrunning_requests',
    help: 'Open watches, each holding a slot of --max-watches until it ends.',
    labelNames: ['verb'],
    registers: [metrics],
    collect() {
      this.set({ verb: 'WATCH' }, watchLimiter.inUse);
    },
  });

  const app = Fastify({
    loggerInstance: logger,
    disableRequestLogging: true,
    bodyLimit: maxBodyBytes,
    // Every request target is parsed once, before routing (request.ts): the router sees the
    // canonical form that authorization, audit and metrics read too. A target that cannot be
    // parsed routes nowhere and is refused with its 400 in the first onRequest hook.
    rewriteUrl: (req: IncomingMessage) => {
      try {
        return requestInfo(req).url;
      } catch {
        return '/';
      }
    },
    // A URL fastify cannot even decode (`/apis/%00`, `%ZZ`) is answered as a Kubernetes Status too.
    frameworkErrors: (err: FastifyError, _req: unknown, reply: { code(n: number): any }) => {
      const se = new StatusError(400, 'BadRequest', `the request could not be read: ${err.message}`);
      reply.code(400).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
    },
    ...(config.tls
      ? {
          https: {
            cert: config.tls.cert,
            key: config.tls.key,
            ...(config.tls.clientCA
              ? { ca: config.tls.clientCA, requestCert: true, rejectUnauthorized: false }
              : {}),
          },
        }
      : {}),
  } as object) as unknown as FastifyInstance;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const se = statusOf(err);
    if (se.code >= 500) req.log.error({ err }, 'request failed');
    await drainUnread(req.raw);
    // As Kubernetes' ErrorNegotiated: a Status that says when to retry says it in Retry-After too.
    if (se.details?.retryAfterSeconds) reply.header('retry-after', String(se.details.retryAfterSeconds));
    reply.code(se.code).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
  });
  // `?pretty` and people's user agents get JSON indented by two spaces, errors included, as
  // Kubernetes' writers; watch streams are hijacked and keep one event a line.
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string') return payload;
    // The request's one parse (a target that did not parse was answered with its 400 as is).
    let query: URLSearchParams;
    try {
      query = requestInfo(req.raw).query;
    } catch {
      return payload;
    }
    if (!isPrettyPrint(query, req.headers['user-agent'])) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    try {
      return JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      return payload;
    }
  });
  app.setNotFoundHandler((_req, reply) => {
    const se = new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    reply.code(404).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
  });

  // Labels from the parsed request only: a resource this server serves, or `other`.
  const served = new Set(registry.all.map((rt) => `${rt.group}/${rt.version}/${rt.plural}`));
  app.addHook('onResponse', (req, reply, done) => {
    let info: RequestInfo | undefined;
    try {
      info = requestInfo(req.raw);
    } catch {}
    const resource = !info?.isResourceRequest
      ? ''
      : served.has(`${info.apiGroup}/${info.apiVersion}/${info.resource}`)
        ? info.resource
        : 'other';
    const verb = req.method;
    const ms = reply.elapsedTime;
    requests.inc({ verb, resource, code: String(reply.statusCode) });
    if (info?.verb !== 'watch') latency.observe({ verb, resource }, ms / 1000);
    req.log.info(
      {
        method: verb,
        path: info?.path ?? '-',
        code: reply.statusCode,
        latencyMs: Math.round(ms * 100) / 100,
      },
      'request',
    );
    done();
  });

  let etcdOk = false;
  let etcdCheckedAt = 0;
  const etcdHealthy = async () => {
    if (Date.now() - etcdCheckedAt > 1000) {
      etcdOk = await etcd.healthy();
      etcdCheckedAt = Date.now();
    }
    return etcdOk;
  };
  let cachesReady = false;
  const health =
    (checks: () => Promise<[string, boolean][]>, name: string) =>
    async (
      req: { query: unknown },
      reply: { code(n: number): unknown; header(k: string, v: string): unknown },
    ) => {
      const results = await checks();
      const ok = results.every(([, v]) => v);
      reply.code(ok ? 200 : 500);
      reply.header('content-type', 'text/plain; charset=utf-8');
      const verbose = (req.query as Record<string, unknown>).verbose !== undefined;
      if (!verbose && ok) return 'ok';
      const lines = results.map(([n, v]) => `[${v ? '+' : '-'}]${n} ${v ? 'ok' : 'failed'}`);
      return `${lines.join('\n')}\n${name} check ${ok ? 'passed' : 'failed'}\n`;
    };
  app.get(
    '/livez',
    health(async () => [['ping', true]], 'livez'),
  );
  app.get(
    '/healthz',
    health(
      async () => [
        ['ping', true],
        ['etcd', await etcdHealthy()],
      ],
      'healthz',
    ),
  );
  app.get(
    '/readyz',
    health(
      async () => [
        ['ping', true],
        ['etcd', await etcdHealthy()],
        ['informer-sync', cachesReady],
      ],
      'readyz',
    ),
  );
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });

  // Authentication and authorization, before any route runs.
  const rbacTypes = {
    clusterRoles: registry.get('rbac.authorization.k8s.io', 'v1', 'clusterroles'),
    clusterRoleBindings: registry.get('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings'),
    roles: registry.get('rbac.authorization.k8s.io', 'v1', 'roles'),
    roleBindings: registry.get('rbac.authorization.k8s.io', 'v1', 'rolebindings'),
  };
  const rbacOn = (config.authorizationModes ?? []).includes('RBAC');
  let rbac: RbacAuthorizer | undefined;
  if (rbacOn) {
    const s = Object.fromEntries(
      Object.entries(rbacTypes).map(([k, rt]) => {
        if (!rt) throw new Error('RBAC authorization needs the rbac.authorization.k8s.io types');
        return [k, stores.get(rt)!];
      }),
    ) as Record<keyof typeof rbacTypes, ResourceStore>;
    const under = function* (store: ResourceStore, prefix: string) {
      for (const [key, e] of store.cache.items) if (key.startsWith(prefix)) yield e.obj;
    };
    rbac = new RbacAuthorizer({
      clusterRoleBindings: () => under(s.clusterRoleBindings, s.clusterRoleBindings.prefix()),
      roleBindings: (ns) => under(s.roleBindings, s.roleBindings.prefix(ns)),
      clusterRole: (name) => s.clusterRoles.cache.items.get(s.clusterRoles.key(undefined, name))?.obj,
      role: (ns, name) => s.roles.cache.items.get(s.roles.key(ns, name))?.obj,
      fresh: async () => {
        await Promise.all(Object.values(s).map((store) => store.cache.syncToLatest().catch(() => undefined)));
      },
    });
  }
  const modes = config.authorizationModes ?? [];
  const chain: Authorizer[] = [];
  if (modes.includes('Node')) {
    const pods = stores.get(registry.get('', 'v1', 'pods')!)!;
    const claims = stores.get(registry.get('', 'v1', 'persistentvolumeclaims')!)!;
    chain.push(
      new NodeAuthorizer({
        pods: function* () {
          for (const e of pods.cache.items.values()) yield e.obj;
        },
        claim: (ns, name) => claims.cache.items.get(claims.key(ns, name))?.obj,
      }),
    );
  }
  if (rbac) chain.push(rbac);
  const authorizer: Authorizer = chain.length ? unionAuthorizer(chain) : alwaysAllow;
  const saStore = stores.get(registry.get('', 'v1', 'serviceaccounts')!)!;
  const podStore = stores.get(registry.get('', 'v1', 'pods')!)!;
  const uidIn = (store: ResourceStore, ns: string, name: string) =>
    store.cache.items.get(store.key(ns, name))?.obj.metadata.uid;
  const saTokens = config.serviceAccountTokens;
  const secretStore = stores.get(registry.get('', 'v1', 'secrets')!)!;
  const authn = config.authn && {
    ...config.authn,
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
    bootstrapToken: config.authn?.bootstrapTokens
      ? (token: string) =>
          authenticateBootstrapToken(
            token,
            (name) => secretStore.cache.items.get(secretStore.key('kube-system', name))?.obj,
          )
      : undefined,
  };
  registerTokenRequest(app, saTokens, {
    serviceAccount: (ns, name) => saStore.get(ns, name),
    pod: (ns, name) => podStore.get(ns, name),
    admit: (req, ns, name, ref) =>
      admitNodeTokenRequest(userOf(req), ns, name, ref, (pns, pn) => lookup('pods', pns, pn)),
  });
  const users = new WeakMap<IncomingMessage, UserInfo>();
  const audit = config.auditLogPath ? new AuditLog(config.auditLogPath) : undefined;
  const audits = new WeakMap<IncomingMessage, AuditRecord>();
  const publicPaths = new Set(['/healthz', '/livez', '/readyz', '/version']);
  /** Who sent `req` and whether they may do it; throws 401 or 403. */
  const gate = (req: IncomingMessage): UserInfo => {
    const info = requestInfo(req);
    if (publicPaths.has(info.path)) return authenticate(req, undefined);
    const rec: AuditRecord = { received: new Date(), requestURI: info.url };
    audits.set(req, rec);
    const user = impersonate(authenticate(req, authn), req.headers, authorizer);
    users.set(req, user);
    rec.user = user;
    const attrs = attributesOf(user, info);
    rec.attrs = attrs;
    const decision = authorizer.authorize(attrs);
    if (!decision.allowed) throw newForbiddenFor(attrs, decision.reason);
    return user;
  };
  if (audit)
    app.addHook('onResponse', (req, reply, done) => {
      const rec = audits.get(req.raw);
      if (rec) audit.record(req.raw, rec, reply.statusCode);
      done();
    });
  // With nothing to check (no authentication, AlwaysAllow, no audit) every request is the
  // loopback admin: the plain one-host default skips parsing each request's attributes.
  const checks = authn !== undefined || authorizer !== alwaysAllow || audit !== undefined;
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      requestInfo(req.raw);
      if (checks) gate(req.raw);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
  const userOf = (req: { raw: IncomingMessage }) => users.get(req.raw) ?? authenticate(req.raw, undefined);
  registerReviews(app, { authorizer, rbac, userOf });

  registerDiscovery(app, registry, reviewResources);
  registerOpenAPI(app, registry);
  registerOpenAPIV2(app, registry);
  const kubelet = new KubeletClient(config.kubeletClient);
  registerResourceRoutes(app, {
    registry,
    stores,
    logger,
    bookmarkIntervalMs: config.bookmarkIntervalMs,
    watchLimits: {
      limiter: watchLimiter,
      onTerminated: (rt) => terminatedWatchers.inc({ group: rt.group, resource: rt.plural }),
    },
    kubelet,
    userOf,
  });
  registerKubeletUpgradeProxy(app.server, {
    pods: stores.get(registry.get('', 'v1', 'pods')!)!,
    nodes: stores.get(registry.get('', 'v1', 'nodes')!),
    kubelet,
    logger,
    gate,
    // Upgrades never reach fastify's onResponse: the proxy reports how each one ended.
    audited: (req, code) => {
      const rec = audits.get(req);
      if (audit && rec) audit.record(req, rec, code);
    },
  });
  let insecure: http.Server | undefined;
  if (config.tls && config.insecurePort !== undefined) {
    insecure = http.createServer((req, res) => app.routing(req, res));
    registerKubeletUpgradeProxy(insecure, {
      pods: stores.get(registry.get('', 'v1', 'pods')!)!,
      nodes: stores.get(registry.get('', 'v1', 'nodes')!),
      kubelet,
      logger,
    });
  }

  const start = async (signal: AbortSignal): Promise<Apiserver> => {
    setMaxListeners(0, signal); // one listener per watch cache and loop
    const loops = caches.map((c) => c.run(signal));
    await Promise.all(caches.map((c) => c.ready()));
    cachesReady = true;
    await ensureNamespaces(stores.get(nsType)!, logger);
    if (rbacTypes.clusterRoles && rbacTypes.clusterRoleBindings)
      await ensureBootstrapPolicy(
        stores.get(rbacTypes.clusterRoles)!,
        stores.get(rbacTypes.clusterRoleBindings)!,
        logger,
      );
    const servicesStore = stores.get(registry.get('', 'v1', 'services')!)!;
    const serviceLoop = runServiceAllocations(serviceAllocator, servicesStore, signal, logger);
    await ensureKubernetesService(stores, registry, config, logger).catch((err) =>
      logger.error({ err }, 'could not create the kubernetes service; serving without it'),
    );
    const compactor = runCompactor(etcd, caches, config.compactionIntervalMs, signal, logger);
    await app.listen({ host: config.bindAddress, port: config.port });
    if (insecure) {
      const server = insecure;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.insecurePort, '127.0.0.1', () => resolve());
      });
    }
    const done = Promise.all([...loops, compactor, serviceLoop]).then(async () => {
      // Requests in flight get a moment to finish. Then every connection goes:
      // a client may hold one open with no request on it (fetch reconnects
      // after an aborted watch), and server.close() would wait for it forever.
      const force = setTimeout(() => {
        app.server.closeAllConnections();
        insecure?.closeAllConnections();
      }, shutdownGraceMs);
      if (insecure) await new Promise((resolve) => insecure!.close(resolve));
      await app.close();
      audit?.flush();
      clearTimeout(force);
      etcd.close();
    });
    return { app, etcd, stores, done };
  };
  return { app, etcd, stores, start };
}

async function ensureNamespaces(store: ResourceStore, log: Logger): Promise<void> {
  for (const name of defaultNamespaces) {
    try {
      await store.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      log.info({ namespace: name }, 'created default namespace');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/**
 * Compacts etcd every interval to the revision seen one interval earlier,
 * as Kubernetes does, and trims the watch caches to match so a watch from a
 * compacted revision gets 410 Gone.
 */
async function runCompactor(
  etcd: EtcdStore,
  caches: WatchCache[],
  intervalMs: number,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  if (intervalMs <= 0) return;
  let previous = 0;
  while (!signal.aborted) {
    await realClock.sleep(intervalMs, signal);
    if (signal.aborted) break;
    try {
      const current = await etcd.revision();
      if (previous > 0) {
        await etcd.compact(previous).catch((err: Error) => {
          if (!/compacted/.test(err.message)) throw err;
        });
        for (const c of caches) c.trimTo(previous);
        log.info({ revision: previous }, 'compacted etcd');
      }
      previous = current;
    } catch (err) {
      log.warn({ err }, 'etcd compaction failed; will retry');
    }
  }
}

/**
 * The DefaultIngressClass admission step: a new Ingress that names no class
 * (neither spec.ingressClassName nor the old annotation) gets the class
 * marked default, if exactly one is.
 */
function defaultIngressClass(obj: KubeObject, classes: ResourceStore | undefined): void {
  const ing = obj as KubeObject & { spec?: { ingressClassName?: string } };
  if (!classes || ing.spec?.ingressClassName || ing.metadata.annotations?.['kubernetes.io/ingress.class'])
    return;
  const defaults = [...classes.cache.items.values()]
    .map((e) => e.obj)
    .filter((c) => c.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'] === 'true');
  if (defaults.length !== 1) return;
  ing.spec = { ...ing.spec, ingressClassName: defaults[0].metadata.name };
}
