/**
 * Builds and runs the apiserver: the storage (etcd, a watch cache and store
 * per resource), then the HTTP server as a list of fastify plugins, one per
 * concern; `start` runs the loops and listens. All state lives in etcd, so
 * any number of these can serve one etcd.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { Registry, type ResourceType } from '../api/registry.js';
import { builtinRegistry } from '../api/types/index.js';
import { realClock } from '../client/clock.js';
import { Access } from './access.js';
import type { ProxyClientTLS } from './aggregator/backend.js';
import { buildAggregator } from './aggregator/index.js';
import type { ExtensionAuthentication } from './aggregator/local.js';
import { AuditLog } from './audit.js';
import type { AuthnConfig } from './authn.js';
import { CrdController } from './crd/controller.js';
import { crdType } from './crd/definition.js';
import { CustomResourceServing } from './crd/serving.js';
import type { parseEncryptionConfig } from './encryption.js';
import type { EtcdStore, EtcdTLS } from './etcd.js';
import { KubeletClient, type KubeletClientTLS } from './kubelet-proxy.js';
import { ensureKubernetesService, runServiceAllocations } from './kubernetes-service.js';
import { aggregatorPlugin } from './plugins/aggregator.js';
import { auditPlugin } from './plugins/audit.js';
import { authorizationPlugin } from './plugins/authorization.js';
import { discoveryPlugin } from './plugins/discovery.js';
import { healthPlugin } from './plugins/health.js';
import { httpPlugin, newFastify, type ServingTLS } from './plugins/http.js';
import { kubeletProxyPlugin } from './plugins/kubelet-proxy.js';
import { ApiserverMetrics, metricsPlugin } from './plugins/metrics.js';
import { resourcesPlugin } from './plugins/resources.js';
import { subresourceRoute, tokenRequestPlugin } from './plugins/subresources.js';
import { ensureBootstrapPolicy } from './rbac-bootstrap.js';
import { reviewResources } from './reviews.js';
import type { TokenIssuerConfig } from './serviceaccount-token.js';
import { buildStorage, ensureNamespaces, etcdHealthCheck, runCompactor, type Storage } from './storage.js';
import type { ResourceStore } from './store.js';
import { WatchLimiter } from './watch-limiter.js';

export interface ApiserverConfig {
  etcdServers: string[];
  /** TLS to etcd (https URLs): the members' CA, and a client certificate when they ask for one. */
  etcdTLS?: EtcdTLS;
  bindAddress: string;
  port: number;
  /** Serve HTTPS on `port` with this certificate; `clientCA` checks client certificates. */
  tls?: ServingTLS;
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
  /**
   * Aggregation: the front-proxy client certificate the apiserver shows
   * aggregated servers (--proxy-client-cert-file/--proxy-client-key-file),
   * and the requestheader settings it publishes for them
   * (--requestheader-*), in kube-system/extension-apiserver-authentication.
   */
  aggregation?: { proxyClient?: ProxyClientTLS; requestheader?: ExtensionAuthentication['requestheader'] };
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

/** How long a start waits for the custom resources defined before it to be served. */
const crdSyncWaitMs = 10_000;

/** How long requests in flight may take to finish once the server stops. */
const shutdownGraceMs = 1_000;

export interface Apiserver {
  app: FastifyInstance;
  etcd: EtcdStore;
  stores: Map<ResourceType, ResourceStore>;
  /** Resolves when every background loop has stopped. */
  done: Promise<void>;
}

/** Builds everything; nothing listens and no loop runs until `start`. */
export function buildApiserver(
  config: ApiserverConfig,
  logger: Logger,
  builtins: Registry = builtinRegistry,
) {
  // This server's own registry: custom resources are added to it while they are served.
  const registry = new Registry(
    builtins.get(crdType.group, crdType.version, crdType.plural)
      ? [...builtins.all]
      : [...builtins.all, crdType],
  );
  const watchLimiter = new WatchLimiter({
    maxWatches: config.maxWatches ?? 3000,
    maxWatchesPerUser: config.maxWatchesPerUser ?? 300,
  });
  const metrics = new ApiserverMetrics({ stores: () => storage.stores, watchLimiter });
  const storage: Storage = buildStorage({
    ...config,
    registry,
    logger,
    decodeErrors: metrics.decodeErrors,
    metrics: metrics.registry,
    mountServiceAccountToken: config.serviceAccountTokens !== undefined,
    nodeRestriction: config.authorizationModes?.includes('Node') ?? false,
    authorization: () => access,
  });
  const { etcd, stores, store } = storage;
  const audit = config.auditLogPath ? new AuditLog(config.auditLogPath) : undefined;
  const access = new Access({ ...config, audited: audit !== undefined, store });
  const userOf = (req: Parameters<Access['userOf']>[0]) => access.userOf(req);
  const kubelet = new KubeletClient(config.kubeletClient);
  const { crds, aggregator } = buildExtensions(config, registry, storage, logger);
  const app = newFastify(logger, config.tls);
  const insecure =
    config.tls && config.insecurePort !== undefined
      ? http.createServer((req, res) => app.routing(req, res))
      : undefined;
  let cachesReady = false;

  // The app-wide plugins first: the ones with routes inherit their hooks.
  app.register(httpPlugin);
  app.register(metricsPlugin, { metrics, registry });
  if (audit) app.register(auditPlugin, { log: audit, access });
  app.register(authorizationPlugin, { access });
  if (aggregator) app.register(aggregatorPlugin, { proxy: aggregator.proxy, access });
  app.register(healthPlugin, { etcd: etcdHealthCheck(etcd), informerSync: () => cachesReady });
  app.register(discoveryPlugin, { registry, external: aggregator?.discovery });
  app.register(tokenRequestPlugin, { issuer: config.serviceAccountTokens, store, userOf });
  app.register(resourcesPlugin, {
    registry,
    stores,
    logger,
    bookmarkIntervalMs: config.bookmarkIntervalMs,
    watchLimits: {
      limiter: watchLimiter,
      onTerminated: (rt) => metrics.terminatedWatchers.inc({ group: rt.group, resource: rt.plural }),
    },
    userOf,
    subresource: subresourceRoute({ kubelet, store, userOf }),
  });
  app.register(kubeletProxyPlugin, {
    kubelet,
    store,
    logger,
    access,
    audit,
    insecure,
    admitConnect: storage.admitConnect,
  });

  const start = async (signal: AbortSignal): Promise<Apiserver> => {
    const running = { config, logger, registry, storage, app, insecure, audit, aggregator, crds };
    const { done } = await startApiserver(running, signal, () => {
      cachesReady = true;
    });
    return { app, etcd, stores, done };
  };
  return { app, etcd, stores, start };
}

