// The real kubectl changing objects the ways people do: apply (client-side,
// three-way strategic merge patch), edit, patch with all three patch types,
// scale, set image, rollout restart, diff, and server-side apply with field
// managers, conflicts and --force-conflicts. Validation stays on throughout
// (kubectl's default), so every request also proves the OpenAPI documents.
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  type Api,
  api,
  cleanup,
  kubectlPath,
  makeTempDir,
  type RunResult,
  run,
  startApiserver,
  startEtcd,
  writeKubeconfig,
} from '../testing/harness.js';

const hasKubectl = existsSync('/usr/bin/kubectl');

let client: Api;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  if (!hasKubectl) return;
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(server.url);
  dir = makeTempDir('nanokube-kubectl-apply-');
  kubeconfig = await writeKubeconfig(path.join(dir, 'default'), server.url);
});
afterAll(cleanup);

interface RunOpts {
  input?: string;
  version?: string;
  env?: NodeJS.ProcessEnv;
}

function k(args: string[], { input, version, env }: RunOpts = {}): Promise<RunResult> {
  const cacheDir = path.join(dir, `kube-cache-${version ?? 'default'}`);
  return run(kubectlPath(version), ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
    input,
    env: { KUBECONFIG: kubeconfig, ...env },
    timeoutMs: 30_000,
  });
}

async function ok(args: string[], opts?: RunOpts): Promise<string> {
  const r = await k(args, opts);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function fails(args: string[], opts?: RunOpts): Promise<RunResult> {
  const r = await k(args, opts);
  expect(r.code, `kubectl ${args.join(' ')} should fail\n${r.stdout}`).not.toBe(0);
  return r;
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const yamlDocs = (objs: object[]) => objs.map((o) => YAML.stringify(o, { version: '1.1' })).join('---\n');
const get = async (p: string) => (await client.get(p)).body;

interface AppOptions {
  image?: string;
  mode?: string;
  ports?: number[];
  labels?: Record<string, string>;
}

/** The manifest people keep for one application: its namespace, config, secret, deployment and service. */
function app(
  ns: string,
  { image = 'nginx:1.27', mode = 'prod', ports = [80, 9090], labels }: AppOptions = {},
) {
  const meta = (name: string) => ({ name, namespace: ns, labels: labels ?? { app: 'web', tier: 'front' } });
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('web-config'), data: { mode } },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('web-secret'),
      data: { password: Buffer.from('hunter2').toString('base64') },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web'),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'app',
                image,
                env: [
                  { name: 'MODE', value: mode },
                  { name: 'KEEP', value: 'x' },
                ],
                ports: ports.map((p) => ({ containerPort: p })),
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('web'),
      spec: { selector: { app: 'web' }, ports: ports.map((p) => ({ name: `p${p}`, port: p })) },
    },
  ];
}
const kinds = [
  'namespace/',
  'configmap/web-config',
  'secret/web-secret',
  'deployment.apps/web',
  'service/web',
];
const deploymentPath = (ns: string) => `/apis/apps/v1/namespaces/${ns}/deployments/web`;
const containerOf = (d: any) => d.spec.template.spec.containers[0];

/** Writes an EDITOR script that rewrites the file kubectl hands it with sed. */
async function editor(name: string, sedExpr: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, `#!/bin/sh\nsed -i '${sedExpr}' "$1"\n`);
  await chmod(file, 0o755);
  return file;
}

