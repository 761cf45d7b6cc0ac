/**
 * core/v1 Service and Endpoints: schemas, defaulting, validation and the
 * columns of `kubectl get svc` / `kubectl get ep`. Cluster IPs, node ports and
 * health-check node ports are allocated by the apiserver after defaulting;
 * nothing here picks one.
 */
import { isIPv6 } from 'node:net';
import type { Static } from '@sinclair/typebox';
import { Condition, ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { Bool, Int, IntOrString, List, MapList, Str, StrMap, Struct } from '../schema.js';
import type { FieldError } from '../status.js';
import { ObjectReference } from './core-common.js';
import { externallyAccessible, validateEndpoints, validateService } from './service-validation.js';

export { externallyAccessible };

// ---- Service ----

export const ServicePort = Struct(
  {
    name: Str('Name of the port, unique in the service; required when there is more than one.'),
    protocol: { ...Str('TCP (default), UDP or SCTP.'), default: 'TCP' },
    appProtocol: Str('Application protocol hint, e.g. http or kubernetes.io/h2c.'),
    port: Int('Port the service listens on.'),
    targetPort: IntOrString('Port number or named container port of the pods; defaults to port.'),
    nodePort: Int('Port opened on every node for NodePort and LoadBalancer services.'),
  },
  'One port the service exposes.',
);
export type ServicePort = Static<typeof ServicePort>;

export const SessionAffinityConfig = Struct(
  {
    clientIP: Struct({
      timeoutSeconds: Int('How long a client sticks to one endpoint: 1-86400 seconds, 10800 by default.'),
    }),
  },
  'Settings of session affinity: how long a client sticks to one endpoint.',
);

export const ServiceSpec = Struct(
  {
    type: Str('ClusterIP (default), NodePort, LoadBalancer or ExternalName.'),
    selector: StrMap(
      'Labels of the pods that back the service; no selector means endpoints are managed by hand.',
    ),
    ports: MapList(ServicePort, ['port', 'protocol'], 'Ports the service exposes.'),
    clusterIP: Str('Virtual IP of the service, "None" for a headless service; allocated when empty.'),
    clusterIPs: List(Str(), 'Virtual IPs, one per IP family; the first equals clusterIP.'),
    externalIPs: List(Str(), 'Extra IPs that nodes accept traffic for on the service ports.'),
    sessionAffinity: Str('None (default) or ClientIP to send one client to one endpoint.'),
    sessionAffinityConfig: SessionAffinityConfig,
    loadBalancerIP: Str('Deprecated: IP the load balancer should use, if the provider supports it.'),
    loadBalancerSourceRanges: List(Str(), 'Client CIDRs allowed through the load balancer.'),
    loadBalancerClass: Str('Load balancer implementation that should handle this service.'),
    allocateLoadBalancerNodePorts: Bool('Whether a LoadBalancer service gets node ports; true by default.'),
    externalName: Str('DNS name the service is an alias (CNAME) for; ExternalName services only.'),
    externalTrafficPolicy: Str(
      'Cluster or Local: whether external traffic may leave the node it arrives on.',
    ),
    internalTrafficPolicy: Str(
      'Cluster or Local: whether in-cluster traffic may leave the node it comes from.',
    ),
    healthCheckNodePort: Int(
      'Node port for load balancer health checks when externalTrafficPolicy is Local.',
    ),
    publishNotReadyAddresses: Bool('Publish endpoints of pods that are not ready too.'),
    ipFamilies: List(Str(), 'IPv4 and/or IPv6, in the order the cluster IPs are given.'),
    ipFamilyPolicy: Str('SingleStack, PreferDualStack or RequireDualStack.'),
    trafficDistribution: Str('Routing preference: PreferClose, PreferSameZone or PreferSameNode.'),
  },
  'How a service is reached and which pods back it.',
);
export type ServiceSpec = Static<typeof ServiceSpec>;

export const LoadBalancerIngress = Struct(
  {
    ip: Str('IP of the load balancer.'),
    hostname: Str('DNS name of the load balancer.'),
    ipMode: Str('VIP or Proxy: how traffic reaches the nodes.'),
    ports: List(
      Struct({ port: Int('Service port.'), protocol: Str('Its protocol.'), error: Str('Problem with it.') }),
      'Status of each service port.',
    ),
  },
  'One entry point of a load balancer.',
);

export const ServiceStatus = Struct(
  {
    loadBalancer: Struct(
      { ingress: List(LoadBalancerIngress, 'Entry points of the load balancer.') },
      'The load balancer of the service, for type LoadBalancer.',
    ),
    conditions: MapList(Condition, ['type'], 'Current state of the service.'),
  },
  'The observed state of a service.',
);

export const Service = Struct(
  { ...TypeMeta, metadata: ObjectMeta, spec: ServiceSpec, status: ServiceStatus },
  'A stable virtual IP and DNS name in front of a set of pods, or an alias for an outside name.',
);
export type Service = Static<typeof Service>;

export function defaultService(svc: Service): void {
  svc.spec ??= {};
  const spec = svc.spec;
  spec.type ||= 'ClusterIP';
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (
    spec.sessionAffinity === 'ClientIP' &&
    spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined
  )
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  for (const p of spec.ports ?? []) {
    p.protocol ||= 'TCP';
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec)) spec.externalTrafficPolicy ||= 'Cluster';
  if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
  if (spec.type === 'LoadBalancer') {
    spec.allocateLoadBalancerNodePorts ??= true;
    for (const ing of svc.status?.loadBalancer?.ingress ?? []) if (ing.ip) ing.ipMode ??= 'VIP';
  }
  if (spec.type === 'ExternalName') return;
  // clusterIP and clusterIPs[0] name the same address: fill whichever is missing.
  if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  if (!spec.clusterIP && spec.clusterIPs?.length) spec.clusterIP = spec.clusterIPs[0];
  // Families follow the given cluster IPs, else the service range's: IPv4, the only
  // family --service-cluster-ip-range accepts.
  if (!spec.ipFamilies?.length) {
    const ips = (spec.clusterIPs ?? []).filter((ip) => ip !== 'None');
    spec.ipFamilies = ips.length ? ips.map((ip) => (isIPv6(ip) ? 'IPv6' : 'IPv4')) : ['IPv4'];
  }
  if (!spec.ipFamilyPolicy && spec.ipFamilies.length === 1) spec.ipFamilyPolicy = 'SingleStack';
}

