/**
 * `nkctl status`: each component of the one-host cluster, its PID and
 * whether its health endpoint answers. Exit code 0 when all are healthy.
 */
import { Command } from 'commander';
import {
  componentHealthy,
  components,
  defaultLaunchOptions,
  type LaunchOptions,
  runningPid,
} from '../launcher.js';
import { nodeContainers } from '../node-containers.js';
import { printTable } from '../table.js';

export async function status(o: LaunchOptions, out = process.stdout): Promise<boolean> {
  const rows: string[][] = [];
  let ok = true;
  for (const spec of components(o)) {
    const pid = runningPid(o, spec);
    const good = pid !== undefined && (await componentHealthy(spec));
    ok &&= good;
    rows.push([
      spec.name,
      pid ? String(pid) : '-',
      pid ? (good ? 'healthy' : 'unhealthy') : 'stopped',
      spec.healthUrl,
    ]);
  }
  if (o.node)
    for (const c of await nodeContainers(o)) {
      ok &&= c.state === 'running';
      rows.push([
        `node ${c.name.replace(/^nanokube-node-/, '')}`,
        '-',
        c.state === 'running' ? 'running' : c.state,
        `container ${c.name}`,
      ]);
    }
  printTable(out, ['COMPONENT', 'PID', 'STATUS', 'HEALTH'], rows);
  return ok;
}

export function newStatusCommand(): Command {
  return new Command('status')
    .description('Show the health of each component of the one-host cluster. Changes nothing.')
    .action(async () => {
      if (!(await status(defaultLaunchOptions()))) process.exitCode = 1;
    });
}