describe.skipIf(!hasKubectl)('kubectl apply, edit, patch (the default binary)', () => {
  const ns = 'ka';

  it('apply creates a multi-document manifest, and applying it again changes nothing', async () => {
    const manifest = yamlDocs(app(ns));
    expect(lines(await ok(['apply', '-f', '-'], { input: manifest }))).toEqual(
      kinds.map((kind) => `${kind === 'namespace/' ? `namespace/${ns}` : kind} created`),
    );
    const before = await get(deploymentPath(ns));
    expect(lines(await ok(['apply', '-f', '-'], { input: manifest }))).toEqual(
      kinds.map((kind) => `${kind === 'namespace/' ? `namespace/${ns}` : kind} unchanged`),
    );
    expect((await get(deploymentPath(ns))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const secret = await get(`/api/v1/namespaces/${ns}/secrets/web-secret`);
    expect(secret.data).toEqual({ password: Buffer.from('hunter2').toString('base64') });
  });

  it('re-applying a changed manifest stores what Kubernetes would, field by field', async () => {
    const changed = app(ns, { image: 'nginx:1.28', mode: 'debug', ports: [80], labels: { app: 'web' } });
    const out = lines(await ok(['apply', '-f', '-'], { input: yamlDocs(changed) }));
    expect(out).toEqual([
      `namespace/${ns} unchanged`,
      'configmap/web-config configured',
      'secret/web-secret configured',
      'deployment.apps/web configured',
      'service/web configured',
    ]);
    const d = await get(deploymentPath(ns));
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(containerOf(d)).toEqual({
      name: 'app',
      image: 'nginx:1.28',
      env: [
        { name: 'MODE', value: 'debug' },
        { name: 'KEEP', value: 'x' },
      ],
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
    });
    // kubectl records what it applied, with the (empty) annotations it adds itself.
    const lastApplied = changed[3] as { metadata: object };
    expect(JSON.parse(d.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'])).toEqual({
      ...lastApplied,
      metadata: { ...lastApplied.metadata, annotations: {} },
    });
    expect(d.metadata.generation).toBe(2);
    const svc = await get(`/api/v1/namespaces/${ns}/services/web`);
    expect(svc.spec.ports).toEqual([{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }]);
    expect((await get(`/api/v1/namespaces/${ns}/configmaps/web-config`)).data).toEqual({ mode: 'debug' });
  });

  it('kubectl edit stores what the editor wrote', async () => {
    const script = await editor('edit-image.sh', 's/nginx:1.28/nginx:edited/');
    expect(await ok(['edit', '-n', ns, 'deployment/web'], { env: { EDITOR: script } })).toBe(
      'deployment.apps/web edited\n',
    );
    const d = await get(deploymentPath(ns));
    expect(containerOf(d).image).toBe('nginx:edited');
    expect(d.metadata.managedFields.map((e: any) => e.manager)).toContain('kubectl-edit');
  });

  it('kubectl patch: strategic merges lists by key, merge replaces them, json edits by index', async () => {
    const target = ['-n', ns, 'deployment/web'];
    const strategic = {
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'NEW', value: '1' }] }] } } },
    };
    expect(await ok(['patch', ...target, '-p', JSON.stringify(strategic)])).toBe(
      'deployment.apps/web patched\n',
    );
    let c = containerOf(await get(deploymentPath(ns)));
    expect(c.env.map((e: any) => e.name)).toEqual(['NEW', 'MODE', 'KEEP']);
    expect(c.image).toBe('nginx:edited');

    const remove = {
      spec: {
        template: { spec: { containers: [{ name: 'app', env: [{ name: 'NEW', $patch: 'delete' }] }] } },
      },
    };
    await ok(['patch', ...target, '-p', JSON.stringify(remove)]);
    c = containerOf(await get(deploymentPath(ns)));
    expect(c.env.map((e: any) => e.name)).toEqual(['MODE', 'KEEP']);

    const json = [{ op: 'replace', path: '/spec/template/spec/containers/0/env/0/value', value: 'json' }];
    await ok(['patch', ...target, '--type', 'json', '-p', JSON.stringify(json)]);
    expect(containerOf(await get(deploymentPath(ns))).env[0]).toEqual({ name: 'MODE', value: 'json' });

    const merge = { spec: { template: { spec: { containers: [{ name: 'app', image: 'nginx:merged' }] } } } };
    await ok(['patch', ...target, '--type', 'merge', '-p', JSON.stringify(merge)]);
    c = containerOf(await get(deploymentPath(ns)));
    // A JSON merge patch replaces the whole list: the env and ports are gone.
    expect(c.image).toBe('nginx:merged');
    expect(c.env).toBeUndefined();
    expect(c.ports).toBeUndefined();
  });

  it('scale, set image and rollout restart change what they name', async () => {
    expect(await ok(['scale', '-n', ns, 'deployment/web', '--replicas=4'])).toBe(
      'deployment.apps/web scaled\n',
    );
    expect(await ok(['set', 'image', '-n', ns, 'deployment/web', 'app=nginx:1.29'])).toBe(
      'deployment.apps/web image updated\n',
    );
    expect(await ok(['rollout', 'restart', '-n', ns, 'deployment/web'])).toBe(
      'deployment.apps/web restarted\n',
    );
    const d = await get(deploymentPath(ns));
    expect(d.spec.replicas).toBe(4);
    expect(containerOf(d).image).toBe('nginx:1.29');
    expect(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-/);
  });

  it('kubectl diff shows what apply would change and changes nothing', async () => {
    const before = await get(deploymentPath(ns));
    const r = await k(['diff', '-f', '-'], {
      input: yamlDocs(app(ns, { image: 'nginx:diffed', ports: [80] })),
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^-\s+- image: nginx:1.29$|^-\s+image: nginx:1.29$/m);
    expect(r.stdout).toMatch(/^\+\s+image: nginx:diffed$/m);
    expect((await get(deploymentPath(ns))).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  it('delete -f deletes what the manifest names', async () => {
    const out = lines(await ok(['delete', '-f', '-', '--wait=false'], { input: yamlDocs(app(ns)) }));
    expect(out).toContain('deployment.apps "web" deleted');
    expect(out).toContain(`namespace "${ns}" deleted`);
  });
});

describe.skipIf(!hasKubectl)('server-side apply', () => {
  const ns = 'ssa';
  const manifest = (o: AppOptions = {}) => yamlDocs(app(ns, o).slice(0, 4));

  it('creates with a field manager, and applying twice is a no-op', async () => {
    expect(lines(await ok(['apply', '--server-side', '-f', '-'], { input: manifest() }))).toEqual([
      `namespace/${ns} serverside-applied`,
      'configmap/web-config serverside-applied',
      'secret/web-secret serverside-applied',
      'deployment.apps/web serverside-applied',
    ]);
    const d = await get(deploymentPath(ns));
    expect(d.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'kubectl', operation: 'Apply', fieldsType: 'FieldsV1' }),
    ]);
    const fields = d.metadata.managedFields[0].fieldsV1;
    expect(fields['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}']['f:image']).toEqual(
      {},
    );
    await ok(['apply', '--server-side', '-f', '-'], { input: manifest() });
    expect((await get(deploymentPath(ns))).metadata.resourceVersion).toBe(d.metadata.resourceVersion);
  });

  it('refuses a conflicting apply naming the field and its manager; --force-conflicts takes it over', async () => {
    const other = manifest({ image: 'nginx:other' });
    const r = await fails(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: other });
    expect(r.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl": .spec.template.spec.containers[name="app"].image',
    );
    expect(containerOf(await get(deploymentPath(ns))).image).toBe('nginx:1.27');
    await ok(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', '-'], {
      input: other,
    });
    const d = await get(deploymentPath(ns));
    expect(containerOf(d).image).toBe('nginx:other');
    const managers = Object.fromEntries(d.metadata.managedFields.map((e: any) => [e.manager, e.fieldsV1]));
    const owns = (m: string) =>
      'f:image' in (managers[m]['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"app"}'] ?? {});
    expect(owns('other')).toBe(true);
    expect(owns('kubectl')).toBe(false);
  });

  it('an update by scale is a conflict for the next apply of replicas', async () => {
    await ok(['scale', '-n', ns, 'deployment/web', '--replicas=5']);
    const r = await fails(['apply', '--server-side', '-f', '-'], {
      input: manifest({ image: 'nginx:other' }),
    });
    expect(r.stderr).toMatch(
      /conflict with "kubectl[^"]*"( with subresource "scale")? using apps\/v1: \.spec\.replicas/,
    );
    await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], {
      input: manifest({ image: 'nginx:other' }),
    });
    expect((await get(deploymentPath(ns))).spec.replicas).toBe(2);
  });

  it('a field no manager applies any more is removed; one another manager still applies stays', async () => {
    const fewer = manifest({ image: 'nginx:other', ports: [80], labels: { app: 'web' } });
    await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: fewer });
    // "other" applied the tier label and port 9090 too, and still does: they stay.
    let d = await get(deploymentPath(ns));
    expect(d.metadata.labels).toEqual({ app: 'web', tier: 'front' });
    expect(containerOf(d).ports.map((p: any) => p.containerPort)).toEqual([80, 9090]);
    await ok(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: fewer });
    d = await get(deploymentPath(ns));
    expect(d.metadata.labels).toEqual({ app: 'web' });
    expect(containerOf(d).ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
  });
});

