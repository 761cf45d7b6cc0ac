/**
 * The `kubernetes` Service in `default` (the first address of the service
 * range, port 443 to the apiserver's port) and its Endpoints and
 * EndpointSlice listing each apiserver's advertise address; plus the loop that frees a deleted
 * Service's IP and node ports and repairs leaks.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import type { Registry, ResourceType } from '../api/registry.js';
import { isAlreadyExists, isConflict } from '../api/status.js';
import { realClock } from '../client/clock.js';
import type { ServiceAllocator } from './service-alloc.js';
import { kubernetesServiceIP } from './service-alloc.js';
import type { ResourceStore } from './store.js';

export interface KubernetesServiceConfig {
  serviceClusterIPRange: string;
  port: number;
  /** Address other hosts and pods reach this apiserver on; none for a loopback-only apiserver. */
  advertiseAddress?: string;
}

export async function ensureKubernetesService(
  stores: Map<ResourceType, ResourceStore>,
  registry: Registry,
  config: KubernetesServiceConfig,
  log: Logger,
): Promise<void> {
  const services = stores.get(registry.get('', 'v1', 'services')!)!;
  const exists = () =>
    services.get('default', 'kubernetes').then(
      () => true,
      () => false,
    );
  // Several apiservers may start at once: the loser's claim on the address
  // fails while the winner's create is still in flight, so it looks again.
  for (let attempt = 0; !(await exists()); attempt++) {
    try {
      await services.create('default', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: {
          type: 'ClusterIP',
          clusterIP: kubernetesServiceIP(config.serviceClusterIPRange),
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: config.port }],
          sessionAffinity: 'None',
        },
      });
      log.info('created the kubernetes service');
      break;
    } catch (err) {
      if (attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  if (!config.advertiseAddress) return;
  await ensureEndpoints(stores, registry, config.advertiseAddress, config.port);
  await ensureEndpointSlice(stores, registry, config.advertiseAddress, config.port);
}

/** The Endpoints of `kubernetes`: every apiserver adds its own address. */
async function ensureEndpoints(
  stores: Map<ResourceType, ResourceStore>,
  registry: Registry,
  ip: string,
  apiPort: number,
): Promise<void> {
  const endpoints = stores.get(registry.get('', 'v1', 'endpoints')!)!;
  const port = { name: 'https', port: apiPort, protocol: 'TCP' };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const cur = await endpoints.get('default', 'kubernetes').catch(() => undefined);
      if (!cur) {
        await endpoints.create('default', {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
          subsets: [{ addresses: [{ ip }], ports: [port] }],
        });
        return;
      }
      const subsets = (cur.subsets ?? []) as { addresses?: { ip: string }[]; ports?: unknown[] }[];
      const addresses = subsets[0]?.addresses ?? [];
      if (addresses.some((a) => a.ip === ip)) return;
      await endpoints.update(
        'default',
        'kubernetes',
        { ...cur, subsets: [{ addresses: [...addresses, { ip }], ports: [port] }] },
        undefined,
      );
      return;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) throw err;
    }
  }
}

/**
 * The EndpointSlice of `kubernetes`, which kube-proxy reads (the apiserver
 * writes it itself, as Kubernetes does: the Service has no selector for
 * the EndpointSlice controller to follow).
 */
async function ensureEndpointSlice(
  stores: Map<ResourceType, ResourceStore>,
  registry: Registry,
  ip: string,
  apiPort: number,
): Promise<void> {
  const rt = registry.get('discovery.k8s.io', 'v1', 'endpointslices');
  const slices = rt && stores.get(rt);
  if (!slices) return;
  type Slice = KubeObject & { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] };
  const port = { name: 'https', port: apiPort, protocol: 'TCP' };
  const endpoint = { addresses: [ip], conditions: { ready: true, serving: true, terminating: false } };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const cur = (await slices.get('default', 'kubernetes').catch(() => undefined)) as Slice | undefined;
      if (!cur) {
        await slices.create('default', {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
          addressType: 'IPv4',
          endpoints: [endpoint],
          ports: [port],
        });
        return;
      }
      const have = cur.endpoints ?? [];
      if (have.some((e) => e.addresses.includes(ip))) return;
      await slices.update(
        'default',
        'kubernetes',
        { ...cur, endpoints: [...have, endpoint], ports: [port] },
        undefined,
      );
      return;
    } catch (err) {
      if (!isConflict(err) && !isAlreadyExists(err)) throw err;
    }
  }
}

/** Frees allocations of deleted Services as the watch cache sees them, and repairs every minute. */
export async function runServiceAllocations(
  alloc: ServiceAllocator,
  services: ResourceStore,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  const listener = {
    onEvent: (ev: { type: string; entry: { obj: KubeObject } }) => {
      if (ev.type === 'DELETED')
        alloc.release(ev.entry.obj).catch((err) => log.warn({ err }, 'could not free a service allocation'));
    },
    onReset: () => undefined,
  };
  await services.cache.ready();
  services.cache.watchFromNow(listener);
  while (!signal.aborted) {
    await realClock.sleep(60_000, signal);
    if (signal.aborted) break;
    try {
      const live = new Map([...services.cache.items.values()].map((e) => [e.obj.metadata.uid ?? '', e.obj]));
      await alloc.repair(live);
    } catch (err) {
      log.warn({ err }, 'service allocation repair failed; will retry');
    }
  }
  services.cache.unwatch(listener);
}
