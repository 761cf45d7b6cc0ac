// nkctl's boolean flags as kubectl (pflag) takes them: `--flag` alone is true,
// `--flag=VALUE` takes strconv.ParseBool's spellings, and a bare flag never
// swallows the argument after it. Parsed with the real command declarations,
// their actions swapped for a recorder, so no server is needed.
import { Command, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { FlagError, isBoolFlag, pflagBooleans } from '../../base/component-main.js';
import { newApiResourcesCommand } from './api-resources.js';
import { newApplyCommand } from './apply.js';
import { newCompletionCommand } from './completion.js';
import { newConfigCommand } from './config.js';
import { newCordonCommand, newUncordonCommand } from './cordon.js';
import { newCreateCommand } from './create.js';
import { newDeleteCommand } from './delete.js';
import { newDescribeCommand } from './describe.js';
import { newDownCommand } from './down.js';
import { newDrainCommand } from './drain.js';
import { newEditCommand } from './edit.js';
import { newEventsCommand } from './events.js';
import { newExecCommand } from './exec.js';
import { newExplainCommand } from './explain.js';
import { newExposeCommand } from './expose.js';
import { newGetCommand } from './get.js';
import { newInstallCommand } from './install.js';
import { newAnnotateCommand, newLabelCommand } from './label.js';
import { newLogsCommand } from './logs.js';
import { newPatchCommand } from './patch.js';
import { newPortForwardCommand } from './port-forward.js';
import { newRolloutCommand } from './rollout.js';
import { newRunCommand } from './run.js';
import { newScaleCommand } from './scale.js';
import { newSnapshotCommand } from './snapshot.js';
import { newStatusCommand } from './status.js';
import { newTokenCommand } from './token.js';
import { newTopCommand } from './top.js';
import { newUpCommand } from './up.js';
import { newVersionCommand } from './version.js';

interface Parsed {
  args: unknown[];
  opts: Record<string, unknown>;
}

/** Parses `argv` through `make()` under an nkctl-like root; returns what the action would get. */
function parse(make: () => Command, argv: string[], path: string[] = []): Parsed {
  const root = new Command('nkctl')
    .exitOverride()
    .configureOutput({ writeErr: () => {} })
    .option('-n, --namespace <ns>', 'namespace')
    .option('-s, --server <url>', 'server');
  let cmd = make();
  root.addCommand(cmd);
  for (const name of path) cmd = cmd.commands.find((c) => c.name() === name)!;
  let got: Parsed | undefined;
  cmd.action((...a: unknown[]) => {
    got = { args: a.slice(0, -2), opts: a.at(-2) as Record<string, unknown> };
  });
  pflagBooleans(root);
  root.parse(argv, { from: 'user' });
  return got!;
}

const opt = (make: () => Command, argv: string[], name: string, path: string[] = []) =>
  parse(make, argv, path).opts[name];

describe('delete --wait', () => {
  const wait = (...argv: string[]) => opt(newDeleteCommand, ['delete', 'pod', 'x', ...argv], 'wait');

  it('is true unless told otherwise, as in kubectl', () => {
    expect(wait()).toBe(true);
    expect(wait('--wait')).toBe(true);
    expect(wait('--wait=true')).toBe(true);
    expect(wait('--wait=false')).toBe(false);
    expect(wait('--wait=0')).toBe(false);
  });

  it('alone before the names leaves them names', () => {
    expect(parse(newDeleteCommand, ['delete', '--wait', 'pod', 'x']).args).toEqual([['pod', 'x']]);
  });

  it('refuses a value that is not a boolean, naming the flag', () => {
    expect(() => wait('--wait=soon')).toThrow(FlagError);
    expect(() => wait('--wait=soon')).toThrow('invalid value for --wait: "soon" is not a boolean');
  });

  it('--all, -A and --ignore-not-found take =true and =false, and stay switches', () => {
    const p = parse(newDeleteCommand, ['delete', '--all', 'pods', '-A', '--ignore-not-found']);
    expect(p.args).toEqual([['pods']]);
    expect(p.opts).toMatchObject({ all: true, allNamespaces: true, ignoreNotFound: true });
    const q = parse(newDeleteCommand, [
      'delete',
      'pods',
      '--all=true',
      '-A=false',
      '--ignore-not-found=false',
    ]);
    expect(q.opts).toMatchObject({ all: true, allNamespaces: false, ignoreNotFound: false });
  });
});

describe('api-resources --namespaced', () => {
  const namespaced = (...argv: string[]) =>
    opt(newApiResourcesCommand, ['api-resources', ...argv], 'namespaced');

  it('is unset, true or false', () => {
    expect(namespaced()).toBeUndefined();
    expect(namespaced('--namespaced')).toBe(true);
    expect(namespaced('--namespaced=true')).toBe(true);
    expect(namespaced('--namespaced=false')).toBe(false);
    expect(namespaced('--namespaced=F')).toBe(false);
  });
});

describe('rollout status -w/--watch', () => {
  const status = (...argv: string[]) => parse(newRolloutCommand, ['rollout', 'status', ...argv], ['status']);

  it('watches unless told --watch=false or -w=false', () => {
    expect(status('deploy/x').opts.watch).toBe(true);
    expect(status('deploy/x', '--watch=false').opts.watch).toBe(false);
    expect(status('deploy/x', '-w=false').opts.watch).toBe(false);
    expect(status('-w', 'deploy/x')).toEqual({
      args: [['deploy/x']],
      opts: expect.objectContaining({ watch: true }),
    });
  });
});

describe('get', () => {
  const get = (...argv: string[]) => parse(newGetCommand, ['get', ...argv]);

  it('--allow-missing-template-keys is true unless =false', () => {
    expect(get('pods').opts.allowMissingTemplateKeys).toBe(true);
    expect(get('pods', '--allow-missing-template-keys').opts.allowMissingTemplateKeys).toBe(true);
    expect(get('pods', '--allow-missing-template-keys=false').opts.allowMissingTemplateKeys).toBe(false);
  });

  it('-A, -w and --no-headers stay switches that leave the type an argument, and take =VALUE', () => {
    expect(get('-A', 'pods')).toEqual({
      args: ['pods', []],
      opts: expect.objectContaining({ allNamespaces: true }),
    });
    expect(get('-w', 'pods').args).toEqual(['pods', []]);
    expect(get('--no-headers', 'pods').opts.headers).toBe(false);
    expect(get('pods', '--all-namespaces=false', '--watch=false', '--no-headers=false').opts).toMatchObject({
      allNamespaces: false,
      watch: false,
      headers: true,
    });
  });
});

describe('logs --prefix', () => {
  const logs = (...argv: string[]) => parse(newLogsCommand, ['logs', ...argv]);

  it('is unset (with -l by default), true or false, and never takes the pod for its value', () => {
    expect(logs('p').opts.prefix).toBeUndefined();
    expect(logs('p', '--prefix=false').opts.prefix).toBe(false);
    expect(logs('--prefix', 'p')).toEqual({ args: [['p']], opts: expect.objectContaining({ prefix: true }) });
    expect(logs('-f', 'p')).toEqual({ args: [['p']], opts: expect.objectContaining({ follow: true }) });
  });
});

describe('exec -it', () => {
  it('reads a group of short switches as each one given', () => {
    expect(parse(newExecCommand, ['exec', '-it', 'p', '--', 'sh'])).toEqual({
      args: [['p', 'sh']],
      opts: expect.objectContaining({ stdin: true, tty: true }),
    });
  });
});

describe('every nkctl flag without a value is a boolean as kubectl takes it', () => {
  const commands = [
    newUpCommand,
    newDownCommand,
    newStatusCommand,
    newGetCommand,
    newDescribeCommand,
    newCreateCommand,
    newDeleteCommand,
    newLabelCommand,
    newAnnotateCommand,
    newScaleCommand,
    newRolloutCommand,
    newLogsCommand,
    newExecCommand,
    newPortForwardCommand,
    newApiResourcesCommand,
    newConfigCommand,
    newVersionCommand,
    newCordonCommand,
    newUncordonCommand,
    newDrainCommand,
    newTokenCommand,
    newInstallCommand,
    newTopCommand,
    newCompletionCommand,
    newSnapshotCommand,
    newApplyCommand,
    newPatchCommand,
    newEditCommand,
    newRunCommand,
    newExposeCommand,
    newEventsCommand,
    newExplainCommand,
  ];
  const all = (cmd: Command, path: string): [string, Option][] => [
    ...cmd.options.map((o): [string, Option] => [path, o]),
    ...cmd.commands.flatMap((c) => all(c, `${path} ${c.name()}`)),
  ];
  const options = commands.flatMap((make) => {
    const cmd = make();
    return all(cmd, cmd.name());
  });

  it.each(options.map(([path, o]) => [`${path} ${o.flags}`, o] as const))('%s', (_, o) => {
    if (isBoolFlag(o)) return;
    expect(o.required, 'takes a value, or is declared with boolFlag').toBe(true);
    expect(o.flags).not.toMatch(/bool/);
  });
});
