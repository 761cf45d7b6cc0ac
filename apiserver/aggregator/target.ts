/**
 * Where an APIService's requests go, and whether it is available: pure
 * functions over the objects the apiserver's own caches hold (the
 * APIService, its Service and Endpoints). The apiserver runs on a host that
 * reaches pod IPs, so requests go straight to a ready endpoint (Kubernetes'
 * ResolveEndpoint, as with --enable-aggregator-routing) rather than through
 * the service's cluster IP. The reasons and messages of the Available
 * condition are kube-aggregator's availability controller's.
 */

import type { APIService, Endpoints, Service } from '../../api/objects.js';
import { metaTime } from '../../api/time.js';
import type { APIServiceCondition } from '../../api/types/apiregistration.js';

/** What the checks before the discovery call found: a URL to call, or why there is none. */
export type Resolution =
  | { ok: true; url: URL; serverName: string }
  | { ok: false; reason: string; message: string };

/** The Service and Endpoints of an APIService's spec.service, as the caches hold them. */
export interface ServiceLookup {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
}

const hostPort = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * An endpoint of the APIService's service that serves its port: the
 * service port numbered spec.service.port, then a subset with ready
 * addresses and a port of the same name; `pick` chooses among candidates
 * (random in the proxy, spreading load as Kubernetes does).
 */
export function resolveEndpoint(
  a: APIService,
  lookup: ServiceLookup,
  pick: (n: number) => number = (n) => Math.floor(Math.random() * n),
): Resolution {
  const ref = a.spec?.service;
  if (!ref) return { ok: false, reason: 'Local', message: 'Local APIServices are always available' };
  const ns = ref.namespace ?? '';
  const name = ref.name ?? '';
  const port = ref.port ?? 443;
  const serverName = `${name}.${ns}.svc`;
  const svc = lookup.service(ns, name);
  if (!svc)
    return { ok: false, reason: 'ServiceNotFound', message: `service/${name} in "${ns}" is not present` };
  if (svc.spec?.type === 'ExternalName')
    return { ok: true, url: new URL(`https://${hostPort(svc.spec.externalName ?? '', port)}`), serverName };
  const svcPort = (svc.spec?.ports ?? []).find((p) => p.port === port);
  if (!svcPort)
    return {
      ok: false,
      reason: 'ServicePortError',
      message: `service/${name} in "${ns}" is not listening on port ${port}`,
    };
  const portName = svcPort.name ?? '';
  const eps = lookup.endpoints(ns, name);
  if (!eps)
    return {
      ok: false,
      reason: 'EndpointsNotFound',
      message: `cannot find endpoints for service/${name} in "${ns}"`,
    };
  const candidates: string[] = [];
  for (const subset of eps.subsets ?? []) {
    const p = (subset.ports ?? []).find((x) => (x.name ?? '') === portName);
    if (!p?.port) continue;
    for (const addr of subset.addresses ?? []) if (addr.ip) candidates.push(hostPort(addr.ip, p.port));
  }
  if (candidates.length === 0)
    return {
      ok: false,
      reason: 'MissingEndpoints',
      message: `endpoints for service/${name} in "${ns}" have no addresses with port name "${portName}"`,
    };
  return { ok: true, url: new URL(`https://${candidates[pick(candidates.length)]}`), serverName };
}

/** The Available condition an APIService should have, given the checks' outcome. */
export function availableCondition(
  res: Resolution,
  discoveryError: string | undefined,
): Pick<APIServiceCondition, 'type' | 'status' | 'reason' | 'message'> {
  if (!res.ok)
    return {
      type: 'Available',
      status: res.reason === 'Local' ? 'True' : 'False',
      reason: res.reason,
      message: res.message,
    };
  if (discoveryError !== undefined)
    return { type: 'Available', status: 'False', reason: 'FailedDiscoveryCheck', message: discoveryError };
  return { type: 'Available', status: 'True', reason: 'Passed', message: 'all checks passed' };
}

/**
 * The APIService's status with `cond` set, as SetAPIServiceCondition: the
 * transition time moves only when the status does. Undefined when nothing
 * would change, so the caller writes only changes.
 */
export function withCondition(
  a: APIService,
  cond: Pick<APIServiceCondition, 'type' | 'status' | 'reason' | 'message'>,
  now: Date,
): APIService['status'] | undefined {
  const conditions = a.status?.conditions ?? [];
  const old = conditions.find((c) => c.type === cond.type);
  if (old && old.status === cond.status && old.reason === cond.reason && old.message === cond.message)
    return undefined;
  const lastTransitionTime =
    old && old.status === cond.status && old.lastTransitionTime
      ? old.lastTransitionTime
      : metaTime(now.getTime());
  const next = { ...cond, lastTransitionTime };
  return {
    ...a.status,
    conditions: old ? conditions.map((c) => (c === old ? next : c)) : [...conditions, next],
  };
}
