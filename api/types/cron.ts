/**
 * Checks of a CronJob's `schedule` and `timeZone`, accepting what Kubernetes
 * accepts: the standard five cron fields (minute, hour, day of month, month,
 * day of week) with `*`, `?`, lists, ranges, steps and month and weekday
 * names, or a macro (`@hourly`, `@daily`, `@every 1h30m`...). Parsing into
 * next-run times is the CronJob controller's business, not this module's.
 */

export interface CronField {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

export const fields: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

export const cronMacros = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** A Go duration, as `@every` takes: "90s", "1h30m", "1.5h". */
const goDuration = /^(\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))*$/;

function parseValue(text: string, f: CronField, expr: string): number | string {
  const byName = f.names?.indexOf(text.toLowerCase()) ?? -1;
  if (byName >= 0) return byName + (f.name === 'month' ? 1 : 0);
  if (!/^\d+$/.test(text)) return `failed to parse int from ${text}: ${JSON.stringify(expr)}`;
  return Number.parseInt(text, 10);
}

/** One comma-separated part of a field: `*`, `?`, `n`, `a-b`, each optionally `/step`. */
function partError(part: string, f: CronField): string | undefined {
  const [range, step, ...extraSlash] = part.split('/');
  if (extraSlash.length) return `too many slashes: ${part}`;
  const bounds = range.split('-');
  let start = f.min;
  let end = f.max;
  if (range !== '*' && range !== '?') {
    if (bounds.length > 2) return `too many hyphens: ${part}`;
    const lo = parseValue(bounds[0], f, part);
    if (typeof lo === 'string') return lo;
    const hi = bounds.length === 2 ? parseValue(bounds[1], f, part) : step !== undefined ? f.max : lo;
    if (typeof hi === 'string') return hi;
    start = lo;
    end = hi;
  }
  if (step !== undefined) {
    const n = parseValue(step, { ...f, names: undefined }, part);
    if (typeof n === 'string') return n;
    if (n === 0) return `step of range should be a positive number: ${part}`;
  }
  if (start < f.min) return `beginning of range (${start}) below minimum (${f.min}): ${part}`;
  if (end > f.max) return `end of range (${end}) above maximum (${f.max}): ${part}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${part}`;
  return undefined;
}

/** Why a schedule is not valid, or undefined when it is. A leading `TZ=`/`CRON_TZ=` is allowed here; callers decide. */
export function cronScheduleError(schedule: string): string | undefined {
  let spec = schedule.trim();
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const space = spec.indexOf(' ');
    if (space < 0) return 'missing spec';
    const tz = spec.slice(spec.indexOf('=') + 1, space);
    const tzErr = timeZoneError(tz);
    if (tzErr) return `provided bad location ${tz}: ${tzErr}`;
    spec = spec.slice(space + 1).trim();
  }
  if (spec === '') return 'empty spec string';
  if (spec.startsWith('@')) {
    if (cronMacros.includes(spec)) return undefined;
    if (spec.startsWith('@every ')) {
      const d = spec.slice('@every '.length).trim();
      return goDuration.test(d)
        ? undefined
        : `failed to parse duration ${spec}: invalid duration ${JSON.stringify(d)}`;
    }
    return `unrecognized descriptor: ${spec}`;
  }
  const parts = spec.split(/\s+/);
  if (parts.length !== fields.length)
    return `expected exactly ${fields.length} fields, found ${parts.length}: [${parts.join(' ')}]`;
  for (const [i, field] of parts.entries()) {
    for (const part of field.split(',')) {
      const err = partError(part, fields[i]);
      if (err) return err;
    }
  }
  return undefined;
}

/** Why a time zone name is not one this host knows (IANA names such as "Europe/Berlin", or "UTC"), or undefined. */
export function timeZoneError(tz: string): string | undefined {
  if (tz === '') return 'timeZone must be nil or non-empty string';
  if (tz.toLowerCase() === 'local')
    return 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones';
  const partsOk = tz
    .split('/')
    .every((p) => p !== '.' && p !== '..' && !p.startsWith('-') && /^[A-Za-z._+\-0-9]+$/.test(p));
  if (!partsOk) return `unknown time zone ${tz}`;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return undefined;
  } catch {
    return `unknown time zone ${tz}`;
  }
}
