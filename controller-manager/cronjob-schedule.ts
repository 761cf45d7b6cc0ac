/**
 * Next-run computation for CronJob schedules, as robfig/cron (which
 * Kubernetes uses) reads them: five fields (minute, hour, day of month,
 * month, day of week) with lists, ranges, steps and names; the macros
 * `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`,
 * `@hourly`; `@every <duration>`; and a leading `TZ=`/`CRON_TZ=`. Times are
 * read in a time zone through Intl (IANA names). Pure: no clock, no I/O.
 *
 * Semantics worth knowing:
 * - When both day of month and day of week are restricted (neither is `*`
 *   or `?`), a day matches if either does, as in cron; otherwise both must.
 * - A wall-clock time that a DST change skips never fires that day; one
 *   that occurs twice fires at each occurrence.
 * - `next(t)` is the first run strictly after `t`, or undefined when there is
 *   none within five years (robfig gives up the same way).
 */
import { cronScheduleError, fields, timeZoneError } from '../api/types/cron.js';

export interface CronSchedule {
  /** The first run strictly after `afterMs` (ms since the epoch), or undefined. */
  next(afterMs: number): number | undefined;
}

const macros: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const minuteMs = 60_000;
const searchLimitMs = 5 * 366 * 24 * 3600_000;

/** The controller-manager's own zone, used when a CronJob names none (as Kubernetes does). */
export const localTimeZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** Parses a schedule; throws with the validation message when it is not valid. */
export function parseCronSchedule(schedule: string, timeZone?: string): CronSchedule {
  const err = cronScheduleError(schedule);
  if (err) throw new Error(err);
  let spec = schedule.trim();
  let tz = timeZone;
  if (spec.startsWith('TZ=') || spec.startsWith('CRON_TZ=')) {
    const space = spec.indexOf(' ');
    tz = spec.slice(spec.indexOf('=') + 1, space);
    spec = spec.slice(space + 1).trim();
  }
  tz ??= localTimeZone();
  const tzErr = timeZoneError(tz);
  if (tzErr) throw new Error(tzErr);
  if (spec.startsWith('@every ')) return everySchedule(parseGoDuration(spec.slice(7).trim()));
  return new FieldSchedule(macros[spec] ?? spec, tz);
}

const unitMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: minuteMs,
  h: 3600_000,
};

/** A Go duration ("1h30m", "90s") in ms. */
export function parseGoDuration(text: string): number {
  let ms = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g))
    ms += Number(m[1]) * unitMs[m[2]];
  return ms;
}

/** robfig's ConstantDelaySchedule: every `delay` (at least 1 s, whole seconds) from the last run. */
function everySchedule(delayMs: number): CronSchedule {
  const delay = Math.max(1000, Math.floor(delayMs / 1000) * 1000);
  return { next: (after) => Math.floor(after / 1000) * 1000 + delay };
}

interface Fields {
  minute: boolean[];
  hour: boolean[];
  dom: boolean[];
  month: boolean[];
  dow: boolean[];
  /** Day of month or day of week was `*` or `?`: days must match both. */
  anyDay: boolean;
}

function parseValue(text: string, names?: readonly string[], offset = 0): number {
  const i = names?.indexOf(text.toLowerCase()) ?? -1;
  return i >= 0 ? i + offset : Number.parseInt(text, 10);
}

/** One field into a membership table; `star` says whether it was an unstepped `*` or `?`. */
function parseField(text: string, index: number): { set: boolean[]; star: boolean } {
  const f = fields[index];
  const set = new Array<boolean>(f.max + 1).fill(false);
  let star = false;
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number.parseInt(stepText, 10);
    let lo = f.min;
    let hi = f.max;
    if (range === '*' || range === '?') {
      if (step === 1) star = true;
    } else {
      const offset = f.name === 'month' ? 1 : 0;
      const [a, b] = range.split('-');
      lo = parseValue(a, f.names, offset);
      hi = b !== undefined ? parseValue(b, f.names, offset) : stepText !== undefined ? f.max : lo;
    }
    for (let v = lo; v <= hi; v += step) set[v] = true;
  }
  return { set, star };
}

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const weekdays = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock reading of an instant in a time zone. */
export function wallClock(ms: number, tz: string): Wall {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  const w: Partial<Record<string, string>> = {};
  for (const p of f.formatToParts(ms)) w[p.type] = p.value;
  return {
    year: Number(w.year),
    month: Number(w.month),
    day: Number(w.day),
    hour: Number(w.hour),
    minute: Number(w.minute),
    weekday: weekdays.indexOf(w.weekday ?? ''),
  };
}

class FieldSchedule implements CronSchedule {
  private readonly f: Fields;

  constructor(
    spec: string,
    private readonly tz: string,
  ) {
    const parts = spec.split(/\s+/).map(parseField);
    const [minute, hour, dom, month, dow] = parts;
    this.f = {
      minute: minute.set,
      hour: hour.set,
      dom: dom.set,
      month: month.set,
      dow: dow.set,
      anyDay: dom.star || dow.star,
    };
  }

  private dayMatches(w: Wall): boolean {
    const d = this.f.dom[w.day];
    const wd = this.f.dow[w.weekday];
    return this.f.anyDay ? d && wd : d || wd;
  }

  /**
   * Walks forward from the next whole minute, skipping what cannot match:
   * a wrong day (or month) jumps to about two hours before the next local
   * midnight (a DST shift is at most an hour, so no midnight is jumped
   * over), a wrong hour to the next hour, a wrong minute to the next
   * matching minute of the hour.
   */
  next(afterMs: number): number | undefined {
    let t = Math.floor(afterMs / minuteMs) * minuteMs + minuteMs;
    const limit = afterMs + searchLimitMs;
    while (t <= limit) {
      const w = wallClock(t, this.tz);
      if (!this.f.month[w.month] || !this.dayMatches(w)) {
        t += (w.hour < 22 ? (22 - w.hour) * 60 - w.minute : 60 - w.minute) * minuteMs;
      } else if (!this.f.hour[w.hour]) {
        t += (60 - w.minute) * minuteMs;
      } else if (!this.f.minute[w.minute]) {
        let m = w.minute + 1;
        while (m < 60 && !this.f.minute[m]) m++;
        t += (m - w.minute) * minuteMs;
      } else {
        return t;
      }
    }
    return undefined;
  }
}
