/**
 * The EndpointSlice controller (`endpointslice`): for every Service with a
 * selector, EndpointSlices (discovery.k8s.io/v1, addressType IPv4) labelled
 * `kubernetes.io/service-name` and owned by the Service. Endpoints serving
 * the same resolved ports share a slice, at most 100 per slice; a service
 * with no endpoints keeps one empty placeholder slice. Each endpoint carries
 * ready/serving/terminating, nodeName, targetRef and hostname.
 *
 * The cache may lag our own writes, so the controller remembers the
 * resourceVersion of every slice it wrote and the names it deleted, and
 * waits (requeues) while the cache is older than that, instead of creating
 * a slice twice.
 */
import type { EndpointSlice, Pod, Service } from '../api/objects.js';
import { stableJson } from '../api/stable-json.js';
import { isNotFound } from '../api/status.js';
import { isPodReady } from '../api/types/pod-facts.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  endpointHostname,
  endpointLabels,
  managesEndpoints,
  podReference,
  podsForService,
  portsSignature,
  type ResolvedPort,
  resolvePorts,
  serviceAndPodHandlers,
  shouldPodBeInEndpoints,
} from './endpoint-pods.js';

type Endpoint = NonNullable<EndpointSlice['endpoints']>[number];

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
export const controllerName = 'endpointslice-controller.k8s.io';
export const maxEndpointsPerSlice = 100;
const serviceIndex = 'endpointslice/service';

/** The slices a service should have: endpoints and ports of each, in a stable order. */
export function desiredSlices(svc: Service, pods: Pod[]): { ports: ResolvedPort[]; endpoints: Endpoint[] }[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: ResolvedPort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip;
    if (!ip || ip.includes(':')) continue;
    const ports = resolvePorts(svc, pod);
    if ((svc.spec?.ports ?? []).length > 0 && ports.length === 0) continue;
    const serving = publishNotReady || isPodReady(pod);
    const terminating = !!pod.metadata.deletionTimestamp;
    const ep: Endpoint = {
      addresses: [ip],
      conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
      targetRef: podReference(pod),
    };
    if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
    const hostname = endpointHostname(pod, svc);
    if (hostname) ep.hostname = hostname;
    const sig = portsSignature(ports);
    if (!groups.has(sig)) groups.set(sig, { ports, endpoints: [] });
    groups.get(sig)!.endpoints.push(ep);
  }
  const out: { ports: ResolvedPort[]; endpoints: Endpoint[] }[] = [];
  for (const [, g] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    g.endpoints.sort((a, b) => a.addresses![0].localeCompare(b.addresses![0]));
    const ports = [...g.ports].sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port);
    for (let i = 0; i < g.endpoints.length; i += maxEndpointsPerSlice)
      out.push({ ports, endpoints: g.endpoints.slice(i, i + maxEndpointsPerSlice) });
  }
  // A service without endpoints keeps one empty slice, as Kubernetes' placeholder.
  if (out.length === 0) out.push({ ports: [], endpoints: [] });
  return out;
}

export class EndpointSliceController extends QueueController {
  private readonly services;
  private readonly pods;
  private readonly slices;
  private readonly client: ResourceClient<EndpointSlice>;
  /** Our writes the cache has not shown yet, by slice `ns/name`: the resourceVersion, or `''` once deleted. */
  private readonly written = new Map<string, { service: string; rv: string }>();

  constructor(ctx: ControllerContext) {
    super('endpointslice', ctx);
    this.client = new ResourceClient<EndpointSlice>(
      ctx.rest,
      ctx.registry.get('discovery.k8s.io', 'v1', 'endpointslices')!,
    );
    this.services = this.informer<Service>('services');
    this.pods = this.informer<Pod>('pods');
    this.slices = this.informer<EndpointSlice>('endpointslices.discovery.k8s.io', {
      indexers: {
        [serviceIndex]: (s) =>
          s.metadata.labels?.[managedByLabel] === controllerName && s.metadata.labels[serviceNameLabel]
            ? [`${s.metadata.namespace}/${s.metadata.labels[serviceNameLabel]}`]
            : [],
      },
    });
    const handlers = serviceAndPodHandlers(this.services.store, (s) => this.enqueue(s));
    this.services.addEventHandler(handlers.services);
    this.pods.addEventHandler(handlers.pods);
    const forSlice = (s: EndpointSlice) => {
      const svc = s.metadata.labels?.[serviceNameLabel];
      if (s.metadata.labels?.[managedByLabel] === controllerName && svc)
        this.enqueue(`${s.metadata.namespace}/${svc}`);
    };
    this.slices.addEventHandler({ onAdd: forSlice, onUpdate: (_o, s) => forSlice(s), onDelete: forSlice });
  }

