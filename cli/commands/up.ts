/**
 * `nkctl up`: starts a one-host cluster (etcd, apiserver, controller-manager,
 * scheduler, and when root with Docker a kubelet and kube-proxy with cluster
 * DNS and ingress as workloads; `--nodes N` adds node containers) as separate
 * processes, waits for each to be healthy, for the nodes to be Ready and DNS
 * to be available, and writes a kubeconfig. What is missing (etcd, the
 * Docker engine, the local images) is installed first with
 * deploy/setup.sh, after saying what and why. Running it again is safe:
 * what runs is reused, and it says so.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  adminKubeconfigYaml,
  adminRestConfig,
  ensureClusterPki,
  publishBootstrapToken,
} from '../cluster-pki.js';
import { CliError } from '../context.js';
import { mergeKubeconfig } from '../kubeconfig-file.js';
import {
  type ComponentSpec,
  componentHealthy,
  components,
  defaultLaunchOptions,
  hostNodes,
  type LaunchOptions,
  readRecordedNodes,
  recordNodes,
  repoRoot,
  runningPid,
  startComponent,
  waitReady,
} from '../launcher.js';
import { installAddons, preparePodNetwork, waitAddonsAvailable, waitNodeReady } from '../node.js';
import { ensureNodeImage, nodeImage, startNodeContainer } from '../node-containers.js';
import { newProgress } from '../progress.js';
import { startSupervisor, supervisorPid, waitSupervisorReady } from '../supervisor.js';

export interface UpOptions {
  kubeconfig?: string;
  nodes?: string;
}

function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const images = ['nanokube/pause:1', 'nanokube/busybox:1', 'nanokube/nanokube:1'];
const dockerSocket = process.env.NANOKUBE_DOCKER_SOCKET ?? '/var/run/docker.sock';

/** What this host lacks for `up`, each with why; Docker only when it could be a node (root). */
function missing(): string[] {
  const out: string[] = [];
  if (!have('etcd')) out.push('etcd, where the cluster keeps its state');
  if (process.getuid?.() !== 0 || process.env.NANOKUBE_NODE === '0') return out;
  if (!have('dockerd') || !existsSync(dockerSocket))
    out.push("the Docker engine, running, to run this host's pods");
  else {
    try {
      execFileSync('docker', ['image', 'inspect', ...images], { stdio: 'ignore' });
    } catch {
      out.push(`the images pods use (${images.join(', ')}), built here without a registry`);
    }
  }
  return out;
}

/** Installs what is missing with the project's set-up script (as root), after saying what and why. */
function installMissing(o: LaunchOptions, progress: ReturnType<typeof newProgress>): void {
  const what = missing();
  if (what.length === 0) return;
  const setup = join(repoRoot, 'deploy', 'setup.sh');
  if (process.getuid?.() !== 0)
    throw new CliError(
      `missing: ${what.join('; ')}. Run \`sudo bash ${setup} --with-docker\`, then nkctl up again`,
    );
  progress.info(
    `installing what is missing, with ${setup} --with-docker (Debian packages, images built here):`,
  );
  for (const w of what) progress.info(`  - ${w}`);
  execFileSync('bash', [setup, '--with-docker'], { stdio: ['ignore', 2, 2] });
  o.node = process.env.NANOKUBE_NODE !== '0' && existsSync(dockerSocket);
}

