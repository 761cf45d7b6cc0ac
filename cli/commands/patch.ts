/**
 * `nkctl patch`: changes one object with a strategic merge patch (the
 * default: lists of containers, ports, env... merge by their keys), a JSON
 * merge patch (lists are replaced) or a JSON patch (a list of operations),
 * given as JSON or YAML with -p. Prints `patched`, or `patched (no change)`
 * when the server stored nothing new, as kubectl does.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { dryRunSuffix, parseYamlText, serverDryRun } from '../flags.js';
import { objectArgs, shownName, unchangedBy } from '../objectref.js';

const patchTypes = ['json', 'merge', 'strategic'] as const;
type CliPatchType = (typeof patchTypes)[number];

export interface PatchFlags {
  patch: string;
  type?: string;
  dryRun?: string;
}

/** The patch text as a value: a JSON patch is a list, the other two an object. */
export function parsePatch(text: string, type: CliPatchType): unknown {
  let value: unknown;
  try {
    value = parseYamlText(text);
  } catch (e) {
    throw new CliError(`unable to parse "${text}": ${(e as Error).message}`);
  }
  const wantList = type === 'json';
  if (Array.isArray(value) !== wantList || typeof value !== 'object' || value === null)
    throw new CliError(
      `unable to parse "${text}": a ${type} patch must be a ${wantList ? 'list of operations' : 'map of fields'}`,
    );
  return value;
}

export async function patch(
  ctx: CliContext,
  args: string[],
  f: PatchFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const type = (f.type ?? 'strategic') as CliPatchType;
  if (!patchTypes.includes(type))
    throw new CliError(`--type must be one of [${patchTypes.join(' ')}], not "${f.type}"`);
  const dryRun = serverDryRun(f.dryRun);
  const body = parsePatch(f.patch, type);
  const { rt, name } = objectArgs(ctx, args);
  const client = ctx.client(rt, ctx.namespace);
  const before = await client.get(name);
  const after: KubeObject = await client.patch(name, type, body, { fieldManager: 'nkctl-patch', dryRun });
  const noChange = unchangedBy(before, after) ? ' (no change)' : '';
  out.write(`${shownName(rt, name)} patched${noChange}${dryRunSuffix(dryRun)}\n`);
}

export function newPatchCommand(): Command {
  return new Command('patch')
    .description('Change fields of one object with a strategic merge, JSON merge or JSON patch.')
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .requiredOption('-p, --patch <patch>', 'the patch, as JSON or YAML')
    .option('--type <type>', 'strategic (default), merge or json')
    .option('--dry-run <mode>', 'server: check the patch but change nothing')
    .action(async (args: string[], f: PatchFlags, cmd: Command) => {
      await patch(cliContext(cmd), args, f);
    });
}
