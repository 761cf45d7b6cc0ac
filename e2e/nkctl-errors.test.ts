/**
 * nkctl's error contract, with the built nkctl against a real etcd and
 * apiserver: whatever goes wrong (an unknown resource type, an object that
 * is not there, one that already is, bad input, no apiserver to talk to,
 * an unknown flag or a missing argument), every command prints exactly one
 * line on stderr, in kubectl's words where kubectl has them, nothing on
 * stdout, and exits non-zero: 1 for errors, 2 for command-line misuse.
 * Also that boolean flags take their values as kubectl's do (`--wait`,
 * `--wait=false`, `--namespaced=0`), a bad one being such an error.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  freePort,
  makeTempDir,
  type RunResult,
  run,
  startApiserver,
  startEtcd,
  writeKubeconfig,
} from '../testing/harness.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let server: string;
let closed: string;
let nowhere: string;

const nkctl = (args: string[], input?: string) =>
  run(process.execPath, [nkctlJs, ...args], { input, timeoutMs: 30_000 });

/** Asserts the contract: non-zero exit, no stdout, exactly `line` on stderr. */
function expectOneLine(r: RunResult, line: string | RegExp, code = 1) {
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n'), r.stderr).toBe(true);
  expect(r.stderr.trimEnd().split('\n'), r.stderr).toHaveLength(1);
  if (typeof line === 'string') expect(r.stderr.trimEnd()).toBe(line);
  else expect(r.stderr.trimEnd()).toMatch(line);
  expect(r.code).toBe(code);
}

beforeAll(async () => {
  const etcd = await startEtcd();
  server = (await startApiserver({ etcdServers: etcd.endpoints })).url;
  // Nothing listens on a port that was just free.
  closed = `http://127.0.0.1:${await freePort()}`;
  nowhere = await writeKubeconfig(makeTempDir('nkctl-errors-'), closed);
  const cm = await nkctl(
    ['-s', server, 'create', '-f', '-'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: there}',
  );
  expect(cm.code, cm.stderr).toBe(0);
});

afterAll(cleanup);

