// nkctl's object verbs against a real etcd, apiserver and controller-manager
// started here: apply (server-side), patch, edit, run, create deployment,
// expose, events, explain and get -o jsonpath. Where kubectl has the same
// verb, nkctl's output or the object it makes is compared with kubectl's
// against the same server; every error case must be one line on stderr and
// a non-zero exit.
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  freePort,
  kubectl,
  makeTempDir,
  type RunResult,
  run,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let client: Api;
let dir: string;
let kubeconfig: string;
let serverUrl: string;

beforeAll(async () => {
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  await startControllerManager({ apiserverUrl: server.url, controllers: ['deployment', 'replicaset'] });
  serverUrl = server.url;
  client = api(server.url);
  dir = makeTempDir('nanokube-nkctl-objects-');
  kubeconfig = await writeKubeconfig(dir, server.url);
});
afterAll(cleanup);

const nk = (args: string[], { input, env }: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
  run(process.execPath, [nkctlJs, '--kubeconfig', kubeconfig, ...args], { input, env });
const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });

async function ok(args: string[], input?: string): Promise<string> {
  const r = await nk(args, { input });
  expect(r.code, `nkctl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** The command failed with exactly one line on stderr, matching `line`. */
function failsWithOneLine(r: RunResult, line: string | RegExp): void {
  expect(r.code, r.stdout).not.toBe(0);
  expect(r.stderr.endsWith('\n') && r.stderr.trim().split('\n')).toHaveLength(1);
  if (typeof line === 'string') expect(r.stderr.trim()).toBe(line);
  else expect(r.stderr.trim()).toMatch(line);
}

const get = async (p: string) => (await client.get(p)).body;
const cmPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`;
const deployPath = (ns: string, name: string) => `/apis/apps/v1/namespaces/${ns}/deployments/${name}`;

const ns = 'objs';
const manifest = ({ a = '1', withB = true, replicas = 1, image = 'nanokube/busybox:1' } = {}) =>
  [
    `apiVersion: v1\nkind: Namespace\nmetadata: {name: ${ns}}`,
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: ${ns}}\ndata: {a: "${a}"${withB ? ', b: x' : ''}}`,
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      `metadata: {name: web, namespace: ${ns}, labels: {app: web}}`,
      'spec:',
      `  replicas: ${replicas}`,
      '  selector: {matchLabels: {app: web}}',
      '  template:',
      '    metadata: {labels: {app: web}}',
      `    spec: {containers: [{name: c, image: "${image}", ports: [{containerPort: 8080}], env: [{name: A, value: "1"}]}]}`,
    ].join('\n'),
  ].join('\n---\n');

describe('apply', () => {
  it('creates every object of a multi-document manifest by server-side apply, as manager nkctl', async () => {
    expect(await ok(['apply', '-f', '-'], manifest())).toBe(
      `namespace/${ns} created\nconfigmap/cfg created\ndeployment.apps/web created\n`,
    );
    const cm = await get(cmPath(ns, 'cfg'));
    expect(cm.data).toEqual({ a: '1', b: 'x' });
    expect(cm.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'nkctl', operation: 'Apply', apiVersion: 'v1' }),
    ]);
    // The deployment controller may already have written status as another manager.
    expect((await get(deployPath(ns, 'web'))).metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'nkctl', operation: 'Apply', apiVersion: 'apps/v1' }),
    );
  });

  it('applying the same manifest again changes nothing and says unchanged', async () => {
    const before = await get(cmPath(ns, 'cfg'));
    expect(await ok(['apply', '--server-side', '-f', '-'], manifest())).toBe(
      `namespace/${ns} unchanged\nconfigmap/cfg unchanged\ndeployment.apps/web unchanged\n`,
    );
    expect((await get(cmPath(ns, 'cfg'))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('a changed manifest configures what changed, and a field no longer applied is removed', async () => {
    expect(await ok(['apply', '-f', '-'], manifest({ a: '2', withB: false }))).toBe(
      `namespace/${ns} unchanged\nconfigmap/cfg configured\ndeployment.apps/web unchanged\n`,
    );
    expect((await get(cmPath(ns, 'cfg'))).data).toEqual({ a: '2' });
  });

  it('--dry-run=server says what would happen and changes nothing', async () => {
    const before = await get(cmPath(ns, 'cfg'));
    const extra = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: ${ns}}`;
    expect(
      await ok(
        ['apply', '--dry-run=server', '-f', '-'],
        `${manifest({ a: '3', withB: false })}\n---\n${extra}`,
      ),
    ).toBe(
      `namespace/${ns} unchanged (server dry run)\nconfigmap/cfg configured (server dry run)\n` +
        'deployment.apps/web unchanged (server dry run)\nconfigmap/dry created (server dry run)\n',
    );
    expect(await get(cmPath(ns, 'cfg'))).toEqual(before);
    expect((await client.get(cmPath(ns, 'dry'))).status).toBe(404);
  });

  it('reads folders (-R for nested ones), YAML and JSON files, in name order', async () => {
    const root = path.join(dir, 'manifests');
    await mkdir(path.join(root, 'nested'), { recursive: true });
    const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
    await writeFile(path.join(root, 'b.json'), JSON.stringify(cm('from-json')));
    await writeFile(
      path.join(root, 'a.yaml'),
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-yaml}`,
    );
    await writeFile(path.join(root, 'notes.txt'), 'not a manifest');
    await writeFile(path.join(root, 'nested', 'c.yml'), JSON.stringify(cm('nested')));
    expect(await ok(['apply', '-n', ns, '-f', root])).toBe(
      'configmap/from-yaml created\nconfigmap/from-json created\n',
    );
    expect(await ok(['apply', '-n', ns, '-R', '-f', root])).toBe(
      'configmap/from-yaml unchanged\nconfigmap/from-json unchanged\nconfigmap/nested created\n',
    );
    expect((await get(cmPath(ns, 'from-yaml'))).metadata.namespace).toBe(ns);
  });

  it("a conflict with another manager's field is one line naming field and manager; the other objects are still applied", async () => {
    expect((await k(['scale', '-n', ns, 'deployment/web', '--replicas=3'])).code).toBe(0);
    const r = await nk(['apply', '-f', '-'], { input: manifest({ a: '4', withB: false }) });
    failsWithOneLine(
      r,
      'error: Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(`namespace/${ns} unchanged\nconfigmap/cfg configured\n`);
    expect((await get(cmPath(ns, 'cfg'))).data).toEqual({ a: '4' });
    expect((await get(deployPath(ns, 'web'))).spec.replicas).toBe(3);

    expect(await ok(['apply', '--force-conflicts', '-f', '-'], manifest({ a: '4', withB: false }))).toContain(
      'deployment.apps/web configured\n',
    );
    expect((await get(deployPath(ns, 'web'))).spec.replicas).toBe(1);
  });

  it('an invalid object fails alone, with the server’s one-line reason, and apply exits 1', async () => {
    const input = [
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: ${ns}}`,
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after-bad, namespace: ${ns}}`,
    ].join('\n---\n');
    const r = await nk(['apply', '-f', '-'], { input });
    failsWithOneLine(r, /^Error from server \(Invalid\): ConfigMap "Bad_Name" is invalid: metadata\.name/);
    expect(r.stdout).toBe('configmap/after-bad created\n');
  });

  it.each([
    {
      name: 'YAML that does not parse',
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x',
      line: /^error: error parsing STDIN: /,
    },
    {
      name: 'a document without kind',
      input: 'apiVersion: v1\nmetadata: {name: x}',
      line: 'error: error validating STDIN: apiVersion and kind must be set',
    },
    {
      name: 'an unknown kind',
      input: 'apiVersion: v1\nkind: Nope\nmetadata: {name: x}',
      line: 'error: resource mapping not found for name: "x" namespace: "" from "STDIN": no matches for kind "Nope" in version "v1"',
    },
    {
      name: 'an object without a name',
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}',
      line: 'error: error when applying "STDIN": resource name may not be empty',
    },
    {
      name: 'a namespace that does not exist',
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: nowhere}',
      line: 'Error from server (NotFound): namespaces "nowhere" not found',
    },
  ])('refuses $name in one line', async ({ input, line }) => {
    failsWithOneLine(await nk(['apply', '-f', '-'], { input }), line);
  });

  it('refuses a manifest namespace that contradicts -n, and a missing file', async () => {
    failsWithOneLine(
      await nk(['apply', '-n', 'default', '-f', '-'], { input: manifest().split('---')[1] }),
      /^error: the namespace from the provided object "objs" does not match the namespace "default"/,
    );
    failsWithOneLine(
      await nk(['apply', '-f', path.join(dir, 'missing.yaml')]),
      `error: the path "${path.join(dir, 'missing.yaml')}" does not exist`,
    );
  });
});

describe('patch', () => {
  const target = ['-n', ns, 'deployment', 'web'];
  const container = async () => (await get(deployPath(ns, 'web'))).spec.template.spec.containers[0];

  it('strategic (the default) merges lists by key; merge replaces them; json edits by path', async () => {
    const strategic = {
      spec: { template: { spec: { containers: [{ name: 'c', env: [{ name: 'B', value: '2' }] }] } } },
    };
    expect(await ok(['patch', ...target, '-p', JSON.stringify(strategic)])).toBe(
      'deployment.apps/web patched\n',
    );
    expect((await container()).env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
    const json = [{ op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'j' }];
    expect(await ok(['patch', '-n', ns, 'deploy/web', '--type', 'json', '-p', JSON.stringify(json)])).toBe(
      'deployment.apps/web patched\n',
    );
    expect((await container()).env[0]).toEqual({ name: 'B', value: 'j' });
    // YAML works too; a merge patch replaces the whole list.
    const merge = 'spec: {template: {spec: {containers: [{name: c, image: "nanokube/busybox:2"}]}}}';
    expect(await ok(['patch', ...target, '--type=merge', '-p', merge])).toBe('deployment.apps/web patched\n');
    const c = await container();
    expect(c.image).toBe('nanokube/busybox:2');
    expect(c.env).toBeUndefined();
  });

  it('says (no change) when the server stored nothing new, and --dry-run=server changes nothing', async () => {
    const before = await get(cmPath(ns, 'cfg'));
    expect(before.data).toEqual({ a: '4' });
    expect(await ok(['patch', '-n', ns, 'cm', 'cfg', '-p', '{"data":{"a":"4"}}'])).toBe(
      'configmap/cfg patched (no change)\n',
    );
    expect(await ok(['patch', '-n', ns, 'cm/cfg', '-p', '{"data":{"a":"5"}}', '--dry-run=server'])).toBe(
      'configmap/cfg patched (server dry run)\n',
    );
    expect(await get(cmPath(ns, 'cfg'))).toEqual(before);
  });

  it.each([
    { name: 'unparsable', args: ['-p', '{bad'], line: /^error: unable to parse "\{bad": / },
    {
      name: 'a json patch that is not a list',
      args: ['--type', 'json', '-p', '{"a":1}'],
      line: 'error: unable to parse "{"a":1}": a json patch must be a list of operations',
    },
    {
      name: 'an unknown --type',
      args: ['--type', 'xml', '-p', '{}'],
      line: 'error: --type must be one of [json merge strategic], not "xml"',
    },
    {
      name: 'a json patch the server cannot apply',
      args: ['--type', 'json', '-p', '[{"op":"replace","path":"/spec/nope/x","value":1}]'],
      line: /^Error from server \(Invalid\): .*\/spec\/nope\/x/,
    },
  ])('a bad patch ($name) is one line', async ({ args, line }) => {
    failsWithOneLine(await nk(['patch', ...target, ...args]), line);
  });

  it('an object that is not there, or an unknown type, is one line', async () => {
    failsWithOneLine(
      await nk(['patch', '-n', ns, 'deploy', 'nope', '-p', '{}']),
      'Error from server (NotFound): deployments.apps "nope" not found',
    );
    failsWithOneLine(
      await nk(['patch', 'bogus', 'x', '-p', '{}']),
      'error: the server doesn\'t have a resource type "bogus"',
    );
  });
});

describe('edit', () => {
  /** An editor script: a shell snippet run with the file as $1. */
  async function editor(name: string, body: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }
  // With TMPDIR, the files nkctl keeps after a failed edit land in this test's folder.
  const edit = (env: NodeJS.ProcessEnv, target = ['-n', ns, 'configmap/cfg']) =>
    nk(['edit', ...target], { env: { KUBE_EDITOR: '', TMPDIR: dir, ...env } });
  const keptFile = (r: RunResult) => {
    const file = /stored to "([^"]+)"/.exec(r.stderr)![1];
    expect(path.dirname(file)).toBe(dir);
    return file;
  };

  it('stores what the editor saved', async () => {
    const r = await edit({ EDITOR: await editor('set-a.sh', `sed -i 's/^  a: .*/  a: edited/' "$1"`) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('configmap/cfg edited\n');
    const cm = await get(cmPath(ns, 'cfg'));
    expect(cm.data).toEqual({ a: 'edited' });
    expect(cm.metadata.managedFields.map((e: any) => e.manager)).toContain('nkctl-edit');
  });

  it('KUBE_EDITOR wins over EDITOR; an unchanged or emptied file cancels', async () => {
    const before = await get(cmPath(ns, 'cfg'));
    const touch = await editor('touch.sh', 'touch "$1"');
    const broken = await editor('broken.sh', 'exit 3');
    const r = await edit({ KUBE_EDITOR: touch, EDITOR: broken });
    expect(r.stdout).toBe('Edit cancelled, no changes made.\n');
    expect(r.code).toBe(0);
    const empty = await edit({ EDITOR: await editor('empty.sh', ': > "$1"') });
    expect(empty.stdout).toBe('Edit cancelled, no changes made.\n');
    expect(await get(cmPath(ns, 'cfg'))).toEqual(before);
    failsWithOneLine(
      await edit({ EDITOR: broken }),
      `error: there was a problem with the editor "${broken}"`,
    );
  });

  it('invalid YAML fails in one line that names the kept file, which holds the edit', async () => {
    const r = await edit({ EDITOR: await editor('bad-yaml.sh', `echo 'data: [' >> "$1"`) });
    failsWithOneLine(
      r,
      /^error: the edited file is not valid YAML: .*; a copy of your changes has been stored to "/,
    );
    expect(await readFile(keptFile(r), 'utf8')).toMatch(/data: \[\n$/);
  });

  it('a change made meanwhile is a conflict; the edit is kept', async () => {
    const stale = await editor(
      'stale.sh',
      `sed -i 's/^  a: .*/  a: lost/' "$1"\ncurl -s -o /dev/null -X PATCH -H 'content-type: application/merge-patch+json' -d '{"data":{"a":"theirs"}}' "$SERVER${cmPath(ns, 'cfg')}"`,
    );
    const r = await edit({ EDITOR: stale, SERVER: serverUrl });
    failsWithOneLine(
      r,
      /^Error from server \(Conflict\): Operation cannot be fulfilled on configmaps "cfg": the object has been modified; .*; a copy of your changes has been stored to "/,
    );
    expect((await get(cmPath(ns, 'cfg'))).data).toEqual({ a: 'theirs' });
    expect(await readFile(keptFile(r), 'utf8')).toMatch(/^ {2}a: lost$/m);
  });

  it('refuses a changed name, and a missing object, in one line', async () => {
    const rename = await editor('rename.sh', `sed -i 's/^  name: cfg$/  name: other/' "$1"`);
    failsWithOneLine(
      await edit({ EDITOR: rename }),
      /^error: At least one of apiVersion, kind, name and namespace was changed; a copy of your changes/,
    );
    failsWithOneLine(
      await edit({ EDITOR: rename }, ['-n', ns, 'cm', 'nope']),
      'Error from server (NotFound): configmaps "nope" not found',
    );
  });
});

describe('run and create deployment', () => {
  const strip = (o: any) => {
    const { name: _, ...meta } = o.metadata;
    return { labels: meta.labels, spec: o.spec };
  };

  it('run makes the pod kubectl run makes', async () => {
    const flags = [
      '--image=nanokube/busybox:1',
      '--port=8080',
      '--env=A=1',
      '--env',
      'B=two',
      '--restart=Never',
    ];
    expect(await ok(['run', '-n', ns, 'p1', ...flags, '--', 'sh', '-c', 'echo hi'])).toBe('pod/p1 created\n');
    expect((await k(['run', '-n', ns, 'p2', ...flags, '--', 'sh', '-c', 'echo hi'])).code).toBe(0);
    const [p1, p2] = await Promise.all(['p1', 'p2'].map((p) => get(`/api/v1/namespaces/${ns}/pods/${p}`)));
    expect(p1.metadata.labels).toEqual({ run: 'p1' });
    expect(p1.spec.containers[0]).toMatchObject({ name: 'p1', args: ['sh', '-c', 'echo hi'] });
    const sameAs = (p: any, name: string) => JSON.parse(JSON.stringify(p).replaceAll(`"${name}"`, '"P"'));
    expect(sameAs(p1, 'p1').spec).toEqual(sameAs(p2, 'p2').spec);
  });

  it('run: --command makes the arguments the command; --labels replace run=NAME', async () => {
    await ok([
      'run',
      '-n',
      ns,
      'p3',
      '--image=nanokube/busybox:1',
      '--labels=a=b,c=d',
      '--command',
      '--',
      'sleep',
      '9',
    ]);
    const p = await get(`/api/v1/namespaces/${ns}/pods/p3`);
    expect(p.metadata.labels).toEqual({ a: 'b', c: 'd' });
    expect(p.spec.containers[0].command).toEqual(['sleep', '9']);
    expect(p.spec.containers[0].args).toBeUndefined();
    expect(p.spec.restartPolicy).toBe('Always');
  });

  it.each([
    { args: ['p9', '--image=x', '--restart=Sometimes'], line: 'error: invalid restart policy: Sometimes' },
    { args: ['p9', '--image=x', '--env=NOVALUE'], line: 'error: invalid env: NOVALUE' },
    {
      args: ['p9', '--image=x', '--port=99999'],
      line: 'error: invalid --port "99999": a port number is 1-65535',
    },
    { args: ['p1', '--image=x'], line: 'Error from server (AlreadyExists): pods "p1" already exists' },
  ])('run refuses $line', async ({ args, line }) => {
    failsWithOneLine(await nk(['run', '-n', ns, ...args]), line);
  });

  it('create deployment makes the deployment kubectl makes, and the controller runs it', async () => {
    const flags = ['--image=nanokube/busybox:1', '--replicas=2', '--port=80'];
    expect(await ok(['create', 'deployment', '-n', ns, 'gen', ...flags, '--', 'sleep', '1d'])).toBe(
      'deployment.apps/gen created\n',
    );
    expect((await k(['create', 'deployment', '-n', ns, 'kgen', ...flags, '--', 'sleep', '1d'])).code).toBe(0);
    const [mine, theirs] = await Promise.all(['gen', 'kgen'].map((n) => get(deployPath(ns, n))));
    const renamed = (o: any, name: string) =>
      JSON.parse(JSON.stringify(strip(o)).replaceAll(`"${name}"`, '"N"'));
    expect(renamed(mine, 'gen')).toEqual(renamed(theirs, 'kgen'));
    expect(mine.spec.template.spec.containers[0]).toMatchObject({
      name: 'busybox',
      command: ['sleep', '1d'],
    });
    await waitFor(
      async () =>
        (await get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dgen`)).items.length === 1,
      { what: 'a ReplicaSet of gen' },
    );
    failsWithOneLine(
      await nk(['create', 'deployment', '-n', ns, 'gen', '--image=x']),
      'Error from server (AlreadyExists): deployments.apps "gen" already exists',
    );
    failsWithOneLine(
      await nk(['create', 'deploy', 'two', '--image=a', '--image=b', '--', 'sh']),
      'error: cannot specify multiple --image options and command',
    );
  });
});

