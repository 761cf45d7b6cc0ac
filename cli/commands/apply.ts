/**
 * `nkctl apply -f`: makes each object of the manifests exist as written, by
 * server-side apply (a PATCH of type application/apply-patch+yaml under the
 * field manager `nkctl`), and says what happened to it as kubectl does:
 * created, configured, or unchanged when the server stored nothing new.
 * Safe to run twice. Fields another manager set to other values are a
 * conflict that fails that object (`--force-conflicts` takes them over);
 * apply goes on with the other objects and exits 1 at the end.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { isNotFound, StatusError } from '../../api/status.js';
import { builtinRegistry } from '../../api/types/index.js';
import { boolFlag } from '../../base/component-main.js';
import { splitGroupVersion } from '../apiversion.js';
import { type CliContext, CliError, cliContext, errorLine, type GlobalFlags } from '../context.js';
import { dryRunSuffix, serverDryRun } from '../flags.js';
import { type Manifest, readManifests } from '../manifest.js';
import { shownName, unchangedBy } from '../objectref.js';

export interface ApplyFlags {
  filename: string[];
  recursive?: boolean;
  forceConflicts?: boolean;
  dryRun?: string;
  fieldManager: string;
  /** The namespace given with -n, which a manifest's own namespace must not contradict. */
  namespaceFlag?: string;
}

async function applyOne(ctx: CliContext, m: Manifest, f: ApplyFlags, dryRun: boolean): Promise<string> {
  const { obj, source } = m;
  const { group, version } = splitGroupVersion(obj.apiVersion!);
  const name = obj.metadata.name;
  const rt = builtinRegistry.byKind(group, obj.kind!);
  if (!rt || rt.version !== version)
    throw new CliError(
      `resource mapping not found for name: "${name ?? ''}" namespace: "${obj.metadata.namespace ?? ''}" from "${source}": no matches for kind "${obj.kind}" in version "${obj.apiVersion}"`,
    );
  if (!name) throw new CliError(`error when applying "${source}": resource name may not be empty`);
  const own = obj.metadata.namespace;
  if (rt.namespaced && own && f.namespaceFlag && own !== f.namespaceFlag)
    throw new CliError(
      `the namespace from the provided object "${own}" does not match the namespace "${f.namespaceFlag}". You must pass '--namespace=${own}' to perform this operation.`,
    );
  const client = ctx.client(rt, own ?? ctx.namespace);
  const before = await client.get(name).catch((e) => {
    if (isNotFound(e)) return undefined;
    throw e;
  });
  const after: KubeObject = await client.patch(name, 'apply', obj, {
    fieldManager: f.fieldManager,
    force: f.forceConflicts,
    dryRun,
  });
  const what = !before ? 'created' : unchangedBy(before, after) ? 'unchanged' : 'configured';
  return `${shownName(rt, name)} ${what}${dryRunSuffix(dryRun)}`;
}

/**
 * kubectl's first line for an apply conflict, with every conflicting field
 * and its manager on it: `error: Apply failed with 1 conflict: conflict
 * with "kubectl" using apps/v1: .spec.replicas`.
 */
export function applyErrorLine(err: unknown): string {
  const conflicts =
    err instanceof StatusError && err.code === 409
      ? (err.details?.causes ?? []).filter((c) => c.reason === 'FieldManagerConflict')
      : [];
  if (conflicts.length === 0) return errorLine(err);
  const n = conflicts.length;
  return `error: Apply failed with ${n} conflict${n === 1 ? '' : 's'}: ${conflicts.map((c) => `${c.message}: ${c.field}`).join('; ')}`;
}

/** Applies every object; failures are printed one line each. Returns whether all succeeded. */
export async function apply(
  ctx: CliContext,
  f: ApplyFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<boolean> {
  const dryRun = serverDryRun(f.dryRun);
  let ok = true;
  for (const m of readManifests(f.filename, { recursive: f.recursive })) {
    try {
      out.write(`${await applyOne(ctx, m, f, dryRun)}\n`);
    } catch (e) {
      ok = false;
      err.write(`${applyErrorLine(e)}\n`);
    }
  }
  return ok;
}

export function newApplyCommand(): Command {
  return new Command('apply')
    .description(
      'Create or update the objects in files, folders or stdin (-f -) by server-side apply. Safe to run twice.',
    )
    .requiredOption('-f, --filename <paths...>', 'files, folders, or - for stdin')
    .addOption(boolFlag('-R, --recursive', 'also read folders inside folders'))
    .addOption(
      boolFlag('--server-side', 'apply on the server (always so; accepted for kubectl compatibility)'),
    )
    .addOption(boolFlag('--force-conflicts', 'take over fields that other managers own, instead of failing'))
    .option('--field-manager <name>', 'the manager the applied fields are recorded under', 'nkctl')
    .option('--dry-run <mode>', 'server: check everything but change nothing')
    .action(async (o: Omit<ApplyFlags, 'namespaceFlag'>, cmd: Command) => {
      const namespaceFlag = (cmd.optsWithGlobals() as GlobalFlags).namespace;
      if (!(await apply(cliContext(cmd), { ...o, namespaceFlag }))) process.exitCode = 1;
    });
}