describe.concurrent('nkctl errors are one line on stderr and a non-zero exit', () => {
  const unknownType = 'error: the server doesn\'t have a resource type "foos"';
  it.each([
    ['get', ['get', 'foos']],
    ['describe', ['describe', 'foos', 'x']],
    ['delete', ['delete', 'foos', 'x']],
    ['label', ['label', 'foos', 'x', 'a=b']],
    ['annotate', ['annotate', 'foos/x', 'a=b']],
    ['scale', ['scale', 'foos', 'x', '--replicas', '1']],
  ])('unknown resource type: %s', async (_, args) => {
    expectOneLine(await nkctl(['-s', server, ...args]), unknownType);
  });

  it.each([
    ['get', ['get', 'pods', 'nope'], 'pods "nope"'],
    ['describe', ['describe', 'pod/nope'], 'pods "nope"'],
    ['delete', ['delete', 'pod', 'nope'], 'pods "nope"'],
    ['label', ['label', 'cm', 'nope', 'a=b'], 'configmaps "nope"'],
    ['scale', ['scale', 'deployment', 'nope', '--replicas', '2'], 'deployments.apps "nope"'],
    ['cordon', ['cordon', 'nope'], 'nodes "nope"'],
    ['uncordon', ['uncordon', 'nope'], 'nodes "nope"'],
    ['drain', ['drain', 'nope'], 'nodes "nope"'],
    ['top node', ['top', 'node', 'nope'], 'nodes "nope"'],
    ['top pod', ['top', 'pod', 'nope'], 'pods "nope"'],
    ['get in another namespace', ['-n', 'kube-system', 'get', 'cm', 'there'], 'configmaps "there"'],
  ])('not found: %s', async (_, args, what) => {
    expectOneLine(await nkctl(['-s', server, ...args]), `Error from server (NotFound): ${what} not found`);
  });

  it('conflict: creating what exists is AlreadyExists, and the object is unchanged', async () => {
    const r = await nkctl(
      ['-s', server, 'create', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: there}\ndata: {changed: "yes"}',
    );
    expectOneLine(r, 'Error from server (AlreadyExists): configmaps "there" already exists');
    const got = JSON.parse((await nkctl(['-s', server, 'get', 'cm', 'there', '-o', 'json'])).stdout);
    expect(got.data).toBeUndefined();
  });

  it.each([
    [
      'a name the server refuses',
      ['create', '-f', '-'],
      /^Error from server \(Invalid\): ConfigMap "Bad_Name" is invalid: metadata\.name: Invalid value: "Bad_Name": /,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}',
    ],
    ['a manifest that is not YAML', ['create', '-f', '-'], /^error: /, 'kind: [unclosed'],
    [
      'a bad label change',
      ['label', 'cm', 'there', 'novalue'],
      'error: invalid novalue: use key=value to set and key- to remove',
    ],
    [
      'a bad replica count',
      ['scale', 'deploy', 'x', '--replicas', 'many'],
      'error: invalid --replicas "many": must be a whole number, 0 or more',
    ],
    [
      'an unknown output format',
      ['get', 'pods', '-o', 'xml'],
      /^error: unable to match a printer suitable for the output format "xml", allowed formats are: /,
    ],
    ['a bad grace period', ['drain', 'n1', '--grace-period', 'soon'], 'error: invalid --grace-period "soon"'],
    [
      'a bad timeout',
      ['drain', 'n1', '--timeout', '5x'],
      'error: invalid value for --timeout: "5x" is not a duration (like 30s, 5m, 1h)',
    ],
    ['a bad sort key', ['top', 'pods', '--sort-by', 'name'], 'error: --sort-by accepts only cpu or memory'],
    [
      'a boolean flag that is neither true nor false',
      ['delete', 'cm', 'nope', '--wait=maybe'],
      'error: invalid value for --wait: "maybe" is not a boolean (true, false, 1, 0, t, f)',
    ],
    [
      'a bad boolean on a switch',
      ['get', 'cm', '-A=yes'],
      'error: invalid value for --all-namespaces: "yes" is not a boolean (true, false, 1, 0, t, f)',
    ],
    ['an unknown shell', ['completion', 'fish'], 'error: Unsupported shell type "fish".'],
    ['top with no node to measure', ['top', 'nodes'], 'error: metrics not available yet'],
  ])('invalid input: %s', async (_, args, line, input?: string) => {
    expectOneLine(await nkctl(['-s', server, ...args], input), line);
  });

  const refused =
    /^error: cannot connect to the apiserver: no apiserver answered: http:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/;
  it.each([
    ['get', ['get', 'pods']],
    ['describe', ['describe', 'pod', 'x']],
    ['delete', ['delete', 'pod', 'x']],
    ['label', ['label', 'pod', 'x', 'a=b']],
    ['scale', ['scale', 'deploy', 'x', '--replicas', '1']],
    ['cordon', ['cordon', 'n1']],
    ['drain', ['drain', 'n1']],
    ['top', ['top', 'nodes']],
  ])('cannot connect: %s, to a closed port and through a kubeconfig that points nowhere', async (_, args) => {
    expectOneLine(await nkctl(['-s', closed, ...args]), refused);
    expectOneLine(await nkctl(['--kubeconfig', nowhere, ...args]), refused);
  });

  it('cannot connect: a kubeconfig that is missing, garbled or names no such context', async () => {
    const dir = makeTempDir('nkctl-errors-');
    const missing = path.join(dir, 'none');
    const garbled = path.join(dir, 'garbled');
    writeFileSync(garbled, 'clusters: [\n');
    expectOneLine(
      await nkctl(['--kubeconfig', garbled, 'cordon', 'n1']),
      new RegExp(`^error: error loading config file "${garbled}": \\S`),
    );
    expectOneLine(
      await nkctl(['--kubeconfig', missing, 'get', 'pods']),
      new RegExp(`^error: cannot read kubeconfig ${missing}: ENOENT`),
    );
    expectOneLine(
      await nkctl(['--kubeconfig', nowhere, '--context', 'other', 'top', 'pods']),
      'error: context "other" not found in the kubeconfig',
    );
  });

  it.each([
    ['unknown flag on get', ['get', 'pods', '--bogus'], "error: unknown option '--bogus'"],
    ['unknown flag on drain', ['drain', 'n1', '--evict-all'], "error: unknown option '--evict-all'"],
    ['unknown flag on top', ['top', 'pods', '--watch'], "error: unknown option '--watch'"],
    ['missing argument of get', ['get'], "error: missing required argument 'type'"],
    ['missing argument of cordon', ['cordon'], "error: missing required argument 'node'"],
    ['missing argument of drain', ['drain'], "error: missing required argument 'node'"],
    ['missing option value', ['get', 'pods', '-n'], "error: option '-n, --namespace <ns>' argument missing"],
    [
      'missing required option',
      ['scale', 'deploy', 'x'],
      "error: required option '--replicas <n>' not specified",
    ],
    ['unknown command', ['frobnicate'], "error: unknown command 'frobnicate'"],
  ])('command line: %s exits 2', async (_, args, line) => {
    expectOneLine(await nkctl(['-s', server, ...args]), line, 2);
  });
});

