/**
 * `nkctl completion`: the bash script the built nkctl prints, sourced in a
 * real bash and driven as bash drives it (COMP_WORDS, COMP_CWORD, the
 * completion function, COMPREPLY): commands, subcommands, flags, resource
 * types, and object names read from a real apiserver through `nkctl get`.
 * zsh is checked for syntax when it is installed.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  cleanup,
  makeTempDir,
  run,
  startApiserver,
  startEtcd,
  writeKubeconfig,
} from '../testing/harness.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let dir: string;
let server: string;
let kubeconfig: string;
let zsh: string | undefined;

beforeAll(async () => {
  dir = makeTempDir('nkctl-completion-');
  // Completion calls `nkctl` by the name typed, as a user's shell finds it on PATH.
  writeFileSync(path.join(dir, 'nkctl'), `#!/bin/sh\nexec "${process.execPath}" "${nkctlJs}" "$@"\n`);
  chmodSync(path.join(dir, 'nkctl'), 0o755);
  for (const shell of ['bash', 'zsh']) {
    const r = await run(process.execPath, [nkctlJs, 'completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    writeFileSync(path.join(dir, `completion.${shell}`), r.stdout);
  }
  const etcd = await startEtcd();
  server = (await startApiserver({ etcdServers: etcd.endpoints })).url;
  kubeconfig = await writeKubeconfig(dir, server);
  const client = api(server);
  const cm = await client.post('/api/v1/namespaces/default/configmaps', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'there' },
  });
  expect(cm.status).toBe(201);
  const node = await client.post('/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n-one' },
  });
  expect(node.status).toBe(201);
  zsh = (await run('sh', ['-c', 'command -v zsh'])).stdout.trim() || undefined;
});

afterAll(cleanup);

/** What bash offers for the words typed, the last one being completed. */
async function complete(...words: string[]): Promise<string[]> {
  const driver = [
    'source "$1"; shift',
    'COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()',
    '_nkctl',
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join('\n');
  const r = await run(
    'bash',
    ['-c', driver, 'driver', path.join(dir, 'completion.bash'), 'nkctl', ...words],
    {
      env: { PATH: `${dir}:${process.env.PATH}` },
    },
  );
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean).sort();
}

describe('nkctl completion bash', () => {
  it('is a script bash parses, registered for nkctl with file completion as the fallback', async () => {
    expect((await run('bash', ['-n', path.join(dir, 'completion.bash')])).code).toBe(0);
    const r = await run('bash', ['-c', `source ${path.join(dir, 'completion.bash')}; complete -p nkctl`]);
    expect(r.stdout.trim()).toBe('complete -o default -F _nkctl nkctl');
  });

  it.each([
    ['a command', ['ge'], ['get']],
    ['a command by a longer prefix', ['unc'], ['uncordon']],
    ['a subcommand', ['top', 'p'], ['pod']],
    ['a resource type', ['get', 'dep'], ['deployments']],
    ['resource types after describe', ['describe', 'pers'], ['persistentvolumeclaims', 'persistentvolumes']],
    ["a command's flags", ['drain', 'n1', '--ig'], ['--ignore-daemonsets']],
    ['flags with the global ones', ['top', 'pods', '--c'], ['--containers', '--context']],
    ['nothing for the value of a flag', ['get', 'pods', '--field-selector', ''], []],
  ])('completes %s', async (_, words, expected) => {
    expect(await complete(...words)).toEqual(expected);
  });

  it.each([
    ['names of a type, with -s', () => ['-s', server, 'get', 'configmaps', 'th'], ['there']],
    ['TYPE/NAME', () => ['-s', server, 'describe', 'cm/'], ['cm/there']],
    [
      'namespaces for -n',
      () => ['-s', server, 'get', 'pods', '-n', 'kube-'],
      ['kube-node-lease', 'kube-public', 'kube-system'],
    ],
    ['nodes for cordon, with --kubeconfig', () => ['--kubeconfig', kubeconfig, 'cordon', ''], ['n-one']],
    ['nodes for top node', () => ['--kubeconfig', kubeconfig, 'top', 'nodes', 'n-'], ['n-one']],
  ])('asks the cluster for %s', async (_, words, expected) => {
    expect(await complete(...words())).toEqual(expected);
  });

  it('offers no names, and says nothing, when the cluster cannot be reached', async () => {
    expect(await complete('-s', 'http://127.0.0.1:1', 'get', 'configmaps', '')).toEqual([]);
  });
});

describe('nkctl completion zsh', () => {
  it('is a script zsh parses (skipped when zsh is not installed)', async ({ skip }) => {
    if (!zsh) skip('zsh is not installed on this machine');
    expect((await run(zsh!, ['-n', path.join(dir, 'completion.zsh')])).code).toBe(0);
  });
});
