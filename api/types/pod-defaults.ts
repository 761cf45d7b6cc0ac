/**
 * Defaulting of pods and pod templates, as the apiserver applies it before
 * validation (pkg/apis/core/v1 defaults), plus the few pod fields Kubernetes
 * fills at admission (priority) and on create (phase, qosClass). Re-exported from `pod.ts`.
 */
import type { Container, EphemeralContainer, Probe, ResourceRequirements } from './pod-container.js';
import type { Pod, PodSpec } from './pod-schema.js';
import type { Volume } from './pod-volume.js';

/** 0644: the mode of files in configMap, secret, downwardAPI and projected volumes. */
export const defaultVolumeMode = 420;

/** Built-in priority classes that exist in every cluster. */
const systemPriorities: Record<string, number> = {
  'system-node-critical': 2000001000,
  'system-cluster-critical': 2000000000,
};

/** The tag of an image reference: `latest` when neither tag nor digest is given. */
export function imageTag(image: string): string {
  const at = image.indexOf('@');
  const named = at >= 0 ? image.slice(0, at) : image;
  const last = named.slice(named.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  if (colon >= 0) return last.slice(colon + 1);
  return at >= 0 ? '' : 'latest';
}

/** Probes and lifecycle hooks share the httpGet defaults. */
function defaultHandler(h: { httpGet?: { path?: string; scheme?: string } } | undefined): void {
  if (!h?.httpGet) return;
  h.httpGet.path ||= '/';
  h.httpGet.scheme ||= 'HTTP';
}

function defaultProbe(p: Probe | undefined): void {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHandler(p);
}

function defaultContainer(c: Container | EphemeralContainer, hostNetwork: boolean): void {
  c.terminationMessagePath ||= '/dev/termination-log';
  c.terminationMessagePolicy ||= 'File';
  c.imagePullPolicy ||= imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  c.resources ??= {};
  for (const port of c.ports ?? []) {
    port.protocol ||= 'TCP';
    // On the host network the container port is the host port.
    if (hostNetwork && !port.hostPort) port.hostPort = port.containerPort;
  }
  for (const env of c.env ?? []) {
    if (env.valueFrom?.fieldRef) env.valueFrom.fieldRef.apiVersion ||= 'v1';
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
}

function defaultVolume(v: Volume): void {
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  if (v.configMap) v.configMap.defaultMode ??= defaultVolumeMode;
  if (v.secret) v.secret.defaultMode ??= defaultVolumeMode;
  if (v.hostPath) v.hostPath.type ??= '';
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= defaultVolumeMode;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ||= 'v1';
  }
  if (v.projected) {
    v.projected.defaultMode ??= defaultVolumeMode;
    for (const src of v.projected.sources ?? []) {
      if (src.serviceAccountToken) src.serviceAccountToken.expirationSeconds ??= 3600;
      for (const item of src.downwardAPI?.items ?? []) if (item.fieldRef) item.fieldRef.apiVersion ||= 'v1';
    }
  }
  const claim = v.ephemeral?.volumeClaimTemplate?.spec;
  if (claim) claim.volumeMode ||= 'Filesystem';
}

/**
 * Defaults a PodSpec in place: the part shared by pods and the pod templates
 * of Deployments, Jobs, DaemonSets and StatefulSets.
 */
export function defaultPodSpec(spec: PodSpec): void {
  spec.restartPolicy ||= 'Always';
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.schedulerName ||= 'default-scheduler';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  // serviceAccount is the deprecated spelling; v1 keeps the two equal.
  spec.serviceAccountName ||= spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of spec.initContainers ?? []) defaultContainer(c, hostNetwork);
  for (const c of spec.containers ?? []) defaultContainer(c, hostNetwork);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c, hostNetwork);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

/** Requests default to limits for each resource that has a limit but no request (pods only). */
function requestsFromLimits(r: ResourceRequirements | undefined): void {
  if (!r?.limits) return;
  for (const [name, q] of Object.entries(r.limits)) {
    r.requests ??= {};
    if (r.requests[name] === undefined) r.requests[name] = q;
  }
}

