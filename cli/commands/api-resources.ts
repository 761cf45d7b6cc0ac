/** `nkctl api-resources`: the resource types the server offers, from discovery. Changes nothing. */
import { Command } from 'commander';
import { boolFlag } from '../../base/component-main.js';
import { cliContext } from '../context.js';
import { formatTable } from '../table.js';

interface ResourceList {
  groupVersion: string;
  resources: { name: string; shortNames?: string[]; namespaced: boolean; kind: string }[];
}

export function newApiResourcesCommand(): Command {
  return new Command('api-resources')
    .description('List the resource types the server offers. Changes nothing.')
    .addOption(boolFlag('--namespaced', 'only namespaced (true) or cluster-scoped (false) types'))
    .action(async (o: { namespaced?: boolean }, cmd: Command) => {
      const { rest } = cliContext(cmd);
      const groups = await rest.request<{ groups: { versions: { groupVersion: string }[] }[] }>({
        method: 'GET',
        path: '/apis',
      });
      const paths = ['/api/v1', ...groups.groups.map((g) => `/apis/${g.versions[0].groupVersion}`)];
      const lists = await Promise.all(
        paths.map((p) => rest.request<ResourceList>({ method: 'GET', path: p })),
      );
      const rows = lists
        .flatMap((l) =>
          l.resources.filter((r) => !r.name.includes('/')).map((r) => ({ ...r, gv: l.groupVersion })),
        )
        .filter((r) => o.namespaced === undefined || r.namespaced === o.namespaced)
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((r) => [r.name, (r.shortNames ?? []).join(','), r.gv, String(r.namespaced), r.kind]);
      process.stdout.write(formatTable(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND'], rows));
    });
}
