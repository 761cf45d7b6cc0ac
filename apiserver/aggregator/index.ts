/**
 * The aggregation layer of one apiserver, built from its stores: the proxy
 * (proxy.ts), the discovery of aggregated groups (discovery.ts), and what
 * runs once the caches are ready: the local APIServices and the
 * extension-apiserver-authentication ConfigMap (local.ts), then the
 * availability loop (available.ts) until the signal aborts.
 */
import type { Logger } from 'pino';
import type { Endpoints, Service } from '../../api/objects.js';
import type { Storage } from '../storage.js';
import { AvailableController } from './available.js';
import { BackendClient, type ProxyClientTLS } from './backend.js';
import { AggregatedDiscovery } from './discovery.js';
import {
  type ExtensionAuthentication,
  ensureExtensionAuthentication,
  ensureLocalAPIServices,
} from './local.js';
import { AggregationProxy } from './proxy.js';
import type { ServiceLookup } from './target.js';

export interface AggregatorOptions {
  store: Storage['store'];
  /** The group-versions this apiserver serves itself at start (each gets a local APIService). */
  localGroupVersions: readonly { group: string; version: string }[];
  /** Whether this apiserver serves a group-version now (custom resources come and go); default: the start's. */
  servedLocally?: (group: string, version: string) => boolean;
  /** The front-proxy client certificate; unset: backends see no client certificate (and will not trust the headers). */
  proxyClient?: ProxyClientTLS;
  /** Published in kube-system/extension-apiserver-authentication. */
  authentication: ExtensionAuthentication;
  logger: Logger;
}

export interface Aggregator {
  proxy: AggregationProxy;
  discovery: AggregatedDiscovery;
  /**
   * Publishes the local APIServices and the ConfigMap (before the
   * apiserver listens, as Kubernetes' post-start hooks gate readiness on them).
   */
  publish(): Promise<void>;
  /** Checks availability until `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

/** The aggregator, or undefined when the registry has no APIService kind. */
export function buildAggregator(o: AggregatorOptions): Aggregator | undefined {
  const apiServices = o.store('apiregistration.k8s.io', 'v1', 'apiservices');
  const services = o.store('', 'v1', 'services');
  const endpoints = o.store('', 'v1', 'endpoints');
  const configMaps = o.store('', 'v1', 'configmaps');
  if (!apiServices || !services || !endpoints || !configMaps) return undefined;
  const logger = o.logger.child({ component: 'aggregator' });
  const lookup: ServiceLookup = {
    service: (ns, name) => services.cache.items.get(services.key(ns, name))?.obj as Service | undefined,
    endpoints: (ns, name) => endpoints.cache.items.get(endpoints.key(ns, name))?.obj as Endpoints | undefined,
  };
  const local = new Set(o.localGroupVersions.map((gv) => `${gv.group}/${gv.version}`));
  const backend = new BackendClient(o.proxyClient);
  const discovery = new AggregatedDiscovery();
  const proxy = new AggregationProxy({
    apiServices,
    lookup,
    backend,
    servedLocally: o.servedLocally ?? ((group, version) => local.has(`${group}/${version}`)),
    logger,
  });
  const available = new AvailableController({
    apiServices,
    services,
    endpoints,
    lookup,
    backend,
    discovery,
    logger,
  });
  return {
    proxy,
    discovery,
    async publish() {
      await ensureLocalAPIServices(apiServices, o.localGroupVersions, logger).catch((err) =>
        logger.error({ err }, 'could not create the local APIServices'),
      );
      await ensureExtensionAuthentication(
        configMaps,
        o.store('rbac.authorization.k8s.io', 'v1', 'roles'),
        o.authentication,
        logger,
      ).catch((err) => logger.error({ err }, 'could not publish the extension apiserver authentication'));
    },
    async run(signal) {
      try {
        await available.run(signal);
      } finally {
        backend.close();
      }
    },
  };
}
