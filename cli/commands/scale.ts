/**
 * `nkctl scale`: sets replicas through the scale subresource of a
 * Deployment, ReplicaSet, StatefulSet or ReplicationController. Running it
 * twice is safe.
 */
import { Command } from 'commander';
import { CliError, cliContext } from '../context.js';

export function newScaleCommand(): Command {
  return new Command('scale')
    .description(
      'Set the number of replicas of a deployment, replicaset, statefulset or replicationcontroller. Safe to run twice.',
    )
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .requiredOption('--replicas <n>', 'the new number of replicas')
    .action(async (args: string[], o: { replicas: string }, cmd: Command) => {
      const ctx = cliContext(cmd);
      const [type, name] = args[0].includes('/') ? args[0].split('/') : args;
      if (!name) throw new CliError('you must specify the name of the object to scale');
      const replicas = Number(o.replicas);
      if (!Number.isInteger(replicas) || replicas < 0)
        throw new CliError(`invalid --replicas "${o.replicas}": must be a whole number, 0 or more`);
      const rt = ctx.resource(type);
      if (!rt.subresources.includes('scale')) throw new CliError(`${rt.plural} cannot be scaled`);
      await ctx.client(rt, ctx.namespace).scale(name, replicas);
      process.stdout.write(`${rt.singular}${rt.group ? `.${rt.group}` : ''}/${name} scaled\n`);
    });
}
