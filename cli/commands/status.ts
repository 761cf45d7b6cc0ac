/**
 * `nkctl status`: each component of the one-host cluster, its PID, whether
 * its health endpoint answers, and what the supervisor knows of it: how
 * many times it restarted it and how its last process ended. Exit code 0
 * when all are healthy and the supervisor runs.
 */
import { Command } from 'commander';
import { age } from '../../api/printers.js';
import {
  componentHealthy,
  components,
  defaultLaunchOptions,
  type LaunchOptions,
  runningPid,
} from '../launcher.js';
import { nodeContainers } from '../node-containers.js';
import { readSupervisorState, supervisorPid } from '../supervisor.js';
import { printTable } from '../table.js';

export async function status(o: LaunchOptions, out = process.stdout): Promise<boolean> {
  const rows: string[][] = [];
  const supervisor = supervisorPid(o);
  const known = supervisor ? readSupervisorState(o)?.components : undefined;
  const now = new Date();
  let ok = true;
  for (const spec of components(o)) {
    const pid = runningPid(o, spec);
    const good = pid !== undefined && (await componentHealthy(spec));
    ok &&= good;
    const s = known?.[spec.name];
    rows.push([
      spec.name,
      pid ? String(pid) : '-',
      pid ? (good ? 'healthy' : 'unhealthy') : 'stopped',
      s ? String(s.restarts) : '-',
      s?.lastExit ? `${s.lastExit} (${age(s.lastExitAt, now)} ago)` : '-',
      spec.healthUrl,
    ]);
  }
  ok &&= supervisor !== undefined;
  rows.push([
    'supervisor',
    supervisor ? String(supervisor) : '-',
    supervisor ? 'running' : 'stopped',
    '-',
    '-',
    '-',
  ]);
  if (o.node)
    for (const c of await nodeContainers(o)) {
      ok &&= c.state === 'running';
      rows.push([
        `node ${c.name.replace(/^nanokube-node-/, '')}`,
        '-',
        c.state === 'running' ? 'running' : c.state,
        '-',
        '-',
        `container ${c.name}`,
      ]);
    }
  printTable(out, ['COMPONENT', 'PID', 'STATUS', 'RESTARTS', 'LAST EXIT', 'HEALTH'], rows);
  return ok;
}

export function newStatusCommand(): Command {
  return new Command('status')
    .description('Show the health of each component of the one-host cluster. Changes nothing.')
    .action(async () => {
      if (!(await status(defaultLaunchOptions()))) process.exitCode = 1;
    });
}
