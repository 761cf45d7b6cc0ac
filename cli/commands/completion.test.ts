import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { boolFlag } from '../../base/component-main.js';
import { describeProgram, resourceTypeNames } from './completion.js';

function program(): Command {
  const p = new Command('nkctl').option('-n, --namespace <ns>', 'namespace');
  p.addCommand(
    new Command('get')
      .argument('<type>')
      .option('-o, --output <format>', 'format')
      .option('-w, --watch', 'w')
      .addOption(boolFlag('-A, --all-namespaces', 'all')),
  );
  p.addCommand(new Command('describe').argument('<args...>', 'TYPE NAME or TYPE/NAME'));
  p.addCommand(new Command('cordon').argument('<node>'));
  const top = new Command('top');
  top.addCommand(new Command('pod').aliases(['pods', 'po']).argument('[pod]'));
  p.addCommand(top);
  p.addCommand(new Command('completion').argument('<shell>'));
  return p;
}

describe('describeProgram', () => {
  const infos = new Map(describeProgram(program()).map((i) => [i.path, i]));

  it('lists every command by its path, with subcommands and their aliases', () => {
    expect([...infos.keys()]).toEqual(['', 'get', 'describe', 'cordon', 'top', 'top pod', 'completion']);
    expect([...infos.get('top')!.subcommands]).toEqual([
      ['pod', 'pod'],
      ['pods', 'pod'],
      ['po', 'pod'],
    ]);
  });

  it('knows which flags take a value', () => {
    expect(infos.get('get')!.flags).toEqual([
      '-o',
      '--output',
      '-w',
      '--watch',
      '-A',
      '--all-namespaces',
      '-h',
      '--help',
    ]);
    expect(infos.get('get')!.valued).toEqual(['-o', '--output']);
  });

  it.each([
    ['get', 'types'],
    ['describe', 'types'],
    ['cordon', 'nodes'],
    ['top pod', 'pods'],
    ['completion', undefined],
  ])('the first argument of %s completes %s', (path, kind) => {
    expect(infos.get(path)!.firstArg).toBe(kind);
  });
});

it('offers each resource type by its plural, once', () => {
  const names = resourceTypeNames();
  expect(names).toContain('deployments');
  expect(names).not.toContain('deploy');
  expect(new Set(names).size).toBe(names.length);
});
