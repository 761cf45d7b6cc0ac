/**
 * `nkctl install`: the machine half of deploy/install.sh, which installs
 * the packages and the release, then runs this as root with the same flags.
 *
 *   --role master --init                    etcd, the CA, apiserver, controller-manager,
 *                                           scheduler (and a kubelet and kube-proxy); prints
 *                                           the join commands
 *   --role master --join URL --token T --ca-cert-hash H --certificate-key K
 *                                           another etcd member and apiserver
 *   --role worker --join URL --token T --ca-cert-hash H
 *                                           a kubelet (TLS bootstrapping) and kube-proxy
 *   --upgrade                               restarts each unit in turn on the release
 *                                           install.sh just made current
 *   --uninstall                             removes what install made
 *
 * Every component is a systemd unit (deploy/systemd) with its flags in
 * /etc/nanokube/NAME.env (layout.ts says where everything is). Running it
 * again is safe: certificates and keys that exist are kept, files are
 * rewritten, and units are started if stopped.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { Command } from 'commander';
import { isNotFound } from '../../api/status.js';
import { boolFlag } from '../../base/component-main.js';
import { ensureEncryptionConfig } from '../../base/encryption-config.js';
import { ExecError, exec } from '../../base/exec.js';
import {
  apiserverKubeletClientCert,
  type CertPaths,
  type CertRequest,
  ensureCA,
  ensureFrontProxyPki,
  ensureServiceAccountKey,
} from '../../base/pki.js';
import { kubeconfigYaml } from '../../client/kubeconfig.js';
import { RestClient, type RestConfig } from '../../client/rest.js';
import {
  bootstrapTokenSecret,
  ensureCert as ensureClusterCert,
  ensureEtcdPki,
  randomBootstrapToken,
  writeKubeconfig as writeClusterKubeconfig,
} from '../cluster-pki.js';
import { CliError } from '../context.js';
import {
  caCertHash,
  certsSecretName,
  clusterInfoPath,
  discoverCluster,
  openFiles,
  parseClusterInfo,
  randomCertificateKey,
  sealFiles,
} from '../install/discovery.js';
import {
  apiPort,
  apiserverArgs,
  controllerManagerArgs,
  controlPlaneTokenGroup,
  defaultLayout,
  type EtcdMember,
  envFile,
  etcdArgs,
  etcdClientPort,
  etcdctlEnv,
  etcdPeerPort,
  healthOf,
  type Installed,
  installedFile,
  joinCommand,
  kubeletArgs,
  kubeProxyArgs,
  type Layout,
  optionalSharedMasterFiles,
  pkiFiles,
  type Role,
  readInstalled,
  schedulerArgs,
  sharedMasterFiles,
  unitName,
  unitsOf,
} from '../install/layout.js';
import { mergeKubeconfig } from '../kubeconfig-file.js';
import { healthy, repoRoot } from '../launcher.js';
import { installAddons, removeNodeLeftovers, until } from '../node.js';
import { newProgress } from '../progress.js';

export interface InstallFlags {
  role?: string;
  init?: boolean;
  join?: string;
  token?: string;
  caCertHash?: string;
  certificateKey?: string;
  nodeName?: string;
  nodeIp?: string;
  controlPlaneEndpoint?: string;
  snapshotsKept: string;
  upgrade?: boolean;
  uninstall?: boolean;
}

const kubernetesServiceIP = '10.96.0.1';
const nodeTokenGroup = 'system:bootstrappers:kubeadm:default-node-token';

/** Runs a command; its stdout, or a CliError with the last line it wrote to stderr. */
function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return exec(cmd, args, { env }).then(
    (r) => r.stdout,
    (err) => {
      throw err instanceof ExecError
        ? new CliError(`${cmd} ${args.slice(0, 2).join(' ')}: ${err.lastLine}`)
        : err;
    },
  );
}

export const systemctl = (...args: string[]) => run('systemctl', args);

