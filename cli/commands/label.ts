/**
 * `nkctl label` and `nkctl annotate`: set (`k=v`) or remove (`k-`) labels or
 * annotations with a merge patch. An existing different value needs
 * `--overwrite`, as in kubectl. Running it twice with the same values is safe.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { boolFlag } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext, errorLine } from '../context.js';

type Field = 'labels' | 'annotations';

export function parseChanges(args: string[]): { set: Record<string, string>; remove: string[] } {
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const a of args) {
    if (a.endsWith('-') && !a.includes('=')) remove.push(a.slice(0, -1));
    else if (a.includes('=')) {
      const i = a.indexOf('=');
      set[a.slice(0, i)] = a.slice(i + 1);
    } else throw new CliError(`invalid ${a}: use key=value to set and key- to remove`);
  }
  return { set, remove };
}

export async function changeMeta(
  ctx: CliContext,
  field: Field,
  args: string[],
  o: { overwrite?: boolean; selector?: string; all?: boolean },
  out = process.stdout,
  err = process.stderr,
): Promise<boolean> {
  const [typeArg, ...rest] = args;
  if (!typeArg) throw new CliError('you must specify the type of resource');
  const [type, nameFromSlash] = typeArg.split('/');
  const rt = ctx.resource(type);
  const client = ctx.client(rt, ctx.namespace);
  const nameArgs = nameFromSlash
    ? [nameFromSlash]
    : o.selector || o.all
      ? []
      : rest.filter((a) => !a.includes('=') && !a.endsWith('-')).slice(0, 1);
  const changes = parseChanges(rest.filter((a) => !nameArgs.includes(a)));
  if (Object.keys(changes.set).length === 0 && changes.remove.length === 0)
    throw new CliError(`at least one ${field === 'labels' ? 'label' : 'annotation'} update is required`);
  const targets: KubeObject[] = nameArgs.length
    ? await Promise.all(nameArgs.map((n) => client.get(n)))
    : o.selector || o.all
      ? (await client.list({ labelSelector: o.selector })).items
      : [];
  if (targets.length === 0)
    throw new CliError('one or more resources must be specified as <resource> <name> or <resource>/<name>');
  let ok = true;
  const verb = field === 'labels' ? 'labeled' : 'annotated';
  for (const obj of targets) {
    const current = (obj.metadata[field] ?? {}) as Record<string, string>;
    try {
      for (const [k, v] of Object.entries(changes.set)) {
        if (!o.overwrite && k in current && current[k] !== v)
          throw new CliError(`'${k}' already has a value (${current[k]}), and --overwrite is false`);
      }
      const patch: Record<string, string | null> = { ...changes.set };
      for (const k of changes.remove) patch[k] = null;
      await client.patch(obj.metadata.name!, 'merge', {
        metadata: { [field]: patch, resourceVersion: obj.metadata.resourceVersion },
      });
      out.write(`${rt.singular}${rt.group ? `.${rt.group}` : ''}/${obj.metadata.name} ${verb}\n`);
    } catch (e) {
      ok = false;
      err.write(`${errorLine(e)}\n`);
    }
  }
  return ok;
}

function command(name: 'label' | 'annotate', field: Field): Command {
  return new Command(name)
    .description(
      `Set (key=value) or remove (key-) ${field} on objects. Same values twice is safe; a different value needs --overwrite.`,
    )
    .argument('<args...>', `TYPE NAME key=value... or TYPE/NAME key-...`)
    .addOption(boolFlag('--overwrite', 'replace existing values'))
    .option('-l, --selector <selector>', 'change every object with these labels')
    .addOption(boolFlag('--all', 'change every object of the type in the namespace'))
    .action(
      async (args: string[], o: { overwrite?: boolean; selector?: string; all?: boolean }, cmd: Command) => {
        if (!(await changeMeta(cliContext(cmd), field, args, o))) process.exitCode = 1;
      },
    );
}

export const newLabelCommand = () => command('label', 'labels');
export const newAnnotateCommand = () => command('annotate', 'annotations');
