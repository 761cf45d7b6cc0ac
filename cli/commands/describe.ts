/**
 * `nkctl describe`: one object in detail for people: its metadata, then its
 * spec and status as indented fields, then the Events about it (newest
 * last), as `kubectl describe` ends. Changes nothing.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { age } from '../../api/printers.js';
import { builtinRegistry } from '../../api/types/index.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { formatTable } from '../table.js';

function kv(map: Record<string, string> | undefined, indent: string): string {
  const entries = Object.entries(map ?? {});
  if (entries.length === 0) return '<none>';
  return entries.map(([k, v], i) => `${i === 0 ? '' : indent}${k}=${v}`).join('\n');
}

/** Renders a JSON value as `Key:  value` lines, nested by two spaces. */
export function renderFields(value: unknown, depth = 0): string {
  const pad = '  '.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return `${pad}<none>\n`;
    return value
      .map((v) =>
        typeof v === 'object' && v !== null
          ? `${pad}-\n${renderFields(v, depth + 1)}`
          : `${pad}- ${String(v)}\n`,
      )
      .join('');
  }
  if (typeof value !== 'object' || value === null) return `${pad}${String(value)}\n`;
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    const label = `${k.charAt(0).toUpperCase()}${k.slice(1)}:`;
    if (typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length : Object.keys(v).length))
      out += `${pad}${label}\n${renderFields(v, depth + 1)}`;
    else out += `${pad}${label.padEnd(20)}${typeof v === 'object' ? '<none>' : String(v)}\n`;
  }
  return out;
}

export async function describe(ctx: CliContext, type: string, name: string): Promise<string> {
  const rt = ctx.resource(type);
  const obj: KubeObject = await ctx.client(rt, ctx.namespace).get(name);
  const m = obj.metadata;
  let out = `Name:               ${m.name}\n`;
  if (rt.namespaced) out += `Namespace:          ${m.namespace}\n`;
  out += `Labels:             ${kv(m.labels, '                    ')}\n`;
  out += `Annotations:        ${kv(m.annotations, '                    ')}\n`;
  out += `CreationTimestamp:  ${m.creationTimestamp}\n`;
  if (m.deletionTimestamp) out += `DeletionTimestamp:  ${m.deletionTimestamp}\n`;
  if (m.ownerReferences?.length)
    out += `Controlled By:      ${m.ownerReferences.map((r) => `${r.kind}/${r.name}`).join(', ')}\n`;
  for (const section of Object.keys(obj).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k))) {
    out += `${section.charAt(0).toUpperCase()}${section.slice(1)}:\n${renderFields(obj[section], 1)}`;
  }
  const eventsType = builtinRegistry.get('', 'v1', 'events')!;
  const events = (
    await ctx
      .client(eventsType, m.namespace ?? 'default')
      .list({ fieldSelector: `involvedObject.uid=${m.uid}` })
  ).items as (KubeObject & {
    type?: string;
    reason?: string;
    message?: string;
    count?: number;
    lastTimestamp?: string;
    eventTime?: string;
    source?: { component?: string };
  })[];
  if (events.length === 0) return `${out}Events:             <none>\n`;
  const now = new Date();
  events.sort(
    (a, b) =>
      Date.parse(a.lastTimestamp ?? a.eventTime ?? '') - Date.parse(b.lastTimestamp ?? b.eventTime ?? ''),
  );
  const rows = events.map((e) => [
    e.type ?? '',
    e.reason ?? '',
    `${age(e.lastTimestamp ?? e.eventTime, now)}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`,
    e.source?.component ?? '',
    (e.message ?? '').trim(),
  ]);
  const table = formatTable(
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    [['----', '------', '----', '----', '-------'], ...rows],
  );
  return `${out}Events:\n${table.replace(/^/gm, '  ').trimEnd()}\n`;
}

export function newDescribeCommand(): Command {
  return new Command('describe')
    .description('Show one object in detail, with the Events about it. Changes nothing.')
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .action(async (args: string[], _o: unknown, cmd: Command) => {
      const [type, name] = args[0].includes('/') ? args[0].split('/') : args;
      if (!name) throw new CliError('you must specify the name of the object to describe');
      process.stdout.write(await describe(cliContext(cmd), type, name));
    });
}
