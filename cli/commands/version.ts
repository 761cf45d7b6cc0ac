/** `nkctl version`: this client's version and the server's. Changes nothing. */
import { Command } from 'commander';
import { boolFlag } from '../../base/component-main.js';
import { cliContext } from '../context.js';

export function newVersionCommand(): Command {
  return new Command('version')
    .description("Print nkctl's version and the apiserver's. Changes nothing.")
    .addOption(boolFlag('--client', 'only the client version'))
    .action(async (opts: { client?: boolean }, cmd: Command) => {
      process.stdout.write('Client Version: nkctl 0.1.0\n');
      if (opts.client) return;
      const v = await cliContext(cmd).rest.request<{ gitVersion: string }>({
        method: 'GET',
        path: '/version',
      });
      process.stdout.write(`Server Version: ${v.gitVersion}\n`);
    });
}
