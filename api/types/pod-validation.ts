/**
 * Validation of pods and pod templates, with the field paths and error types
 * of Kubernetes' pkg/apis/core/validation. The schema has already rejected
 * wrong types and unknown fields; this checks required values, formats,
 * enums, references between fields, and what a pod update may change.
 * Re-exported from `pod.ts`.
 */
import type { FieldError } from '../status.js';
import type { Container, EphemeralContainer, Probe } from './pod-container.js';
import { quantityNanos } from './pod-defaults.js';
import { mirrorPodAnnotation, validateEphemeralFields } from './pod-ephemeral.js';
import {
  checkName,
  checkPortNumber,
  dns1123SubdomainErrors,
  duplicate,
  forbidden,
  invalid,
  notFound,
  oneOf,
  portNameErrors,
  portRange,
  required,
} from './pod-field-errors.js';
import type { Pod, PodSpec, PodTemplateSpec, Toleration } from './pod-schema.js';
import { volumeSourceNames } from './pod-volume.js';

// ---- containers ----

type ContainerKind = 'app' | 'init' | 'ephemeral';

function validateProbe(errs: FieldError[], p: Probe | undefined, field: string, mustSucceedOnce: boolean) {
  if (!p) return;
  const handlers = (['exec', 'httpGet', 'tcpSocket', 'grpc'] as const).filter((h) => p[h] !== undefined);
  if (handlers.length === 0) errs.push(required(field, 'must specify a handler type'));
  if (handlers.length > 1)
    errs.push(forbidden(`${field}.${handlers[1]}`, 'may not specify more than 1 handler type'));
  if (p.httpGet) {
    checkPortNumber(errs, `${field}.httpGet.port`, p.httpGet.port);
    if (p.httpGet.scheme) oneOf(errs, `${field}.httpGet.scheme`, p.httpGet.scheme, ['HTTP', 'HTTPS']);
  }
  if (p.tcpSocket) checkPortNumber(errs, `${field}.tcpSocket.port`, p.tcpSocket.port);
  if (p.grpc) checkPortNumber(errs, `${field}.grpc.port`, p.grpc.port);
  for (const key of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ] as const) {
    const v = p[key];
    if (v !== undefined && v < 0)
      errs.push(invalid(`${field}.${key}`, v, 'must be greater than or equal to 0'));
  }
  if (mustSucceedOnce && p.successThreshold !== undefined && p.successThreshold !== 1)
    errs.push(invalid(`${field}.successThreshold`, p.successThreshold, 'must be 1'));
}

function validatePorts(errs: FieldError[], c: Container, field: string): void {
  const names = new Set<string>();
  (c.ports ?? []).forEach((port, i) => {
    const f = `${field}.ports[${i}]`;
    if (port.name) {
      for (const msg of portNameErrors(port.name)) errs.push(invalid(`${f}.name`, port.name, msg));
      if (names.has(port.name)) errs.push(duplicate(`${f}.name`, port.name));
      names.add(port.name);
    }
    checkPortNumber(errs, `${f}.containerPort`, port.containerPort);
    if (port.hostPort !== undefined && port.hostPort !== 0 && (port.hostPort < 1 || port.hostPort > 65535))
      errs.push(invalid(`${f}.hostPort`, port.hostPort, portRange));
    oneOf(errs, `${f}.protocol`, port.protocol, ['SCTP', 'TCP', 'UDP']);
  });
}

function validateEnv(errs: FieldError[], c: Container, field: string): void {
  (c.env ?? []).forEach((env, i) => {
    const f = `${field}.env[${i}]`;
    if (!env.name) errs.push(required(`${f}.name`));
    if (!env.valueFrom) return;
    const sources = Object.keys(env.valueFrom);
    if (env.value) errs.push(invalid(`${f}.valueFrom`, '', 'may not be specified when `value` is not empty'));
    if (sources.length === 0)
      errs.push(
        invalid(
          `${f}.valueFrom`,
          '',
          'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
        ),
      );
    if (sources.length > 1)
      errs.push(invalid(`${f}.valueFrom`, '', 'may not have more than one field specified at a time'));
    if (env.valueFrom.fieldRef && !env.valueFrom.fieldRef.fieldPath)
      errs.push(required(`${f}.valueFrom.fieldRef.fieldPath`));
    for (const key of ['configMapKeyRef', 'secretKeyRef'] as const) {
      if (env.valueFrom[key] && !env.valueFrom[key]?.key) errs.push(required(`${f}.valueFrom.${key}.key`));
    }
  });
}

