import { describe, expect, it } from 'vitest';
import { cronScheduleError, timeZoneError } from './cron.js';

describe('cron schedules', () => {
  it.each([
    { name: 'every minute', s: '* * * * *' },
    { name: 'steps and ranges', s: '*/15 9-17 * * 1-5' },
    { name: 'lists', s: '0,30 0 1,15 * *' },
    { name: 'names', s: '0 0 * JAN-mar sun,SAT' },
    { name: 'question mark', s: '0 0 ? * *' },
    { name: 'start with step', s: '5/10 * * * *' },
    { name: 'a macro', s: '@hourly' },
    { name: '@every', s: '@every 1h30m' },
  ])('accepts $name', ({ s }) => {
    expect(cronScheduleError(s)).toBeUndefined();
  });

  it.each([
    { name: 'too few fields', s: '* * * *', want: 'expected exactly 5 fields' },
    { name: 'minute out of range', s: '60 * * * *', want: 'above maximum (59)' },
    { name: 'day of month 0', s: '0 0 0 * *', want: 'below minimum (1)' },
    { name: 'weekday 7', s: '0 0 * * 7', want: 'above maximum (6)' },
    { name: 'backwards range', s: '0 5-2 * * *', want: 'beyond end of range' },
    { name: 'zero step', s: '*/0 * * * *', want: 'should be a positive number' },
    { name: 'a word', s: 'often * * * *', want: 'failed to parse int' },
    { name: 'an unknown macro', s: '@sometimes', want: 'unrecognized descriptor' },
  ])('rejects $name', ({ s, want }) => {
    expect(cronScheduleError(s)).toContain(want);
  });

  it.each([
    { tz: 'UTC', ok: true },
    { tz: 'America/New_York', ok: true },
    { tz: '', ok: false },
    { tz: '../etc/passwd', ok: false },
    { tz: 'Nowhere/Special', ok: false },
  ])('time zone $tz valid: $ok', ({ tz, ok }) => {
    expect(timeZoneError(tz) === undefined).toBe(ok);
  });
});
