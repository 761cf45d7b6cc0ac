// Boolean flags as Go's pflag takes them: `--flag` alone is true, `--flag=VALUE`
// takes strconv.ParseBool's spellings, and a bad value is one line and exit 2.
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { boolFlag, FlagError, isBoolFlag, parseBool, pflagBooleans, runComponent } from './component-main.js';

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

describe('boolFlag with a short name, and negated', () => {
  function opts(args: string[]) {
    const program = new Command('nk-test')
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .addOption(boolFlag('-w, --watch', 'watch', true))
      .addOption(boolFlag('--no-headers', 'no header line'));
    program.parse(args, { from: 'user' });
    return program.opts();
  }

  it('takes the short name bare, and names the long one in an error', () => {
    expect(opts(['-w']).watch).toBe(true);
    expect(opts(['--watch=false']).watch).toBe(false);
    expect(() => opts(['--watch=maybe'])).toThrow('invalid value for --watch: "maybe" is not a boolean');
  });

  it('reads --no-X=true as X false and --no-X=false as X true', () => {
    expect(opts([]).headers).toBe(true);
    expect(opts(['--no-headers']).headers).toBe(false);
    expect(opts(['--no-headers=true']).headers).toBe(false);
    expect(opts(['--no-headers=false']).headers).toBe(true);
  });

  it('is known as a boolean, unlike a flag that takes a value', () => {
    const program = new Command()
      .addOption(boolFlag('--all', 'all'))
      .option('-o, --output <format>', 'format');
    expect(program.options.map(isBoolFlag)).toEqual([true, false]);
  });
});

describe('pflagBooleans: a boolean never takes the next argument for its value', () => {
  let namespace: string | undefined;
  function parse(args: string[]) {
    const root = new Command('nk-test')
      .exitOverride()
      .configureOutput({ writeErr: () => {} })
      .option('-n, --namespace <ns>', 'namespace');
    let got: { operands: string[]; opts: Record<string, unknown> } | undefined;
    root.addCommand(
      new Command('get')
        .argument('[args...]')
        .addOption(boolFlag('-A, --all-namespaces', 'all namespaces'))
        .addOption(boolFlag('-w, --watch', 'watch', true))
        .addOption(boolFlag('-i, --stdin', 'stdin'))
        .addOption(boolFlag('--no-headers', 'no header line'))
        .option('-l, --selector <selector>', 'labels')
        .action((operands: string[], opts: Record<string, unknown>) => {
          got = { operands, opts };
        }),
    );
    pflagBooleans(root);
    root.parse(args, { from: 'user' });
    namespace = root.opts().namespace;
    return got!;
  }

  it('leaves the argument after a bare boolean an argument, as pflag does', () => {
    expect(parse(['get', '-A', 'pods'])).toEqual({
      operands: ['pods'],
      opts: { allNamespaces: true, watch: true, headers: true },
    });
    expect(parse(['get', '--all-namespaces', 'pods', '-n', 'x']).operands).toEqual(['pods']);
    expect(parse(['get', '--watch', 'false'])).toEqual({
      operands: ['false'],
      opts: { watch: true, headers: true },
    });
    expect(parse(['get', '--no-headers', 'pods']).opts.headers).toBe(false);
  });

  it('takes =VALUE on the long and the short name', () => {
    expect(parse(['get', 'pods', '--watch=false', '-A=true']).opts).toEqual({
      allNamespaces: true,
      watch: false,
      headers: true,
    });
    expect(parse(['get', '-w=f', 'pods']).opts.watch).toBe(false);
  });

  it('reads a group of boolean short flags as each one given', () => {
    expect(parse(['get', '-Ai', 'pods'])).toEqual({
      operands: ['pods'],
      opts: { allNamespaces: true, stdin: true, watch: true, headers: true },
    });
    expect(parse(['get', '-Al', 'a=b', 'pods'])).toEqual({
      operands: ['pods'],
      opts: { allNamespaces: true, selector: 'a=b', watch: true, headers: true },
    });
  });

  it('reads a group that ends in a flag of the parent command (`-in NS`) as kubectl does', () => {
    const got = parse(['get', '-in', 'kube-system', 'pods']);
    expect(got.operands).toEqual(['pods']);
    expect(got.opts).toEqual({ stdin: true, watch: true, headers: true });
    expect(namespace).toBe('kube-system');
    expect(parse(['get', '-An', 'y', 'pods']).operands).toEqual(['pods']);
    expect(namespace).toBe('y');
  });

  it('leaves alone the value of a flag that takes one, and all after --', () => {
    expect(parse(['get', '-l', '-A', 'pods'])).toEqual({
      operands: ['pods'],
      opts: { selector: '-A', watch: true, headers: true },
    });
    expect(parse(['get', 'pods', '--', '-A', '--watch']).operands).toEqual(['pods', '-A', '--watch']);
  });

  it('refuses a bad value with a FlagError naming the flag', () => {
    expect(() => parse(['get', '-A=yes'])).toThrow(
      'invalid value for --all-namespaces: "yes" is not a boolean',
    );
  });
});

describe('runComponent with a bad boolean', () => {
  afterEach(() => vi.restoreAllMocks());

  it('takes `--flag false` as pflag does: `false` is an argument, which a component refuses', async () => {
    vi.spyOn(process, 'exit').mockImplementation(((code: number) => {
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
      runComponent(program, ['node', 'nk-test', '--leader-elect', 'false'], (o) => o, run),
    ).rejects.toThrow('exit 2');
    expect(run).not.toHaveBeenCalled();
    expect(written).toEqual(['error: too many arguments. Expected 0 arguments but got 1.\n']);
  });

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