function validateMounts(errs: FieldError[], c: Container, field: string, volumes: Set<string>): void {
  const paths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const f = `${field}.volumeMounts[${i}]`;
    if (!m.name) errs.push(required(`${f}.name`));
    else if (!volumes.has(m.name)) errs.push(notFound(`${f}.name`, m.name));
    if (!m.mountPath) errs.push(required(`${f}.mountPath`));
    else if (paths.has(m.mountPath)) errs.push(invalid(`${f}.mountPath`, m.mountPath, 'must be unique'));
    if (m.mountPath) paths.add(m.mountPath);
    if (m.subPath?.startsWith('/')) errs.push(invalid(`${f}.subPath`, m.subPath, 'must be a relative path'));
    if (m.subPath?.split('/').includes('..'))
      errs.push(invalid(`${f}.subPath`, m.subPath, "must not contain '..'"));
    if (m.subPath && m.subPathExpr)
      errs.push(invalid(`${f}.subPathExpr`, m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
    if (m.mountPropagation)
      oneOf(errs, `${f}.mountPropagation`, m.mountPropagation, ['Bidirectional', 'HostToContainer', 'None']);
  });
}

function validateResources(errs: FieldError[], c: Container, field: string): void {
  const { requests = {}, limits = {} } = c.resources ?? {};
  for (const [name, q] of Object.entries({ ...requests, ...limits })) {
    const which = name in limits ? 'limits' : 'requests';
    if (quantityNanos(q) === undefined)
      errs.push(
        invalid(
          `${field}.resources.${which}[${name}]`,
          q,
          "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
      );
  }
  for (const [name, q] of Object.entries(requests)) {
    const req = quantityNanos(q);
    const lim = quantityNanos(limits[name]);
    if (req !== undefined && lim !== undefined && req > lim)
      errs.push(
        invalid(
          `${field}.resources.requests`,
          String(q),
          `must be less than or equal to ${name} limit of ${limits[name]}`,
        ),
      );
  }
}

function validateContainer(
  errs: FieldError[],
  c: Container | EphemeralContainer,
  field: string,
  kind: ContainerKind,
  volumes: Set<string>,
): void {
  checkName(errs, `${field}.name`, c.name);
  if (!c.image) errs.push(required(`${field}.image`));
  else if (c.image.trim() !== c.image)
    errs.push(invalid(`${field}.image`, c.image, 'must not have leading or trailing whitespace'));
  validatePorts(errs, c, field);
  validateEnv(errs, c, field);
  validateMounts(errs, c, field, volumes);
  validateResources(errs, c, field);
  oneOf(errs, `${field}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
  oneOf(errs, `${field}.terminationMessagePolicy`, c.terminationMessagePolicy, [
    'File',
    'FallbackToLogsOnError',
  ]);
  // What an ephemeral container may not set at all is validateEphemeralFields' to say.
  if (kind === 'ephemeral') return;
  const sidecar = kind === 'init' && c.restartPolicy === 'Always';
  if (kind === 'init' && c.restartPolicy !== undefined && !sidecar)
    oneOf(errs, `${field}.restartPolicy`, c.restartPolicy, ['Always']);
  if (kind === 'app' && c.restartPolicy !== undefined)
    errs.push(forbidden(`${field}.restartPolicy`, 'may not be set for non-init containers'));
  if (kind === 'init' && !sidecar) {
    // Only long-running containers have probes and hooks.
    for (const key of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
      if (c[key])
        errs.push(
          forbidden(`${field}.${key}`, 'may not be set for init containers without restartPolicy=Always'),
        );
    }
    return;
  }
  validateProbe(errs, c.livenessProbe, `${field}.livenessProbe`, true);
  validateProbe(errs, c.readinessProbe, `${field}.readinessProbe`, false);
  validateProbe(errs, c.startupProbe, `${field}.startupProbe`, true);
}

// ---- the spec ----

function validateTolerations(errs: FieldError[], tolerations: Toleration[], field: string): void {
  tolerations.forEach((t, i) => {
    const f = `${field}[${i}]`;
    if (t.operator) oneOf(errs, `${f}.operator`, t.operator, ['Equal', 'Exists']);
    if (!t.key && t.operator !== 'Exists')
      errs.push(
        invalid(
          `${f}.operator`,
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    if (t.operator === 'Exists' && t.value)
      errs.push(invalid(`${f}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    if (t.effect) oneOf(errs, `${f}.effect`, t.effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
    if (t.tolerationSeconds !== undefined && t.effect !== 'NoExecute')
      errs.push(
        invalid(`${f}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
  });
}

function validateVolumes(errs: FieldError[], spec: PodSpec, field: string): Set<string> {
  const names = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const f = `${field}[${i}]`;
    checkName(errs, `${f}.name`, v.name);
    if (v.name && names.has(v.name)) errs.push(duplicate(`${f}.name`, v.name));
    if (v.name) names.add(v.name);
    const sources = volumeSourceNames.filter((s) => (v as Record<string, unknown>)[s] !== undefined);
    if (sources.length === 0) errs.push(required(f, 'must specify a volume type'));
    if (sources.length > 1)
      errs.push(forbidden(`${f}.${sources[1]}`, 'may not specify more than 1 volume type'));
    if (v.hostPath && !v.hostPath.path) errs.push(required(`${f}.hostPath.path`));
    if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      errs.push(required(`${f}.persistentVolumeClaim.claimName`));
    if (v.secret && !v.secret.secretName) errs.push(required(`${f}.secret.secretName`));
    if (v.nfs && !v.nfs.server) errs.push(required(`${f}.nfs.server`));
    if (v.csi && !v.csi.driver) errs.push(required(`${f}.csi.driver`));
  });
  return names;
}

function validateContainers(errs: FieldError[], spec: PodSpec, path: string, volumes: Set<string>): void {
  const appNames = new Set<string>();
  if (!spec.containers?.length) errs.push(required(`${path}.containers`));
  (spec.containers ?? []).forEach((c, i) => {
    const f = `${path}.containers[${i}]`;
    validateContainer(errs, c, f, 'app', volumes);
    if (c.name && appNames.has(c.name)) errs.push(duplicate(`${f}.name`, c.name));
    if (c.name) appNames.add(c.name);
  });
  const allNames = new Set(appNames);
  (spec.initContainers ?? []).forEach((c, i) => {
    const f = `${path}.initContainers[${i}]`;
    validateContainer(errs, c, f, 'init', volumes);
    if (c.name && allNames.has(c.name)) errs.push(duplicate(`${f}.name`, c.name));
    if (c.name) allNames.add(c.name);
  });
  const targets = new Set(allNames);
  (spec.ephemeralContainers ?? []).forEach((c, i) => {
    const f = `${path}.ephemeralContainers[${i}]`;
    validateContainer(errs, c, f, 'ephemeral', volumes);
    if (c.name && allNames.has(c.name)) errs.push(duplicate(`${f}.name`, c.name));
    if (c.name) allNames.add(c.name);
    validateEphemeralFields(errs, c, f, targets);
  });
}

/** Validates a PodSpec found at `path` (`spec`, or `spec.template.spec` in a controller). */
export function validatePodSpec(spec: PodSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const volumes = validateVolumes(errs, spec, `${path}.volumes`);
  validateContainers(errs, spec, path, volumes);
  oneOf(errs, `${path}.restartPolicy`, spec.restartPolicy, ['Always', 'OnFailure', 'Never']);
  oneOf(errs, `${path}.dnsPolicy`, spec.dnsPolicy, [
    'ClusterFirstWithHostNet',
    'ClusterFirst',
    'Default',
    'None',
  ]);
  if (spec.dnsPolicy === 'None' && !spec.dnsConfig?.nameservers?.length)
    errs.push(required(`${path}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  const deadline = spec.activeDeadlineSeconds;
  if (deadline !== undefined && (deadline < 1 || deadline > 2147483647))
    errs.push(
      invalid(`${path}.activeDeadlineSeconds`, deadline, 'must be between 1 and 2147483647, inclusive'),
    );
  if (spec.hostname) checkName(errs, `${path}.hostname`, spec.hostname);
  if (spec.subdomain) checkName(errs, `${path}.subdomain`, spec.subdomain);
  if (spec.serviceAccountName)
    checkName(errs, `${path}.serviceAccountName`, spec.serviceAccountName, dns1123SubdomainErrors);
  if (spec.nodeName) checkName(errs, `${path}.nodeName`, spec.nodeName, dns1123SubdomainErrors);
  if (spec.preemptionPolicy)
    oneOf(errs, `${path}.preemptionPolicy`, spec.preemptionPolicy, ['Never', 'PreemptLowerPriority']);
  validateTolerations(errs, spec.tolerations ?? [], `${path}.tolerations`);
  (spec.topologySpreadConstraints ?? []).forEach((t, i) => {
    const f = `${path}.topologySpreadConstraints[${i}]`;
    if (!t.maxSkew || t.maxSkew < 1)
      errs.push(invalid(`${f}.maxSkew`, t.maxSkew ?? 0, 'must be greater than zero'));
    if (!t.topologyKey) errs.push(required(`${f}.topologyKey`, 'can not be empty'));
    oneOf(errs, `${f}.whenUnsatisfiable`, t.whenUnsatisfiable, ['DoNotSchedule', 'ScheduleAnyway']);
  });
  return errs;
}

/** Validates the pod template of a controller; `path` is where it sits, e.g. `spec.template`. */
export function validatePodTemplateSpec(tpl: PodTemplateSpec | undefined, path: string): FieldError[] {
  if (!tpl) return [required(path)];
  const errs = validatePodSpec(tpl.spec ?? {}, `${path}.spec`);
  if (tpl.spec?.ephemeralContainers?.length)
    errs.push(
      forbidden(`${path}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'),
    );
  return errs;
}

// ---- updates ----

const updatableFields = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** Paths under `path` where `a` and `b` differ (undefined and absent are the same). */
function differences(a: unknown, b: unknown, path: string, out: string[]): string[] {
  if (a === b || out.length >= 5) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) out.push(path);
    else {
      const ra = a as Record<string, unknown>;
      const rb = b as Record<string, unknown>;
      for (const key of new Set([...Object.keys(ra), ...Object.keys(rb)])) {
        differences(ra[key], rb[key], Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`, out);
      }
    }
  } else out.push(path);
  return out;
}

const sameToleration = (a: Toleration, b: Toleration) =>
  a.key === b.key &&
  (a.operator ?? 'Equal') === (b.operator ?? 'Equal') &&
  a.value === b.value &&
  a.effect === b.effect;

function validatePodSpecUpdate(spec: PodSpec, old: PodSpec): FieldError[] {
  const errs: FieldError[] = [];
  const munged: PodSpec = structuredClone(spec);
  munged.containers?.forEach((c, i) => {
    if (old.containers?.[i]) c.image = old.containers[i].image;
  });
  munged.initContainers?.forEach((c, i) => {
    if (old.initContainers?.[i]) c.image = old.initContainers[i].image;
  });
  if (old.activeDeadlineSeconds !== undefined) {
    if (spec.activeDeadlineSeconds === undefined)
      errs.push(
        invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'),
      );
    else if (spec.activeDeadlineSeconds > old.activeDeadlineSeconds)
      errs.push(
        invalid(
          'spec.activeDeadlineSeconds',
          spec.activeDeadlineSeconds,
          'must be less than or equal to previous value',
        ),
      );
  }
  munged.activeDeadlineSeconds = old.activeDeadlineSeconds;
  (old.tolerations ?? []).forEach((t, i) => {
    if (!(spec.tolerations ?? []).some((n) => sameToleration(n, t)))
      errs.push(
        forbidden(
          `spec.tolerations[${i}]`,
          'existing toleration can not be modified except its tolerationSeconds',
        ),
      );
  });
  munged.tolerations = old.tolerations;
  // Scheduling gates may only be removed.
  if ((spec.schedulingGates ?? []).every((g) => old.schedulingGates?.some((o) => o.name === g.name)))
    munged.schedulingGates = old.schedulingGates;
  const oldGrace = old.terminationGracePeriodSeconds;
  if (oldGrace !== undefined && oldGrace < 0 && spec.terminationGracePeriodSeconds === 1)
    munged.terminationGracePeriodSeconds = oldGrace;
  const changed = differences(old, munged, 'spec', []);
  if (changed.length > 0)
    errs.push(
      forbidden(
        'spec',
        `pod updates may not change fields other than ${updatableFields.join(',')}\n  changed: ${changed.join(', ')}`,
      ),
    );
  return errs;
}

/**
 * Kubernetes' ValidatePodEphemeralContainersUpdate: an update through
 * pods/{name}/ephemeralcontainers, after dropNonEphemeralContainerUpdates
 * left only spec.ephemeralContainers changed. Ephemeral containers may be
 * added, never changed or removed (matched by name: a patch need not keep
 * the order); a static pod's mirror takes none.
 */
export function validatePodEphemeralContainersUpdate(pod: Pod, old: Pod): FieldError[] {
  if (old.metadata?.annotations?.[mirrorPodAnnotation] !== undefined)
    return [forbidden('', 'static pods do not support ephemeral containers')];
  const errs = validatePodSpec(pod.spec ?? {}, 'spec');
  const path = 'spec.ephemeralContainers';
  const now = new Map((pod.spec?.ephemeralContainers ?? []).map((c) => [c.name, c]));
  for (const before of old.spec?.ephemeralContainers ?? []) {
    const after = now.get(before.name);
    if (!after) {
      errs.push(forbidden(path, `existing ephemeral containers "${before.name}" may not be removed\n`));
      continue;
    }
    const changed = differences(before, after, `${path}[${before.name}]`, []);
    if (changed.length > 0)
      errs.push(
        forbidden(
          path,
          `existing ephemeral containers "${before.name}" may not be changed\n  changed: ${changed.join(', ')}`,
        ),
      );
  }
  return errs;
}

/** Validates a pod on create, or on update when `old` is given. */
export function validatePod(obj: Pod, old?: Pod): FieldError[] {
  const spec = obj.spec ?? {};
  const errs = validatePodSpec(spec, 'spec');
  if (!old) {
    if (spec.ephemeralContainers?.length)
      errs.push(forbidden('spec.ephemeralContainers', 'cannot be set on create'));
    return errs;
  }
  return errs.concat(validatePodSpecUpdate(spec, old.spec ?? {}));
}
