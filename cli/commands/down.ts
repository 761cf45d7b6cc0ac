/**
 * `nkctl down`: removes the extra node containers of `--nodes`, stops every
 * component `nkctl up` started, newest first, removes this node's pod
 * containers and network and kube-proxy's rules;
 * `--purge` also deletes the cluster's data and the kubeconfig context.
 * Running it twice is safe.
 */
import { rmSync } from 'node:fs';
import { Command } from 'commander';
import { boolFlag } from '../../base/component-main.js';
import { removeFromKubeconfig } from '../kubeconfig-file.js';
import { components, defaultLaunchOptions, type LaunchOptions, stopComponent } from '../launcher.js';
import { removeNodeLeftovers } from '../node.js';
import { removeNodeContainers } from '../node-containers.js';
import { stopSupervisor } from '../supervisor.js';

export async function down(
  o: LaunchOptions,
  opts: { purge?: boolean; kubeconfig?: string },
  out = process.stdout,
): Promise<void> {
  let stopped = 0;
  let nodeStopped = false;
  // The supervisor first, or it restarts what is stopped here.
  if (await stopSupervisor(o)) {
    out.write('stopped the supervisor\n');
    stopped++;
  }
  // The extra nodes first, while the apiserver still answers their kubelets.
  const containers = o.node ? await removeNodeContainers(o).catch(() => 0) : 0;
  if (containers) {
    out.write(`removed ${containers} node container${containers === 1 ? '' : 's'}\n`);
    stopped++;
  }
  for (const spec of [...components(o)].reverse()) {
    if (await stopComponent(o, spec)) {
      out.write(`stopped ${spec.name}\n`);
      stopped++;
      if (spec.name === 'kubelet' || spec.name === 'kube-proxy') nodeStopped = true;
    }
  }
  if (o.node && (nodeStopped || opts.purge))
    for (const line of await removeNodeLeftovers(o)) out.write(`${line}\n`);
  if (opts.purge) {
    rmSync(o.home, { recursive: true, force: true });
    removeFromKubeconfig(opts.kubeconfig, 'nanokube');
    out.write(`removed ${o.home} and the nanokube context\n`);
  }
  if (stopped === 0 && !opts.purge) out.write('nanokube is not running\n');
}

export function newDownCommand(): Command {
  return new Command('down')
    .description(
      'Stop the one-host cluster started by `nkctl up`. Keeps its data unless --purge. Safe to run twice.',
    )
    .addOption(boolFlag('--purge', 'also delete the cluster data, logs and the nanokube kubeconfig context'))
    .action(async (_opts: unknown, cmd: Command) => {
      await down(defaultLaunchOptions(), cmd.optsWithGlobals() as { purge?: boolean; kubeconfig?: string });
    });
}
