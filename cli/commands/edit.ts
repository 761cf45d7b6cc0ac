/**
 * `nkctl edit`: opens one object as YAML in $KUBE_EDITOR, $EDITOR or vi,
 * and stores what was saved with an update that carries the object's
 * resourceVersion, so a change someone else made meanwhile is a conflict
 * rather than lost. Nothing changed, or an empty file, cancels. Unlike
 * kubectl, a failed save does not reopen the editor: it prints one line and
 * keeps the edited file, whose path the line gives.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { apiVersionOf } from '../../api/registry.js';
import { type CliContext, CliError, cliContext, errorLine } from '../context.js';
import { parseYamlText } from '../flags.js';
import { objectArgs, shownName } from '../objectref.js';

const header = `# Please edit the object below. Lines beginning with a '#' will be ignored,
# and an empty file will abort the edit. If an error occurs while saving, the
# edited file is kept and its path printed.
#
`;

const cancelled = 'Edit cancelled, no changes made.';

/** Runs the user's editor on `file` through the shell, so `EDITOR="code --wait"` works. */
function runEditor(file: string, env: NodeJS.ProcessEnv): void {
  const editor = env.KUBE_EDITOR || env.EDITOR || 'vi';
  const r = spawnSync('sh', ['-c', `${editor} "$1"`, 'nkctl-edit', file], { stdio: 'inherit', env });
  if (r.status !== 0) throw new CliError(`there was a problem with the editor "${editor}"`);
}

/** Parses what the editor saved; undefined when only comments and blank lines are left. */
function readEdited(file: string): KubeObject | undefined {
  const text = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
  if (text.trim() === '') return undefined;
  const obj = parseYamlText(text);
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw new Error('the edited file does not hold one object');
  return obj as KubeObject;
}

export async function edit(
  ctx: CliContext,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<boolean> {
  const { rt, name } = objectArgs(ctx, args);
  const client = ctx.client(rt, ctx.namespace);
  const original: KubeObject = { apiVersion: apiVersionOf(rt), kind: rt.kind, ...(await client.get(name)) };
  const file = join(tmpdir(), `nkctl-edit-${randomBytes(6).toString('hex')}.yaml`);
  writeFileSync(file, header + toYaml(original), { mode: 0o600, flag: 'wx' });
  const fail = (why: string) => {
    err.write(`${why}; a copy of your changes has been stored to "${file}"\n`);
    return false;
  };
  let edited: KubeObject | undefined;
  try {
    runEditor(file, env);
    edited = readEdited(file);
  } catch (e) {
    if (e instanceof CliError) {
      rmSync(file, { force: true });
      throw e;
    }
    return fail(`error: the edited file is not valid YAML: ${(e as Error).message}`);
  }
  if (edited === undefined || isDeepStrictEqual(edited, original)) {
    rmSync(file, { force: true });
    out.write(`${cancelled}\n`);
    return true;
  }
  const m = edited.metadata ?? {};
  if (
    edited.apiVersion !== original.apiVersion ||
    edited.kind !== original.kind ||
    m.name !== original.metadata.name ||
    (m.namespace ?? original.metadata.namespace) !== original.metadata.namespace
  )
    return fail('error: At least one of apiVersion, kind, name and namespace was changed');
  try {
    await client.update(edited, { fieldManager: 'nkctl-edit' });
  } catch (e) {
    return fail(errorLine(e));
  }
  rmSync(file, { force: true });
  out.write(`${shownName(rt, name)} edited\n`);
  return true;
}

export function newEditCommand(): Command {
  return new Command('edit')
    .description(
      'Edit one object as YAML in $KUBE_EDITOR, $EDITOR or vi, and store it on save. Nothing changed cancels.',
    )
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      if (!(await edit(cliContext(cmd), args))) process.exitCode = 1;
    });
}
