/**
 * Hairpin mode on a sandbox's bridge port. With br_netfilter loaded (Docker
 * loads it), a packet from a pod to its own Service address is DNATed back
 * to the pod and must leave the bridge through the port it came in on; the
 * bridge only does that on a port in hairpin mode. Docker leaves it off, so
 * the runtime turns it on for every sandbox it attaches to a pod network.
 *
 * The host end of the sandbox's veth is found by index: the container's
 * eth0 `iflink` (read through /proc/<pid>/root/sys, the sysfs mounted in the
 * container's network namespace) is the `ifindex` of its peer on the host.
 * Setting the flag is idempotent; the roots are parameters so a unit test
 * can lay out a fake sysfs.
 */
import { readdir, readFile, realpath, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface HairpinPaths {
  /** /proc by default. */
  procRoot?: string;
  /** /sys/class/net by default. */
  netRoot?: string;
}

/** The host-side interface name of the veth whose peer is `iflink`, or undefined. */
export async function findHostVeth(iflink: number, netRoot = '/sys/class/net'): Promise<string | undefined> {
  for (const name of await readdir(netRoot)) {
    const index = await readFile(path.join(netRoot, name, 'ifindex'), 'utf8').catch(() => '');
    if (Number(index.trim()) === iflink) return name;
  }
  return undefined;
}

/**
 * Turns hairpin mode on for the bridge port of the container with process
 * `pid`; returns the veth and its bridge. Throws with the reason when it
 * cannot (no eth0, no peer, the peer on no bridge).
 */
export async function enableHairpin(
  pid: number,
  paths: HairpinPaths = {},
): Promise<{ veth: string; bridge: string }> {
  const procRoot = paths.procRoot ?? '/proc';
  const netRoot = paths.netRoot ?? '/sys/class/net';
  if (!(pid > 0)) throw new Error(`no process for the sandbox (pid ${pid})`);
  const iflinkPath = path.join(procRoot, String(pid), 'root/sys/class/net/eth0/iflink');
  const iflink = Number((await readFile(iflinkPath, 'utf8')).trim());
  if (!Number.isInteger(iflink) || iflink <= 0) throw new Error(`bad iflink in ${iflinkPath}`);
  const veth = await findHostVeth(iflink, netRoot);
  if (!veth) throw new Error(`no host interface with ifindex ${iflink}`);
  const master = await realpath(path.join(netRoot, veth, 'master')).catch(() => undefined);
  if (!master) throw new Error(`${veth} is on no bridge`);
  // brport/hairpin_mode is the same attribute as /sys/class/net/<bridge>/brif/<veth>/hairpin_mode.
  await writeFile(path.join(netRoot, veth, 'brport/hairpin_mode'), '1');
  return { veth, bridge: path.basename(master) };
}
