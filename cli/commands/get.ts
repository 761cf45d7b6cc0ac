/**
 * `nkctl get`: lists or shows objects as kubectl does, with the server's
 * Table columns (`-o wide` adds the priority-1 ones), or as json, yaml,
 * names or a JSONPath template (`-o jsonpath='{.items[*].metadata.name}'`);
 * `-w` follows changes. Changes nothing.
 */
import { Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { apiVersionOf, type ResourceType } from '../../api/registry.js';
import { boolFlag } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { compileJsonPath } from '../jsonpath.js';
import { formatTable } from '../table.js';

export interface GetOptions {
  output?: string;
  selector?: string;
  fieldSelector?: string;
  allNamespaces?: boolean;
  watch?: boolean;
  noHeaders?: boolean;
  /** For jsonpath: print nothing for a missing key instead of failing (kubectl's default). */
  allowMissingTemplateKeys?: boolean;
}

interface Table {
  columnDefinitions: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: { metadata?: { namespace?: string; name?: string } } }[];
}

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

function renderTable(t: Table, o: { wide: boolean; withNamespace: boolean; headers: boolean }): string {
  const cols = t.columnDefinitions.map((c, i) => ({ ...c, i })).filter((c) => o.wide || c.priority === 0);
  const header = [...(o.withNamespace ? ['NAMESPACE'] : []), ...cols.map((c) => c.name.toUpperCase())];
  const rows = t.rows.map((r) => [
    ...(o.withNamespace ? [r.object?.metadata?.namespace ?? ''] : []),
    ...cols.map((c) => String(r.cells[c.i] ?? '')),
  ]);
  const text = formatTable(header, rows);
  return o.headers ? text : text.split('\n').slice(1).join('\n');
}

export async function get(
  ctx: CliContext,
  type: string,
  names: string[],
  o: GetOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const rt = ctx.resource(type);
  const ns = o.allNamespaces ? undefined : ctx.namespace;
  const client = ctx.client(rt, ns);
  const output = o.output ?? '';
  const jsonpath = output.startsWith('jsonpath=')
    ? compileJsonPath(output.slice('jsonpath='.length), {
        allowMissingKeys: o.allowMissingTemplateKeys !== false,
      })
    : undefined;
  if (!jsonpath && !['', 'wide', 'json', 'yaml', 'name'].includes(output))
    throw new CliError(
      `unable to match a printer suitable for the output format "${output}", allowed formats are: json,jsonpath,name,wide,yaml`,
    );
  const path = client.collectionPath();
  if (output === '' || output === 'wide') {
    const tables: Table[] = [];
    if (names.length) {
      for (const n of names)
        tables.push(
          await ctx.rest.request<Table>({ method: 'GET', path: client.objectPath(n), accept: tableAccept }),
        );
    } else {
      tables.push(
        await ctx.rest.request<Table>({
          method: 'GET',
          path,
          query: { labelSelector: o.selector, fieldSelector: o.fieldSelector },
          accept: tableAccept,
        }),
      );
    }
    const merged: Table = {
      columnDefinitions: tables[0].columnDefinitions,
      rows: tables.flatMap((t) => t.rows),
    };
    if (merged.rows.length === 0) {
      process.stderr.write(
        rt.namespaced && !o.allNamespaces
          ? `No resources found in ${ctx.namespace} namespace.\n`
          : 'No resources found\n',
      );
    } else {
      out.write(
        renderTable(merged, {
          wide: output === 'wide',
          withNamespace: !!o.allNamespaces && rt.namespaced,
          headers: !o.noHeaders,
        }),
      );
    }
    if (o.watch) await watchRows(ctx, rt, client.collectionPath(), o, out);
    return;
  }
  const objs: KubeObject[] = names.length
    ? await Promise.all(names.map((n) => client.get(n)))
    : (await client.list({ labelSelector: o.selector, fieldSelector: o.fieldSelector })).items;
  const typed = objs.map((x) => ({ apiVersion: apiVersionOf(rt), kind: rt.kind, ...x }));
  if (output === 'name') {
    out.write(
      typed
        .map((x) => `${rt.group ? `${rt.singular}.${rt.group}` : rt.singular}/${x.metadata.name}\n`)
        .join(''),
    );
    return;
  }
  const doc =
    names.length === 1
      ? typed[0]
      : { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items: typed };
  if (jsonpath) out.write(jsonpath(doc));
  else out.write(output === 'json' ? `${JSON.stringify(doc, null, 4)}\n` : toYaml(doc));
}

async function watchRows(
  ctx: CliContext,
  rt: ResourceType,
  path: string,
  o: GetOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  for await (const line of ctx.rest.streamLines({
    path,
    query: { watch: 'true', labelSelector: o.selector, fieldSelector: o.fieldSelector, resourceVersion: '' },
    accept: tableAccept,
    signal: ac.signal,
  })) {
    const ev = JSON.parse(line) as { type: string; object: Table };
    if (ev.type === 'ERROR' || !ev.object.rows) continue;
    const table = {
      columnDefinitions: ev.object.columnDefinitions.length ? ev.object.columnDefinitions : [],
      rows: ev.object.rows,
    };
    if (!table.columnDefinitions.length) continue;
    out.write(
      renderTable(table, {
        wide: o.output === 'wide',
        withNamespace: !!o.allNamespaces && rt.namespaced,
        headers: false,
      }),
    );
  }
}

export function newGetCommand(): Command {
  return new Command('get')
    .description('Show one or many objects, as a table, json, yaml or names. Changes nothing.')
    .argument('<type>', 'resource type: pods, po, deployments.apps, ...')
    .argument('[names...]', 'names of objects; all when none')
    .option('-o, --output <format>', "wide, json, yaml, name or jsonpath='{.metadata.name}'")
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .addOption(boolFlag('-A, --all-namespaces', 'list across all namespaces'))
    .addOption(boolFlag('-w, --watch', 'after listing, follow changes'))
    .addOption(boolFlag('--no-headers', 'leave out the header line'))
    .addOption(boolFlag('--allow-missing-template-keys', 'jsonpath: print nothing for a missing key', true))
    .action(async (type: string, names: string[], opts: GetOptions & { headers?: boolean }, cmd: Command) => {
      await get(cliContext(cmd), type, names, {
        ...opts,
        noHeaders: opts.headers === false,
      });
    });
}
