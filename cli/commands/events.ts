/**
 * `nkctl events`: the Events of a namespace (or all, -A), oldest first, in
 * kubectl events' table: LAST SEEN (with "(xN over AGE)" for repeats),
 * TYPE, REASON, OBJECT (Kind/name), MESSAGE. `--for TYPE/NAME` keeps those
 * about one object, `--types Warning` those of a type; `-w` prints each
 * Event as it comes instead (the existing ones first). Changes nothing.
 */
import { Command } from 'commander';
import { apiVersionOf } from '../../api/registry.js';
import { escapeFieldValue } from '../../api/selectors.js';
import { type Event, eventFirstSeen, eventLastSeen, eventType } from '../../api/types/event.js';
import { boolFlag } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { splitSlash } from '../objectref.js';
import { formatTable } from '../table.js';

export interface EventsFlags {
  allNamespaces?: boolean;
  for?: string;
  types?: string;
  watch?: boolean;
  noHeaders?: boolean;
}

/** kubectl events' LAST SEEN: the age, and for a repeated event how often over how long. */
export function interval(ev: Event, now: Date): string {
  const count = (ev.series ? ev.series.count : ev.count) ?? 0;
  return ev.series || count > 1
    ? `${eventLastSeen(ev, now)} (x${count} over ${eventFirstSeen(ev, now)})`
    : eventFirstSeen(ev, now);
}

/** The time kubectl sorts events by: the series' last observation, else the last, else the event time. */
export function eventTime(ev: Event): number {
  return Date.parse(ev.series?.lastObservedTime || ev.lastTimestamp || ev.eventTime || '') || 0;
}

export function eventRow(ev: Event, now: Date, withNamespace: boolean): string[] {
  const o = ev.involvedObject ?? {};
  return [
    ...(withNamespace ? [ev.metadata?.namespace ?? ''] : []),
    interval(ev, now),
    ev.type ?? '',
    ev.reason ?? '',
    `${o.kind ?? ''}/${o.name ?? ''}`,
    (ev.message ?? '').trim(),
  ];
}

/** The field selector for `--for TYPE/NAME`, as kubectl builds it: kind, apiVersion and name. */
function forSelector(ctx: CliContext, arg: string): string {
  const { type, name } = splitSlash(arg);
  const rt = ctx.resource(type);
  return [
    `involvedObject.kind=${rt.kind}`,
    `involvedObject.apiVersion=${apiVersionOf(rt)}`,
    `involvedObject.name=${escapeFieldValue(name)}`,
  ].join(',');
}

function typeFilter(types: string | undefined): (ev: Event) => boolean {
  const wanted = (types ?? '').split(',').filter(Boolean);
  for (const t of wanted)
    if (!/^(normal|warning)$/i.test(t)) throw new CliError('valid --types are Normal or Warning');
  return (ev) => wanted.length === 0 || wanted.some((t) => t.toLowerCase() === (ev.type ?? '').toLowerCase());
}

export async function events(
  ctx: CliContext,
  f: EventsFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const keep = typeFilter(f.types);
  const fieldSelector = f.for ? forSelector(ctx, f.for) : undefined;
  const client = ctx.client(eventType, f.allNamespaces ? undefined : ctx.namespace);
  const header = [
    ...(f.allNamespaces ? ['NAMESPACE'] : []),
    'LAST SEEN',
    'TYPE',
    'REASON',
    'OBJECT',
    'MESSAGE',
  ];
  // Without the header its widths must not count: the first row stands in for it.
  const table = (rows: string[][], withHeader: boolean) =>
    withHeader ? formatTable(header, rows) : formatTable(rows[0], rows.slice(1));
  if (f.watch) {
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    let first = !f.noHeaders;
    for await (const ev of client.watch({ fieldSelector, resourceVersion: '', signal: ac.signal })) {
      const e = ev.object as Event;
      if (ev.type === 'DELETED' || ev.type === 'BOOKMARK' || !keep(e)) continue;
      out.write(table([eventRow(e, new Date(), !!f.allNamespaces)], first));
      first = false;
    }
    return;
  }
  const items = ((await client.list({ fieldSelector })).items as Event[]).filter(keep);
  if (items.length === 0) {
    err.write(f.allNamespaces ? 'No events found.\n' : `No events found in ${ctx.namespace} namespace.\n`);
    return;
  }
  items.sort((a, b) => eventTime(a) - eventTime(b));
  const now = new Date();
  out.write(
    table(
      items.map((e) => eventRow(e, now, !!f.allNamespaces)),
      !f.noHeaders,
    ),
  );
}

export function newEventsCommand(): Command {
  return new Command('events')
    .description(
      'List Events, oldest first: of a namespace, all (-A), or about one object (--for). Changes nothing.',
    )
    .addOption(boolFlag('-A, --all-namespaces', 'events of every namespace'))
    .option('--for <TYPE/NAME>', 'only events about this object')
    .option('--types <types>', 'only events of these types: Normal, Warning (comma-separated)')
    .addOption(boolFlag('-w, --watch', 'print events as they come, after the existing ones'))
    .addOption(boolFlag('--no-headers', 'leave out the header line'))
    .action(async (o: EventsFlags & { headers?: boolean }, cmd: Command) => {
      await events(cliContext(cmd), { ...o, noHeaders: o.headers === false });
    });
}
