/**
 * `nkctl create deployment NAME --image=IMG`: the Deployment kubectl's
 * generator makes: label and selector app=NAME, one container per --image
 * named after the image (`nanokube/busybox:1` → busybox), --replicas
 * (default 1), --port on the first container, and a command after `--`.
 * Not safe to run twice: the second run reports AlreadyExists.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { builtinRegistry } from '../../api/types/index.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { dryRunSuffix, parsePort, repeatable, serverDryRun } from '../flags.js';
import { shownName } from '../objectref.js';

export interface CreateDeploymentFlags {
  image: string[];
  replicas?: string;
  port?: string;
  dryRun?: string;
}

/** kubectl's container name for an image: the last path part without tag or digest, `_` made `-`. */
export function containerName(image: string): string {
  return image.split('/').at(-1)!.split('@')[0].split(':')[0].replaceAll('_', '-');
}

export function deploymentFor(name: string, command: string[], f: CreateDeploymentFlags): KubeObject {
  const replicas = Number(f.replicas ?? '1');
  if (!Number.isInteger(replicas) || replicas < 0)
    throw new CliError(`invalid --replicas "${f.replicas}": must be a whole number, 0 or more`);
  if (command.length && f.image.length > 1)
    throw new CliError('cannot specify multiple --image options and command');
  const used = new Set<string>();
  const containers: Record<string, unknown>[] = f.image.map((image) => {
    let cname = containerName(image);
    for (let i = 2; used.has(cname); i++) cname = `${containerName(image)}-${i}`;
    used.add(cname);
    return { name: cname, image };
  });
  if (command.length) containers[0].command = command;
  if (f.port !== undefined) containers[0].ports = [{ containerPort: parsePort(f.port) }];
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers } },
    },
  };
}

export async function createDeployment(
  ctx: CliContext,
  name: string,
  command: string[],
  f: CreateDeploymentFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const dryRun = serverDryRun(f.dryRun);
  const rt = builtinRegistry.get('apps', 'v1', 'deployments')!;
  const deployment = deploymentFor(name, command, f);
  await ctx.client(rt, ctx.namespace).create(deployment, { dryRun, fieldManager: 'nkctl-create' });
  out.write(`${shownName(rt, name)} created${dryRunSuffix(dryRun)}\n`);
}

export function newCreateDeploymentCommand(): Command {
  return new Command('deployment')
    .alias('deploy')
    .description('Create a deployment running one or more images, with the label app=NAME.')
    .argument('<name>', 'name of the deployment')
    .argument('[command...]', 'after --: the command of the first container')
    .requiredOption('--image <image>', 'a container image (repeat for more containers)', repeatable)
    .option('--replicas <n>', 'number of pods', '1')
    .option('--port <port>', 'the port the first container exposes')
    .option('--dry-run <mode>', 'server: check the deployment but create nothing')
    .action(async (name: string, command: string[], _f: unknown, cmd: Command) => {
      // With globals: `create` itself takes --dry-run too, and commander gives it to the parent.
      await createDeployment(cliContext(cmd), name, command, cmd.optsWithGlobals() as CreateDeploymentFlags);
    });
}
