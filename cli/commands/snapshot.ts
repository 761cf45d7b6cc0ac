/**
 * `nkctl snapshot save FILE` and `nkctl snapshot restore FILE`: etcd
 * snapshots for disaster recovery, with etcdctl (installed with etcd).
 *
 * save: a consistent snapshot from a running etcd (the local cluster's, or
 * `--etcd-endpoints`), written beside FILE and renamed into place, so FILE is
 * never half-written.
 *
 * restore: the whole cluster's state goes back to the snapshot, the way
 * Kubernetes documents it: every component of the local cluster stops (pod
 * containers stay; the kubelet adopts or replaces them), the snapshot is
 * restored into a new data folder, the old one is kept aside, and the
 * cluster starts again. The snapshot is checked before anything stops, and a
 * failed restore leaves the old data in place and starts the cluster on it.
 */

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { ExecError, exec } from '../../base/exec.js';
import { CliError } from '../context.js';
import {
  defaultLayout,
  etcdctlEnv,
  etcdPeerPort,
  type Layout,
  readInstalled,
  unitName,
} from '../install/layout.js';
import {
  clusterPki,
  components,
  defaultLaunchOptions,
  type LaunchOptions,
  localEtcdPeerUrl,
  localEtcdUrl,
  stopComponent,
} from '../launcher.js';
import { newProgress } from '../progress.js';
import { stopSupervisor } from '../supervisor.js';
import {
  adminConfig,
  publishJoinInfo,
  requireSystemd,
  startUnits,
  systemctl,
  writeUnits,
} from './install.js';
import { up } from './up.js';

export interface SnapshotStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
}

function etcdctl(args: string[], env: Record<string, string> = {}): Promise<string> {
  return exec('etcdctl', args, { env: { ETCDCTL_API: '3', ...env } }).then(
    (r) => r.stdout,
    (err) => {
      if (!(err instanceof ExecError)) throw err;
      if (err.code === 'ENOENT')
        throw new CliError('etcdctl is not installed (bash deploy/setup.sh installs it)');
      throw new CliError(
        err.stderr
          .trim()
          .split('\n')
          .pop()!
          .replace(/^Error:\s*/, ''),
      );
    },
  );
}

/** etcdctl's settings for `nkctl up`'s etcd: the apiserver's client certificate, which etcd's own CA signed. */
function localEtcdctlEnv(o: LaunchOptions): Record<string, string> {
  const etcd = clusterPki(o).etcd;
  return {
    ETCDCTL_ENDPOINTS: localEtcdUrl(o),
    ETCDCTL_CACERT: etcd.ca.cert,
    ETCDCTL_CERT: etcd.client.cert,
    ETCDCTL_KEY: etcd.client.key,
  };
}

/**
 * etcd of this machine: ETCDCTL_ENDPOINTS when set; an installed master's
 * (deploy/install.sh), else `nkctl up`'s, each with the apiserver's client
 * certificate (the only one etcd trusts; both run on a master).
 */
function defaultEtcdEndpoints(): string {
  if (process.env.ETCDCTL_ENDPOINTS) return process.env.ETCDCTL_ENDPOINTS;
  const installed = readInstalled();
  const env =
    installed?.role === 'master' ? etcdctlEnv(defaultLayout) : localEtcdctlEnv(defaultLaunchOptions());
  Object.assign(process.env, env);
  return env.ETCDCTL_ENDPOINTS;
}

/** snapshot-20261124T101500Z.db: names that sort by time. */
export const snapshotFileName = (at: Date) =>
  `snapshot-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')}.db`;

/** Of a folder's file names, the snapshots beyond the newest `keep`. */
export function snapshotsToPrune(names: string[], keep: number): string[] {
  const snaps = names.filter((n) => /^snapshot-\d{8}T\d{6}Z\.db$/.test(n)).sort();
  return snaps.slice(0, Math.max(0, snaps.length - keep));
}

/** Reads a snapshot file's revision and size; throws a one-line error when it is not a snapshot. */
export async function snapshotStatus(file: string): Promise<SnapshotStatus> {
  if (!existsSync(file)) throw new CliError(`snapshot file "${file}" does not exist`);
  try {
    return JSON.parse(await etcdctl(['snapshot', 'status', file, '-w', 'json'])) as SnapshotStatus;
  } catch (err) {
    throw new CliError(`"${file}" is not a readable etcd snapshot: ${(err as Error).message}`);
  }
}

export async function saveSnapshot(file: string, endpoints: string): Promise<SnapshotStatus> {
  const part = `${file}.part`;
  try {
    // In the environment, not as --endpoints: etcdctl refuses both at once, and the
    // snapshot unit sets ETCDCTL_ENDPOINTS.
    await etcdctl(['--dial-timeout', '5s', 'snapshot', 'save', part], { ETCDCTL_ENDPOINTS: endpoints });
    renameSync(part, file);
  } catch (err) {
    rmSync(part, { force: true });
    throw new CliError(`could not save a snapshot from ${endpoints}: ${(err as Error).message}`);
  }
  return snapshotStatus(file);
}

/**
 * Restores `file` into `dataDir` as a one-member cluster of `member`: into
 * a fresh folder beside it first (removed if that fails), then the old folder
 * is renamed to the path returned and the fresh one takes its place.
 */
