/**
 * What kube-proxy programs, reduced to plain data: one entry per service
 * port and its endpoints. Built from Service and EndpointSlice objects by
 * pure functions, so the renderer and its tests never see API objects.
 */
import type { KubeObject } from '../api/meta.js';

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Endpoint {
  ip: string;
  port: number;
  ready: boolean;
  /** Serving but terminating: used only when no endpoint is ready. */
  serving: boolean;
}

export interface ServicePort {
  /** `namespace/name:portName` as Kubernetes names a service port. */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  nodePort?: number;
  externalIPs: string[];
  sessionAffinityTimeout?: number;
  endpoints: Endpoint[];
}

interface ServiceObj extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    ports?: {
      name?: string;
      port: number;
      protocol?: Protocol;
      nodePort?: number;
      targetPort?: number | string;
    }[];
    externalIPs?: string[];
    sessionAffinity?: string;
    sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  };
}

interface SliceObj extends KubeObject {
  addressType?: string;
  endpoints?: {
    addresses: string[];
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

/**
 * Service ports with their endpoints, for every Service with a cluster IP.
 * Every endpoint serves every kind of traffic: externalTrafficPolicy and
 * internalTrafficPolicy Local are not applied (docs/kube-proxy.md).
 */
export function buildServicePorts(services: KubeObject[], slices: KubeObject[]): ServicePort[] {
  const bySvc = new Map<string, SliceObj[]>();
  for (const s of slices as SliceObj[]) {
    const svc = s.metadata.labels?.['kubernetes.io/service-name'];
    if (!svc || (s.addressType && s.addressType !== 'IPv4')) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    bySvc.set(key, [...(bySvc.get(key) ?? []), s]);
  }
  const out: ServicePort[] = [];
  for (const svc of services as ServiceObj[]) {
    const spec = svc.spec ?? {};
    if (!spec.clusterIP || spec.clusterIP === 'None' || spec.type === 'ExternalName') continue;
    const ns = svc.metadata.namespace ?? 'default';
    const name = svc.metadata.name ?? '';
    for (const p of spec.ports ?? []) {
      const protocol = p.protocol ?? 'TCP';
      const portName = p.name ?? '';
      const seen = new Set<string>();
      const endpoints: Endpoint[] = [];
      for (const slice of bySvc.get(`${ns}/${name}`) ?? []) {
        const sp = (slice.ports ?? []).find(
          (x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol,
        );
        if (!sp?.port) continue;
        for (const e of slice.endpoints ?? []) {
          const ready = e.conditions?.ready !== false;
          const serving = e.conditions?.serving ?? ready;
          for (const ip of e.addresses) {
            const k = `${ip}:${sp.port}`;
            if (seen.has(k)) continue;
            seen.add(k);
            endpoints.push({ ip, port: sp.port, ready, serving });
          }
        }
      }
      endpoints.sort((a, b) => (a.ip === b.ip ? a.port - b.port : a.ip < b.ip ? -1 : 1));
      out.push({
        id: `${ns}/${name}${portName ? `:${portName}` : ''}`,
        namespace: ns,
        name,
        portName,
        protocol,
        clusterIP: spec.clusterIP,
        port: p.port,
        nodePort: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? p.nodePort : undefined,
        externalIPs: spec.externalIPs ?? [],
        sessionAffinityTimeout:
          spec.sessionAffinity === 'ClientIP'
            ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10800)
            : undefined,
        endpoints,
      });
    }
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.protocol < b.protocol ? -1 : 1));
}

/** The endpoints traffic goes to: ready ones, else serving-but-terminating ones. */
export function usableEndpoints(eps: Endpoint[]): Endpoint[] {
  const ready = eps.filter((e) => e.ready);
  return ready.length ? ready : eps.filter((e) => e.serving);
}
