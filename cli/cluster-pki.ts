/**
 * The certificates and keys of a one-host cluster, made once in
 * `<home>/pki` by `nkctl up` (base/pki.ts makes the keys and certificates):
 *
 *   ca.crt/key                      the cluster CA
 *   etcd/ca.crt/key                 etcd's own CA (ensureEtcdPki): it signs etcd-server,
 *                                   etcd-peer and apiserver-etcd-client, and nothing else
 *   apiserver.crt/key               serving: 10.96.0.1, kubernetes.default.svc..., localhost, its address
 *   apiserver-kubelet-client        the apiserver's client certificate for kubelets (its own user,
 *                                   bound to system:kubelet-api-admin; not system:masters)
 *   front-proxy-ca.crt/key          the front-proxy CA: signs front-proxy-client only, the
 *   front-proxy-client.crt/key      certificate the apiserver shows aggregated API servers
 *   sa.key                          signs service account tokens
 *   encryption.yaml                 Secrets encrypted at rest with an AES-GCM key made here
 *   admin, controller-manager, scheduler, kube-proxy
 *                                   client certificates, each with a kubeconfig (<name>.kubeconfig)
 *   nodes/<node>/                   this host's node: kubelet.crt/key (serving and client,
 *                                   system:node:<node> in system:nodes), kubelet.kubeconfig,
 *                                   kube-proxy.kubeconfig, ca.crt; a node container
 *                                   (`up --nodes`): ca.crt and bootstrap-kubelet.kubeconfig only,
 *                                   with the bootstrap token in bootstrap-token; it joins with it
 *
 * Kubeconfigs carry their certificates inline, so a node's folder can be
 * mounted into its container as it is.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../api/meta.js';
import { isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import { ensureEncryptionConfig } from '../base/encryption-config.js';
import {
  apiserverKubeletClientCert,
  type CertPaths,
  type CertRequest,
  ensureCA,
  ensureFrontProxyPki,
  ensureServiceAccountKey,
  etcdPkiFiles,
  issueCert,
} from '../base/pki.js';
import { kubeconfigYaml } from '../client/kubeconfig.js';
import { RestClient, type RestConfig } from '../client/rest.js';
import {
  apiserverAddress,
  apiserverUrl,
  clusterPki,
  hostNodes,
  type LaunchOptions,
  nodeAddress,
  pkiDir,
} from './launcher.js';

/** The first address of the default service range: the `kubernetes` Service. */
const kubernetesServiceIP = '10.96.0.1';

/**
 * A certificate signed by the cluster CA in `dir`, made if it is not there
 * yet or names another subject than `req` asks for (an older release's
 * apiserver-kubelet-client was in system:masters).
 */
export async function ensureCert(dir: string, req: CertRequest): Promise<CertPaths> {
  const paths = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  if (existsSync(paths.cert) && existsSync(paths.key) && subjectMatches(paths.cert, req)) return paths;
  return issueCert(dir, req);
}

/** Whether the certificate's subject is the CN and the set of O that `req` asks for. */
function subjectMatches(cert: string, req: CertRequest): boolean {
  const lines = new X509Certificate(readFileSync(cert)).subject.split('\n');
  const cn = lines.filter((l) => l.startsWith('CN=')).map((l) => l.slice(3));
  const orgs = lines.filter((l) => l.startsWith('O=')).map((l) => l.slice(2));
  const want = [...(req.organizations ?? [])];
  return (
    cn.length === 1 &&
    cn[0] === req.commonName &&
    orgs.length === want.length &&
    want.every((o) => orgs.includes(o))
  );
}

const b64 = (file: string) => readFileSync(file).toString('base64');

/**
 * etcd's PKI in `dir`, as kubeadm makes it: a CA of etcd's own (made if
 * missing; a joining master has fetched the first one's), and the
 * certificates it signs: etcd's serving and peer ones for `member` (also
 * client, as peers call each other) and the apiservers' client certificate.
 * etcd trusts only this CA, so no certificate the cluster CA signs (a node's,
 * an admin's) reaches etcd, and its key never leaves the masters.
 */