describe.skipIf(!hasKubectl)('kubectl create generators and run (protobuf request bodies)', () => {
  const ns = 'gen';

  it.each([
    { args: ['create', 'namespace', ns], out: `namespace/${ns} created` },
    {
      args: ['create', 'configmap', 'cfg', '--from-literal=a=b', '--from-literal=empty='],
      out: 'configmap/cfg created',
    },
    { args: ['create', 'secret', 'generic', 'sec', '--from-literal=p=hunter2'], out: 'secret/sec created' },
    { args: ['create', 'serviceaccount', 'robot'], out: 'serviceaccount/robot created' },
    {
      args: ['create', 'deployment', 'dep', '--image=nginx:1.27', '--replicas=0', '--port=80'],
      out: 'deployment.apps/dep created',
    },
    { args: ['create', 'job', 'once', '--image=busybox', '--', 'echo', 'hi'], out: 'job.batch/once created' },
    {
      args: ['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/5 * * * *', '--', 'date'],
      out: 'cronjob.batch/tick created',
    },
    { args: ['create', 'service', 'clusterip', 'svc', '--tcp=80:8080'], out: 'service/svc created' },
    {
      args: ['run', 'pod1', '--image=nginx:1.27', '--labels=a=b', '--env=X=1', '--port=80'],
      out: 'pod/pod1 created',
    },
  ])('kubectl $args.0 $args.1 $args.2', async ({ args, out }) => {
    expect(await ok(args[1] === 'namespace' ? args : ['-n', ns, ...args])).toBe(`${out}\n`);
  });

  it('stores the generated objects as their JSON twins would be stored', async () => {
    expect((await get(`/api/v1/namespaces/${ns}/configmaps/cfg`)).data).toEqual({ a: 'b', empty: '' });
    expect((await get(`/api/v1/namespaces/${ns}/secrets/sec`)).data).toEqual({ p: 'aHVudGVyMg==' });
    const dep = await get(`/apis/apps/v1/namespaces/${ns}/deployments/dep`);
    expect(dep.spec.replicas).toBe(0);
    expect(containerOf(dep)).toMatchObject({
      name: 'nginx',
      image: 'nginx:1.27',
      ports: [{ containerPort: 80 }],
    });
    expect(dep.metadata.managedFields[0]).toMatchObject({ manager: 'kubectl-create', operation: 'Update' });
    const job = await get(`/apis/batch/v1/namespaces/${ns}/jobs/once`);
    expect(containerOf(job).command).toEqual(['echo', 'hi']);
    const cron = await get(`/apis/batch/v1/namespaces/${ns}/cronjobs/tick`);
    expect(cron.spec.schedule).toBe('*/5 * * * *');
    const svc = await get(`/api/v1/namespaces/${ns}/services/svc`);
    expect(svc.spec.ports).toEqual([{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]);
    const pod = await get(`/api/v1/namespaces/${ns}/pods/pod1`);
    expect(pod.metadata.labels).toEqual({ a: 'b' });
    expect(pod.spec.containers[0]).toMatchObject({
      env: [{ name: 'X', value: '1' }],
      ports: [{ containerPort: 80 }],
    });
  });
});

describe.skipIf(!hasKubectl)('validation and explain', () => {
  const bad = (name: string) =>
    yamlDocs([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: {}, extra: 1 },
    ]);

  it('--validate=strict rejects an unknown field, --validate=warn warns and creates', async () => {
    const strict = await fails(['apply', '--validate=strict', '-f', '-'], { input: bad('strict') });
    expect(strict.stderr).toContain('unknown field "extra"');
    expect((await client.get('/api/v1/namespaces/default/configmaps/strict')).status).toBe(404);
    const warn = await k(['apply', '--validate=warn', '-f', '-'], { input: bad('warn') });
    expect(warn.code, warn.stderr).toBe(0);
    expect(warn.stderr).toContain('unknown field "extra"');
    expect(warn.stdout).toBe('configmap/warn created\n');
  });

  it('--dry-run=server checks create, apply, patch and delete without changing anything', async () => {
    await ok(['create', 'configmap', 'real', '--from-literal=a=b']);
    const before = await get('/api/v1/namespaces/default/configmaps/real');
    expect(await ok(['create', 'configmap', 'dry', '--from-literal=a=b', '--dry-run=server'])).toBe(
      'configmap/dry created (server dry run)\n',
    );
    const applied = yamlDocs([
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'real' }, data: { a: 'c' } },
    ]);
    expect(
      await ok(['apply', '--server-side', '--force-conflicts', '--dry-run=server', '-f', '-'], {
        input: applied,
      }),
    ).toBe('configmap/real serverside-applied (server dry run)\n');
    await ok(['patch', 'configmap', 'real', '-p', '{"data":{"a":"d"}}', '--dry-run=server']);
    expect(await ok(['delete', 'configmap', 'real', '--dry-run=server'])).toBe(
      'configmap "real" deleted (server dry run)\n',
    );
    expect((await client.get('/api/v1/namespaces/default/configmaps/dry')).status).toBe(404);
    expect(await get('/api/v1/namespaces/default/configmaps/real')).toEqual(before);
  });

  it('explain shows a nested field with its type, description and fields', async () => {
    const out = await ok(['explain', 'deployment.spec.strategy']);
    expect(out).toContain('KIND:       Deployment');
    expect(out).toContain('FIELD: strategy <Object>');
    expect(out).toContain('How old pods are replaced by new ones.');
    expect(out).toMatch(/rollingUpdate\s+<Object>\n\s+How a rolling update proceeds/);
    expect(out).toMatch(/type\s+<string>\n\s+RollingUpdate \(default\) or Recreate\./);
    const ports = await ok(['explain', 'pod.spec.containers.ports']);
    expect(ports).toMatch(/containerPort\s+<integer>/);
  });
});