/** Checks the flags make one of the five forms; returns the role. */
export function checkFlags(f: InstallFlags): Role | undefined {
  const modes = [f.init, f.join !== undefined, f.upgrade, f.uninstall].filter(Boolean).length;
  if (modes !== 1) throw new CliError('give one of --init, --join URL, --upgrade or --uninstall');
  if (f.upgrade || f.uninstall) return undefined;
  if (f.role !== 'master' && f.role !== 'worker') throw new CliError('--role must be master or worker');
  if (f.init && f.role !== 'master') throw new CliError('--init makes the first master: use --role master');
  if (f.join !== undefined) {
    if (!/^https:\/\/[^/]+$/.test(f.join))
      throw new CliError(`--join: "${f.join}" is not an apiserver URL (https://HOST:PORT)`);
    if (!f.token || !/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(f.token))
      throw new CliError('--join needs --token ID.SECRET (from the join command init printed)');
    if (!f.caCertHash || !/^sha256:[0-9a-f]{64}$/i.test(f.caCertHash))
      throw new CliError('--join needs --ca-cert-hash sha256:HEX (from the join command init printed)');
    if (f.role === 'master' && !f.certificateKey)
      throw new CliError('--role master --join needs --certificate-key (from the master join command)');
  }
  const kept = Number(f.snapshotsKept);
  if (!Number.isInteger(kept) || kept < 1)
    throw new CliError('--snapshots-kept must be a whole number above 0');
  return f.role;
}

/** The address of the interface the default route leaves by: what other machines reach this one on. */
export async function defaultAddress(): Promise<string> {
  const out = await run('ip', ['-4', 'route', 'get', '1.1.1.1']).catch(() => '');
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1];
  if (src) return src;
  for (const addrs of Object.values(networkInterfaces()))
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new CliError("cannot tell this machine's address: give --node-ip");
}

const b64 = (file: string) => readFileSync(file).toString('base64');
const ensureCert = (l: Layout, req: CertRequest) => ensureClusterCert(l.pki, req);
const writeKubeconfig = (l: Layout, user: string, servers: string[], client: CertPaths | { token: string }) =>
  writeClusterKubeconfig(pkiFiles(l).kubeconfig(user), servers, pkiFiles(l).ca.cert, client);

/** Every certificate a master needs, signed by the cluster CA or etcd's (it has both). */
async function masterCerts(l: Layout, i: Installed): Promise<void> {
  const ips = [...new Set([i.nodeIP, '127.0.0.1', kubernetesServiceIP])];
  // Every name the cluster's apiservers are reached by (a load balancer's too), so that
  // any of them may send a client here.
  const hosts = [...new Set(i.servers.map((u) => new URL(u).hostname))].filter((h) => !ips.includes(h));
  const extra = hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? `IP:${h}` : `DNS:${h}`));
  await ensureCert(l, {
    name: 'apiserver',
    commonName: 'kube-apiserver',
    sans: [
      ...ips.map((a) => `IP:${a}`),
      ...[i.nodeName, 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'].map(
        (n) => `DNS:${n}`,
      ),
      'DNS:kubernetes.default.svc.cluster.local',
      ...extra,
    ],
  });
  await ensureCert(l, apiserverKubeletClientCert);
  const etcdSans = [`IP:${i.nodeIP}`, 'IP:127.0.0.1', 'DNS:localhost', `DNS:${i.nodeName}`];
  await ensureEtcdPki(l.pki, { name: i.nodeName, sans: etcdSans });
  const local = [`https://127.0.0.1:${apiPort}`];
  const clients: [string, string, string?][] = [
    ['admin', 'kubernetes-admin', 'system:masters'],
    ['controller-manager', 'system:kube-controller-manager'],
    ['scheduler', 'system:kube-scheduler'],
    ['kube-proxy', 'system:kube-proxy'],
  ];
  for (const [user, cn, org] of clients) {
    const cert = await ensureCert(l, { name: user, commonName: cn, organizations: org ? [org] : [] });
    // The controllers talk to their own apiserver, as kubeadm's do; the rest fail over across all.
    writeKubeconfig(l, user, user === 'controller-manager' || user === 'scheduler' ? local : i.servers, cert);
  }
  const kubelet = await ensureCert(l, {
    name: 'kubelet',
    commonName: `system:node:${i.nodeName}`,
    organizations: ['system:nodes'],
    sans: [`IP:${i.nodeIP}`, `DNS:${i.nodeName}`],
    client: true,
  });
  writeKubeconfig(l, 'kubelet', i.servers, kubelet);
}

