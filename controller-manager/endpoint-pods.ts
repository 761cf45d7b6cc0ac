/**
 * What the endpoints and endpointslice controllers share: which pods back a
 * Service, which of their ports each service port resolves to (named
 * targetPorts per pod), the services a pod may belong to, and the informer
 * handlers that follow from that. Functions over cached objects; no I/O.
 */
import type { Pod, Service } from '../api/objects.js';
import { labelSelectorFromSet } from '../api/selectors.js';
import { stableJson } from '../api/stable-json.js';
import type { ServicePort } from '../api/types/service.js';
import type { Indexer } from '../client/indexer.js';
import { namespaceIndex } from '../client/indexer.js';
import type { EventHandler } from '../client/informer.js';

export const headlessLabel = 'service.kubernetes.io/headless';

/** A resolved port of one pod for one service port. */
export interface ResolvedPort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** Whether the controllers keep endpoints for this service: a non-empty selector, not ExternalName. */
export function managesEndpoints(svc: Service): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0 && svc.spec?.type !== 'ExternalName';
}

export function isHeadless(svc: Service): boolean {
  return svc.spec?.clusterIP === 'None';
}

/**
 * Whether a pod may appear at all: it has an IP and has not finished; a
 * terminating pod only where `includeTerminating` (EndpointSlices always,
 * Endpoints only with publishNotReadyAddresses).
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (!pod.status?.podIP && !pod.status?.podIPs?.length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** The pods of the service's namespace that its selector matches. */
export function podsForService(svc: Service, pods: Indexer<Pod>): Pod[] {
  const selector = labelSelectorFromSet(svc.spec?.selector ?? {});
  return pods
    .byIndex(namespaceIndex, svc.metadata.namespace!)
    .filter((p) => selector.matches(p.metadata.labels));
}

/** Services in the pod's namespace whose selector matches the pod's labels. */
export function servicesForPod(pod: Pod, services: Indexer<Service>): Service[] {
  return services
    .byIndex(namespaceIndex, pod.metadata.namespace!)
    .filter(
      (s) => managesEndpoints(s) && labelSelectorFromSet(s.spec!.selector!).matches(pod.metadata.labels),
    );
}

/**
 * The service and pod handlers of both controllers: any change of a service
 * syncs it; a pod change syncs the services that select the pod, and after a
 * label change also those that selected it before.
 */
export function serviceAndPodHandlers(
  services: Indexer<Service>,
  enqueue: (svc: Service) => void,
): { services: EventHandler<Service>; pods: EventHandler<Pod> } {
  const forPod = (pod: Pod) => {
    for (const s of servicesForPod(pod, services)) enqueue(s);
  };
  return {
    services: {
      onAdd: (s) => enqueue(s),
      onUpdate: (_o, s) => enqueue(s),
      onDelete: (s) => enqueue(s),
    },
    pods: {
      onAdd: forPod,
      onUpdate: (old, pod) => {
        forPod(pod);
        if (stableJson(old.metadata.labels) !== stableJson(pod.metadata.labels)) forPod(old);
      },
      onDelete: forPod,
    },
  };
}

/** FindPort: a numeric targetPort as is; a named one is the pod's container port of that name and protocol. */
export function findPort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (target === undefined) return undefined;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? 'TCP';
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  return undefined;
}

/** The service's ports as this pod serves them; ports the pod lacks are left out. */
export function resolvePorts(svc: Service, pod: Pod): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const r: ResolvedPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol) r.appProtocol = sp.appProtocol;
    out.push(r);
  }
  return out;
}

/** A stable text for a set of ports, to group pods that serve the same ones. */
export function portsSignature(ports: ResolvedPort[]): string {
  return JSON.stringify(
    [...ports].sort((a, b) => (a.name + a.protocol + a.port).localeCompare(b.name + b.protocol + b.port)),
  );
}

/** `hostname` of a pod's endpoint: its spec.hostname when its subdomain is the service's name. */
export function endpointHostname(pod: Pod, svc: Service): string | undefined {
  return pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name ? pod.spec.hostname : undefined;
}

export function podReference(pod: Pod) {
  return { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
}

/** Labels of what the controllers write: the service's own, plus the headless marker. */
export function endpointLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata.labels ?? {}) };
  if (isHeadless(svc)) labels[headlessLabel] = '';
  return labels;
}
