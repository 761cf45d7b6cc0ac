/**
 * `nkctl config`: the kubeconfig's contexts: `get-contexts`,
 * `current-context`, `use-context NAME`, `view`. Only `use-context` changes
 * the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { CliError, type GlobalFlags } from '../context.js';
import { defaultKubeconfigPath } from '../kubeconfig-file.js';
import { formatTable } from '../table.js';

interface Doc {
  contexts?: { name: string; context: { cluster: string; user?: string; namespace?: string } }[];
  'current-context'?: string;
  users?: { name: string; user: Record<string, unknown> }[];
}

function load(cmd: Command): { path: string; doc: Doc } {
  const path = (cmd.optsWithGlobals() as GlobalFlags).kubeconfig ?? defaultKubeconfigPath();
  try {
    return { path, doc: (parse(readFileSync(path, 'utf8')) as Doc | null) ?? {} };
  } catch (err) {
    throw new CliError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
}

export function newConfigCommand(): Command {
  const config = new Command('config').description(
    "Read the kubeconfig's contexts, or switch the current one.",
  );
  config.addCommand(
    new Command('get-contexts')
      .description('List the contexts. Changes nothing.')
      .action((_o, cmd: Command) => {
        const { doc } = load(cmd);
        const rows = (doc.contexts ?? []).map((c) => [
          c.name === doc['current-context'] ? '*' : '',
          c.name,
          c.context.cluster,
          c.context.user ?? '',
          c.context.namespace ?? '',
        ]);
        process.stdout.write(formatTable(['CURRENT', 'NAME', 'CLUSTER', 'AUTHINFO', 'NAMESPACE'], rows));
      }),
  );
  config.addCommand(
    new Command('current-context')
      .description('Print the current context. Changes nothing.')
      .action((_o, cmd: Command) => {
        const { doc } = load(cmd);
        if (!doc['current-context']) throw new CliError('current-context is not set');
        process.stdout.write(`${doc['current-context']}\n`);
      }),
  );
  config.addCommand(
    new Command('use-context')
      .description('Make NAME the current context. Safe to run twice.')
      .argument('<name>')
      .action((name: string, _o, cmd: Command) => {
        const { path, doc } = load(cmd);
        if (!(doc.contexts ?? []).some((c) => c.name === name))
          throw new CliError(`no context exists with the name: "${name}"`);
        doc['current-context'] = name;
        writeFileSync(path, stringify(doc), { mode: 0o600 });
        process.stdout.write(`Switched to context "${name}".\n`);
      }),
  );
  config.addCommand(
    new Command('view')
      .description('Print the kubeconfig, secrets redacted. Changes nothing.')
      .action((_o, cmd: Command) => {
        const { doc } = load(cmd);
        for (const u of doc.users ?? []) {
          for (const k of ['token', 'client-key-data', 'password']) if (u.user?.[k]) u.user[k] = 'REDACTED';
        }
        process.stdout.write(stringify(doc));
      }),
  );
  return config;
}
