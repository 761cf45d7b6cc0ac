/**
 * `nkctl create -f`: creates every object in the manifests. Not safe to run
 * twice (the second run reports AlreadyExists for each); `apply` is.
 * `nkctl create deployment` makes one from flags (create-deployment.ts).
 */
import { Command } from 'commander';
import { boolFlag } from '../../base/component-main.js';
import { splitGroupVersion } from '../apiversion.js';
import { type CliContext, CliError, cliContext, errorLine } from '../context.js';
import { readManifests } from '../manifest.js';
import { newCreateDeploymentCommand } from './create-deployment.js';

export async function create(
  ctx: CliContext,
  files: string[],
  o: { recursive?: boolean; dryRun?: string },
  out = process.stdout,
  err = process.stderr,
): Promise<boolean> {
  let ok = true;
  for (const m of readManifests(files, { recursive: o.recursive })) {
    try {
      const rt = ctx.resourceForKind(splitGroupVersion(m.obj.apiVersion!).group, m.obj.kind!);
      const created = await ctx.client(rt, m.obj.metadata.namespace ?? ctx.namespace).create(m.obj, {
        dryRun: o.dryRun === 'server',
        fieldManager: 'nkctl-create',
        fieldValidation: 'Strict',
      });
      out.write(
        `${rt.group ? `${rt.singular}.${rt.group}` : rt.singular}/${created.metadata.name} created${o.dryRun === 'server' ? ' (server dry run)' : ''}\n`,
      );
    } catch (e) {
      ok = false;
      err.write(`${errorLine(e)}\n`);
    }
  }
  return ok;
}

export function newCreateCommand(): Command {
  return new Command('create')
    .description(
      'Create the objects in files, folders or stdin (-f -). Fails for objects that exist; use apply to update.',
    )
    .option('-f, --filename <paths...>', 'files, folders, or - for stdin')
    .addOption(boolFlag('-R, --recursive', 'also read folders inside folders'))
    .option('--dry-run <mode>', 'server: check everything but change nothing')
    .action(async (o: { filename?: string[]; recursive?: boolean; dryRun?: string }, cmd: Command) => {
      if (!o.filename) throw new CliError('must specify -f, or what to create: nkctl create deployment NAME');
      if (!(await create(cliContext(cmd), o.filename, o))) process.exitCode = 1;
    })
    .addCommand(newCreateDeploymentCommand());
}
