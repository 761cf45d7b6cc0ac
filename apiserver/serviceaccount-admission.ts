/**
 * The ServiceAccount admission plugin, as Kubernetes'
 * plugin/pkg/admission/serviceaccount does it on pod create: the pod runs as
 * `default` unless it names an account, and, unless automounting is off,
 * gets the projected `kube-api-access-<5 chars>` volume (a bound token, the
 * cluster CA from the `kube-root-ca.crt` ConfigMap, and the namespace)
 * mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in
 * every container and init container.
 *
 * The store runs it on create only, after defaults and before validation
 * (so what it adds is validated), dry-run included. Mirror pods get
 * nothing: the kubelet compares them with its static pods.
 */
import type { KubeObject } from '../api/meta.js';
import { isNotFound } from '../api/status.js';
import type { Pod, PodSpec } from '../api/types/pod-schema.js';
import type { Volume } from '../api/types/pod-volume.js';
import type { ServiceAccount } from '../api/types/secret.js';
import { type ResourceStore, randomSuffix } from './store.js';

export const defaultServiceAccountName = 'default';
/** The annotation the kubelet puts on the API copy of a static pod. */
export const mirrorPodAnnotation = 'kubernetes.io/config.mirror';
export const tokenVolumePrefix = 'kube-api-access-';
export const tokenMountPath = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The ConfigMap the controller-manager's root-ca-cert-publisher keeps in every namespace. */
export const rootCAConfigMapName = 'kube-root-ca.crt';
/**
 * Kubernetes' WarnOnlyBoundTokenExpirationSeconds: an hour and seven
 * seconds, a lifetime no client would ask for, so the apiserver can tell
 * these tokens apart.
 */
export const tokenExpirationSeconds = 3607;
/** 0644, set here because the volume is added after defaults ran. */
const tokenVolumeMode = 420;

export interface ServiceAccountAdmissionOptions {
  /** The ServiceAccount `namespace/name`, or undefined when it does not exist (yet). */
  serviceAccount(namespace: string, name: string): Promise<ServiceAccount | undefined>;
  /**
   * Whether pods get the token volume at all: only when this apiserver can
   * issue tokens (--service-account-signing-key-file), as the kubelet fills
   * the volume through TokenRequest.
   */
  mountServiceAccountToken: boolean;
  /** The characters after `kube-api-access-`; 5 random ones by default. */
  volumeSuffix?: () => string;
}

/** Mutates a pod being created; see the module comment. */
export type PodAdmission = (pod: KubeObject) => Promise<void>;

export function serviceAccountAdmission(opts: ServiceAccountAdmissionOptions): PodAdmission {
  const suffix = opts.volumeSuffix ?? randomSuffix;
  return async (obj) => {
    const pod = obj as Pod & KubeObject;
    if (pod.metadata.annotations?.[mirrorPodAnnotation] !== undefined) return;
    pod.spec ??= {};
    const spec = pod.spec;
    spec.serviceAccountName ||= defaultServiceAccountName;
    // v1 keeps the deprecated spelling equal to the real one.
    spec.serviceAccount = spec.serviceAccountName;
    if (!opts.mountServiceAccountToken) return;
    // Kubernetes refuses a pod whose service account does not exist. We admit it as if
    // the account had no opinion: the serviceaccount controller makes `default` moments
    // after its namespace, and scripts and tests create pods in a new namespace at once.
    const account = await opts.serviceAccount(pod.metadata.namespace ?? '', spec.serviceAccountName);
    if (!shouldAutomount(account, spec)) return;
    mountServiceAccountToken(spec, () => `${tokenVolumePrefix}${suffix()}`);
  };
}

/** The pod's automountServiceAccountToken wins, then the account's; true when neither says. */
export function shouldAutomount(account: ServiceAccount | undefined, spec: PodSpec): boolean {
  return spec.automountServiceAccountToken ?? account?.automountServiceAccountToken ?? true;
}

/**
 * Mounts the token volume in every container and init container that has
 * nothing mounted at the token path, and adds the volume if one of them
 * needs it. A volume already named `kube-api-access-*` (a spec copied from
 * another pod) is reused, not doubled. Ephemeral containers do not exist at
 * create.
 */
export function mountServiceAccountToken(spec: PodSpec, newVolumeName: () => string): void {
  const existing = spec.volumes?.find((v) => v.name?.startsWith(tokenVolumePrefix));
  const name = existing?.name ?? newVolumeName();
  let needed = false;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    // A mount of the container's own at that path (a token of its choosing) keeps ours out.
    if (c.volumeMounts?.some((m) => m.mountPath === tokenMountPath)) continue;
    c.volumeMounts = [...(c.volumeMounts ?? []), { name, readOnly: true, mountPath: tokenMountPath }];
    needed = true;
  }
  if (needed && !existing) spec.volumes = [...(spec.volumes ?? []), tokenVolume(name)];
}

/** The projected volume exactly as Kubernetes writes it (its TokenVolumeSource). */
export function tokenVolume(name: string): Volume {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: tokenExpirationSeconds, path: 'token' } },
        { configMap: { name: rootCAConfigMapName, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: tokenVolumeMode,
    },
  };
}

/**
 * Looks a ServiceAccount up in the watch cache, then in etcd: the cache may
 * not yet hold an account created a moment before the pod.
 */
export function serviceAccountLookup(store: ResourceStore): ServiceAccountAdmissionOptions['serviceAccount'] {
  return async (namespace, name) => {
    const cached = store.cache.items.get(store.key(namespace, name))?.obj;
    if (cached) return cached as ServiceAccount;
    try {
      return (await store.get(namespace, name)) as ServiceAccount;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
}