export async function up(o: LaunchOptions, opts: UpOptions, out = process.stdout): Promise<void> {
  const progress = newProgress();
  installMissing(o, progress);
  let started = 0;
  const nodes = hostNodes(o);
  if (o.node) {
    const apiserver = components(o).find((c) => c.name === 'apiserver');
    const recorded = readRecordedNodes(o);
    if (apiserver && runningPid(o, apiserver) && recorded !== undefined && recorded !== o.nodes)
      throw new CliError(
        `this cluster runs ${recorded} node${recorded === 1 ? '' : 's'}; run nkctl down first to change that`,
      );
    recordNodes(o);
    await progress.step(
      `preparing the pod network of ${o.nodeName}`,
      () => preparePodNetwork(o),
      () => `pod network ${o.podCIDR} ready`,
    );
  } else
    progress.info(
      'starting the control plane only: running pods here needs root and Docker (bash deploy/setup.sh --with-docker)',
    );
  await progress.step(
    'making the cluster CA and certificates (kept in the home folder)',
    () => ensureClusterPki(o),
    (p) => `certificates in ${p.dir}`,
  );
  // A supervisor already running (`up` again) restarts what is down itself: wait for it, never race it.
  const supervisor = supervisorPid(o);
  for (const spec of components(o)) {
    const pid = runningPid(o, spec);
    if (!pid && supervisor) {
      await progress.step(
        `waiting for the supervisor (pid ${supervisor}) to restart ${spec.name}`,
        () => waitRestarted(o, spec),
        (p) => `${spec.name} is running (pid ${p})`,
      );
      continue;
    }
    if (pid) {
      // Ours and running: a slow answer (a busy Docker behind the kubelet's health) is waited for, not restarted.
      if (!(await componentHealthy(spec)))
        await progress.step(`waiting for ${spec.name} (pid ${pid}) to answer`, () => waitReady(o, spec, pid));
      progress.info(`${spec.name} is already running (pid ${pid})`);
      continue;
    }
    await progress.step(
      `starting ${spec.name}`,
      async () => {
        const newPid = startComponent(o, spec);
        await waitReady(o, spec, newPid);
        return newPid;
      },
      (p) => `${spec.name} is running (pid ${p})`,
    );
    started++;
  }
  if (supervisor) progress.info(`the supervisor is already running (pid ${supervisor})`);
  else
    await progress.step(
      'starting the supervisor, which restarts a component that exits or stops answering',
      async () => {
        const pid = startSupervisor(o);
        await waitSupervisorReady(o, pid);
        return pid;
      },
      (p) => `supervisor is running (pid ${p}); its log: ${o.home}/logs/supervisor.log`,
    );
  if (o.node && nodes.length > 1) {
    await progress.step(
      `building the node image ${nodeImage} (offline where needed)`,
      () => ensureNodeImage(),
      (said) => said,
    );
    await progress.step(
      'publishing the bootstrap token the node containers join with',
      () => publishBootstrapToken(o),
      () => 'bootstrap token valid for 24h',
    );
    for (const n of nodes.slice(1))
      await progress.step(
        `starting node ${n.nodeName}: a container with its own Docker engine, kubelet and kube-proxy`,
        () => startNodeContainer(o, n),
        (said) => said,
      );
  }
  if (o.node) {
    const created = await progress.step(
      'installing cluster add-ons (DNS, ingress)',
      () => installAddons(adminRestConfig(o)),
      (n) => (n ? `created ${n} add-on object${n === 1 ? '' : 's'}` : 'add-ons are installed'),
    );
    started += created;
    for (const n of nodes)
      await progress.step(
        `waiting for node ${n.nodeName} to be Ready`,
        // A node container first builds the pod images into its own engine.
        () => waitNodeReady(o, n.nodeName, n === o ? 90_000 : 240_000),
        () => `node ${n.nodeName} is Ready`,
      );
    await progress.step(
      'waiting for cluster DNS',
      () => waitAddonsAvailable(o),
      () => 'cluster DNS is available',
    );
  }
  const path = mergeKubeconfig(opts.kubeconfig, adminKubeconfigYaml(o), 'nanokube');
  out.write(
    started === 0
      ? `nanokube is already up. kubeconfig: ${path} (context nanokube)\n`
      : `nanokube is up. Logs: ${o.home}/logs. kubeconfig: ${path} (context nanokube)\n\nTry:\n  kubectl --context nanokube get nodes\n  kubectl --context nanokube get pods -A\n${o.node ? `  kubectl --context nanokube create deployment web --image=nanokube/busybox:1 -- sh -c 'echo hello > /tmp/index.html && exec httpd -f -p 8080 -h /tmp'\n` : ''}Stop it with: nkctl down\n`,
  );
}

/** Waits for the supervisor's restart of `spec` to be running and healthy; its PID. */
async function waitRestarted(o: LaunchOptions, spec: ComponentSpec): Promise<number> {
  // Its backoff is at most 30 s, then the component's own ready time.
  const deadline = Date.now() + 30_000 + spec.readyTimeout * 1000;
  for (;;) {
    const pid = runningPid(o, spec);
    if (pid && (await componentHealthy(spec))) return pid;
    if (Date.now() > deadline)
      throw new CliError(`${spec.name} is not back; see ${o.home}/logs/${spec.name}.log and supervisor.log`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function newUpCommand(): Command {
  return new Command('up')
    .description(
      'Start a one-host cluster here (etcd, apiserver, controllers, node) and write a kubeconfig. Safe to run twice.',
    )
    .option(
      '--nodes <n>',
      'nodes: this host, and for each more a container with its own Docker engine, kubelet and kube-proxy',
      undefined,
    )
    .action(async (_opts: UpOptions, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as UpOptions;
      const o = defaultLaunchOptions();
      if (opts.nodes !== undefined) {
        const n = Number(opts.nodes);
        if (!Number.isInteger(n) || n < 1 || n > 10)
          throw new CliError(`invalid --nodes "${opts.nodes}": a whole number from 1 to 10`);
        o.nodes = n;
      }
      await up(o, opts);
    });
}
