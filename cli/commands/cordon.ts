/**
 * `nkctl cordon` and `nkctl uncordon`: mark a node unschedulable (or
 * schedulable again) through `spec.unschedulable`, so the scheduler places no
 * new pod there; pods already on it keep running. Running either twice is
 * safe: the second run says `already cordoned` and changes nothing.
 */
import { Command } from 'commander';
import type { Node } from '../../api/types/node.js';
import { type CliContext, cliContext } from '../context.js';

/** Sets spec.unschedulable to `desired` unless it already is, and prints kubectl's line. */
export async function setUnschedulable(
  ctx: CliContext,
  name: string,
  desired: boolean,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const nodes = ctx.client(ctx.resource('nodes'));
  const node = (await nodes.get(name)) as Node;
  const verb = desired ? 'cordoned' : 'uncordoned';
  if ((node.spec?.unschedulable ?? false) === desired) {
    out.write(`node/${name} already ${verb}\n`);
    return;
  }
  // null removes the field, as kubectl's patch does: a schedulable node has no unschedulable.
  await nodes.patch(name, 'merge', { spec: { unschedulable: desired ? true : null } });
  out.write(`node/${name} ${verb}\n`);
}

function command(name: 'cordon' | 'uncordon', desired: boolean, description: string): Command {
  return new Command(name)
    .description(description)
    .argument('<node>', 'name of the node')
    .action(async (node: string, _o: unknown, cmd: Command) => {
      await setUnschedulable(cliContext(cmd), node, desired);
    });
}

export const newCordonCommand = () =>
  command(
    'cordon',
    true,
    'Mark a node unschedulable: no new pods go there, running ones stay. Safe to run twice.',
  );
export const newUncordonCommand = () =>
  command('uncordon', false, 'Mark a node schedulable again. Safe to run twice.');