/** The shared master files from the first master's Secret, opened with the certificate key. */
async function fetchSharedFiles(l: Layout, bootstrap: RestConfig, certificateKey: string): Promise<void> {
  const rest = new RestClient(bootstrap);
  try {
    const secret = (await rest.request({
      method: 'GET',
      path: `/api/v1/namespaces/kube-system/secrets/${certsSecretName}`,
    })) as { data?: { bundle?: string } };
    if (!secret.data?.bundle) throw new CliError(`the Secret kube-system/${certsSecretName} has no bundle`);
    const files = openFiles(Buffer.from(secret.data.bundle, 'base64').toString('utf8'), certificateKey);
    // A cluster installed before etcd had a CA of its own: its etcd trusts the cluster CA (adoptLegacyEtcdCA).
    if (!files['etcd/ca.key'] && files['ca.key']) {
      files['etcd/ca.crt'] = readFileSync(pkiFiles(l).ca.cert);
      files['etcd/ca.key'] = files['ca.key'];
    }
    mkdirSync(dirname(pkiFiles(l).etcdCA.key), { recursive: true, mode: 0o700 });
    for (const name of sharedMasterFiles) {
      if (!files[name]) throw new CliError(`the cluster certificates lack ${name}`);
      writeFileSync(join(l.pki, name), files[name], { mode: 0o600 });
    }
    for (const name of optionalSharedMasterFiles)
      if (files[name]) writeFileSync(join(l.pki, name), files[name], { mode: 0o600 });
    // Kept, so that this master too can print a master's join command.
    writeFileSync(pkiFiles(l).certificateKey, `${certificateKey}\n`, { mode: 0o600 });
  } catch (err) {
    if (isNotFound(err))
      throw new CliError(
        `the cluster has no Secret kube-system/${certsSecretName} (was its first master made by install --init?)`,
      );
    throw err;
  } finally {
    rest.close();
  }
}

/**
 * A master installed before etcd had a CA of its own: its etcd was started
 * trusting the cluster CA and its etcd certificates were signed by it, and
 * its etcd's flags are not rewritten. etcd's CA files become copies of the
 * cluster CA's, so the flags written from now on name files that work (and
 * masters joining later share them); only a new install separates the two.
 * Whether it did so.
 */
export function adoptLegacyEtcdCA(l: Layout): boolean {
  const p = pkiFiles(l);
  if (existsSync(p.etcdCA.cert) || !existsSync(p.etcdClient.cert) || !existsSync(p.ca.key)) return false;
  mkdirSync(dirname(p.etcdCA.cert), { recursive: true, mode: 0o700 });
  writeFileSync(p.etcdCA.key, readFileSync(p.ca.key), { mode: 0o600 });
  copyFileSync(p.ca.cert, p.etcdCA.cert);
  return true;
}

const legacyEtcdNote =
  'etcd here still trusts the cluster CA (installed before etcd had a CA of its own); a new install separates them\n';

/** etcd's members, from `etcdctl member list` (its JSON loses the 64-bit IDs' precision). */
export function parseMemberList(text: string): { id: string; name: string; peerURLs: string[] }[] {
  return text
    .split('\n')
    .map((line) => line.split(',').map((f) => f.trim()))
    .filter((f) => f.length >= 4 && /^[0-9a-f]+$/.test(f[0]))
    .map((f) => ({ id: f[0], name: f[2], peerURLs: f[3].split(' ').filter(Boolean) }));
}

