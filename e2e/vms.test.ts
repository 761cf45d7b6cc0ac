// docs/vms.md followed word for word on three "VMs" (containers booting
// systemd, e2e/vm-helpers.ts): every block marked `<!-- vms: MACHINE -->`
// runs as written on that machine (host: this checkout; copy: the release
// goes over with docker cp where the page says scp), with <vm1-ip>, <token>,
// <hash> and <key> filled in from what the first master printed, and the
// join commands the page shows must be the ones it printed. Then the
// Deployment and Service of the page survive a reboot of each VM in turn,
// with requests counted all along, and uninstall leaves a machine clean.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../testing/harness.js';
import {
  buildVmImage,
  copyToVm,
  rebootVm,
  removeVms,
  requestLoad,
  startVms,
  type Vm,
  type VmNetwork,
  vmExec,
} from './vm-helpers.js';

interface Block {
  machine: string;
  script: string;
}

/** The marked sh blocks of the page, in order. */
function vmBlocks(text: string): Block[] {
  return [...text.matchAll(/<!-- vms: ([\w-]+) -->\n```sh\n([\s\S]*?)```/g)].map((m) => ({
    machine: m[1],
    script: m[2],
  }));
}

const page = readFileSync(path.resolve('docs/vms.md'), 'utf8');
let net: VmNetwork | undefined;
let vms: Vm[] = [];
const fill: Record<string, string> = {};
const printed: Record<'worker' | 'master', string> = { worker: '', master: '' };
let tarball = '';
let nodePort = 0;

const substitute = (s: string) => s.replace(/<([a-z0-9-]+)>/g, (all, name) => fill[name] ?? all);
const vmNamed = (machine: string) => vms[Number(machine.replace('vm', '')) - 1];

async function onMaster(script: string, vm = vms[0]) {
  const r = await vmExec(vm, script, 120_000);
  if (r.code !== 0) throw new Error(`${script}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

async function untilTrue(what: string, timeoutMs: number, check: () => Promise<boolean>) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Every node Ready and web's 3 replicas available, asked of a master that is up. */
async function clusterSettled(master: Vm) {
  await untilTrue('3 Ready nodes and web available', 240_000, async () => {
    const nodes = await onMaster(
      `nkctl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}'`,
      master,
    );
    const ready = nodes.trim().split(/\s+/);
    const available = await onMaster(
      "nkctl get deployment web -o jsonpath='{.status.availableReplicas}/{.status.updatedReplicas}'",
      master,
    );
    return ready.length === 3 && ready.every((s) => s === 'True') && available.trim() === '3/3';
  });
}

beforeAll(async () => {
  await buildVmImage();
  // vm1..vm3 make the cluster; vm4 is the fresh machine a backup is restored on.
  net = await startVms('nkvms', 4);
  vms = net.vms;
  fill['vm1-ip'] = vms[0].ip;
}, 900_000);

afterAll(async () => {
  // NK_KEEP_VMS=1 leaves them for a look (docker exec -it NAME bash; journalctl -u nanokube-*).
  if (!process.env.NK_KEEP_VMS) await removeVms(net);
}, 300_000);

