/**
 * What the apiserver publishes for aggregation at start: a local
 * APIService for each group-version it serves itself (`v1.`, `v1.apps`...,
 * as Kubernetes' autoregister controller makes them; the availability loop
 * marks them Available/Local), and the `extension-apiserver-authentication`
 * ConfigMap in kube-system, from which extension servers learn which CAs
 * sign client certificates and which front-proxy headers to trust.
 */
import type { Logger } from 'pino';
import { stableJson } from '../../api/stable-json.js';
import { isAlreadyExists, isNotFound } from '../../api/status.js';
import { apiServiceName } from '../../api/types/apiregistration.js';
import type { ResourceStore } from '../store.js';

/** Kubernetes' priorities of its built-in groups (apiVersionPriorities); others get CRDs' 1000/15. */
const groupPriorities: Readonly<Record<string, number>> = {
  '': 18000,
  apps: 17800,
  'events.k8s.io': 17750,
  'authentication.k8s.io': 17700,
  'authorization.k8s.io': 17600,
  autoscaling: 17500,
  batch: 17400,
  'certificates.k8s.io': 17300,
  'networking.k8s.io': 17200,
  policy: 17100,
  'rbac.authorization.k8s.io': 17000,
  'storage.k8s.io': 16800,
  'apiextensions.k8s.io': 16700,
  'admissionregistration.k8s.io': 16700,
  'scheduling.k8s.io': 16600,
  'coordination.k8s.io': 16500,
  'node.k8s.io': 16300,
  'discovery.k8s.io': 16200,
  'apiregistration.k8s.io': 18000,
};

/** Creates the local APIServices that are missing (another apiserver may have made them: fine). */
export async function ensureLocalAPIServices(
  store: ResourceStore,
  groupVersions: readonly { group: string; version: string }[],
  log: Logger,
): Promise<void> {
  for (const { group, version } of groupVersions) {
    const name = apiServiceName(group, version);
    if (store.cache.items.has(store.key(undefined, name))) continue;
    const spec = {
      group,
      version,
      groupPriorityMinimum: Object.hasOwn(groupPriorities, group) ? groupPriorities[group] : 1000,
      versionPriority: group === '' ? 1 : 15,
    };
    try {
      await store.create(undefined, {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name, labels: { 'kube-aggregator.kubernetes.io/automanaged': 'onstart' } },
        spec,
      });
      log.info({ apiService: name }, 'created local APIService');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/** What the extension-apiserver-authentication ConfigMap says (Kubernetes' keys). */
export interface ExtensionAuthentication {
  /** PEM of --client-ca-file. */
  clientCA?: string;
  requestheader?: {
    /** PEM of --requestheader-client-ca-file. */
    clientCA: string;
    allowedNames: string[];
    usernameHeaders: string[];
    groupHeaders: string[];
    extraHeadersPrefix: string[];
  };
}

export const extensionAuthenticationName = 'extension-apiserver-authentication';

/** The ConfigMap's data: CA bundles as PEM, header lists as JSON arrays, as Kubernetes writes them. */
export function extensionAuthenticationData(a: ExtensionAuthentication): Record<string, string> {
  const data: Record<string, string> = {};
  if (a.clientCA) data['client-ca-file'] = a.clientCA;
  const rh = a.requestheader;
  if (rh) {
    data['requestheader-client-ca-file'] = rh.clientCA;
    data['requestheader-allowed-names'] = JSON.stringify(rh.allowedNames);
    data['requestheader-username-headers'] = JSON.stringify(rh.usernameHeaders);
    data['requestheader-group-headers'] = JSON.stringify(rh.groupHeaders);
    data['requestheader-extra-headers-prefix'] = JSON.stringify(rh.extraHeadersPrefix);
  }
  return data;
}

/**
 * The Role that lets an extension server read the ConfigMap (Kubernetes'
 * bootstrap Role of the same name, which extension servers' manifests bind).
 */
export const extensionAuthenticationReader = {
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: {
    name: 'extension-apiserver-authentication-reader',
    namespace: 'kube-system',
    labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' },
  },
  rules: [
    {
      apiGroups: [''],
      resources: ['configmaps'],
      resourceNames: [extensionAuthenticationName],
      verbs: ['get', 'list', 'watch'],
    },
  ],
};

/**
 * Creates the ConfigMap, or brings its data to what this apiserver was
 * started with; and the Role that reads it, if missing.
 */
export async function ensureExtensionAuthentication(
  configMaps: ResourceStore,
  roles: ResourceStore | undefined,
  a: ExtensionAuthentication,
  log: Logger,
): Promise<void> {
  await roles?.create('kube-system', structuredClone(extensionAuthenticationReader)).catch((e) => {
    if (!isAlreadyExists(e)) throw e;
  });
  const data = extensionAuthenticationData(a);
  if (Object.keys(data).length === 0) return;
  const metadata = { name: extensionAuthenticationName, namespace: 'kube-system' };
  try {
    const cur = await configMaps.get('kube-system', extensionAuthenticationName);
    if (stableJson(cur.data ?? {}) === stableJson(data)) return;
    await configMaps.update(
      'kube-system',
      extensionAuthenticationName,
      { ...structuredClone(cur), data },
      undefined,
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await configMaps
      .create('kube-system', { apiVersion: 'v1', kind: 'ConfigMap', metadata, data })
      .catch((e) => {
        if (!isAlreadyExists(e)) throw e;
      });
  }
  log.info(
    { configMap: `kube-system/${extensionAuthenticationName}` },
    'published the extension apiserver authentication',
  );
}