describe('expose', () => {
  const specOf = async (name: string) => {
    const {
      clusterIP: _,
      clusterIPs: __,
      ...spec
    } = (await get(`/api/v1/namespaces/${ns}/services/${name}`)).spec;
    return spec;
  };

  it.each([
    {
      what: 'a deployment with --port and --target-port',
      args: ['deployment', 'web', '--port=80', '--target-port=8080'],
    },
    { what: 'a deployment by the ports its containers declare', args: ['deploy/gen'] },
    { what: 'a pod by its labels', args: ['pod', 'p1', '--port=9000'] },
  ])('makes the service kubectl makes for $what', async ({ args }) => {
    const id = args
      .join('')
      .replace(/[^a-z0-9]/g, '')
      .slice(0, 20);
    expect(await ok(['expose', '-n', ns, ...args, `--name=n${id}`])).toBe(`service/n${id} exposed\n`);
    expect((await k(['expose', '-n', ns, ...args, `--name=k${id}`])).code).toBe(0);
    expect(await specOf(`n${id}`)).toEqual(await specOf(`k${id}`));
  });

  it('takes the selector and labels of what it exposes, the name by default, and --type', async () => {
    expect(await ok(['expose', '-n', ns, 'deployment/web', '--port=80', '--type=NodePort'])).toBe(
      'service/web exposed\n',
    );
    const svc = await get(`/api/v1/namespaces/${ns}/services/web`);
    expect(svc.metadata.labels).toEqual({ app: 'web' });
    expect(svc.spec).toMatchObject({ selector: { app: 'web' }, type: 'NodePort' });
    expect(svc.spec.ports).toEqual([
      { port: 80, protocol: 'TCP', targetPort: 80, nodePort: expect.any(Number) },
    ]);
    expect(await ok(['expose', '-n', ns, 'service', 'web', '--name=web-again'])).toBe(
      'service/web-again exposed\n',
    );
    expect((await get(`/api/v1/namespaces/${ns}/services/web-again`)).spec.selector).toEqual({ app: 'web' });
  });

  it.each([
    {
      args: ['configmap', 'cfg', '--port=80'],
      line: 'error: cannot expose a ConfigMap: expose a deployment, replicaset, pod or service',
    },
    { args: ['pod', 'p3'], line: "error: couldn't find port via --port flag or introspection" },
    {
      args: ['deployment', 'nope', '--port=80'],
      line: 'Error from server (NotFound): deployments.apps "nope" not found',
    },
    {
      args: ['deployment', 'web', '--port=80'],
      line: 'Error from server (AlreadyExists): services "web" already exists',
    },
    {
      args: ['deployment', 'web', '--port=80', '--name=bad', '--type=Weird'],
      line: /^Error from server \(Invalid\): Service "bad" is invalid: spec\.type/,
    },
  ])('refuses $args in one line', async ({ args, line }) => {
    failsWithOneLine(await nk(['expose', '-n', ns, ...args]), line);
  });
});

