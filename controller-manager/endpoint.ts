/**
 * The endpoints controller (`endpoint`): for every Service with a selector,
 * an Endpoints object of the same name listing the pods it selects, ready
 * ones under `addresses` and the rest under `notReadyAddresses` (all under
 * `addresses` with publishNotReadyAddresses), grouped into subsets by the
 * ports they serve (a named targetPort resolves per pod). Pod changes queue
 * the services that select the pod (before and after), so Endpoints follow
 * readiness at once.
 */
import type { Endpoints, Pod, Service } from '../api/objects.js';
import { stableJson } from '../api/stable-json.js';
import { isNotFound } from '../api/status.js';
import { isPodReady } from '../api/types/pod-facts.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  endpointHostname,
  endpointLabels,
  isHeadless,
  managesEndpoints,
  podReference,
  podsForService,
  portsSignature,
  type ResolvedPort,
  resolvePorts,
  serviceAndPodHandlers,
  shouldPodBeInEndpoints,
} from './endpoint-pods.js';

type Subset = NonNullable<Endpoints['subsets']>[number];
type Address = NonNullable<Subset['addresses']>[number];

/** The subsets of a service's Endpoints: a pure function of the service and its pods. */
export function computeSubsets(svc: Service, pods: Pod[]): Subset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const groups = new Map<string, { ports: ResolvedPort[]; ready: Address[]; notReady: Address[] }>();
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const addr: Address = {
      ip: pod.status!.podIP ?? pod.status!.podIPs![0].ip,
      targetRef: podReference(pod),
    };
    if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
    const hostname = endpointHostname(pod, svc);
    if (hostname) addr.hostname = hostname;
    let ports = resolvePorts(svc, pod);
    if ((svc.spec?.ports ?? []).length === 0) {
      // Only a headless service may have no ports: its addresses stand alone.
      if (!isHeadless(svc)) continue;
      ports = [];
    } else if (ports.length === 0) continue;
    const sig = portsSignature(ports);
    let g = groups.get(sig);
    if (!g) {
      g = { ports, ready: [], notReady: [] };
      groups.set(sig, g);
    }
    (publishNotReady || isPodReady(pod) ? g.ready : g.notReady).push(addr);
  }
  const byIp = (a: Address, b: Address) =>
    (a.ip ?? '').localeCompare(b.ip ?? '') ||
    (a.targetRef?.name ?? '').localeCompare(b.targetRef?.name ?? '');
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => {
      const s: Subset = {};
      if (g.ready.length) s.addresses = g.ready.sort(byIp);
      if (g.notReady.length) s.notReadyAddresses = g.notReady.sort(byIp);
      if (g.ports.length)
        s.ports = [...g.ports].sort((a, b) => a.name.localeCompare(b.name) || a.port - b.port);
      return s;
    });
}

export class EndpointsController extends QueueController {
  private readonly services;
  private readonly pods;
  private readonly endpoints;
  private readonly client: ResourceClient<Endpoints>;

  constructor(ctx: ControllerContext) {
    super('endpoint', ctx);
    this.client = new ResourceClient<Endpoints>(ctx.rest, ctx.registry.get('', 'v1', 'endpoints')!);
    this.services = this.informer<Service>('services');
    this.pods = this.informer<Pod>('pods');
    this.endpoints = this.informer<Endpoints>('endpoints');
    const handlers = serviceAndPodHandlers(this.services.store, (s) => this.enqueue(s));
    this.services.addEventHandler(handlers.services);
    this.pods.addEventHandler(handlers.pods);
    // Someone else changed or removed what we keep: put it back.
    this.endpoints.addEventHandler({
      onUpdate: (_o, e) => this.enqueue(e),
      onDelete: (e) => this.enqueue(e),
    });
  }

  async sync(key: string): Promise<void> {
    const svc = this.services.store.get(key);
    const current = this.endpoints.store.get(key);
    if (!svc) {
      // The Endpoints of a deleted service go too (the garbage collector would be slower).
      if (current) await this.deleteEndpoints(current);
      return;
    }
    if (!managesEndpoints(svc)) return;
    const subsets = computeSubsets(svc, podsForService(svc, this.pods.store));
    const labels = endpointLabels(svc);
    if (
      current &&
      stableJson(current.subsets ?? []) === stableJson(subsets) &&
      stableJson(current.metadata.labels ?? {}) === stableJson(labels)
    )
      return;
    const want: Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: current
        ? { ...structuredClone(current.metadata), labels }
        : { name: svc.metadata.name, namespace: svc.metadata.namespace, labels },
      subsets,
    };
    if (current) await this.client.update(want);
    else await this.client.create(want);
    this.log.debug({ service: key, subsets: subsets.length }, 'endpoints written');
  }

  private async deleteEndpoints(ep: Endpoints): Promise<void> {
    try {
      await this.client
        .in(ep.metadata.namespace)
        .delete(ep.metadata.name!, { preconditions: { uid: ep.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const newEndpointsController = (ctx: ControllerContext) => new EndpointsController(ctx);