/** Adds this master to the etcd cluster at `seed` (unless it is a member already); the members after. */
async function joinEtcd(l: Layout, i: Installed, seeds: string[]): Promise<EtcdMember[]> {
  let env: Record<string, string> | undefined;
  let lastErr: unknown;
  for (const seed of seeds) {
    const tryEnv = { ...etcdctlEnv(l), ETCDCTL_ENDPOINTS: seed, ETCDCTL_DIAL_TIMEOUT: '3s' };
    try {
      await run('etcdctl', ['member', 'list'], tryEnv);
      env = tryEnv;
      break;
    } catch (err) {
      lastErr = err;
    }
  }
  if (!env) throw new CliError(`no etcd answers at ${seeds.join(', ')}: ${(lastErr as Error)?.message}`);
  const peerURL = `https://${i.nodeIP}:${etcdPeerPort}`;
  let members = parseMemberList(await run('etcdctl', ['member', 'list'], env));
  if (!members.some((m) => m.peerURLs.includes(peerURL))) {
    await run('etcdctl', ['member', 'add', i.nodeName, `--peer-urls=${peerURL}`], env);
    members = parseMemberList(await run('etcdctl', ['member', 'list'], env));
  }
  return members.map((m) => ({
    name: m.peerURLs.includes(peerURL) ? i.nodeName : m.name,
    peerURL: m.peerURLs[0] ?? '',
  }));
}

export function writeUnits(
  l: Layout,
  i: Installed,
  etcdCluster?: { members: EtcdMember[]; state: 'new' | 'existing' },
  rewrite: { etcd?: boolean } = {},
) {
  const env = (name: string, args: string[], extra?: Record<string, string>) =>
    writeFileSync(join(l.etc, `${name}.env`), envFile(args, extra), { mode: 0o600 });
  if (i.role === 'master') {
    // etcd's flags are written once: its membership is settled when it first starts.
    if (etcdCluster && (rewrite.etcd || !existsSync(join(l.state, 'etcd', 'member'))))
      env('etcd', etcdArgs(l, i, etcdCluster));
    env('apiserver', apiserverArgs(l, i));
    env('controller-manager', controllerManagerArgs(l));
    env('scheduler', schedulerArgs(l));
    writeFileSync(
      join(l.etc, 'etcd-snapshot.env'),
      `${Object.entries({ ...etcdctlEnv(l), NK_SNAPSHOTS_KEPT: String(i.snapshotsKept) })
        .map(([k, v]) => `${k}=${v}`)
        .join('\n')}\n`,
    );
  }
  env('kubelet', kubeletArgs(l, i));
  const proxy = kubeProxyArgs(l, i);
  env('kube-proxy', proxy, { NK_KUBECONFIG: proxy[1] });
  const from = join(repoRoot, 'deploy', 'systemd');
  for (const f of readdirSync(from)) {
    const isMasterOnly = /etcd|apiserver|controller-manager|scheduler/.test(f);
    if (i.role === 'master' || !isMasterOnly) copyFileSync(join(from, f), join(l.units, f));
  }
}

async function waitUnit(l: Layout, component: string): Promise<void> {
  const why = async () =>
    `${component} did not become healthy; see journalctl -u ${unitName(component)}: ${(
      await run('journalctl', ['-u', unitName(component), '-n', '3', '--no-pager', '-o', 'cat']).catch(
        () => '',
      )
    )
      .trim()
      .split('\n')
      .pop()}`;
  try {
    if (component === 'etcd') {
      await until('etcd', 90_000, async () => {
        await run('etcdctl', ['endpoint', 'health'], etcdctlEnv(l));
        return true;
      });
      return;
    }
    const h = healthOf(component);
    if (h) await until(component, h.timeoutS * 1000, () => healthy(h.url, pkiFiles(l).ca.cert));
  } catch {
    throw new CliError(await why());
  }
}