/**
 * Defaults a pod in place: the spec defaults, what admission adds
 * (priority), and on create the Pending phase and the QoS class.
 */
export function podDefaults(obj: Pod): void {
  obj.spec ??= {};
  const spec = obj.spec;
  defaultPodSpec(spec);
  spec.enableServiceLinks ??= true;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    requestsFromLimits(c.resources);
  }
  requestsFromLimits(spec.resources);
  // Admission: the Priority plugin. (The ServiceAccount plugin, which needs the
  // ServiceAccount and acts on create only, is apiserver/serviceaccount-admission.ts.)
  if (!spec.priorityClassName) spec.priority ??= 0;
  else if (systemPriorities[spec.priorityClassName] !== undefined)
    spec.priority ??= systemPriorities[spec.priorityClassName];
  spec.preemptionPolicy ||= 'PreemptLowerPriority';
  defaultTolerationSeconds(spec);
  obj.status ??= {};
  if (!obj.status.phase) {
    obj.status.phase = 'Pending';
    obj.status.qosClass ||= podQOSClass(spec);
  }
}

/** NoExecute taints the node lifecycle controller puts on failed nodes. */
export const taintNodeNotReady = 'node.kubernetes.io/not-ready';
export const taintNodeUnreachable = 'node.kubernetes.io/unreachable';
export const defaultTolerationSecondsValue = 300;

/**
 * The DefaultTolerationSeconds admission plugin: a pod that does not already
 * tolerate the not-ready and unreachable NoExecute taints tolerates each for
 * 300 s, so it is evicted from a failed node after five minutes.
 */
function defaultTolerationSeconds(spec: PodSpec): void {
  const tolerations = spec.tolerations ?? [];
  const tolerates = (key: string) =>
    tolerations.some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
  for (const key of [taintNodeNotReady, taintNodeUnreachable]) {
    if (tolerates(key)) continue;
    tolerations.push({
      key,
      operator: 'Exists',
      effect: 'NoExecute',
      tolerationSeconds: defaultTolerationSecondsValue,
    });
  }
  if (tolerations.length) spec.tolerations = tolerations;
}

// ---- QoS ----

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

/**
 * A quantity ("250m", "1.5Gi", "1e3", 2) in nano-units, exact for everything
 * Kubernetes can express; undefined when malformed. Only what QoS needs:
 * comparison and sums.
 */
export function quantityNanos(q: string | number | undefined): bigint | undefined {
  if (q === undefined) return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/.exec(
    String(q).trim(),
  );
  if (!m || (m[2] === '' && !m[3])) return undefined;
  const [, sign, whole, frac = '', suffix = '', exp] = m;
  const digits = BigInt(`${whole}${frac}` || '0');
  let scale = -frac.length + 9; // power of ten from the digits to nano-units
  let factor = 1n;
  if (binarySuffixes[suffix]) factor = binarySuffixes[suffix];
  else scale += exp !== undefined ? Number(exp) : decimalSuffixes[suffix];
  let n = digits * factor;
  // Below a nano-unit Kubernetes rounds up.
  if (scale >= 0) n *= 10n ** BigInt(scale);
  else {
    const div = 10n ** BigInt(-scale);
    n = (n + div - 1n) / div;
  }
  return sign === '-' ? -n : n;
}

const qosResources = ['cpu', 'memory'];

/** Guaranteed, Burstable or BestEffort, computed as Kubernetes' GetPodQOS does (after defaults). */
export function podQOSClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const podLevel = spec.resources?.requests || spec.resources?.limits;
  const all: (ResourceRequirements | undefined)[] = podLevel
    ? [spec.resources]
    : [...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.resources);
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const r of all) {
    for (const [name, q] of Object.entries(r?.requests ?? {})) {
      const n = quantityNanos(q);
      if (qosResources.includes(name) && n !== undefined && n > 0n)
        requests.set(name, (requests.get(name) ?? 0n) + n);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(r?.limits ?? {})) {
      const n = quantityNanos(q);
      if (qosResources.includes(name) && n !== undefined && n > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + n);
      }
    }
    if (!qosResources.every((name) => found.has(name))) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) if (limits.get(name) !== req) guaranteed = false;
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}