describe('docs/vms.md on three VMs', () => {
  it('marks blocks for the host, the copy, every VM and each of vm1..vm3', () => {
    const machines = vmBlocks(page).map((b) => b.machine);
    expect(machines.slice(0, 4)).toEqual(['host', 'copy', 'all', 'vm1']);
    expect(machines).toContain('vm2');
    expect(machines).toContain('vm3');
    expect(machines).toContain('copy-backup');
    expect(machines).toContain('vm4');
  });

  it('runs each block on its machine, as written', async () => {
    for (const block of vmBlocks(page)) {
      const script = substitute(block.script);
      if (block.machine === 'host') {
        const r = await run('bash', ['-euo', 'pipefail', '-c', script], { timeoutMs: 600_000 });
        expect(r.code, r.stderr).toBe(0);
        tarball = (
          await run('bash', ['-c', 'ls -t release/nanokube-*-linux-*.tar.gz | head -1'])
        ).stdout.trim();
        expect(tarball).toMatch(/nanokube-.*\.tar\.gz$/);
        continue;
      }
      if (block.machine === 'copy') {
        expect(script).toMatch(/^scp release\/nanokube-\*\.tar\.gz root@vm1:/);
        for (const vm of vms) await copyToVm(vm, tarball);
        continue;
      }
      if (block.machine === 'copy-backup') {
        // scp -3 from vm1 to vm4, through this host; vm4 has the release unpacked, as the page says.
        expect(script).toMatch(/^scp -3 .*root@vm4:/);
        const snap = (await onMaster('ls /var/lib/nanokube/backups/snapshot-*.db | tail -1')).trim();
        const dir = mkdtempSync(path.join(tmpdir(), 'nkvms-'));
        try {
          for (const f of [snap, '/root/pki-backup.tar.gz']) {
            const local = path.join(dir, path.basename(f));
            expect((await run('docker', ['cp', `${vms[0].name}:${f}`, local])).code).toBe(0);
            await copyToVm(vms[3], local);
          }
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        await copyToVm(vms[3], tarball);
        expect((await vmExec(vms[3], 'tar xzf nanokube-*.tar.gz')).code).toBe(0);
        continue;
      }
      const targets = block.machine === 'all' ? vms.slice(0, 3) : [vmNamed(block.machine)];
      for (const vm of targets) {
        const joining = /--join/.test(script);
        if (joining) {
          // The page shows the command vm1 printed, placeholders and all.
          const role = /--role master/.test(script) ? 'master' : 'worker';
          expect(script.trim()).toBe(printed[role]);
        }
        const r = await vmExec(vm, script, 600_000);
        expect(r.code, `${block.machine}: ${script}\n${r.stderr}\n${r.stdout}`).toBe(0);
        if (/--init/.test(script) && block.machine === 'vm1') {
          for (const role of ['worker', 'master'] as const) {
            const line = r.stdout.split('\n').find((l) => l.includes(`--role ${role} --join`));
            expect(line, r.stdout).toBeDefined();
            printed[role] = (line as string).trim();
          }
          const m = /--token (\S+) --ca-cert-hash (\S+) --certificate-key (\S+)/.exec(printed.master);
          expect(m).not.toBeNull();
          [fill['master-token'], fill.hash, fill.key] = [m?.[1] ?? '', m?.[2] ?? '', m?.[3] ?? ''];
          fill.token = /--token (\S+)/.exec(printed.worker)?.[1] ?? '';
          expect(fill.token).not.toBe(fill['master-token']);
        }
        if (/curl -s http/.test(script)) expect(r.stdout).toMatch(/hello from web-/);
        if (/nanokube-etcd-snapshot/.test(script)) expect(r.stdout).toMatch(/snapshot-\d{8}T\d{6}Z\.db/);
        if (/snapshot restore/.test(script)) {
          // The restored master has the cluster's objects: web, as vm1 made it.
          expect(r.stdout).toMatch(/^web\s+\d\/3/m);
          await run('docker', ['rm', '-f', '-v', vm.name], { timeoutMs: 120_000 });
        }
      }
    }
  }, 1_800_000);

  it('has three Ready nodes, the second master in etcd, and web spread over them', async () => {
    await clusterSettled(vms[0]);
    const members = await onMaster('set -a; . /etc/nanokube/etcd-snapshot.env; etcdctl member list');
    expect(members).toContain('vm1');
    expect(members).toContain('vm2');
    const units = await onMaster('systemctl is-active nanokube-kubelet nanokube-kube-proxy', vms[2]);
    expect(units.trim().split('\n')).toEqual(['active', 'active']);
    expect((await vmExec(vms[2], 'test ! -e /etc/systemd/system/nanokube-apiserver.service')).code).toBe(0);
    // The masters' shared keys: a master's token reads their Secret, a worker's may not.
    const code = (token: string) =>
      onMaster(
        `curl -sk -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer ${token}' https://${vms[0].ip}:6443/api/v1/namespaces/kube-system/secrets/nanokube-certs`,
        vms[2],
      );
    expect(await code(fill['master-token'])).toBe('200');
    expect(await code(fill.token)).toBe('403');
    // Running the join again is safe: nothing changes, the units stay up.
    const again = await vmExec(vms[2], printed.worker, 300_000);
    expect(again.code, again.stderr).toBe(0);
    expect((await onMaster('systemctl is-active nanokube-kubelet nanokube-kube-proxy', vms[2])).trim()).toBe(
      'active\nactive',
    );
    nodePort = Number(await onMaster("nkctl get service web -o jsonpath='{.spec.ports[0].nodePort}'"));
    expect(nodePort).toBeGreaterThan(0);
  }, 300_000);

  it('keeps answering while each VM reboots in turn', async () => {
    const report: string[] = [];
    for (let i = 0; i < 3; i++) {
      const down = vms[i];
      const other = vms[(i + 1) % 3];
      const load = requestLoad(() => `http://${other.ip}:${nodePort}/`);
      await rebootVm(down);
      await clusterSettled(vms[0]);
      await new Promise((r) => setTimeout(r, 3000));
      const seen = await load.stop();
      report.push(
        `${down.name}: ${seen.ok} answered, ${seen.failed} failed, ${seen.silentWindows}/${seen.windows} silent 2s windows`,
      );
      expect(seen.ok).toBeGreaterThan(0);
      expect(seen.silentWindows, report.join('; ')).toBe(0);
      // The rebooted machine answers on the NodePort itself again.
      const back = requestLoad(() => `http://${down.ip}:${nodePort}/`);
      await new Promise((r) => setTimeout(r, 2000));
      expect((await back.stop()).ok).toBeGreaterThan(0);
    }
    console.log(`reboots: ${report.join('; ')}`);
    // Graceful node shutdown: a rebooted machine's pods were marked terminated before it went down.
    const reasons = await onMaster(
      'nkctl get pods -l app=web -o jsonpath=\'{range .items[*]}{.status.reason}{" "}{end}\'',
    );
    expect(reasons).toContain('Terminated');
  }, 1_200_000);

  it('upgrades one machine at a time to a new release, pods running on and every request answered', async () => {
    const made = await run('bash', [path.resolve('deploy/release.sh')], {
      env: { NK_RELEASE_VERSION: `0.0.0-upgrade-${process.pid}` },
      timeoutMs: 600_000,
    });
    expect(made.code, made.stderr).toBe(0);
    const next = made.stdout.trim().split('\n').pop() as string;
    const restarts = () =>
      onMaster(
        "nkctl get pods -l app=web -o jsonpath='{range .items[*]}{.metadata.name}={.status.containerStatuses[0].restartCount} {end}'",
      );
    const before = await restarts();
    // Every request answered, however slowly: each machine builds its node images while it
    // upgrades, and on two shared cores an answer can take longer than a second.
    const load = requestLoad(() => `http://${vms[0].ip}:${nodePort}/`, 100, 2000, 5000);
    try {
      for (const vm of vms.slice(0, 3)) {
        await copyToVm(vm, next, '/root/next.tar.gz');
        const r = await vmExec(
          vm,
          'rm -rf nanokube && tar xzf next.tar.gz && bash nanokube/install.sh --upgrade',
        );
        expect(r.code, r.stderr + r.stdout).toBe(0);
        expect(r.stdout).toContain(`upgraded ${vm.name.split('-').pop()} to 0.0.0-upgrade-${process.pid}`);
        const current = await vmExec(vm, 'readlink /opt/nanokube/current');
        expect(current.stdout.trim()).toBe(`releases/0.0.0-upgrade-${process.pid}`);
        // The release carries the Node.js the project runs on (the tests' own: 24 after setup).
        const node = await vmExec(vm, '/opt/nanokube/current/bin/node --version');
        expect(node.stdout.trim()).toBe(process.version);
      }
    } finally {
      const seen = await load.stop();
      console.log(`upgrade: ${seen.ok} answered, ${seen.failed} failed`);
      expect(seen.failed).toBe(0);
    }
    expect(await restarts()).toBe(before);
    await clusterSettled(vms[0]);
  }, 900_000);

  it('uninstall on the worker removes what install made', async () => {
    const r = await vmExec(vms[2], 'bash nanokube/install.sh --uninstall', 300_000);
    expect(r.code, r.stderr).toBe(0);
    const left = await vmExec(
      vms[2],
      [
        'ls /etc/systemd/system | grep nanokube || true',
        'ls -d /etc/nanokube /var/lib/nanokube /opt/nanokube /usr/local/bin/nkctl 2>/dev/null || true',
        // The VM runs no containers but the kubelet's.
        'docker ps -aq',
        'iptables-save | grep -c KUBE- || true',
      ].join('; '),
    );
    expect(left.stdout.trim().split('\n')).toEqual(['0']);
  }, 300_000);
});
