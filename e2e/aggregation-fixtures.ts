/**
 * What the aggregation e2e tests share: the test group-version served by
 * testing/sample-apiserver.ts, its backend's serving certificate, the
 * APIService and RBAC objects.
 */
import { readFileSync } from 'node:fs';
import { ensureCA, issueCert } from '../base/pki.js';
import { makeTempDir } from '../testing/harness.js';

export const group = 'whoami.nanokube.test';
export const version = 'v1alpha1';
export const whoamisPath = `/apis/${group}/${version}/whoamis`;

/** Users with client certificates: alice may read whoamis (by group), mallory may not. */
export const users = [
  { name: 'alice', commonName: 'alice', organizations: ['whoami-readers'] },
  { name: 'mallory', commonName: 'mallory', organizations: ['strangers'] },
];

/** A CA of the backend's own and its serving certificate for `<service>.<namespace>.svc`. */
export async function backendCerts(service: string, namespace: string) {
  const dir = makeTempDir('nanokube-sample-api-');
  const ca = await ensureCA(dir, 'sample-api-ca');
  const serving = await issueCert(dir, {
    name: 'tls',
    commonName: service,
    sans: [`DNS:${service}.${namespace}.svc`],
  });
  return { dir, ca, serving, caBundle: readFileSync(ca.cert).toString('base64') };
}

export function apiService(o: { name?: string; namespace: string; service: string; caBundle: string }) {
  return {
    apiVersion: 'apiregistration.k8s.io/v1',
    kind: 'APIService',
    metadata: { name: o.name ?? `${version}.${group}` },
    spec: {
      group: o.name ? o.name.slice(o.name.indexOf('.') + 1) : group,
      version,
      service: { namespace: o.namespace, name: o.service },
      caBundle: o.caBundle,
      groupPriorityMinimum: 1000,
      versionPriority: 15,
    },
  };
}

/** Read access to whoamis for the group whoami-readers. */
export const rbacObjects = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'whoami-reader' },
    rules: [{ apiGroups: [group], resources: ['whoamis'], verbs: ['get', 'list', 'watch'] }],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'whoami-readers' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'whoami-reader' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'whoami-readers' }],
  },
];