  /** True when the cache has caught up with every write we made for this service. */
  private cacheFresh(svcKey: string): boolean {
    for (const [sliceKey, w] of this.written) {
      if (w.service !== svcKey) continue;
      const cached = this.slices.store.get(sliceKey);
      if (w.rv === '' ? cached : !cached || Number(cached.metadata.resourceVersion) < Number(w.rv))
        return false;
      this.written.delete(sliceKey);
    }
    return true;
  }

  async sync(key: string): Promise<void> {
    const svc = this.services.store.get(key);
    const existing = this.slices.store.byIndex(serviceIndex, key);
    if (!this.cacheFresh(key)) {
      this.queue.addAfter(key, 100);
      return;
    }
    if (!svc || !managesEndpoints(svc)) {
      // Owned by the service, the garbage collector would remove them too; this is quicker.
      for (const s of existing) await this.remove(key, s);
      return;
    }
    const want = desiredSlices(svc, podsForService(svc, this.pods.store));
    const labels = {
      ...endpointLabels(svc),
      [serviceNameLabel]: svc.metadata.name!,
      [managedByLabel]: controllerName,
    };
    const unused = [...existing].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    const toWrite: { slice?: EndpointSlice; ports: ResolvedPort[]; endpoints: Endpoint[] }[] = [];
    // Prefer a slice that already has the ports (and then the same endpoints): fewer changes.
    for (const w of want) {
      const sig = portsSignature(w.ports);
      let i = unused.findIndex(
        (s) =>
          portsSignature((s.ports ?? []) as ResolvedPort[]) === sig &&
          stableJson(s.endpoints ?? []) === stableJson(w.endpoints),
      );
      if (i < 0) i = unused.findIndex((s) => portsSignature((s.ports ?? []) as ResolvedPort[]) === sig);
      if (i < 0 && unused.length > want.length - toWrite.length - 1) i = 0;
      toWrite.push({ slice: i >= 0 ? unused.splice(i, 1)[0] : undefined, ...w });
    }
    for (const w of toWrite) await this.write(key, svc, labels, w);
    for (const s of unused) await this.remove(key, s);
  }

  private async write(
    svcKey: string,
    svc: Service,
    labels: Record<string, string>,
    w: { slice?: EndpointSlice; ports: ResolvedPort[]; endpoints: Endpoint[] },
  ): Promise<void> {
    const ownerRef = {
      apiVersion: 'v1',
      kind: 'Service',
      name: svc.metadata.name!,
      uid: svc.metadata.uid!,
      controller: true,
      blockOwnerDeletion: true,
    };
    const body: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: w.slice
        ? { ...structuredClone(w.slice.metadata), labels, ownerReferences: [ownerRef] }
        : {
            generateName: `${svc.metadata.name}-`,
            namespace: svc.metadata.namespace,
            labels,
            ownerReferences: [ownerRef],
          },
      addressType: 'IPv4',
      endpoints: w.endpoints,
      ports: w.ports,
    };
    if (w.slice) {
      const same = (a: EndpointSlice, b: EndpointSlice) =>
        stableJson([
          a.endpoints ?? [],
          a.ports ?? [],
          a.metadata.labels ?? {},
          a.metadata.ownerReferences ?? [],
        ]) ===
        stableJson([
          b.endpoints ?? [],
          b.ports ?? [],
          b.metadata.labels ?? {},
          b.metadata.ownerReferences ?? [],
        ]);
      if (same(w.slice, body)) return;
    }
    const saved = w.slice ? await this.client.update(body) : await this.client.create(body);
    const sliceKey = `${saved.metadata.namespace}/${saved.metadata.name}`;
    this.written.set(sliceKey, { service: svcKey, rv: saved.metadata.resourceVersion! });
  }

  private async remove(svcKey: string, s: EndpointSlice): Promise<void> {
    const sliceKey = `${s.metadata.namespace}/${s.metadata.name}`;
    try {
      await this.client
        .in(s.metadata.namespace)
        .delete(s.metadata.name!, { preconditions: { uid: s.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    this.written.set(sliceKey, { service: svcKey, rv: '' });
  }
}

export const newEndpointSliceController = (ctx: ControllerContext) => new EndpointSliceController(ctx);
