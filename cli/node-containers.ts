/**
 * The extra nodes of `nkctl up --nodes N`: each a container of the lab image
 * (deploy/images/lab, as the docker-compose lab's workers) with its own
 * network namespace, Docker engine, kubelet and kube-proxy, on a Docker
 * network of their own. This host stays the first node. The containers
 * reach the apiserver on the host's pod bridge through their default route,
 * and the host's kube-proxy routes their pod ranges to their addresses.
 * Their components log to `<home>/logs/<node>/`.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { dockerClient } from '../base/docker.js';
import { ExecError, exec } from '../base/exec.js';
import { apiserverUrl, type LaunchOptions, nodePkiDir, repoRoot } from './launcher.js';

export const nodeImage = 'nanokube/lab:1';
const hostLabel = 'nanokube.io/host-node';

const docker = () => dockerClient(process.env.NANOKUBE_DOCKER_SOCKET);

export const nodesNetworkName = (o: LaunchOptions) => `nanokube-${o.nodeName}-nodes`;
export const nodeContainerName = (n: LaunchOptions) => `nanokube-node-${n.nodeName}`;

/** Builds the node image if it is missing or older than dist/ (offline where needed). */
export async function ensureNodeImage(): Promise<string> {
  const r = await exec('bash', [join(repoRoot, 'deploy/images/build.sh'), '--lab'], {
    timeoutMs: 1_200_000,
  }).catch((err) => {
    if (!(err instanceof ExecError)) throw err;
    const said = `${err.stdout}${err.stderr}`.trim().split('\n');
    throw new Error(`building ${nodeImage} failed: ${said.slice(-3).join(' / ')}`);
  });
  const said = `${r.stdout}${r.stderr}`.trim().split('\n');
  return said.filter((l) => l.includes(nodeImage)).pop() ?? nodeImage;
}

/** The nodes' network: a free /24 in 10.243.0.0/16, made once. */
async function ensureNetwork(o: LaunchOptions): Promise<string> {
  const d = docker();
  const name = nodesNetworkName(o);
  const nets = await d.listNetworks();
  if (nets.some((n) => n.Name === name)) return name;
  const used = new Set(nets.flatMap((n) => n.IPAM?.Config?.map((c) => c.Subnet) ?? []));
  for (let i = 0; i < 256; i++) {
    const subnet = `10.243.${i}.0/24`;
    if (used.has(subnet)) continue;
    await d.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { [hostLabel]: o.nodeName },
      IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: `10.243.${i}.1` }] },
    });
    return name;
  }
  throw new Error('no free /24 in 10.243.0.0/16 for the nodes network');
}

/**
 * Starts node `n` (one of hostNodes(o) after the first) as a container, or
 * starts its stopped container again; returns what it did.
 */
export async function startNodeContainer(o: LaunchOptions, n: LaunchOptions): Promise<string> {
  const d = docker();
  const name = nodeContainerName(n);
  const existing = (await d.listContainers({ all: true, filters: { name: [`^/${name}$`] } }))[0];
  if (existing) {
    if (existing.State === 'running') return `${name} is already running`;
    await d.getContainer(existing.Id).start();
    return `started ${name} again`;
  }
  const network = await ensureNetwork(o);
  const logs = join(o.home, 'logs', n.nodeName);
  mkdirSync(logs, { recursive: true });
  const privileged = process.env.NANOKUBE_PRIVILEGED_NODES === '1';
  const c = await d.createContainer({
    name,
    Image: nodeImage,
    Hostname: n.nodeName,
    Cmd: ['worker', '--pod-cidr', n.podCIDR],
    Env: [
      `MASTER=${apiserverUrl(o)}`,
      // Its kubelet and kube-proxy credentials, made by `up` (cluster-pki.ts), mounted below.
      'PKI_DIR=/etc/nanokube/pki',
      'LOG_DIR=/var/log/nanokube',
      `CGROUP_PARENT=/nanokube/${n.nodeName}`,
      `DOCKER_STORAGE_DRIVER=${process.env.NANOKUBE_NODE_STORAGE_DRIVER ?? 'vfs'}`,
    ],
    Labels: { [hostLabel]: o.nodeName },
    Volumes: { '/var/lib/docker': {} },
    HostConfig: {
      // Docker inside Docker without `privileged`, which fails on kernels
      // whose bounding set lacks CAP_SYS_RESOURCE (NANOKUBE_PRIVILEGED_NODES=1
      // asks for it where it works).
      ...(privileged
        ? { Privileged: true }
        : {
            CapAdd: ['ALL'],
            CapDrop: ['SYS_RESOURCE'],
            SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
            DeviceCgroupRules: ['a *:* rwm'],
          }),
      Tmpfs: { '/run': '' },
      Binds: [
        '/sys/fs/cgroup:/sys/fs/cgroup:rw',
        `${logs}:/var/log/nanokube`,
        `${nodePkiDir(o, n.nodeName)}:/etc/nanokube/pki:ro`,
      ],
      NetworkMode: network,
      RestartPolicy: { Name: 'on-failure' },
    },
  });
  await c.start();
  return `started ${name}`;
}

/** The node containers of this host's cluster: name and Docker's state. */
export async function nodeContainers(
  o: LaunchOptions,
): Promise<{ id: string; name: string; state: string }[]> {
  const list = await docker()
    .listContainers({ all: true, filters: { label: [`${hostLabel}=${o.nodeName}`] } })
    .catch(() => []);
  return list.map((c) => ({ id: c.Id, name: (c.Names[0] ?? '').replace(/^\//, ''), state: c.State }));
}

/** Removes the node containers (their engines' data with them) and their network; returns how many. */
export async function removeNodeContainers(o: LaunchOptions): Promise<number> {
  const d = docker();
  const list = await nodeContainers(o);
  for (const c of list) await d.getContainer(c.id).remove({ force: true, v: true });
  await d
    .getNetwork(nodesNetworkName(o))
    .remove()
    .catch(() => undefined);
  // Their engines made cgroups under nanokube/<node>; empty ones can go.
  await exec('sh', [
    '-c',
    'find /sys/fs/cgroup/*/nanokube -depth -type d -exec rmdir {} + 2>/dev/null; true',
  ]).catch(() => undefined);
  return list.length;
}