export async function ensureEtcdPki(
  dir: string,
  member: { name: string; sans: string[] },
): Promise<ReturnType<typeof etcdPkiFiles>> {
  const files = etcdPkiFiles(dir);
  const ca = await ensureCA(files.caDir, 'etcd-ca');
  const serving = { commonName: member.name, sans: member.sans, client: true, ca };
  await ensureCert(dir, { name: 'etcd-server', ...serving });
  await ensureCert(dir, { name: 'etcd-peer', ...serving });
  await ensureCert(dir, { name: 'apiserver-etcd-client', commonName: 'kube-apiserver-etcd-client', ca });
  return files;
}

/**
 * A kubeconfig (mode 0600) for `servers` (the first is the server, the
 * rest failover), trusting the CA in `caFile`, signing in with a client
 * certificate or a token; everything inline.
 */
export function writeKubeconfig(
  file: string,
  servers: string[],
  caFile: string,
  client: CertPaths | { token: string },
): void {
  writeFileSync(
    file,
    kubeconfigYaml({
      server: servers[0],
      servers,
      name: 'nanokube',
      caData: b64(caFile),
      ...('token' in client
        ? { token: client.token }
        : { certData: b64(client.cert), keyData: b64(client.key) }),
    }),
    { mode: 0o600 },
  );
}

/** Makes whatever of the cluster's PKI is missing, for every node this host runs. */
export async function ensureClusterPki(o: LaunchOptions): Promise<ReturnType<typeof clusterPki>> {
  const p = clusterPki(o);
  await ensureCA(p.dir);
  const server = apiserverUrl(o);
  const addresses = [...new Set(['127.0.0.1', apiserverAddress(o), kubernetesServiceIP])];
  await ensureCert(p.dir, {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    sans: [
      ...addresses.map((a) => `IP:${a}`),
      ...['localhost', hostname().toLowerCase(), 'kubernetes', 'kubernetes.default'].map((n) => `DNS:${n}`),
      'DNS:kubernetes.default.svc',
      'DNS:kubernetes.default.svc.cluster.local',
    ],
  });
  await ensureCert(p.dir, apiserverKubeletClientCert);
  await ensureFrontProxyPki(p.dir);
  // Loopback is no trust boundary on a shared host: etcd wants TLS and its own CA's client certificate.
  await ensureEtcdPki(p.dir, { name: 'nanokube', sans: ['IP:127.0.0.1', 'DNS:localhost'] });
  await ensureServiceAccountKey(p.dir);
  ensureEncryptionConfig(p.encryptionConfig);
  const clients: [
    user: 'admin' | 'controller-manager' | 'scheduler' | 'kube-proxy',
    cn: string,
    o?: string,
  ][] = [
    ['admin', 'kubernetes-admin', 'system:masters'],
    ['controller-manager', 'system:kube-controller-manager'],
    ['scheduler', 'system:kube-scheduler'],
    ['kube-proxy', 'system:kube-proxy'],
  ];
  for (const [user, cn, org] of clients) {
    const cert = await ensureCert(p.dir, { name: user, commonName: cn, organizations: org ? [org] : [] });
    if (!existsSync(p.kubeconfig(user))) writeKubeconfig(p.kubeconfig(user), [server], p.ca.cert, cert);
  }
  const [first, ...others] = hostNodes(o);
  if (first) {
    const np = p.node(first.nodeName);
    mkdirSync(np.dir, { recursive: true, mode: 0o700 });
    copyFileSync(p.ca.cert, np.ca);
    if (!existsSync(np.kubelet.cert)) {
      const made = await issueCert(p.dir, {
        name: `kubelet-${first.nodeName}`,
        commonName: `system:node:${first.nodeName}`,
        organizations: ['system:nodes'],
        sans: [`IP:${nodeAddress(first)}`, `DNS:${first.nodeName}`],
        client: true,
      });
      copyFileSync(made.cert, np.kubelet.cert);
      copyFileSync(made.key, np.kubelet.key);
    }
    if (!existsSync(np.kubeletKubeconfig))
      writeKubeconfig(np.kubeletKubeconfig, [server], p.ca.cert, np.kubelet);
    if (!existsSync(np.proxyKubeconfig)) copyFileSync(p.kubeconfig('kube-proxy'), np.proxyKubeconfig);
  }
  // The other nodes join as kubeadm join does: with a bootstrap token, their
  // kubelet asks for its own certificate (CSR), and their kube-proxy uses it.
  for (const n of others) {
    const np = p.node(n.nodeName);
    mkdirSync(np.dir, { recursive: true, mode: 0o700 });
    copyFileSync(p.ca.cert, np.ca);
    writeFileSync(
      np.bootstrapKubeconfig,
      kubeconfigYaml({ server, name: 'nanokube', caData: b64(p.ca.cert), token: ensureBootstrapToken(o) }),
      { mode: 0o600 },
    );
  }
  return p;
}