describe('events', () => {
  const evNs = 'evs';
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const event = (name: string, namespace: string, o: object) => ({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace },
    source: { component: 'tester' },
    ...o,
  });

  beforeAll(async () => {
    expect(
      (
        await client.post('/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: evNs },
        })
      ).status,
    ).toBe(201);
    const about = (kind: string, name: string, apiVersion = 'v1') => ({
      kind,
      name,
      namespace: evNs,
      apiVersion,
    });
    const events = [
      event('older', evNs, {
        involvedObject: about('Pod', 'p'),
        reason: 'Pulled',
        message: 'pulled the image  ',
        type: 'Normal',
        count: 1,
        firstTimestamp: ago(600),
        lastTimestamp: ago(600),
      }),
      event('repeated', evNs, {
        involvedObject: about('Pod', 'p'),
        reason: 'BackOff',
        message: 'back-off restarting',
        type: 'Warning',
        count: 5,
        firstTimestamp: ago(4000),
        lastTimestamp: ago(30),
      }),
      event('middle', evNs, {
        involvedObject: about('Deployment', 'd', 'apps/v1'),
        reason: 'ScalingReplicaSet',
        message: 'scaled up',
        type: 'Normal',
        count: 1,
        firstTimestamp: ago(300),
        lastTimestamp: ago(300),
      }),
      event('elsewhere', 'default', {
        involvedObject: { kind: 'Node', name: 'n1', apiVersion: 'v1' },
        reason: 'Ready',
        message: 'node is ready',
        type: 'Normal',
        count: 1,
        firstTimestamp: ago(100),
        lastTimestamp: ago(100),
      }),
    ];
    for (const e of events)
      expect((await client.post(`/api/v1/namespaces/${e.metadata.namespace}/events`, e)).status).toBe(201);
  });

  it("prints kubectl events' table, oldest first, with repeats as (xN over AGE)", async () => {
    const out = await ok(['events', '-n', evNs]);
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^LAST SEEN\s{3,}TYPE\s{3,}REASON\s{3,}OBJECT\s{3,}MESSAGE$/),
      expect.stringMatching(/^10m\s+Normal\s+Pulled\s+Pod\/p\s+pulled the image$/),
      expect.stringMatching(/^5m\d*s?\s+Normal\s+ScalingReplicaSet\s+Deployment\/d\s+scaled up$/),
      expect.stringMatching(/^3\ds \(x5 over 66m\)\s+Warning\s+BackOff\s+Pod\/p\s+back-off restarting$/),
      '',
    ]);
    // Columns line up under their headers.
    const lines = out.trimEnd().split('\n');
    for (const name of ['TYPE', 'REASON', 'OBJECT', 'MESSAGE']) {
      const at = lines[0].indexOf(name);
      for (const l of lines) expect(l.slice(at - 3, at + 1)).toMatch(/^ {3}\S$/);
    }
    // kubectl ran a moment later: its ages may differ, and so the padding after them.
    const theirs = await k(['events', '-n', evNs]);
    const norm = (t: string) => t.replace(/\d+[smh]\d*s?/g, 'T').replace(/ +/g, ' ');
    expect(norm(out)).toBe(norm(theirs.stdout));
  });

  it('-A adds the namespace; --for and --types choose; --no-headers drops the header', async () => {
    const all = await ok(['events', '-A']);
    expect(all.split('\n')[0]).toMatch(/^NAMESPACE\s+LAST SEEN\s+TYPE/);
    expect(all).toMatch(/^default\s+\S+\s+Normal\s+Ready\s+Node\/n1\s+node is ready$/m);
    expect(all).toMatch(/^evs\s+/m);
    const forPod = await ok(['events', '-n', evNs, '--for', 'pod/p', '--types=Warning', '--no-headers']);
    expect(forPod).toMatch(/^3\ds \(x5 over 66m\) {3}Warning {3}BackOff {3}Pod\/p {3}back-off restarting\n$/);
    const forDeploy = await ok(['events', '-n', evNs, '--for', 'deployment.apps/d']);
    expect(forDeploy.split('\n')).toHaveLength(3);
    expect(forDeploy).toContain('Deployment/d');
  });

  it('shows the Events controllers write: a Deployment scaling its ReplicaSet', async () => {
    const out = await waitFor(
      async () => {
        const r = await ok(['events', '-n', ns, '--for', 'deployment/gen']);
        return r.includes('ScalingReplicaSet') && r;
      },
      { what: 'the ScalingReplicaSet event of gen' },
    );
    expect(out).toMatch(
      /^\S+\s+Normal\s+ScalingReplicaSet\s+Deployment\/gen\s+Scaled up replica set gen-\w+ /m,
    );
  });

  it('-w prints the existing events, then each new one as it comes', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [nkctlJs, '--kubeconfig', kubeconfig, 'events', '-n', evNs, '-w', '--types', 'Warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
    });
    try {
      await waitFor(() => out.includes('BackOff'), { what: 'the existing Warning' });
      const e = event('fresh', evNs, {
        involvedObject: { kind: 'Pod', name: 'p', namespace: evNs, apiVersion: 'v1' },
        reason: 'Failed',
        message: 'just now',
        type: 'Warning',
        count: 1,
        firstTimestamp: ago(0),
        lastTimestamp: ago(0),
      });
      expect((await client.post(`/api/v1/namespaces/${evNs}/events`, e)).status).toBe(201);
      await waitFor(() => out.includes('just now'), { what: 'the new event' });
      expect(out.split('\n')[0]).toMatch(/^LAST SEEN\s+TYPE/);
      expect(out).toMatch(/^\d+s\s+Warning\s+Failed\s+Pod\/p\s+just now$/m);
      expect(out).not.toContain('Pulled');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('no events, a bad --types and a bad --for are told in one line', async () => {
    const none = await nk(['events', '-n', 'kube-public']);
    expect(none.code).toBe(0);
    expect(none.stderr).toBe('No events found in kube-public namespace.\n');
    failsWithOneLine(await nk(['events', '--types', 'Info']), 'error: valid --types are Normal or Warning');
    failsWithOneLine(
      await nk(['events', '--for', 'pod']),
      'error: arguments in resource/name form must have a single resource and name',
    );
    failsWithOneLine(
      await nk(['events', '--for', 'bogus/x']),
      'error: the server doesn\'t have a resource type "bogus"',
    );
  });
});

