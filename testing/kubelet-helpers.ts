/**
 * Docker helpers for the kubelet e2e tests: a node name and pod CIDR of the
 * test's own, and removal of every container and network made for that
 * node (found by the nanokube.io/node label), so test files never touch
 * each other's or anybody else's containers.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { freePorts, makeTempDir } from './harness.js';

export const docker = new Docker({ socketPath: '/var/run/docker.sock' });

/** A node name no other test run uses: `prefix-<hex>`. */
export function testNodeName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/**
 * A 10.244.N.0/24 that no Docker network on this host uses yet (N from 100
 * up, at random, so concurrent test files rarely pick the same one; Docker
 * refuses an overlapping network, and the kubelet then fails loudly).
 */
export async function freePodCIDR(): Promise<string> {
  const nets = await docker.listNetworks();
  const used = new Set(nets.flatMap((n) => n.IPAM?.Config?.map((c) => c.Subnet) ?? []));
  for (let i = 0; i < 200; i++) {
    const n = 100 + Math.floor(Math.random() * 150);
    const cidr = `10.244.${n}.0/24`;
    if (!used.has(cidr)) return cidr;
  }
  throw new Error('no free 10.244.N.0/24 for a test pod network');
}

/** Removes the containers and networks labelled for `node`. */
export async function removeNodeContainers(node: string): Promise<void> {
  const label = [`nanokube.io/node=${node}`];
  const containers = await docker.listContainers({ all: true, filters: { label } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const nets = await docker.listNetworks({ filters: { label } });
  for (const n of nets)
    await docker
      .getNetwork(n.Id)
      .remove()
      .catch(() => undefined);
}

/** Docker containers of `node`, optionally only one pod's (by name). */
export async function nodeContainers(node: string, podName?: string): Promise<Docker.ContainerInfo[]> {
  const label = [`nanokube.io/node=${node}`];
  if (podName) label.push(`io.kubernetes.pod.name=${podName}`);
  return docker.listContainers({ all: true, filters: { label } });
}

/** Runs `cmd` in a container (by `docker://<id>` or bare id) and waits for it; returns the exit code. */
export async function dockerExec(containerID: string, cmd: string[]): Promise<number> {
  const id = containerID.replace(/^docker:\/\//, '');
  const exec = await docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.resume();
  });
  for (let i = 0; i < 50; i++) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? -1;
    await new Promise((r) => setTimeout(r, 20));
  }
  return -1;
}

/** Sends `signal` to a container's main process, as `docker kill -s`. */
export async function dockerKill(containerID: string, signal = 'SIGKILL'): Promise<void> {
  await docker.getContainer(containerID.replace(/^docker:\/\//, '')).kill({ signal });
}

/**
 * The hairpin_mode ('0' or '1') of the host bridge port of a container's
 * eth0, read from sysfs: the container's eth0 iflink is its veth peer's
 * ifindex on the host.
 */
export async function hairpinModeOf(containerID: string): Promise<string> {
  const id = containerID.replace(/^docker:\/\//, '');
  const pid = (await docker.getContainer(id).inspect()).State.Pid;
  const iflink = readFileSync(`/proc/${pid}/root/sys/class/net/eth0/iflink`, 'utf8').trim();
  const veth = readdirSync('/sys/class/net').find(
    (n) => readFileSync(`/sys/class/net/${n}/ifindex`, 'utf8').trim() === iflink,
  );
  if (!veth) throw new Error(`no host interface with ifindex ${iflink} for container ${id.slice(0, 12)}`);
  const bridge = readlinkSync(`/sys/class/net/${veth}/master`).split('/').pop();
  return readFileSync(`/sys/class/net/${bridge}/brif/${veth}/hairpin_mode`, 'utf8').trim();
}

/**
 * The environment of a `nkctl up` cluster of a test's own: a home folder and
 * kubeconfig in a temporary folder, and free ports for every component
 * (etcd's peer port next to its client port). With `node`, this host's node
 * name, and its pod range (`podCIDR`, or a free /24).
 */
export async function nkctlEnv(o: { prefix: string; node?: string; podCIDR?: string }): Promise<{
  env: NodeJS.ProcessEnv;
  dir: string;
  home: string;
  kubeconfig: string;
  ports: Record<string, number>;
}> {
  const dir = makeTempDir(o.prefix);
  const [etcd, , api, controllerManager, scheduler, kubelet, kubeletHealth, proxyHealth] = await freePorts(
    8,
    {
      firstPair: true,
    },
  );
  const home = path.join(dir, 'home');
  const kubeconfig = path.join(dir, 'kubeconfig');
  const env: NodeJS.ProcessEnv = {
    NANOKUBE_HOME: home,
    NANOKUBE_ETCD_PORT: String(etcd),
    NANOKUBE_API_PORT: String(api),
    NANOKUBE_CONTROLLER_MANAGER_PORT: String(controllerManager),
    NANOKUBE_SCHEDULER_PORT: String(scheduler),
    NANOKUBE_KUBELET_PORT: String(kubelet),
    NANOKUBE_KUBELET_HEALTH_PORT: String(kubeletHealth),
    NANOKUBE_PROXY_HEALTH_PORT: String(proxyHealth),
    KUBECONFIG: kubeconfig,
  };
  if (o.node) {
    env.NANOKUBE_NODE_NAME = o.node;
    env.NANOKUBE_POD_CIDR = o.podCIDR ?? (await freePodCIDR());
  }
  const ports = { etcd, api, controllerManager, scheduler, kubelet, kubeletHealth, proxyHealth };
  return { env, dir, home, kubeconfig, ports };
}
