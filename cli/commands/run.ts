/**
 * `nkctl run`: creates one Pod running an image, as `kubectl run` does: one
 * container named after the pod, the label run=NAME (or --labels instead),
 * arguments after `--` as the container's args (its command with
 * --command), and --port, --env, --restart. Not safe to run twice: the
 * second run reports AlreadyExists. Attaching (-i, -t, --rm) is not offered.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { builtinRegistry } from '../../api/types/index.js';
import { boolFlag } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { dryRunSuffix, parsePort, repeatable, serverDryRun } from '../flags.js';
import { shownName } from '../objectref.js';

export interface RunFlags {
  image: string;
  port?: string;
  env?: string[];
  labels?: string;
  restart?: string;
  command?: boolean;
  dryRun?: string;
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new CliError(`invalid label spec: ${pair}`);
    labels[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return labels;
}

function parseEnv(entries: string[]): { name: string; value: string }[] {
  return entries.map((e) => {
    const i = e.indexOf('=');
    if (i <= 0) throw new CliError(`invalid env: ${e}`);
    return { name: e.slice(0, i), value: e.slice(i + 1) };
  });
}

/** The Pod kubectl run would make. */
export function podFor(name: string, args: string[], f: RunFlags): KubeObject {
  const restartPolicy = f.restart ?? 'Always';
  if (!['Always', 'OnFailure', 'Never'].includes(restartPolicy))
    throw new CliError(`invalid restart policy: ${restartPolicy}`);
  if (f.command && args.length === 0) throw new CliError('--command requires a command after --');
  const container: Record<string, unknown> = { name, image: f.image };
  if (args.length) container[f.command ? 'command' : 'args'] = args;
  if (f.port !== undefined) container.ports = [{ containerPort: parsePort(f.port) }];
  if (f.env?.length) container.env = parseEnv(f.env);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: f.labels ? parseLabels(f.labels) : { run: name } },
    spec: { containers: [container], restartPolicy },
  };
}

export async function run(
  ctx: CliContext,
  name: string,
  args: string[],
  f: RunFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const dryRun = serverDryRun(f.dryRun);
  const pod = podFor(name, args, f);
  const pods = builtinRegistry.get('', 'v1', 'pods')!;
  await ctx.client(pods, ctx.namespace).create(pod, { dryRun, fieldManager: 'nkctl-run' });
  out.write(`${shownName(pods, name)} created${dryRunSuffix(dryRun)}\n`);
}

export function newRunCommand(): Command {
  return new Command('run')
    .description('Create a pod running one image, labelled run=NAME. Arguments after -- go to the container.')
    .argument('<name>', 'name of the pod (and its container)')
    .argument('[args...]', 'arguments for the container (its command with --command)')
    .requiredOption('--image <image>', 'the container image')
    .option('--port <port>', 'the port the container exposes')
    .option('--env <K=V>', 'an environment variable (repeat for more)', repeatable)
    .option('--labels <k=v,...>', 'labels for the pod, instead of run=NAME')
    .option('--restart <policy>', 'Always (default), OnFailure or Never')
    .addOption(boolFlag('--command', 'the arguments after -- are the command, not its args'))
    .option('--dry-run <mode>', 'server: check the pod but create nothing')
    .action(async (name: string, args: string[], f: RunFlags, cmd: Command) => {
      await run(cliContext(cmd), name, args, f);
    });
}