/** Docker running, and the images the kubelet needs built into it (offline, from the release). */
async function prepareDocker(): Promise<void> {
  await systemctl('enable', '--now', 'docker.service');
  await until('docker', 60_000, async () => {
    await run('docker', ['info']);
    return true;
  }).catch((err) => {
    throw new CliError((err as Error).message);
  });
  await run('bash', [join(repoRoot, 'deploy', 'images', 'build.sh')], {
    PATH: `${join(repoRoot, '..', 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    NK_PAUSE_BINARY: join(repoRoot, '..', 'bin', 'pause'),
  });
}

/** Creates or replaces an object at `path` (its collection is the path's parent). */
async function upsert(rest: RestClient, path: string, obj: Record<string, unknown>): Promise<void> {
  try {
    const cur = (await rest.request({ method: 'GET', path })) as { metadata: { resourceVersion: string } };
    const meta = obj.metadata as Record<string, unknown>;
    await rest.request({
      method: 'PUT',
      path,
      body: { ...obj, metadata: { ...meta, resourceVersion: cur.metadata.resourceVersion } },
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    await rest.request({ method: 'POST', path: path.slice(0, path.lastIndexOf('/')), body: obj });
  }
}

const rbac = '/apis/rbac.authorization.k8s.io/v1';

function readerRole(ns: string, name: string, resource: string, object: string, group: string) {
  return [
    {
      path: `${rbac}/namespaces/${ns}/roles/${name}`,
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: ns },
        rules: [{ apiGroups: [''], resources: [resource], resourceNames: [object], verbs: ['get'] }],
      },
    },
    {
      path: `${rbac}/namespaces/${ns}/rolebindings/${name}`,
      obj: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: ns },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group }],
      },
    },
  ];
}

function clusterInfoConfigMap(l: Layout, servers: string[]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cluster-info', namespace: 'kube-public' },
    data: {
      kubeconfig: kubeconfigYaml({
        server: servers[0],
        servers,
        name: 'nanokube',
        caData: b64(pkiFiles(l).ca.cert),
      }),
    },
  };
}

/** What the first master publishes: cluster-info, who may read what to join, a token, the sealed master files. */
export async function publishJoinInfo(
  l: Layout,
  i: Installed,
  admin: RestConfig,
  o: { endpoint?: string; keepOthers?: boolean } = {},
): Promise<{ token: string; masterToken: string; certificateKey: string; server: string }> {
  const endpoint = o.endpoint;
  const rest = new RestClient(admin);
  const p = pkiFiles(l);
  try {
    // The load balancer first when there is one; masters that joined earlier stay listed.
    const own = i.servers.filter((u) => !endpoint || u !== endpoint);
    const before = await rest
      .request({ method: 'GET', path: clusterInfoPath })
      .then((cm) => parseClusterInfo((cm as { data: { kubeconfig: string } }).data.kubeconfig).servers)
      .catch(() => [] as string[])
      .then((list) => (o.keepOthers === false ? [] : list));
    const servers = [...new Set([...(endpoint ? [endpoint] : []), ...own, ...before])];
    await upsert(rest, clusterInfoPath, clusterInfoConfigMap(l, servers));
    for (const r of [
      ...readerRole(
        'kube-public',
        'nanokube:cluster-info-reader',
        'configmaps',
        'cluster-info',
        'system:unauthenticated',
      ),
      // Only a master's token opens the shared keys' Secret; a worker's cannot read it.
      ...readerRole(
        'kube-system',
        'nanokube:certs-reader',
        'secrets',
        certsSecretName,
        controlPlaneTokenGroup,
      ),
    ])
      await upsert(rest, r.path, r.obj);
    if (!existsSync(p.certificateKey))
      writeFileSync(p.certificateKey, `${randomCertificateKey()}\n`, { mode: 0o600 });
    const certificateKey = readFileSync(p.certificateKey, 'utf8').trim();
    const present = optionalSharedMasterFiles.filter((f) => existsSync(join(l.pki, f)));
    const files = Object.fromEntries(
      [...sharedMasterFiles, ...present].map((f) => [f, readFileSync(join(l.pki, f))]),
    );
    await upsert(rest, `/api/v1/namespaces/kube-system/secrets/${certsSecretName}`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: certsSecretName, namespace: 'kube-system' },
      type: 'Opaque',
      data: { bundle: Buffer.from(sealFiles(files, certificateKey)).toString('base64') },
    });
    const made: string[] = [];
    for (const groups of [nodeTokenGroup, controlPlaneTokenGroup]) {
      const token = randomBootstrapToken();
      await rest.request({
        method: 'POST',
        path: '/api/v1/namespaces/kube-system/secrets',
        body: bootstrapTokenSecret(token, 24 * 3600_000, {
          description: 'made by nkctl install --init',
          groups,
        }),
      });
      made.push(token);
    }
    return { token: made[0], masterToken: made[1], certificateKey, server: servers[0] };
  } finally {
    rest.close();
  }
}

/** Adds this master's apiserver to cluster-info, so machines that join later know every apiserver. */
async function addToClusterInfo(admin: RestConfig, l: Layout, server: string): Promise<void> {
  const rest = new RestClient(admin);
  try {
    const cm = (await rest.request({ method: 'GET', path: clusterInfoPath })) as {
      data: { kubeconfig: string };
    };
    const info = parseClusterInfo(cm.data.kubeconfig);
    if (!info.servers.includes(server))
      await upsert(rest, clusterInfoPath, clusterInfoConfigMap(l, [...info.servers, server]));
  } finally {
    rest.close();
  }
}

export function adminConfig(l: Layout): RestConfig {
  const p = pkiFiles(l);
  return {
    servers: [`https://127.0.0.1:${apiPort}`],
    ca: readFileSync(p.ca.cert),
    cert: readFileSync(join(l.pki, 'admin.crt')),
    key: readFileSync(join(l.pki, 'admin.key')),
    userAgent: 'nkctl-install',
  };
}

export async function startUnits(
  l: Layout,
  role: Role,
  progress: ReturnType<typeof newProgress>,
): Promise<void> {
  await systemctl('daemon-reload');
  // Debian's etcd-server package has its own etcd.service on the same ports: ours runs etcd.
  // (A worker has no use for it either, if the package is there.)
  await systemctl('disable', '--now', 'etcd.service').catch(() => undefined);
  for (const c of unitsOf(role)) {
    await progress.step(`starting ${unitName(c)}`, async () => {
      await systemctl('enable', unitName(c));
      await systemctl('start', unitName(c));
      await waitUnit(l, c);
    });
  }
  if (role === 'master') await systemctl('enable', '--now', 'nanokube-etcd-snapshot.timer');
}

export function requireSystemd(): void {
  if (process.getuid?.() !== 0) throw new CliError('install needs root');
  if (!existsSync('/run/systemd/system')) throw new CliError('install needs a machine booted with systemd');
}

export async function install(
  f: InstallFlags,
  l: Layout = defaultLayout,
  out = process.stdout,
): Promise<void> {
  const role = checkFlags(f);
  requireSystemd();
  if (f.uninstall) return uninstall(l, out);
  if (f.upgrade) return upgrade(l, out);
  if (!role) return;
  const progress = newProgress();
  for (const d of [l.etc, l.state, l.logs, join(l.etc, 'manifests')]) mkdirSync(d, { recursive: true });
  mkdirSync(l.pki, { recursive: true, mode: 0o700 });
  const before = readInstalled(l);
  const nodeIP = f.nodeIp ?? before?.nodeIP ?? (await defaultAddress());
  const nodeName = (f.nodeName ?? before?.nodeName ?? hostname()).toLowerCase();
  const own = `https://${nodeIP}:${apiPort}`;
  const endpoint = f.controlPlaneEndpoint ? `https://${f.controlPlaneEndpoint}` : undefined;
  const p = pkiFiles(l);
  let servers: string[];
  let bootstrap: RestConfig | undefined;
  if (f.join !== undefined) {
    const info = await progress.step(`reading the cluster's CA from ${f.join}`, () =>
      discoverCluster(f.join as string, f.caCertHash as string).catch((err) => {
        throw new CliError((err as Error).message);
      }),
    );
    writeFileSync(p.ca.cert, info.caPem);
    // The URL given first: cluster-info may list apiservers that are gone (after a restore).
    servers = [...new Set([f.join as string, ...info.servers])];
    bootstrap = { servers, ca: Buffer.from(info.caPem), token: f.token, userAgent: 'nkctl-install' };
  } else {
    servers = endpoint ? [endpoint] : [];
  }
  const installed: Installed = {
    role,
    nodeName,
    nodeIP,
    servers: role === 'master' ? [...new Set([own, ...servers])] : servers,
    snapshotsKept: Number(f.snapshotsKept),
  };
  let etcdCluster: { members: EtcdMember[]; state: 'new' | 'existing' } | undefined;
  if (role === 'master') {
    await progress.step('making the certificates', async () => {
      if (adoptLegacyEtcdCA(l)) out.write(legacyEtcdNote);
      const haveShared = sharedMasterFiles.every((name) => existsSync(join(l.pki, name)));
      // Once fetched, a re-run needs no token (it may have expired).
      if (bootstrap && !haveShared) await fetchSharedFiles(l, bootstrap, f.certificateKey as string);
      else {
        await ensureCA(l.pki);
        await ensureServiceAccountKey(l.pki);
        ensureEncryptionConfig(p.encryptionConfig);
      }
      // The front-proxy CA is the first master's: one joining a cluster made before it had one goes without.
      if (f.join === undefined || existsSync(p.frontProxy.ca.cert)) await ensureFrontProxyPki(l.pki);
      await masterCerts(l, installed);
    });
    if (existsSync(join(l.state, 'etcd', 'member'))) etcdCluster = undefined;
    else if (f.join === undefined)
      etcdCluster = {
        members: [{ name: nodeName, peerURL: `https://${nodeIP}:${etcdPeerPort}` }],
        state: 'new',
      };
    else {
      // etcd runs beside every apiserver; a load balancer's address has none, so try each.
      const seeds = [...new Set(servers.map((u) => `https://${new URL(u).hostname}:${etcdClientPort}`))];
      // Docker first: once this machine is a member, etcd needs it started soon, for quorum.
      await progress.step('starting Docker and building the node images', prepareDocker);
      etcdCluster = await progress.step('adding this machine to etcd', async () => ({
        members: await joinEtcd(l, installed, seeds),
        state: 'existing' as const,
      }));
    }
  } else {
    writeKubeconfig(l, 'bootstrap-kubelet', servers, { token: f.token as string });
  }
  writeUnits(l, installed, etcdCluster);
  writeFileSync(installedFile(l), `${JSON.stringify(installed, null, 2)}\n`);
  if (!(role === 'master' && f.join !== undefined && etcdCluster))
    await progress.step('starting Docker and building the node images', prepareDocker);
  await startUnits(l, role, progress);
  if (role === 'master') {
    const admin = adminConfig(l);
    mergeKubeconfig(undefined, readFileSync(p.kubeconfig('admin'), 'utf8'), 'nanokube');
    if (f.init) {
      const joinInfo = await progress.step('publishing what other machines join with', () =>
        publishJoinInfo(l, installed, admin, { endpoint }),
      );
      await progress.step('creating the add-ons (cluster DNS, ingress)', () => installAddons(admin));
      const hash = caCertHash(readFileSync(p.ca.cert));
      const server = joinInfo.server;
      out.write(
        [
          '',
          `nanokube master ${nodeName} is up (${own}); kubectl and nkctl use ${p.kubeconfig('admin')} (merged into ~/.kube/config).`,
          '',
          'To add a worker, run on it, as root, where you unpacked the release:',
          `  ${joinCommand({ server, token: joinInfo.token, caCertHash: hash, role: 'worker' })}`,
          '',
          'To add a master (an etcd member and another apiserver; keep the count odd):',
          `  ${joinCommand({ server, token: joinInfo.masterToken, caCertHash: hash, role: 'master', certificateKey: joinInfo.certificateKey })}`,
          '',
          'The token is valid 24 hours; `nkctl token create --print-join-command` makes another.',
          '',
        ].join('\n'),
      );
    } else {
      await addToClusterInfo(admin, l, own);
      out.write(`\nnanokube master ${nodeName} joined (${own}).\n`);
    }
  } else {
    out.write(`\nnanokube worker ${nodeName} joined ${servers[0]}; see it with: kubectl get nodes\n`);
  }
}

/**
 * Restarts each unit in turn on the release now current (install.sh
 * switched it): control plane first, then kube-proxy, then the kubelet,
 * each healthy before the next. Pod containers keep running throughout.
 */
async function upgrade(l: Layout, out: NodeJS.WritableStream): Promise<void> {
  const i = readInstalled(l);
  if (!i) throw new CliError('nanokube is not installed here (no /etc/nanokube/install.json)');
  const progress = newProgress();
  if (i.role === 'master' && adoptLegacyEtcdCA(l)) out.write(legacyEtcdNote);
  writeUnits(l, i);
  await progress.step('building the node images of the new release', prepareDocker);
  await systemctl('daemon-reload');
  const order =
    i.role === 'master'
      ? ['apiserver', 'controller-manager', 'scheduler', 'kube-proxy', 'kubelet']
      : ['kube-proxy', 'kubelet'];
  for (const c of order)
    await progress.step(`restarting ${unitName(c)}`, async () => {
      await systemctl('restart', unitName(c));
      await waitUnit(l, c);
    });
  out.write(`upgraded ${i.nodeName} to ${readFileSync(join(repoRoot, '..', 'VERSION'), 'utf8').trim()}\n`);
}

/** Stops and removes every unit, file, container and rule install made (install.sh then removes the release). */
async function uninstall(l: Layout, out: NodeJS.WritableStream): Promise<void> {
  const i = readInstalled(l);
  const progress = newProgress();
  if (i?.role === 'master') {
    // Leave the etcd cluster first, so the others keep their quorum count right.
    await progress
      .step('leaving the etcd cluster', async () => {
        const env = etcdctlEnv(l);
        const members = parseMemberList(await run('etcdctl', ['member', 'list'], env));
        const self = members.find((m) => m.name === i.nodeName);
        if (self && members.length > 1) await run('etcdctl', ['member', 'remove', self.id], env);
      })
      .catch(() => undefined);
  }
  await progress.step('stopping the units', async () => {
    const units = readdirSync(l.units).filter((f) => /^nanokube-.*\.(service|timer)$/.test(f));
    for (const u of units.reverse()) await systemctl('disable', '--now', u).catch(() => undefined);
    for (const u of units) rmSync(join(l.units, u), { force: true });
    await systemctl('daemon-reload').catch(() => undefined);
  });
  if (i)
    await progress
      .step('removing pod containers, the pod network and kube-proxy rules', async () => {
        await removeNodeLeftovers({ nodeName: i.nodeName });
      })
      .catch(() => undefined);
  for (const d of [l.etc, l.state, l.logs]) rmSync(d, { recursive: true, force: true });
  out.write(`nanokube removed from ${i?.nodeName ?? hostname()}\n`);
}

export function newInstallCommand(): Command {
  return new Command('install')
    .description(
      'Install this machine as a nanokube master or worker under systemd (deploy/install.sh runs it).',
    )
    .option('--role <role>', 'master or worker')
    .addOption(boolFlag('--init', 'make a new cluster with this machine as its first master'))
    .option('--join <url>', 'join the cluster whose apiserver is at URL (https://HOST:6443)')
    .option('--token <token>', 'bootstrap token of the join command')
    .option('--ca-cert-hash <hash>', "sha256 of the cluster CA's public key, from the join command")
    .option('--certificate-key <key>', "opens the masters' shared keys (master join)")
    .option('--node-name <name>', "this machine's node name (default: its hostname)")
    .option('--node-ip <ip>', "the address other machines reach this one on (default: the default route's)")
    .option('--control-plane-endpoint <host:port>', 'a load balancer in front of the apiservers (init)')
    .option('--snapshots-kept <n>', 'etcd snapshots the hourly backup keeps (masters)', '24')
    .addOption(boolFlag('--upgrade', 'restart every unit in turn on the release install.sh made current'))
    .addOption(boolFlag('--uninstall', 'remove everything install made'))
    .action(async (o: InstallFlags) => {
      await install(o);
    });
}