/**
 * The extension API over the storage: the CRD controller, which serves
 * custom resources by adding them to `registry`, and the aggregator, which
 * proxies the group-versions APIServices hand to services (never one this
 * server serves itself, custom resources included).
 */
function buildExtensions(config: ApiserverConfig, registry: Registry, storage: Storage, logger: Logger) {
  const { store } = storage;
  const crds = new CrdController({
    store: store(crdType.group, crdType.version, crdType.plural)!,
    serving: new CustomResourceServing({ registry, storage, logger }),
    builtins: registry.all,
    logger,
  });
  const reviewGroupVersions = reviewResources.map(({ group, version }) => ({ group, version }));
  const servedNow = registry.derived(
    (r) => new Set([...r.groupVersions(), ...reviewGroupVersions].map((gv) => `${gv.group}/${gv.version}`)),
  );
  const aggregator = buildAggregator({
    store,
    localGroupVersions: [...registry.groupVersions(), ...reviewGroupVersions],
    servedLocally: (group, version) => servedNow().has(`${group}/${version}`),
    proxyClient: config.aggregation?.proxyClient,
    authentication: {
      clientCA: config.tls?.clientCA?.toString('utf8'),
      requestheader: config.aggregation?.requestheader,
    },
    logger,
  });
  return { crds, aggregator };
}

/**
 * Runs the caches' loops, fills what every cluster has (namespaces, RBAC
 * bootstrap policy, the kubernetes Service), and listens; `done` resolves
 * once `signal` aborted and everything stopped.
 */
async function startApiserver(
  o: {
    config: ApiserverConfig;
    logger: Logger;
    registry: Registry;
    storage: Storage;
    app: FastifyInstance;
    insecure: http.Server | undefined;
    audit: AuditLog | undefined;
    aggregator: ReturnType<typeof buildAggregator>;
    crds: CrdController;
  },
  signal: AbortSignal,
  onCachesReady: () => void,
): Promise<{ done: Promise<void> }> {
  const { config, logger, storage, app, insecure } = o;
  const { etcd, caches, store } = storage;
  setMaxListeners(0, signal); // one listener per watch cache and loop
  const loops = caches.map((c) => c.run(signal));
  await Promise.all(caches.map((c) => c.ready()));
  onCachesReady();
  await ensureNamespaces(store('', 'v1', 'namespaces')!, logger);
  const clusterRoles = store('rbac.authorization.k8s.io', 'v1', 'clusterroles');
  const clusterRoleBindings = store('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings');
  if (clusterRoles && clusterRoleBindings)
    await ensureBootstrapPolicy(clusterRoles, clusterRoleBindings, logger);
  const services = store('', 'v1', 'services')!;
  const serviceLoop = runServiceAllocations(storage.serviceAllocator, services, signal, logger);
  await ensureKubernetesService(storage.stores, o.registry, config, logger).catch((err) =>
    logger.error({ err }, 'could not create the kubernetes service; serving without it'),
  );
  await o.aggregator?.publish();
  const aggregation = o.aggregator?.run(signal).catch((err) => {
    logger.error({ err }, 'the aggregator stopped');
  });
  const compactor = runCompactor(etcd, caches, config.compactionIntervalMs, signal, logger);
  const crdLoop = o.crds.run(signal);
  // Custom resources defined before this start are served before it listens (bounded: a bad one may never sync).
  await Promise.race([o.crds.synced, realClock.sleep(crdSyncWaitMs, signal)]);
  await app.listen({ host: config.bindAddress, port: config.port });
  if (insecure) {
    await new Promise<void>((resolve, reject) => {
      insecure.once('error', reject);
      insecure.listen(config.insecurePort, '127.0.0.1', () => resolve());
    });
  }
  const done = Promise.all([...loops, compactor, serviceLoop, aggregation, crdLoop]).then(async () => {
    // Requests in flight get a moment to finish. Then every connection goes:
    // a client may hold one open with no request on it (fetch reconnects
    // after an aborted watch), and server.close() would wait for it forever.
    const force = setTimeout(() => {
      app.server.closeAllConnections();
      insecure?.closeAllConnections();
    }, shutdownGraceMs);
    if (insecure) await new Promise((resolve) => insecure.close(resolve));
    await app.close();
    o.audit?.flush();
    clearTimeout(force);
    etcd.close();
  });
  return { done };
}