/** The bootstrap token (`abcdef.0123456789abcdef`) this host's extra nodes join with, made once. */
export function ensureBootstrapToken(o: LaunchOptions): string {
  const file = join(pkiDir(o), 'bootstrap-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBootstrapToken();
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

/** A new random bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}`. */
export const randomBootstrapToken = () => `${randomToken(6)}.${randomToken(16)}`;

const tokenAlphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomToken(n: number): string {
  return [...randomBytes(n)].map((b) => tokenAlphabet[b % tokenAlphabet.length]).join('');
}

/**
 * The kube-system Secret that makes `token` valid for joining, as kubeadm
 * makes it: authentication and signing usages, the group kubeadm's default
 * node token has, and an expiry `ttlMs` from now (none when 0).
 */
export function bootstrapTokenSecret(
  token: string,
  ttlMs: number,
  o: { description?: string; groups?: string; now?: number } = {},
): KubeObject {
  const [id, secret] = token.split('.');
  const data: Record<string, string> = {
    'token-id': id,
    'token-secret': secret,
    ...(ttlMs > 0 ? { expiration: metaTime((o.now ?? Date.now()) + ttlMs) } : {}),
    'usage-bootstrap-authentication': 'true',
    'usage-bootstrap-signing': 'true',
    ...(o.groups ? { 'auth-extra-groups': o.groups } : {}),
    description: o.description ?? 'made by nkctl up for the nodes it runs in containers',
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    type: 'bootstrap.kubernetes.io/token',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  } as KubeObject;
}

/** Publishes this host's bootstrap token for another day (a day from each `up`), creating its Secret if missing. */
export async function publishBootstrapToken(o: LaunchOptions): Promise<void> {
  const secret = bootstrapTokenSecret(ensureBootstrapToken(o), 24 * 3600_000, {
    groups: 'system:bootstrappers:kubeadm:default-node-token',
  });
  const rest = new RestClient(adminRestConfig(o));
  const path = `/api/v1/namespaces/kube-system/secrets/${secret.metadata.name}`;
  try {
    await rest.request({ method: 'PUT', path, body: secret }).catch(async (err) => {
      if (!isNotFound(err)) throw err;
      await rest.request({ method: 'POST', path: '/api/v1/namespaces/kube-system/secrets', body: secret });
    });
  } finally {
    rest.close();
  }
}

/** How nkctl itself talks to the cluster it started: as its admin, over TLS. */
export function adminRestConfig(o: LaunchOptions): RestConfig {
  const p = clusterPki(o);
  return {
    servers: [apiserverUrl(o)],
    ca: readFileSync(p.ca.cert),
    cert: readFileSync(p.admin.cert),
    key: readFileSync(p.admin.key),
    userAgent: 'nkctl',
  };
}

/** The admin kubeconfig's text (pki/admin.kubeconfig), for merging into ~/.kube/config. */
export function adminKubeconfigYaml(o: LaunchOptions): string {
  return readFileSync(clusterPki(o).kubeconfig('admin'), 'utf8');
}
