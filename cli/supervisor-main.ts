/**
 * The supervisor daemon of a one-host cluster (cli/supervisor.ts), started
 * by `nkctl up` as `node dist/cli/supervisor-main.js --home HOME` with the
 * cluster's options in HOME/run/launch.json.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { flagError, makeLogger, runComponent } from '../base/component-main.js';
import type { LaunchOptions } from './launcher.js';
import { launcherDeps, launchOptionsFile, pidFileNamesUs, Supervisor } from './supervisor.js';

const program = new Command('nk-supervisor')
  .description('Restarts the components of a one-host cluster (nkctl up) that exit or stop answering.')
  .option('--home <dir>', 'the cluster home folder (NANOKUBE_HOME)')
  .option('--log-level <level>', 'pino log level', 'info');

await runComponent(
  program,
  process.argv,
  (o) => {
    if (!o.home) flagError('--home', 'the cluster home folder is required');
    return { home: o.home as string, logLevel: o.logLevel as string };
  },
  async (c, { signal }) => {
    const o = JSON.parse(readFileSync(launchOptionsFile(c), 'utf8')) as LaunchOptions;
    const log = makeLogger('supervisor', c.logLevel);
    log.info({ home: o.home, pid: process.pid }, 'supervising the components of nkctl up');
    // Ours until the PID file, once written by `up`, names another or is gone (`down`, `--purge`).
    let named = false;
    const stillOurs = () => {
      const ours = pidFileNamesUs(o);
      named ||= ours;
      return ours || !named;
    };
    await new Supervisor(launcherDeps(o, log)).run(signal, stillOurs);
    log.info('supervisor stopped');
  },
);
