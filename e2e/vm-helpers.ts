/**
 * "VMs" for the install tests: containers of nanokube/vm:1 (systemd as PID
 * 1, Debian with the packages install.sh wants, no nanokube) on a Docker
 * network of their own with fixed addresses, so that an address survives a
 * reboot (`docker restart`: systemd shuts down cleanly on STOPSIGNAL).
 * Each gets a volume for /var/lib/docker, as a VM has a disk.
 */
import http from 'node:http';
import path from 'node:path';
import { run } from '../testing/harness.js';

export interface Vm {
  name: string;
  ip: string;
}

export interface VmNetwork {
  name: string;
  vms: Vm[];
}

/** Builds nanokube/vm:1 (and the lab image under it) when missing or stale. */
export async function buildVmImage(): Promise<void> {
  const r = await run('bash', [path.resolve('deploy/images/build.sh'), '--vm'], { timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`building nanokube/vm:1 failed: ${r.stderr || r.stdout}`);
}

async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  const r = await run('docker', args, { timeoutMs });
  if (r.code !== 0)
    throw new Error(`docker ${args[0]} ${args[1] ?? ''}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/**
 * The VMs share this host's cgroup hierarchies (systemd in them needs them).
 * On a host without systemd, some controllers (perf_event, hugetlb, ...) and
 * systemd's own hierarchies are mounted nowhere; systemd in a VM would mount
 * them, making hierarchies that this host's Docker then lists for every
 * container but cannot find, and its stats and OOM reports stop working. So
 * they are mounted here first, where a systemd host has them: the VMs' systemd
 * then finds them and makes none.
 */
const hostCgroupScript = `
set -eu
mounted() { findmnt -n -o TARGET -t cgroup,cgroup2 | grep -qx "$1"; }
controllerMounted() { findmnt -n -o OPTIONS -t cgroup | tr ',' '\\n' | grep -qx "$1"; }
missing=""
for c in $(awk 'NR > 1 && $4 == 1 {print $1}' /proc/cgroups); do
  controllerMounted "$c" || missing="$missing $c"
done
if [ -n "$missing" ] || ! mounted /sys/fs/cgroup/systemd || ! mounted /sys/fs/cgroup/unified; then
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  for c in $missing; do
    mkdir -p "/sys/fs/cgroup/$c" && mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" || true
  done
  if ! mounted /sys/fs/cgroup/systemd; then
    mkdir -p /sys/fs/cgroup/systemd && mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd || true
  fi
  if ! mounted /sys/fs/cgroup/unified; then
    mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified || true
  fi
  mount -o remount,ro /sys/fs/cgroup 2>/dev/null || true
fi
`;

/** A network 10.213.N.0/24 with `count` VMs at .11, .12, ...; N from the test's process, so two runs do not meet. */
export async function startVms(prefix: string, count: number): Promise<VmNetwork> {
  const prepared = await run('bash', ['-c', hostCgroupScript]);
  if (prepared.code !== 0) throw new Error(`could not prepare this host's cgroups: ${prepared.stderr}`);
  const octet = 20 + (process.pid % 200);
  const name = `${prefix}-${process.pid}`;
  await docker(['network', 'create', '--subnet', `10.213.${octet}.0/24`, name]);
  const net: VmNetwork = { name, vms: [] };
  for (let i = 1; i <= count; i++) {
    const vm = { name: `${name}-vm${i}`, ip: `10.213.${octet}.${10 + i}` };
    net.vms.push(vm);
    await docker([
      'run',
      '-d',
      ...['--name', vm.name, '--hostname', `vm${i}`, '--network', name, '--ip', vm.ip],
      // Docker inside, as the lab's workers run it (privileged fails on this kernel).
      ...['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE'],
      ...['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined'],
      ...['--security-opt', 'systempaths=unconfined', '--device-cgroup-rule', 'a *:* rwm'],
      // What systemd needs as PID 1.
      ...[
        '--tmpfs',
        '/run',
        '--tmpfs',
        '/run/lock',
        '-v',
        '/sys/fs/cgroup:/sys/fs/cgroup:rw',
        '--cgroupns=host',
      ],
      ...['-v', '/var/lib/docker', '--label', 'nanokube.io/e2e=vms'],
      'nanokube/vm:1',
    ]);
  }
  for (const vm of net.vms) await waitBooted(vm);
  return net;
}

/** Waits until systemd on the VM says it is up (running, or degraded by a unit of the base system). */
export async function waitBooted(vm: Vm, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await run('docker', ['exec', vm.name, 'systemctl', 'is-system-running'], { timeoutMs: 10_000 });
    if (/^(running|degraded)/.test(r.stdout.trim())) return;
    if (Date.now() > deadline)
      throw new Error(`${vm.name} did not boot: ${r.stdout.trim()} ${r.stderr.trim()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Runs a bash script as root in the VM's home folder. */
export function vmExec(vm: Vm, script: string, timeoutMs = 300_000) {
  return run('docker', ['exec', '-w', '/root', vm.name, 'bash', '-euo', 'pipefail', '-c', script], {
    timeoutMs,
  });
}

export async function copyToVm(vm: Vm, file: string, to = '/root/'): Promise<void> {
  await docker(['cp', file, `${vm.name}:${to}`]);
}

/** A reboot: systemd stops every unit, the container stops, and starts again. */
export async function rebootVm(vm: Vm): Promise<void> {
  await docker(['restart', '-t', '60', vm.name], 180_000);
  await waitBooted(vm);
}

export async function removeVms(net: VmNetwork | undefined): Promise<void> {
  if (!net) return;
  for (const vm of net.vms) await run('docker', ['rm', '-f', '-v', vm.name], { timeoutMs: 120_000 });
  await run('docker', ['network', 'rm', net.name]);
}

/** One GET with a short timeout; whether it answered 200 in time (a stalled body counts as failed). */
export function answers(url: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => settle(false), timeoutMs);
    const req = http.get(url, (res) => {
      res.resume();
      res.on('end', () => settle(res.statusCode === 200));
      res.on('close', () => settle(false));
    });
    req.on('error', () => settle(false));
  });
}

/**
 * Starts a GET of `target()` every `everyMs` (not waiting for the one
 * before, so a request that times out does not hold the others up) until
 * `stop`: how many answered and failed, and how many `bucketMs` windows
 * (by start time) had no answer at all; a request not answered within
 * `timeoutMs` counts as failed.
 */
export function requestLoad(target: () => string, everyMs = 100, bucketMs = 2000, timeoutMs = 1000) {
  const buckets = new Map<number, { ok: number; failed: number }>();
  const pending = new Set<Promise<void>>();
  const started = Date.now();
  const timer = setInterval(() => {
    const at = Math.floor((Date.now() - started) / bucketMs);
    const p = answers(target(), timeoutMs).then((ok) => {
      const b = buckets.get(at) ?? { ok: 0, failed: 0 };
      if (ok) b.ok++;
      else b.failed++;
      buckets.set(at, b);
      pending.delete(p);
    });
    pending.add(p);
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      const all = [...buckets.values()];
      return {
        ok: all.reduce((n, b) => n + b.ok, 0),
        failed: all.reduce((n, b) => n + b.failed, 0),
        silentWindows: all.filter((b) => b.ok === 0).length,
        windows: all.length,
      };
    },
  };
}