describe('nkctl boolean flags take values as kubectl does', () => {
  const ok = async (args: string[], input?: string) => {
    const r = await nkctl(['-s', server, ...args], input);
    expect(r.code, `nkctl ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** NAME and NAMESPACED of each row of `api-resources`. */
  const resources = async (...flags: string[]) =>
    (await ok(['api-resources', ...flags]))
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => [line.split(/\s+/)[0], /\s(true|false)\s+\S+$/.exec(line)?.[1]]);

  it('api-resources --namespaced=false, =0, --namespaced and =true', async () => {
    const clusterScoped = await resources('--namespaced=false');
    expect(clusterScoped.map(([name]) => name)).toEqual(expect.arrayContaining(['namespaces', 'nodes']));
    expect(clusterScoped.every(([, namespaced]) => namespaced === 'false')).toBe(true);
    expect(await resources('--namespaced=0')).toEqual(clusterScoped);
    const namespaced = await resources('--namespaced');
    expect(namespaced.map(([name]) => name)).toEqual(expect.arrayContaining(['configmaps', 'pods']));
    expect(namespaced.every(([, n]) => n === 'true')).toBe(true);
    expect(await resources('--namespaced=true')).toEqual(namespaced);
    expect((await resources()).length).toBe(namespaced.length + clusterScoped.length);
  });

  it('delete --wait=false returns at once; --wait alone leaves the type and name arguments', async () => {
    const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}`;
    await ok(['create', '-f', '-'], `${cm('no-wait')}\n---\n${cm('bare-wait')}`);
    expect(await ok(['delete', 'configmap', 'no-wait', '--wait=false'])).toBe(
      'configmap "no-wait" deleted\n',
    );
    expect(await ok(['delete', '--wait', 'configmap', 'bare-wait'])).toBe('configmap "bare-wait" deleted\n');
    expectOneLine(
      await nkctl(['-s', server, 'get', 'cm', 'no-wait']),
      'Error from server (NotFound): configmaps "no-wait" not found',
    );
  });

  it('switches take =true and =false: get --no-headers=true -A=false', async () => {
    expect(await ok(['get', 'cm', 'there', '--no-headers=true', '-A=false'])).toMatch(/^there\s/);
    expect(await ok(['get', '--no-headers=false', 'cm', 'there'])).toMatch(/^NAME\s/);
  });
});