async function restoreDataDir(
  file: string,
  dataDir: string,
  member: { name: string; peerURL: string },
): Promise<string> {
  const fresh = `${dataDir}.restoring`;
  const kept = `${dataDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  rmSync(fresh, { recursive: true, force: true });
  try {
    await etcdctl([
      'snapshot',
      'restore',
      file,
      ...['--name', member.name, '--data-dir', fresh],
      ...['--initial-cluster', `${member.name}=${member.peerURL}`],
      ...['--initial-advertise-peer-urls', member.peerURL],
    ]);
  } catch (err) {
    rmSync(fresh, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(dataDir)) renameSync(dataDir, kept);
  renameSync(fresh, dataDir);
  return kept;
}

export async function restoreSnapshot(
  o: LaunchOptions,
  file: string,
  opts: { kubeconfig?: string },
  out = process.stdout,
): Promise<string> {
  const progress = newProgress();
  const status = await snapshotStatus(file);
  progress.info(`restoring revision ${status.revision} (${status.totalKey} keys) from ${file}`);
  let kept = '';
  await progress.step('stopping the cluster (pod containers keep running)', async () => {
    // The supervisor first, or it starts etcd again under the restore; `up` below starts it again.
    await stopSupervisor(o);
    for (const spec of [...components(o)].reverse()) await stopComponent(o, spec);
  });
  try {
    await progress.step('restoring etcd data', async () => {
      const peerURL = localEtcdPeerUrl(o);
      kept = await restoreDataDir(file, join(o.home, 'etcd'), { name: 'nanokube', peerURL });
    });
  } catch (err) {
    progress.info('the restore failed; starting the cluster again on its old data');
    await up(o, opts, out);
    throw err;
  }
  await up(o, opts, out);
  out.write(
    `restored ${file} (revision ${status.revision})${kept && existsSync(kept) ? `; the data before it is kept in ${kept}` : ''}\n`,
  );
  return kept;
}

/**
 * restore on a master install.sh made (docs/vms.md): its units stop, the
 * snapshot becomes a fresh one-member etcd data folder (the old one kept
 * aside), and the units start again. Other masters join afresh afterwards.
 */
export async function restoreInstalled(
  file: string,
  l: Layout = defaultLayout,
  out = process.stdout,
): Promise<string> {
  requireSystemd();
  const i = readInstalled(l);
  if (i?.role !== 'master') throw new CliError('snapshot restore needs a master (this machine is not one)');
  const progress = newProgress();
  const status = await snapshotStatus(file);
  progress.info(`restoring revision ${status.revision} (${status.totalKey} keys) from ${file}`);
  let kept = '';
  await progress.step('stopping the control plane', async () => {
    for (const c of ['scheduler', 'controller-manager', 'apiserver', 'etcd'])
      await systemctl('stop', unitName(c));
  });
  const self = { name: i.nodeName, peerURL: `https://${i.nodeIP}:${etcdPeerPort}` };
  await progress.step('restoring etcd data', async () => {
    try {
      kept = await restoreDataDir(file, join(l.state, 'etcd'), self);
    } catch (err) {
      await startUnits(l, 'master', progress);
      throw err;
    }
    // A one-member cluster now, whatever it was before.
    writeUnits(l, i, { members: [self], state: 'new' }, { etcd: true });
  });
  await startUnits(l, 'master', progress);
  // The restored cluster-info and sealed keys are the old master's: this one publishes its own.
  await progress.step('publishing what other machines join with', () =>
    publishJoinInfo(l, i, adminConfig(l), { keepOthers: false }),
  );
  out.write(
    `restored ${file} (revision ${status.revision}); the etcd data before it is kept in ${kept}\n` +
      'Machines join this master with the commands `nkctl token create --print-join-command [--control-plane]` prints.\n',
  );
  return kept;
}

export function newSnapshotCommand(): Command {
  const cmd = new Command('snapshot').description('Save and restore etcd snapshots of the cluster state.');
  cmd
    .command('save')
    .description(
      'Save a snapshot of the cluster state (etcd) to FILE; a folder gets snapshot-TIME.db, and --keep prunes it.',
    )
    .argument('<file>', 'where to write the snapshot, or a folder of snapshots')
    .option(
      '--etcd-endpoints <url>',
      "etcd's client URL (default: this machine's installed or `nkctl up` cluster)",
    )
    .option('--keep <n>', 'with a folder: keep only the newest N snapshots in it')
    .action(async (target: string, opts: { etcdEndpoints?: string; keep?: string }) => {
      const keep = opts.keep === undefined ? undefined : Number(opts.keep);
      if (keep !== undefined && !(Number.isInteger(keep) && keep > 0))
        throw new CliError(`--keep: "${opts.keep}" is not a positive whole number`);
      const intoDir = keep !== undefined || (existsSync(target) && statSync(target).isDirectory());
      if (intoDir) mkdirSync(target, { recursive: true, mode: 0o700 });
      const file = intoDir ? join(target, snapshotFileName(new Date())) : target;
      const s = await saveSnapshot(file, opts.etcdEndpoints ?? defaultEtcdEndpoints());
      process.stdout.write(
        `Snapshot saved at ${file} (revision ${s.revision}, ${s.totalKey} keys, ${statSync(file).size} bytes)\n`,
      );
      if (intoDir && keep !== undefined)
        for (const old of snapshotsToPrune(readdirSync(target), keep)) {
          rmSync(join(target, old), { force: true });
          process.stdout.write(`Removed the older snapshot ${join(target, old)}\n`);
        }
    });
  cmd
    .command('restore')
    .description(
      "Put the cluster back to the state in FILE: stops it, restores etcd, starts it again (`nkctl up`'s, or on an installed master its units).",
    )
    .argument('<file>', 'a snapshot written by `nkctl snapshot save`')
    .action(async (file: string, _opts: unknown, sub: Command) => {
      if (readInstalled()) {
        await restoreInstalled(file);
        return;
      }
      await restoreSnapshot(defaultLaunchOptions(), file, sub.optsWithGlobals() as { kubeconfig?: string });
    });
  return cmd;
}