// The oldest and newest kubectl on the machine: the protocol each speaks (OpenAPI v2 or v3, protobuf bodies).
const versions = hasKubectl
  ? ['1.27', '1.33'].filter((v) => {
      try {
        kubectlPath(v);
        return true;
      } catch {
        return false;
      }
    })
  : [];

describe.skipIf(versions.length === 0).each(versions)('kubectl %s', (version) => {
  const ns = `v${version.replace('.', '-')}`;

  it('apply twice is a no-op, server-side apply conflicts, create deployment, explain', async () => {
    const manifest = yamlDocs(app(ns).slice(0, 4));
    await ok(['apply', '-f', '-'], { input: manifest, version });
    expect(lines(await ok(['apply', '-f', '-'], { input: manifest, version }))).toEqual(
      kinds.slice(0, 4).map((kind) => `${kind === 'namespace/' ? `namespace/${ns}` : kind} unchanged`),
    );
    const changed = yamlDocs(app(ns, { image: 'nginx:next', ports: [80] }).slice(3, 4));
    expect(await ok(['apply', '-f', '-'], { input: changed, version })).toBe(
      'deployment.apps/web configured\n',
    );
    expect(containerOf(await get(deploymentPath(ns))).ports).toEqual([
      { containerPort: 80, protocol: 'TCP' },
    ]);
    const ssa = yamlDocs(app(ns, { image: 'nginx:ssa' }).slice(3, 4));
    const r = await fails(['apply', '--server-side', '-f', '-'], { input: ssa, version });
    expect(r.stderr).toContain('conflict with "kubectl-client-side-apply" using apps/v1');
    await ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: ssa, version });
    expect(containerOf(await get(deploymentPath(ns))).image).toBe('nginx:ssa');
    expect(await ok(['create', 'deployment', 'gen', '-n', ns, '--image=nginx'], { version })).toBe(
      'deployment.apps/gen created\n',
    );
    expect(await ok(['explain', 'deployment.spec.strategy.type'], { version })).toContain(
      'RollingUpdate (default) or Recreate.',
    );
  });

  it('edit, patch with all three types, scale, diff and delete -f', async () => {
    const target = ['-n', ns, 'deployment/web'];
    const script = await editor(`edit-${version}.sh`, 's/nginx:ssa/nginx:edited/');
    expect(await ok(['edit', ...target], { version, env: { EDITOR: script } })).toBe(
      'deployment.apps/web edited\n',
    );
    expect(containerOf(await get(deploymentPath(ns))).image).toBe('nginx:edited');
    const strategic = {
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'V', value: 's' }] }] } } },
    };
    await ok(['patch', ...target, '-p', JSON.stringify(strategic)], { version });
    expect(containerOf(await get(deploymentPath(ns))).image).toBe('nginx:edited');
    expect(containerOf(await get(deploymentPath(ns))).env.map((e: any) => e.name)).toContain('V');
    await ok(
      [
        'patch',
        ...target,
        '--type',
        'json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 2 }]),
      ],
      { version },
    );
    await ok(
      [
        'patch',
        ...target,
        '--type',
        'merge',
        '-p',
        JSON.stringify({ metadata: { labels: { patched: 'yes' } } }),
      ],
      { version },
    );
    const d = await get(deploymentPath(ns));
    expect(d.spec.replicas).toBe(2);
    expect(d.metadata.labels.patched).toBe('yes');
    expect(await ok(['scale', ...target, '--replicas=3'], { version })).toBe('deployment.apps/web scaled\n');
    expect((await get(deploymentPath(ns))).spec.replicas).toBe(3);
    const before = (await get(deploymentPath(ns))).metadata.resourceVersion;
    const r = await k(['diff', '-f', '-'], {
      input: yamlDocs(app(ns, { image: 'nginx:diffed' }).slice(3, 4)),
      version,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^\+\s+image: nginx:diffed$/m);
    expect((await get(deploymentPath(ns))).metadata.resourceVersion).toBe(before);
    const out = lines(
      await ok(['delete', '-f', '-', '--wait=false'], { input: yamlDocs(app(ns).slice(0, 4)), version }),
    );
    expect(out).toContain('deployment.apps "web" deleted');
  });
});
