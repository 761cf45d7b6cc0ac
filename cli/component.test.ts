// Boolean flags as Go's pflag takes them: `--flag` alone is true, `--flag=VALUE`
// takes strconv.ParseBool's spellings, and a bad value is one line and exit 2.
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boolFlag, FlagError, parseBool, runComponent } from './component.js';

function parse(args: string[], defaultValue?: boolean): unknown {
  const program = new Command('nk-test')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .addOption(boolFlag('--leader-elect', 'lead', defaultValue))
    .option('--secure-port <port>', 'port');
  program.parse(args, { from: 'user' });
  return program.opts().leaderElect;
}

describe('parseBool', () => {
  it.each(['1', 't', 'T', 'TRUE', 'true', 'True'])('takes %s as true', (v) => {
    expect(parseBool('--x', v)).toBe(true);
  });
  it.each(['0', 'f', 'F', 'FALSE', 'false', 'False'])('takes %s as false', (v) => {
    expect(parseBool('--x', v)).toBe(false);
  });
  it.each(['', 'yes', 'no', 'tRUE', 'on', '2', ' true'])('refuses %j, naming the flag', (v) => {
    expect(() => parseBool('--x', v)).toThrow(FlagError);
    expect(() => parseBool('--x', v)).toThrow(`invalid value for --x: "${v}" is not a boolean`);
  });
});

describe('boolFlag', () => {
  it('is true when given bare', () => {
    expect(parse(['--leader-elect'], false)).toBe(true);
    expect(parse(['--leader-elect'])).toBe(true);
  });
  it('is true when given bare before another flag', () => {
    expect(parse(['--leader-elect', '--secure-port', '1'], false)).toBe(true);
  });
  it('takes =true and =false', () => {
    expect(parse(['--leader-elect=true'], false)).toBe(true);
    expect(parse(['--leader-elect=false'], true)).toBe(false);
  });
  it.each([
    ['1', true],
    ['t', true],
    ['T', true],
    ['TRUE', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['FALSE', false],
    ['False', false],
  ])('takes =%s as %s', (v, want) => {
    expect(parse([`--leader-elect=${v}`], !want)).toBe(want);
  });
  it('keeps the default when absent', () => {
    expect(parse([], true)).toBe(true);
    expect(parse([], false)).toBe(false);
    expect(parse([])).toBeUndefined();
  });
  it('refuses a bad value with a FlagError naming the flag', () => {
    expect(() => parse(['--leader-elect=yes'], true)).toThrow(FlagError);
    expect(() => parse(['--leader-elect=yes'], true)).toThrow(
      'invalid value for --leader-elect: "yes" is not a boolean',
    );
  });
  it('shows [bool] and the default in help', () => {
    const opt = boolFlag('--leader-elect', 'lead', true);
    expect(opt.flags).toBe('--leader-elect [bool]');
    expect(opt.defaultValue).toBe(true);
  });
});

describe('runComponent with a bad boolean', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints one line naming the flag and exits 2', async () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(((code: number) => {
      throw new Error(`exit ${code}`);
    }) as never);
    const written: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation(((s: string) => {
      written.push(s);
      return true;
    }) as never);
    const program = new Command('nk-test').addOption(boolFlag('--leader-elect', 'lead', true));
    const run = vi.fn(async () => {});
    await expect(
      runComponent(program, ['node', 'nk-test', '--leader-elect=maybe'], (o) => o, run),
    ).rejects.toThrow('exit 2');
    expect(exit).toHaveBeenCalledWith(2);
    expect(run).not.toHaveBeenCalled();
    expect(written.join('')).toBe(
      'nk-test: invalid value for --leader-elect: "maybe" is not a boolean (true, false, 1, 0, t, f)\n',
    );
  });
});
