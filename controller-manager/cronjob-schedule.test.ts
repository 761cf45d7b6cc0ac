import { describe, expect, it } from 'vitest';
import { parseCronSchedule, parseGoDuration, wallClock } from './cronjob-schedule.js';

const t = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The first n runs after `from`. */
function runs(schedule: string, from: string, n: number, tz = 'UTC'): (string | undefined)[] {
  const s = parseCronSchedule(schedule, tz);
  const out: (string | undefined)[] = [];
  let at = t(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(at);
    out.push(iso(next));
    if (next === undefined) break;
    at = next;
  }
  return out;
}

describe('parseCronSchedule', () => {
  it.each([
    {
      name: 'every minute, strictly after a whole minute',
      schedule: '* * * * *',
      from: '2024-01-01T00:00:00Z',
      want: ['2024-01-01T00:01:00.000Z', '2024-01-01T00:02:00.000Z'],
    },
    {
      name: 'every minute, from the middle of a minute',
      schedule: '* * * * *',
      from: '2024-01-01T00:00:30.500Z',
      want: ['2024-01-01T00:01:00.000Z'],
    },
    {
      name: 'steps',
      schedule: '*/15 * * * *',
      from: '2024-01-01T00:50:00Z',
      want: ['2024-01-01T01:00:00.000Z', '2024-01-01T01:15:00.000Z'],
    },
    {
      name: 'lists and ranges',
      schedule: '5,10 8-9 * * *',
      from: '2024-01-01T08:07:00Z',
      want: [
        '2024-01-01T08:10:00.000Z',
        '2024-01-01T09:05:00.000Z',
        '2024-01-01T09:10:00.000Z',
        '2024-01-02T08:05:00.000Z',
      ],
    },
    {
      name: 'a range with a step',
      schedule: '0 1-10/3 * * *',
      from: '2024-01-01T00:00:00Z',
      want: [
        '2024-01-01T01:00:00.000Z',
        '2024-01-01T04:00:00.000Z',
        '2024-01-01T07:00:00.000Z',
        '2024-01-01T10:00:00.000Z',
        '2024-01-02T01:00:00.000Z',
      ],
    },
    {
      name: 'month and weekday names (2024-01-01 is a Monday)',
      schedule: '30 12 * feb mon-tue',
      from: '2024-01-01T00:00:00Z',
      want: ['2024-02-05T12:30:00.000Z', '2024-02-06T12:30:00.000Z', '2024-02-12T12:30:00.000Z'],
    },
    {
      name: 'day of month OR day of week when both are restricted',
      schedule: '0 0 13 * 5',
      from: '2024-09-01T00:00:00Z',
      // Fridays (6th, 13th, 20th, 27th) and the 13th; Sept 13 2024 is a Friday.
      want: [
        '2024-09-06T00:00:00.000Z',
        '2024-09-13T00:00:00.000Z',
        '2024-09-20T00:00:00.000Z',
        '2024-09-27T00:00:00.000Z',
        '2024-10-04T00:00:00.000Z',
        '2024-10-11T00:00:00.000Z',
        '2024-10-13T00:00:00.000Z',
      ],
    },
    {
      name: 'day of month AND day of week when one is *',
      schedule: '0 0 * * 0',
      from: '2024-01-01T00:00:00Z',
      want: ['2024-01-07T00:00:00.000Z', '2024-01-14T00:00:00.000Z'],
    },
    {
      name: 'February 29 only in leap years',
      schedule: '0 0 29 2 *',
      from: '2024-03-01T00:00:00Z',
      want: ['2028-02-29T00:00:00.000Z'],
    },
    {
      name: '@hourly',
      schedule: '@hourly',
      from: '2024-01-01T10:59:59Z',
      want: ['2024-01-01T11:00:00.000Z', '2024-01-01T12:00:00.000Z'],
    },
    {
      name: '@daily and @midnight',
      schedule: '@midnight',
      from: '2024-01-01T10:00:00Z',
      want: ['2024-01-02T00:00:00.000Z'],
    },
    {
      name: '@weekly (Sundays)',
      schedule: '@weekly',
      from: '2024-01-01T00:00:00Z',
      want: ['2024-01-07T00:00:00.000Z'],
    },
    {
      name: '@monthly',
      schedule: '@monthly',
      from: '2024-01-15T00:00:00Z',
      want: ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z'],
    },
    {
      name: '@yearly',
      schedule: '@yearly',
      from: '2024-01-01T00:00:00Z',
      want: ['2025-01-01T00:00:00.000Z'],
    },
    {
      name: '@every from the previous run',
      schedule: '@every 1h30m',
      from: '2024-01-01T00:00:10.250Z',
      want: ['2024-01-01T01:30:10.000Z', '2024-01-01T03:00:10.000Z'],
    },
    {
      name: 'an impossible date gives up',
      schedule: '0 0 30 2 *',
      from: '2024-01-01T00:00:00Z',
      want: [undefined],
    },
  ])('$name', ({ schedule, from, want }) => {
    expect(runs(schedule, from, want.length)).toEqual(want);
  });

  it('reads the fields in the given time zone', () => {
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(runs('0 9 * * *', '2024-01-01T00:00:00Z', 1, 'Europe/Berlin')).toEqual([
      '2024-01-01T08:00:00.000Z',
    ]);
    expect(runs('0 9 * * *', '2024-07-01T00:00:00Z', 1, 'Europe/Berlin')).toEqual([
      '2024-07-01T07:00:00.000Z',
    ]);
    // Half-hour and 45-minute zones.
    expect(runs('0 0 * * *', '2024-01-01T00:00:00Z', 1, 'Asia/Kolkata')).toEqual([
      '2024-01-01T18:30:00.000Z',
    ]);
    expect(runs('0 0 * * *', '2024-01-01T00:00:00Z', 1, 'Asia/Kathmandu')).toEqual([
      '2024-01-01T18:15:00.000Z',
    ]);
  });

  it('a TZ= prefix wins over the given zone', () => {
    expect(runs('CRON_TZ=America/New_York 0 12 * * *', '2024-01-01T00:00:00Z', 1, 'UTC')).toEqual([
      '2024-01-01T17:00:00.000Z',
    ]);
  });

  it('skips a wall time that the spring DST change removes, and keeps midnight on either side', () => {
    // Europe/Berlin jumps from 02:00 to 03:00 on 2024-03-31.
    expect(runs('30 2 * * *', '2024-03-30T00:00:00Z', 2, 'Europe/Berlin')).toEqual([
      '2024-03-30T01:30:00.000Z',
      '2024-04-01T00:30:00.000Z',
    ]);
    // America/Santiago's clocks change at midnight: 2024-09-08 starts at 01:00.
    const s = runs('0 * 8 9 *', '2024-09-08T00:00:00Z', 2, 'America/Santiago');
    expect(s.map((x) => x && wallClock(Date.parse(x), 'America/Santiago'))).toMatchObject([
      { month: 9, day: 8, hour: 1, minute: 0 },
      { month: 9, day: 8, hour: 2, minute: 0 },
    ]);
  });

  it.each([
    { name: 'bad field count', schedule: '* * * *', message: /expected exactly 5 fields/ },
    { name: 'out of range', schedule: '60 * * * *', message: /above maximum/ },
    { name: 'unknown macro', schedule: '@sometimes', message: /unrecognized descriptor/ },
  ])('rejects $name', ({ schedule, message }) => {
    expect(() => parseCronSchedule(schedule, 'UTC')).toThrow(message);
  });

  it('rejects an unknown time zone', () => {
    expect(() => parseCronSchedule('* * * * *', 'Mars/Olympus')).toThrow(/unknown time zone/);
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h30m')).toBe(5_400_000);
    expect(parseGoDuration('90s')).toBe(90_000);
    expect(parseGoDuration('1.5h')).toBe(5_400_000);
  });
});