/** `kubectl get svc` EXTERNAL-IP. */
export function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const external = spec.externalIPs ?? [];
  switch (spec.type ?? 'ClusterIP') {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = new Set<string>();
      for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
        if (ing.ip) lb.add(ing.ip);
        else if (ing.hostname) lb.add(ing.hostname);
      }
      const all = [...[...lb].sort(), ...external];
      return all.length ? all.join(',') : '<pending>';
    }
    case 'ExternalName':
      return spec.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** `kubectl get svc` PORT(S): `80:30080/TCP,443/TCP`. */
export function servicePorts(svc: Service): string {
  const ports = (svc.spec?.ports ?? []).map((p) =>
    p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol}` : `${p.port}/${p.protocol}`,
  );
  return ports.length ? ports.join(',') : '<none>';
}

/** A label map as `a=b,c=d` with keys sorted, `<none>` when empty. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

// ---- Endpoints ----

export const EndpointAddress = Struct(
  {
    ip: Str('IP of the endpoint.'),
    hostname: Str('Hostname of the endpoint, for DNS.'),
    nodeName: Str('Node the endpoint runs on.'),
    targetRef: ObjectReference,
  },
  'One backend of a service, usually a pod.',
);

export const EndpointPort = Struct(
  {
    name: Str('Name of the service port this is for; required when there is more than one.'),
    port: Int('Port number on the endpoint.'),
    protocol: Str('TCP (default), UDP or SCTP.'),
    appProtocol: Str('Application protocol hint.'),
  },
  'A port served by every address of a subset.',
);

export const EndpointSubset = Struct(
  {
    addresses: List(EndpointAddress, 'Addresses that are ready to serve.'),
    notReadyAddresses: List(EndpointAddress, 'Addresses that are not ready yet.'),
    ports: List(EndpointPort, 'Ports served by every address of the subset.'),
  },
  'A set of addresses that all serve the same ports.',
);

export const Endpoints = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    subsets: List(EndpointSubset, 'Addresses and ports, grouped by the ports they serve.'),
  },
  'The addresses behind a service, kept by the endpoints controller for services with a selector.',
);
export type Endpoints = Static<typeof Endpoints>;

/** `kubectl get ep` ENDPOINTS: the first three `ip:port`, then `+ N more...`. */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return '<none>';
  const max = 3;
  const shown: string[] = [];
  let total = 0;
  const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    // Headless services may have no ports: list bare IPs.
    const ports: (number | undefined)[] = ss.ports?.length ? ss.ports.map((p) => p.port) : [undefined];
    for (const port of ports) {
      total += addrs.length;
      for (const a of addrs) {
        if (shown.length === max) break;
        shown.push(port === undefined ? (a.ip ?? '') : hostPort(a.ip ?? '', port));
      }
    }
  }
  if (total > max) return `${shown.join(',')} + ${total - max} more...`;
  return shown.length ? shown.join(',') : '<none>';
}

export const serviceTypes: ResourceType[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    shortNames: ['svc'],
    categories: ['all'],
    namespaced: true,
    returnDeletedObject: true,
    subresources: ['status', 'proxy'],
    schema: Service,
    nameIsLabel: true,
    defaults: (obj) => defaultService(obj as Service),
    zeroStatus: { loadBalancer: {} },
    validate: (obj, old) => validateService(obj as Service, old as Service | undefined),
    fieldLabels: (obj) => ({
      'spec.clusterIP': (obj as Service).spec?.clusterIP ?? '',
      'spec.type': (obj as Service).spec?.type ?? '',
    }),
    columns: [
      column('Type', 'Type of the service.', (o) => (o as Service).spec?.type ?? ''),
      column('Cluster-IP', 'Cluster IP of the service.', (o) => {
        const spec = (o as Service).spec;
        return spec?.clusterIPs?.[0] ?? (spec?.clusterIP || '<none>');
      }),
      column('External-IP', 'External IPs, load balancer addresses or the external name.', (o) =>
        serviceExternalIP(o as Service),
      ),
      column('Port(s)', 'Ports of the service, with node ports.', (o) => servicePorts(o as Service)),
      ageColumn,
      column(
        'Selector',
        'Labels of the pods behind the service.',
        (o) => formatLabels((o as Service).spec?.selector),
        {
          priority: 1,
        },
      ),
    ],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    plural: 'endpoints',
    singular: 'endpoints',
    shortNames: ['ep'],
    categories: [],
    namespaced: true,
    subresources: [],
    schema: Endpoints,
    defaults: (obj) => {
      for (const ss of (obj as Endpoints).subsets ?? []) for (const p of ss.ports ?? []) p.protocol ||= 'TCP';
    },
    validate: (obj): FieldError[] => validateEndpoints(obj as Endpoints),
    columns: [
      column('Endpoints', 'Addresses and ports of the endpoints.', (o) => formatEndpoints(o as Endpoints)),
    ],
  },
];
