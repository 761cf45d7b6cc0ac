/**
 * Cluster DNS answers, as Kubernetes' DNS specification defines them,
 * computed per query from informer caches (no API call per query):
 * - `svc.ns.svc.<zone>` A: the cluster IP; for a headless service, the
 *   ready endpoints (or all, with publishNotReadyAddresses); ExternalName: CNAME.
 * - `host.svc.ns.svc.<zone>` A: an endpoint with a hostname (StatefulSet pods).
 * - `_port._proto.svc.ns.svc.<zone>` SRV for named ports.
 * - `a-b-c-d.ns.pod.<zone>` A: a.b.c.d.
 * A name in the zone with no records of the asked type answers NOERROR and
 * no data; a name that does not exist answers NXDOMAIN.
 */
import type { KubeObject } from '../api/meta.js';

export interface Answer {
  name: string;
  type: 'A' | 'AAAA' | 'SRV' | 'CNAME';
  ttl: number;
  data: string | { priority: number; weight: number; port: number; target: string };
}

export interface Lookup {
  service(namespace: string, name: string): KubeObject | undefined;
  /** The EndpointSlices of a service. */
  slices(namespace: string, service: string): KubeObject[];
  namespaceExists(namespace: string): boolean;
}

export interface Result {
  rcode: 'NOERROR' | 'NXDOMAIN';
  answers: Answer[];
}

interface Svc extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    externalName?: string;
    publishNotReadyAddresses?: boolean;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
}
interface Slice extends KubeObject {
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

const nx: Result = { rcode: 'NOERROR', answers: [] };

function endpointsOf(svc: Svc, slices: Slice[]): { ip: string; hostname?: string }[] {
  const out: { ip: string; hostname?: string }[] = [];
  const seen = new Set<string>();
  for (const s of slices) {
    for (const e of s.endpoints ?? []) {
      if (e.conditions?.ready === false && !svc.spec?.publishNotReadyAddresses) continue;
      for (const ip of e.addresses) {
        if (seen.has(ip)) continue;
        seen.add(ip);
        out.push({ ip, hostname: e.hostname });
      }
    }
  }
  return out;
}

/** Answers one question for a name inside the zone (the caller forwards the rest). */
export function resolve(qname: string, qtype: string, zone: string, lookup: Lookup, ttl = 5): Result {
  const name = qname.toLowerCase().replace(/\.$/, '');
  if (!name.endsWith(`.${zone}`) && name !== zone) return { rcode: 'NXDOMAIN', answers: [] };
  const labels = name
    .slice(0, name.length - zone.length - 1)
    .split('.')
    .filter(Boolean);
  const type = labels[labels.length - 1];
  if (labels.length === 0 || (labels.length === 1 && (type === 'svc' || type === 'pod'))) return nx;

  if (type === 'pod' && labels.length === 3) {
    const [dashed, ns] = labels;
    if (!lookup.namespaceExists(ns) || !/^\d+-\d+-\d+-\d+$/.test(dashed))
      return { rcode: 'NXDOMAIN', answers: [] };
    return qtype === 'A'
      ? { rcode: 'NOERROR', answers: [{ name: qname, type: 'A', ttl, data: dashed.replace(/-/g, '.') }] }
      : nx;
  }
  if (type !== 'svc') return { rcode: 'NXDOMAIN', answers: [] };
  const rest = labels.slice(0, -1);
  if (rest.length === 1) return lookup.namespaceExists(rest[0]) ? nx : { rcode: 'NXDOMAIN', answers: [] };

  // _port._proto.svc.ns
  if (rest.length === 4 && rest[0].startsWith('_') && rest[1].startsWith('_')) {
    const [port, proto, svcName, ns] = rest;
    const svc = lookup.service(ns, svcName) as Svc | undefined;
    if (!svc) return { rcode: 'NXDOMAIN', answers: [] };
    const p = (svc.spec?.ports ?? []).find(
      (x) => `_${x.name}` === port && `_${(x.protocol ?? 'TCP').toLowerCase()}` === proto,
    );
    if (!p) return { rcode: 'NXDOMAIN', answers: [] };
    if (qtype !== 'SRV') return nx;
    const base = `${svcName}.${ns}.svc.${zone}`;
    if (svc.spec?.clusterIP === 'None') {
      const slices = lookup.slices(ns, svcName) as Slice[];
      const answers: Answer[] = [];
      for (const e of endpointsOf(svc, slices)) {
        const sp = slices.flatMap((s) => s.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? ''));
        answers.push({
          name: qname,
          type: 'SRV',
          ttl,
          data: {
            priority: 0,
            weight: 100,
            port: sp?.port ?? p.port,
            target: `${e.hostname ?? e.ip.replace(/\./g, '-')}.${base}`,
          },
        });
      }
      return { rcode: 'NOERROR', answers };
    }
    return {
      rcode: 'NOERROR',
      answers: [
        { name: qname, type: 'SRV', ttl, data: { priority: 0, weight: 100, port: p.port, target: base } },
      ],
    };
  }

  if (rest.length === 2 || rest.length === 3) {
    const [svcName, ns] = rest.slice(-2);
    const svc = lookup.service(ns, svcName) as Svc | undefined;
    if (!svc) return { rcode: 'NXDOMAIN', answers: [] };
    if (rest.length === 3) {
      const host = rest[0];
      const ep = endpointsOf(svc, lookup.slices(ns, svcName) as Slice[]).find(
        (e) => e.hostname === host || e.ip.replace(/\./g, '-') === host,
      );
      if (!ep) return { rcode: 'NXDOMAIN', answers: [] };
      return qtype === 'A'
        ? { rcode: 'NOERROR', answers: [{ name: qname, type: 'A', ttl, data: ep.ip }] }
        : nx;
    }
    if (svc.spec?.type === 'ExternalName') {
      return {
        rcode: 'NOERROR',
        answers: [{ name: qname, type: 'CNAME', ttl, data: svc.spec.externalName ?? '' }],
      };
    }
    if (qtype !== 'A') return nx;
    if (svc.spec?.clusterIP === 'None') {
      const eps = endpointsOf(svc, lookup.slices(ns, svcName) as Slice[]);
      return {
        rcode: 'NOERROR',
        answers: eps.map((e) => ({ name: qname, type: 'A' as const, ttl, data: e.ip })),
      };
    }
    return svc.spec?.clusterIP
      ? { rcode: 'NOERROR', answers: [{ name: qname, type: 'A', ttl, data: svc.spec.clusterIP }] }
      : nx;
  }
  return { rcode: 'NXDOMAIN', answers: [] };
}
