/**
 * The one cluster each three-client test file starts: a real etcd and a TLS
 * apiserver with RBAC, an admin's kubeconfig (client certificate), and a
 * service account `robot` with a bound token and no rights, for the 403s.
 * The namespaces of fixtures.json exist before any scenario runs, so every
 * client starts from the same state and observes the same answers.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ensureServiceAccountKey } from '../../base/pki.js';
import { type EtcdCluster, etcdctl, makeTempDir, startEtcd } from '../../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../../testing/secure-apiserver.js';

export interface KindFixture {
  kind: string;
  apiVersion: string;
  /** The collection's path, in the fixtures' namespace when namespaced. */
  path: string;
  namespaced: boolean;
  /** Everything but apiVersion, kind and metadata. */
  body: Record<string, unknown>;
}

export interface Fixtures {
  namespace: string;
  pagesNamespace: string;
  kinds: KindFixture[];
  /** The spec of the Deployment the scale scenario scales. */
  deployment: Record<string, unknown>;
}

export const fixturesPath = path.join(import.meta.dirname, 'fixtures.json');
export const fixtures: Fixtures = JSON.parse(readFileSync(fixturesPath, 'utf8'));

export interface ClientsCluster {
  etcd: EtcdCluster;
  secure: SecureApiserver;
  /** kubernetes-admin (system:masters) by client certificate. */
  adminKubeconfig: string;
  /** system:serviceaccount:clients:robot by bearer token, bound to nothing. */
  robotKubeconfig: string;
}

export async function startClientsCluster(prefix: string): Promise<ClientsCluster> {
  const dir = makeTempDir(`nanokube-${prefix}-`);
  const etcd = await startEtcd();
  // A write before the apiserver starts: its watch caches begin after revision 1, so a watch
  // from resourceVersion 1 is too old for them (410), as on any cluster that has run a while.
  const seeded = await etcdctl(['put', '/clients-e2e/seed', 'x'], { endpoints: etcd.endpoints });
  if (seeded.code !== 0) throw new Error(`etcdctl put: ${seeded.stderr}`);
  const secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [{ name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] }],
    extraArgs: ['--service-account-signing-key-file', await ensureServiceAccountKey(dir)],
  });
  const admin = async (method: string, p: string, body?: unknown) => {
    const res = await secure.request(method, p, { cert: 'admin', body });
    if (res.code >= 300) throw new Error(`${method} ${p}: ${res.code} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  for (const name of [fixtures.namespace, fixtures.pagesNamespace])
    await admin('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const sa = `/api/v1/namespaces/${fixtures.namespace}/serviceaccounts`;
  await admin('POST', sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } });
  const tr = await admin('POST', `${sa}/robot/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 3600 },
  });
  return {
    etcd,
    secure,
    adminKubeconfig: secure.kubeconfigFor('admin'),
    robotKubeconfig: secure.kubeconfig('robot', { token: tr.status.token }),
  };
}