describe('explain', () => {
  it.each([
    ['pods'],
    ['pod.spec'],
    ['pod.spec.containers.ports'],
    ['pod.spec.containers.name'],
    ['deployment.spec.strategy'],
    ['deploy.metadata'],
    ['svc.spec.ports.targetPort'],
    ['configmaps', '--recursive'],
    ['deployment.spec.strategy', '--recursive'],
    ['jobs.spec.template.spec', '--recursive'],
    ['ingress.spec.rules'],
    ['nodes.status'],
  ])('prints what kubectl explain prints: %s %s', async (...args) => {
    const mine = await ok(['explain', ...args]);
    const theirs = await k(['explain', ...args]);
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(mine).toBe(theirs.stdout);
  });

  it('an unknown field or type is one line', async () => {
    failsWithOneLine(await nk(['explain', 'pod.spec.nope']), 'error: field "nope" does not exist');
    failsWithOneLine(
      await nk(['explain', 'bogus']),
      'error: the server doesn\'t have a resource type "bogus"',
    );
  });
});

describe('get -o jsonpath', () => {
  it.each([
    '{.items[*].metadata.name}',
    '{range .items[*]}{.metadata.name}{"\\t"}{.data.a}{"\\n"}{end}',
    '{.items[0].metadata.name}',
    '{.items[-1:].metadata.name}',
    '{.items[?(@.metadata.name=="cfg")].data}',
    '{.items[?(@.data.a)].metadata.name}',
    "{.items[*]['metadata.name', 'metadata.namespace']}",
    '{.items[*].metadata.nope}',
    'names: {.items[*].metadata.name}.',
    '{.kind} {.apiVersion}',
  ])('prints what kubectl prints for %s', async (template) => {
    const mine = await ok(['get', 'cm', '-n', ns, '-o', `jsonpath=${template}`]);
    const theirs = await k(['get', 'cm', '-n', ns, '-o', `jsonpath=${template}`]);
    expect(theirs.code, theirs.stderr).toBe(0);
    expect(mine).toBe(theirs.stdout);
  });

  it('works on one object, with filters over its lists', async () => {
    const t = '{.spec.template.spec.containers[?(@.name=="c")].image}';
    expect(await ok(['get', 'deploy', 'web', '-n', ns, `-ojsonpath=${t}`])).toBe('nanokube/busybox:2');
  });

  it('a bad template, a missing key without --allow-missing-template-keys, and an index out of range are one line', async () => {
    failsWithOneLine(
      await nk(['get', 'cm', '-n', ns, '-o', 'jsonpath={.items[*'], { input: '' }),
      'error: error parsing jsonpath {.items[*, unterminated array',
    );
    failsWithOneLine(
      await nk([
        'get',
        'cm',
        'cfg',
        '-n',
        ns,
        '-o',
        'jsonpath={.nope}',
        '--allow-missing-template-keys=false',
      ]),
      'error: error executing jsonpath "{.nope}": nope is not found',
    );
    failsWithOneLine(
      await nk(['get', 'cm', '-n', ns, '-o', 'jsonpath={.items[99]}']),
      /^error: error executing jsonpath "\{\.items\[99\]\}": array index out of bounds: index 99, length \d+$/,
    );
  });
});

describe('when the apiserver cannot be reached', () => {
  it.each([
    ['apply', '-f', '-'],
    ['patch', 'cm', 'x', '-p', '{}'],
    ['edit', 'cm', 'x'],
    ['run', 'x', '--image=y'],
    ['create', 'deployment', 'x', '--image=y'],
    ['expose', 'deploy', 'x', '--port=80'],
    ['events'],
    ['explain', 'pods'],
    ['get', 'cm', '-o', 'jsonpath={.items}'],
  ])('nkctl %s fails in one line', async (...args) => {
    const closed = await freePort();
    const r = await run(process.execPath, [nkctlJs, '-s', `http://127.0.0.1:${closed}`, ...args], {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}',
    });
    failsWithOneLine(r, /^error: cannot connect to the apiserver: no apiserver answered: .*ECONNREFUSED/);
  });
});
