/**
 * The ingress routing table, from plain API objects by pure functions:
 * which Ingresses are ours (class `nanokube`, or no class while ours is the
 * default IngressClass), then for a request's host and path the backend
 * Kubernetes would pick, and that backend's ready endpoints from its
 * EndpointSlices.
 *
 * Matching as Kubernetes defines it: a rule's host matches exactly, or as
 * `*.domain` a single leading label; exact hosts win over wildcards, and a
 * rule without host matches any. Among the matching rule's paths, Exact
 * beats Prefix, and the longest prefix wins; Prefix matches by path element
 * (`/api` matches `/api` and `/api/x`, not `/apix`); ImplementationSpecific
 * is treated as Prefix. No match: the Ingress's defaultBackend, else 404.
 */
import type { KubeObject } from '../api/meta.js';

export const className = 'nanokube';
export const controllerName = 'nanokube.io/ingress-controller';
export const defaultClassAnnotation = 'ingressclass.kubernetes.io/is-default-class';

export interface Backend {
  namespace: string;
  service: string;
  /** The service port, by number or name. */
  port: number | string;
}

interface IngressBackendObj {
  service?: { name?: string; port?: { number?: number; name?: string } };
}

export interface IngressObj extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackendObj;
    tls?: { hosts?: string[]; secretName?: string }[];
    rules?: {
      host?: string;
      http?: { paths?: { path?: string; pathType?: string; backend?: IngressBackendObj }[] };
    }[];
  };
}

export interface ServiceObj extends KubeObject {
  spec?: { ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] };
}

export interface SliceObj extends KubeObject {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

/** Whether this controller serves the Ingress. */
export function isOurs(ing: IngressObj, defaultIsOurs: boolean): boolean {
  const cls = ing.spec?.ingressClassName ?? ing.metadata.annotations?.['kubernetes.io/ingress.class'];
  return cls === undefined ? defaultIsOurs : cls === className;
}

function toBackend(ns: string, b: IngressBackendObj | undefined): Backend | undefined {
  const svc = b?.service;
  if (!svc?.name) return undefined;
  const port = svc.port?.number ?? svc.port?.name;
  return port === undefined ? undefined : { namespace: ns, service: svc.name, port };
}

/** 3: the exact host; 2: a `*.` wildcard; 1: a rule for any host; 0: no match. */
function hostMatches(ruleHost: string | undefined, host: string): 0 | 1 | 2 | 3 {
  if (!ruleHost) return 1;
  if (ruleHost === host) return 3;
  if (ruleHost.startsWith('*.')) {
    const suffix = ruleHost.slice(1);
    const first = host.indexOf('.');
    if (first > 0 && host.slice(first) === suffix) return 2;
  }
  return 0;
}

function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  if (p === '') return true;
  return path === p || path.startsWith(`${p}/`);
}

/** The backend for a request, or undefined for 404. */
export function route(ingresses: IngressObj[], host: string, path: string): Backend | undefined {
  const h = host.toLowerCase().replace(/:\d+$/, '');
  // Candidate rules: best host match first, then the oldest Ingress (as controllers order them).
  const sorted = [...ingresses].sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(
        `${b.metadata.namespace}/${b.metadata.name}`,
      ),
  );
  let best: { score: number; rank: number; backend: Backend } | undefined;
  for (const ing of sorted) {
    const ns = ing.metadata.namespace ?? 'default';
    for (const rule of ing.spec?.rules ?? []) {
      const hostScore = hostMatches(rule.host, h);
      if (hostScore === 0) continue;
      for (const p of rule.http?.paths ?? []) {
        const backend = toBackend(ns, p.backend);
        if (!backend) continue;
        const want = p.path || '/';
        let rank: number;
        if (p.pathType === 'Exact') {
          if (path !== want) continue;
          rank = 1e6 + want.length;
        } else {
          if (!prefixMatches(want, path)) continue;
          rank = want.replace(/\/+$/, '').length;
        }
        // A better host match wins over any path; then Exact over Prefix; then the longest prefix.
        const score = hostScore;
        if (!best || score > best.score || (score === best.score && rank > best.rank))
          best = { score, rank, backend };
      }
    }
  }
  if (best) return best.backend;
  for (const ing of sorted) {
    const b = toBackend(ing.metadata.namespace ?? 'default', ing.spec?.defaultBackend);
    if (b) return b;
  }
  return undefined;
}

export interface Target {
  ip: string;
  port: number;
}

/**
 * The ready endpoints of a backend: the Service's port (by number or name)
 * leads to the EndpointSlice port of the same name.
 */
export function endpointsOf(
  backend: Backend,
  services: Map<string, ServiceObj>,
  slicesByService: Map<string, SliceObj[]>,
): Target[] | 'no-service' {
  const key = `${backend.namespace}/${backend.service}`;
  const svc = services.get(key);
  if (!svc) return 'no-service';
  const sp = (svc.spec?.ports ?? []).find((p) =>
    typeof backend.port === 'number' ? p.port === backend.port : p.name === backend.port,
  );
  if (!sp) return [];
  const portName = sp.name ?? '';
  const out: Target[] = [];
  for (const slice of slicesByService.get(key) ?? []) {
    const port = (slice.ports ?? []).find(
      (p) => (p.name ?? '') === portName && (p.protocol ?? 'TCP') === 'TCP',
    );
    if (!port?.port) continue;
    for (const e of slice.endpoints ?? [])
      if (e.conditions?.ready !== false) for (const ip of e.addresses) out.push({ ip, port: port.port });
  }
  return out;
}

/** The TLS secret (namespace/name) for a host, from the Ingresses' tls sections. */
export function tlsSecretFor(ingresses: IngressObj[], host: string): string | undefined {
  const h = host.toLowerCase();
  let wildcard: string | undefined;
  for (const ing of ingresses)
    for (const t of ing.spec?.tls ?? []) {
      if (!t.secretName) continue;
      const key = `${ing.metadata.namespace ?? 'default'}/${t.secretName}`;
      for (const th of t.hosts ?? []) {
        const m = hostMatches(th, h);
        if (m === 3) return key;
        if (m === 2) wildcard ??= key;
      }
    }
  return wildcard;
}
