/**
 * `nkctl delete`: deletes objects by type and name, by label, all of a type
 * in a namespace, or those in manifests; waits until they are gone unless
 * `--wait=false`. Deleting what is already gone is an error, as in kubectl,
 * unless `--ignore-not-found`.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceType } from '../../api/registry.js';
import { isNotFound } from '../../api/status.js';
import { boolFlag } from '../../base/component-main.js';
import type { DeleteOptions, ResourceClient } from '../../client/resource.js';
import { splitGroupVersion } from '../apiversion.js';
import { type CliContext, CliError, cliContext, errorLine } from '../context.js';
import { readManifests } from '../manifest.js';

export interface DeleteFlags {
  filename?: string[];
  selector?: string;
  all?: boolean;
  gracePeriod?: string;
  cascade?: string;
  wait?: boolean;
  timeout?: string;
  ignoreNotFound?: boolean;
  allNamespaces?: boolean;
}

const qualified = (rt: ResourceType) => (rt.group ? `${rt.plural}.${rt.group}` : rt.plural);

function deleteOptions(f: DeleteFlags): DeleteOptions {
  const policy = {
    background: 'Background',
    foreground: 'Foreground',
    orphan: 'Orphan',
    true: 'Background',
    false: 'Orphan',
  }[f.cascade ?? 'background'];
  if (!policy) throw new CliError(`invalid --cascade "${f.cascade}": use background, foreground or orphan`);
  const grace = f.gracePeriod === undefined ? undefined : Number(f.gracePeriod);
  if (grace !== undefined && (!Number.isInteger(grace) || grace < -1))
    throw new CliError(`invalid --grace-period "${f.gracePeriod}"`);
  return {
    propagationPolicy: policy as DeleteOptions['propagationPolicy'],
    gracePeriodSeconds: grace === undefined || grace < 0 ? undefined : grace,
  };
}

/** The uid of what a delete answered: the object, or the Success Status that names it. */
function uidOf(answer: unknown): string | undefined {
  const a = answer as { metadata?: { uid?: string }; details?: { uid?: string } } | undefined;
  return a?.metadata?.uid ?? a?.details?.uid;
}

async function waitGone(
  client: ResourceClient,
  name: string,
  uid: string | undefined,
  deadline: number,
): Promise<boolean> {
  while (Date.now() < deadline) {
    try {
      const cur = await client.get(name);
      if (uid && cur.metadata.uid !== uid) return true;
    } catch (err) {
      if (isNotFound(err)) return true;
      throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

export async function deleteObjects(
  ctx: CliContext,
  args: string[],
  f: DeleteFlags,
  out = process.stdout,
  err = process.stderr,
): Promise<boolean> {
  const opts = deleteOptions(f);
  const targets: { rt: ResourceType; ns?: string; name: string }[] = [];
  if (f.filename?.length) {
    for (const m of readManifests(f.filename)) {
      const rt = ctx.resourceForKind(splitGroupVersion(m.obj.apiVersion!).group, m.obj.kind!);
      targets.push({ rt, ns: m.obj.metadata.namespace ?? ctx.namespace, name: m.obj.metadata.name! });
    }
  } else {
    if (args.length === 0)
      throw new CliError('you must provide one or more resources by argument or filename (-f)');
    const [type, ...names] = args[0].includes('/')
      ? [args[0].split('/')[0], ...args.map((a) => a.split('/')[1])]
      : args;
    const rt = ctx.resource(type);
    if (names.length) for (const name of names) targets.push({ rt, ns: ctx.namespace, name });
    else if (f.selector || f.all) {
      const list = await ctx
        .client(rt, f.allNamespaces ? undefined : ctx.namespace)
        .list({ labelSelector: f.selector });
      for (const o of list.items as KubeObject[])
        targets.push({ rt, ns: o.metadata.namespace, name: o.metadata.name! });
      if (list.items.length === 0) err.write('No resources found\n');
    } else throw new CliError('resource(s) were provided, but no name was specified (use --all or -l)');
  }
  const deadline = Date.now() + (f.timeout ? Number.parseInt(f.timeout, 10) * 1000 : 60_000);
  let ok = true;
  for (const t of targets) {
    const client = ctx.client(t.rt, t.ns);
    try {
      const gone = await client.delete(t.name, opts);
      out.write(`${t.rt.singular}${t.rt.group ? `.${t.rt.group}` : ''} "${t.name}" deleted\n`);
      if (f.wait !== false && !(await waitGone(client, t.name, uidOf(gone), deadline))) {
        err.write(`error: timed out waiting for ${qualified(t.rt)} "${t.name}" to be deleted\n`);
        ok = false;
      }
    } catch (e) {
      if (f.ignoreNotFound && isNotFound(e)) continue;
      ok = false;
      err.write(`${errorLine(e)}\n`);
    }
  }
  return ok;
}

export function newDeleteCommand(): Command {
  return new Command('delete')
    .description(
      'Delete objects by name, label (-l), --all, or from manifests (-f), and wait until they are gone.',
    )
    .argument('[args...]', 'TYPE NAME..., TYPE/NAME..., or TYPE with -l/--all')
    .option('-f, --filename <paths...>', 'delete the objects in these files')
    .option('-l, --selector <selector>', 'delete objects with these labels')
    .addOption(boolFlag('--all', 'delete every object of the type in the namespace'))
    .addOption(boolFlag('-A, --all-namespaces', 'with -l or --all, across namespaces'))
    .option('--grace-period <seconds>', 'seconds for graceful termination (0 to delete at once)')
    .option('--cascade <mode>', 'background (default), foreground or orphan')
    .addOption(boolFlag('--wait', 'wait until the objects are gone', true))
    .option('--timeout <seconds>', 'how long to wait', '60')
    .addOption(boolFlag('--ignore-not-found', 'treat objects that are already gone as deleted'))
    .action(async (args: string[], o: DeleteFlags, cmd: Command) => {
      if (!(await deleteObjects(cliContext(cmd), args, o))) process.exitCode = 1;
    });
}
