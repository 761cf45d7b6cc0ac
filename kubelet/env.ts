/**
 * A container's environment as Kubernetes makes it: envFrom sources in
 * order, then env (later names win), with values from literals (with
 * $(VAR) expansion), fields of the pod, resources of the container, and
 * keys of ConfigMaps and Secrets. Also the pod fields and resources that
 * downwardAPI volumes project.
 */
import { quantityToMilli, quantityToValue } from '../api/quantity.js';
import type { ConfigMap } from '../api/types/core.js';
import type { Container, Pod } from '../api/types/pod.js';
import type { Secret } from '../api/types/secret.js';
import type { Service } from '../api/types/service.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types/storage.js';

/** The ConfigMaps and Secrets a pod refers to; undefined when there is no such object. */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** The claim and volume behind a persistentVolumeClaim volume; absent where volumes are not mounted. */
  persistentVolumeClaim?(namespace: string, name: string): Promise<PersistentVolumeClaim | undefined>;
  persistentVolume?(name: string): Promise<PersistentVolume | undefined>;
  /** The Services of a namespace, for their environment variables; absent: none are given. */
  services?(namespace: string): Promise<Service[]>;
}

/** A pod's container cannot be configured (missing ConfigMap or key): CreateContainerConfigError. */
export class ConfigError extends Error {}

/** ConfigMap data and binaryData, or Secret data, as strings. */
export function configMapData(cm: ConfigMap): Record<string, string> {
  const out: Record<string, string> = { ...(cm.data ?? {}) };
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

export function secretData(s: Secret): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = Buffer.from(v, 'utf8');
  return out;
}

/**
 * Expands $(VAR) from `vars`; $$ is a literal $; a reference to an unknown
 * variable is left as it is written (Kubernetes' expansion.Expand).
 */
export function expand(input: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += name in vars ? vars[name] : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** The value of a downward API field path of the pod. */
export function podFieldValue(pod: Pod, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations)?.[m[2]] ?? '';
  const mapText = (o: Record<string, string> | undefined) =>
    Object.entries(o ?? {})
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join('\n');
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'metadata.labels':
      return mapText(pod.metadata?.labels);
    case 'metadata.annotations':
      return mapText(pod.metadata?.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(',');
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(',');
    default:
      throw new ConfigError(`unsupported fieldPath "${fieldPath}"`);
  }
}

/**
 * The value of a resourceFieldRef: a request or limit of the container,
 * divided by the divisor and rounded up; an unset limit is the node's
 * allocatable amount.
 */
export function resourceFieldValue(
  container: Container,
  resource: string,
  divisor: string | undefined,
  allocatable: Record<string, string>,
): string {
  const [kind, name] = resource.split(/\.(.+)/);
  if ((kind !== 'limits' && kind !== 'requests') || !name)
    throw new ConfigError(`unsupported resource "${resource}"`);
  const set = kind === 'limits' ? container.resources?.limits : container.resources?.requests;
  const q = set?.[name] ?? (kind === 'limits' ? allocatable[name] : undefined) ?? '0';
  if (name === 'cpu') {
    const d = quantityToMilli(divisor || '1');
    const v = quantityToMilli(q);
    return String((v + d - 1n) / d);
  }
  const d = quantityToValue(divisor || '1');
  const v = quantityToValue(q);
  return String((v + d - 1n) / d);
}

export interface EnvContext {
  pod: Pod;
  container: Container;
  source: ObjectSource;
  allocatable: Record<string, string>;
}

/**
 * The variables Kubernetes gives every container for a Service (docker
 * links style): FOO_SERVICE_HOST, FOO_SERVICE_PORT(_NAME), FOO_PORT and
 * FOO_PORT_<port>_<PROTO>(_PROTO|_PORT|_ADDR). Headless services have none.
 */
export function serviceEnv(svc: Service): Record<string, string> {
  const ip = svc.spec?.clusterIP;
  const ports = svc.spec?.ports ?? [];
  if (!ip || ip === 'None' || ports.length === 0) return {};
  const name = (svc.metadata?.name ?? '').toUpperCase().replace(/-/g, '_');
  const out: Record<string, string> = {};
  out[`${name}_SERVICE_HOST`] = ip;
  out[`${name}_SERVICE_PORT`] = String(ports[0].port);
  for (const p of ports)
    if (p.name) out[`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
  const proto = (p: (typeof ports)[number]) => (p.protocol ?? 'TCP').toLowerCase();
  out[`${name}_PORT`] = `${proto(ports[0])}://${ip}:${ports[0].port}`;
  for (const p of ports) {
    const base = `${name}_PORT_${p.port}_${proto(p).toUpperCase()}`;
    out[base] = `${proto(p)}://${ip}:${p.port}`;
    out[`${base}_PROTO`] = proto(p);
    out[`${base}_PORT`] = String(p.port);
    out[`${base}_ADDR`] = ip;
  }
  return out;
}

/** The service variables of a pod: its namespace's Services (unless enableServiceLinks is false) and `kubernetes`. */
async function podServiceEnv(pod: Pod, source: ObjectSource): Promise<Record<string, string>> {
  if (!source.services) return {};
  const ns = pod.metadata?.namespace ?? 'default';
  const out: Record<string, string> = {};
  if (pod.spec?.enableServiceLinks !== false)
    for (const svc of await source.services(ns)) Object.assign(out, serviceEnv(svc));
  if (ns !== 'default' || pod.spec?.enableServiceLinks === false) {
    const master = (await source.services('default')).find((s) => s.metadata?.name === 'kubernetes');
    if (master) Object.assign(out, serviceEnv(master));
  }
  return out;
}

/** The environment of `container` as `NAME=value` strings, in Kubernetes' order. */
export async function containerEnv(
  ctx: EnvContext,
): Promise<{ env: string[]; vars: Record<string, string> }> {
  const { pod, container, source } = ctx;
  const ns = pod.metadata?.namespace ?? 'default';
  const services = await podServiceEnv(pod, source);
  // Service variables can be referred to with $(VAR) and come last, unless the container sets them.
  const vars: Record<string, string> = { ...services };
  const order: string[] = [];
  const own = new Set<string>();
  const set = (k: string, v: string) => {
    if (!own.has(k)) order.push(k);
    own.add(k);
    vars[k] = v;
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef?.name) {
      const cm = await source.configMap(ns, from.configMapRef.name);
      if (!cm && !from.configMapRef.optional)
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(cm ? configMapData(cm) : {})) set(prefix + k, v);
    }
    if (from.secretRef?.name) {
      const s = await source.secret(ns, from.secretRef.name);
      if (!s && !from.secretRef.optional) throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      for (const [k, v] of Object.entries(s ? secretData(s) : {})) set(prefix + k, v.toString('utf8'));
    }
  }
  for (const e of container.env ?? []) {
    if (!e.name) continue;
    const value = await envValue(ctx, ns, e, vars);
    if (value !== undefined) set(e.name, value);
  }
  for (const k of Object.keys(services).sort()) if (!own.has(k)) order.push(k);
  return { env: order.map((k) => `${k}=${vars[k]}`), vars };
}

async function envValue(
  ctx: EnvContext,
  ns: string,
  e: NonNullable<Container['env']>[number],
  vars: Record<string, string>,
): Promise<string | undefined> {
  const from = e.valueFrom;
  if (!from) return expand(e.value ?? '', vars);
  if (from.fieldRef?.fieldPath) return podFieldValue(ctx.pod, from.fieldRef.fieldPath);
  if (from.resourceFieldRef?.resource) {
    const r = from.resourceFieldRef;
    return resourceFieldValue(ctx.container, r.resource!, r.divisor as string | undefined, ctx.allocatable);
  }
  if (from.configMapKeyRef?.name) {
    const ref = from.configMapKeyRef;
    const cm = await ctx.source.configMap(ns, ref.name!);
    const v = cm ? configMapData(cm)[ref.key ?? ''] : undefined;
    if (v === undefined && !ref.optional)
      throw new ConfigError(
        cm
          ? `couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`
          : `configmap "${ref.name}" not found`,
      );
    return v;
  }
  if (from.secretKeyRef?.name) {
    const ref = from.secretKeyRef;
    const s = await ctx.source.secret(ns, ref.name!);
    const v = s ? secretData(s)[ref.key ?? ''] : undefined;
    if (v === undefined && !ref.optional)
      throw new ConfigError(
        s ? `couldn't find key ${ref.key} in Secret ${ns}/${ref.name}` : `secret "${ref.name}" not found`,
      );
    return v?.toString('utf8');
  }
  return undefined;
}
