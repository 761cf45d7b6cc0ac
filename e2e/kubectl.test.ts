// The real kubectl against a real apiserver on a real etcd: version,
// api-resources, create, get (tables, wide, json, yaml, name, selectors,
// watch), label, annotate, delete, and error output that reads as it does
// against Kubernetes. The default kubectl (/usr/bin/kubectl) runs everything;
// the oldest and newest versioned kubectl binaries on the machine run a smoke
// subset.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { serverVersion } from '../apiserver/discovery.js';
import {
  type Api,
  api,
  cleanup,
  kubectl,
  kubectlPath,
  makeTempDir,
  type RunResult,
  startApiserver,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

const hasKubectl = existsSync('/usr/bin/kubectl');

/** Versioned kubectl binaries beside the real /usr/bin/kubectl, oldest first ('1.27', ...). */
function versionedKubectls(): string[] {
  if (!hasKubectl) return [];
  const dir = path.dirname(realpathSync('/usr/bin/kubectl'));
  return readdirSync(dir)
    .map((f) => /^kubectl\.1\.(\d+)$/.exec(f)?.[1])
    .filter((m): m is string => m !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
    .map((m) => `1.${m}`);
}
const versions = versionedKubectls();
const smokeVersions = [...new Set([versions[0], versions[versions.length - 1]])].filter(Boolean);

let url: string;
let client: Api;
let dir: string;
let kubeconfig: string;
const watchers = new Set<ChildProcess>();

beforeAll(async () => {
  if (!hasKubectl) return;
  const etcd = await startEtcd();
  const server = await startApiserver({ etcdServers: etcd.endpoints });
  url = server.url;
  client = api(url);
  dir = makeTempDir('nanokube-kubectl-');
  kubeconfig = await writeKubeconfig(path.join(dir, 'default'), url);
});
afterAll(async () => {
  for (const w of watchers) w.kill('SIGKILL');
  await cleanup();
});

// ---------------------------------------------------------------------------
// Helpers

const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });

/** Runs kubectl and expects exit code 0; returns stdout. */
async function ok(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Runs kubectl and expects it to fail; returns its result. */
async function fails(args: string[], input?: string): Promise<RunResult> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(' ')} should fail\n${r.stdout}`).not.toBe(0);
  return r;
}

/** An object as kubectl prints it by default: without metadata.managedFields. */
function withoutManagedFields<T extends { metadata: object }>(obj: T): T {
  const { managedFields: _, ...metadata } = obj.metadata as { managedFields?: unknown };
  return { ...obj, metadata };
}

const lines = (s: string) => s.split('\n').filter((l) => l.trim() !== '');

type Row = Record<string, string>;

/**
 * Parses one table as kubectl prints it: a column starts where its header
 * does (after two or more spaces; header names such as NOMINATED NODE hold
 * single spaces), and every row is aligned to the header.
 */
function parseTable(text: string): { headers: string[]; rows: Row[] } {
  const [header, ...body] = lines(text);
  const starts: number[] = [];
  for (let i = 0; i < header.length; i++) {
    if (header[i] !== ' ' && (i === 0 || (header[i - 1] === ' ' && header[i - 2] === ' '))) starts.push(i);
  }
  const cut = (line: string) => starts.map((s, j) => line.slice(s, starts[j + 1] ?? line.length).trim());
  const headers = cut(header);
  const rows = body.map((line) => Object.fromEntries(cut(line).map((cell, j) => [headers[j], cell])));
  return { headers, rows };
}

/** The tables of `kubectl get a,b`, one per kind, separated by blank lines. */
function parseTables(text: string) {
  return text
    .trim()
    .split(/\n\s*\n/)
    .map(parseTable);
}

// YAML 1.1, as kubectl reads it: strings such as "yes" and "y" come out quoted.
const yamlDocs = (objs: object[]) => objs.map((o) => YAML.stringify(o, { version: '1.1' })).join('---\n');

function configMap(name: string, labels: Record<string, string> = {}, data: Record<string, string> = {}) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

function pod(name: string, labels: Record<string, string> = {}, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: { containers: [{ name: 'app', image: 'nginx:1.27' }], ...spec },
  };
}

const namespaceYaml = (name: string) =>
  yamlDocs([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }]);

/** A small application of several kinds, as people keep in one file. */
function webApp() {
  const labels = { app: 'web' };
  return [
    configMap(
      'web-config',
      { app: 'web', tier: 'front' },
      { 'nginx.conf': 'worker_processes 1;', mode: 'prod' },
    ),
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'web-secret', labels },
      stringData: { password: 'hunter2' },
    },
    pod('web-0', { app: 'web', tier: 'front' }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', labels },
      spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.27' }] } },
      },
    },
  ];
}
const webAppCreated = [
  'configmap/web-config created',
  'secret/web-secret created',
  'pod/web-0 created',
  'service/web created',
  'deployment.apps/web created',
];

async function createNamespace(name: string): Promise<void> {
  expect(await ok(['create', '-f', '-'], namespaceYaml(name))).toBe(`namespace/${name} created\n`);
}

/** Makes a namespace holding the web application. */
async function seed(ns: string): Promise<void> {
  await createNamespace(ns);
  expect(lines(await ok(['create', '-n', ns, '-f', '-'], yamlDocs(webApp())))).toEqual(webAppCreated);
}

/**
 * kubectl running until stopped (for `get -w`), its stdout collected in lines.
 * Tracked so that afterAll kills it even if a test fails first.
 */
function startKubectl(args: string[]) {
  const cacheDir = path.join(path.dirname(kubeconfig), 'kube-cache');
  const child = spawn(kubectlPath(), ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  watchers.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    lines: () => lines(out),
    /** Waits for a line matching `re` and returns it split on whitespace. */
    waitForLine: (re: RegExp) =>
      waitFor(
        () => {
          const l = lines(out).find((x) => re.test(x));
          return l?.trim().split(/\s+/);
        },
        {
          timeoutMs: 10_000,
          intervalMs: 50,
          what: `a line matching ${re} from kubectl ${args.join(' ')}; stderr: ${err}`,
        },
      ),
    async stop() {
      child.kill('SIGTERM');
      await exited;
      watchers.delete(child);
    },
  };
}

// ---------------------------------------------------------------------------

describe.skipIf(!hasKubectl)('kubectl (the default binary)', () => {
  it('version shows the server version', async () => {
    const out = await ok(['version']);
    expect(out).toContain(`Server Version: ${serverVersion.gitVersion}`);
    const json = JSON.parse(await ok(['version', '-o', 'json']));
    expect(json.serverVersion).toMatchObject({ major: '1', gitVersion: serverVersion.gitVersion });
  });

  it('api-resources lists every kind with its short names, group version and scope', async () => {
    const { headers, rows } = parseTable(await ok(['api-resources']));
    expect(headers).toEqual(['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
    const byName = Object.fromEntries(rows.map((r) => [r.NAME, r]));
    const want: Row[] = [
      { NAME: 'pods', SHORTNAMES: 'po', APIVERSION: 'v1', NAMESPACED: 'true', KIND: 'Pod' },
      { NAME: 'configmaps', SHORTNAMES: 'cm', APIVERSION: 'v1', NAMESPACED: 'true', KIND: 'ConfigMap' },
      { NAME: 'secrets', SHORTNAMES: '', APIVERSION: 'v1', NAMESPACED: 'true', KIND: 'Secret' },
      { NAME: 'services', SHORTNAMES: 'svc', APIVERSION: 'v1', NAMESPACED: 'true', KIND: 'Service' },
      { NAME: 'namespaces', SHORTNAMES: 'ns', APIVERSION: 'v1', NAMESPACED: 'false', KIND: 'Namespace' },
      { NAME: 'nodes', SHORTNAMES: 'no', APIVERSION: 'v1', NAMESPACED: 'false', KIND: 'Node' },
      {
        NAME: 'persistentvolumes',
        SHORTNAMES: 'pv',
        APIVERSION: 'v1',
        NAMESPACED: 'false',
        KIND: 'PersistentVolume',
      },
      {
        NAME: 'deployments',
        SHORTNAMES: 'deploy',
        APIVERSION: 'apps/v1',
        NAMESPACED: 'true',
        KIND: 'Deployment',
      },
      {
        NAME: 'replicasets',
        SHORTNAMES: 'rs',
        APIVERSION: 'apps/v1',
        NAMESPACED: 'true',
        KIND: 'ReplicaSet',
      },
      {
        NAME: 'statefulsets',
        SHORTNAMES: 'sts',
        APIVERSION: 'apps/v1',
        NAMESPACED: 'true',
        KIND: 'StatefulSet',
      },
      { NAME: 'daemonsets', SHORTNAMES: 'ds', APIVERSION: 'apps/v1', NAMESPACED: 'true', KIND: 'DaemonSet' },
      { NAME: 'jobs', SHORTNAMES: '', APIVERSION: 'batch/v1', NAMESPACED: 'true', KIND: 'Job' },
      { NAME: 'cronjobs', SHORTNAMES: 'cj', APIVERSION: 'batch/v1', NAMESPACED: 'true', KIND: 'CronJob' },
      {
        NAME: 'ingresses',
        SHORTNAMES: 'ing',
        APIVERSION: 'networking.k8s.io/v1',
        NAMESPACED: 'true',
        KIND: 'Ingress',
      },
      {
        NAME: 'leases',
        SHORTNAMES: '',
        APIVERSION: 'coordination.k8s.io/v1',
        NAMESPACED: 'true',
        KIND: 'Lease',
      },
      {
        NAME: 'endpointslices',
        SHORTNAMES: '',
        APIVERSION: 'discovery.k8s.io/v1',
        NAMESPACED: 'true',
        KIND: 'EndpointSlice',
      },
    ];
    for (const w of want) expect(byName[w.NAME], w.NAME).toEqual(w);
    // Subresources are not resource types of their own.
    expect(rows.some((r) => r.NAME.includes('/'))).toBe(false);

    const clusterScoped = lines(await ok(['api-resources', '--namespaced=false', '-o', 'name']));
    expect(clusterScoped).toEqual(expect.arrayContaining(['namespaces', 'nodes', 'persistentvolumes']));
    expect(clusterScoped).not.toContain('pods');
  });

  describe('create -f', () => {
    it('creates objects of several kinds from stdin, and a second create is AlreadyExists', async () => {
      await createNamespace('kc-stdin');
      const input = yamlDocs(webApp());
      expect(lines(await ok(['create', '-n', 'kc-stdin', '-f', '-'], input))).toEqual(webAppCreated);
      expect((await client.get('/apis/apps/v1/namespaces/kc-stdin/deployments/web')).body.spec.replicas).toBe(
        2,
      );
      const secret = (await client.get('/api/v1/namespaces/kc-stdin/secrets/web-secret')).body;
      expect(Buffer.from(secret.data.password, 'base64').toString()).toBe('hunter2');

      const again = await fails(['create', '-n', 'kc-stdin', '-f', '-'], input);
      expect(again.stdout).toBe('');
      expect(lines(again.stderr)).toEqual([
        'Error from server (AlreadyExists): error when creating "STDIN": configmaps "web-config" already exists',
        'Error from server (AlreadyExists): error when creating "STDIN": secrets "web-secret" already exists',
        'Error from server (AlreadyExists): error when creating "STDIN": pods "web-0" already exists',
        'Error from server (AlreadyExists): error when creating "STDIN": services "web" already exists',
        'Error from server (AlreadyExists): error when creating "STDIN": deployments.apps "web" already exists',
      ]);
    });

    it('creates objects from a file, each in the namespace it names', async () => {
      const file = path.join(dir, 'app.yaml');
      const objs = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kc-file' } },
        ...webApp().map((o) => ({ ...o, metadata: { ...o.metadata, namespace: 'kc-file' } })),
      ];
      await writeFile(file, yamlDocs(objs));
      expect(lines(await ok(['create', '-f', file]))).toEqual([
        'namespace/kc-file created',
        ...webAppCreated,
      ]);
      expect((await client.get('/api/v1/namespaces/kc-file/pods/web-0')).status).toBe(200);

      const again = await fails(['create', '-f', file]);
      expect(again.stderr).toContain(
        `Error from server (AlreadyExists): error when creating "${file}": namespaces "kc-file" already exists`,
      );
      expect(again.stderr).toContain(
        `Error from server (AlreadyExists): error when creating "${file}": pods "web-0" already exists`,
      );
    });
  });

  describe('get', () => {
    const ns = 'kc-get';
    beforeAll(() => seed(ns));

    it('prints the columns Kubernetes prints for each kind', async () => {
      const tables = parseTables(await ok(['get', 'pods,configmaps,secrets,services,deployments', '-n', ns]));
      expect(tables.map((t) => t.headers)).toEqual([
        ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
        ['NAME', 'DATA', 'AGE'],
        ['NAME', 'TYPE', 'DATA', 'AGE'],
        ['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
        ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'],
      ]);
      const [pods, cms, secrets, svcs, deploys] = tables.map((t) => t.rows);
      expect(pods).toEqual([
        expect.objectContaining({ NAME: 'pod/web-0', READY: '0/1', STATUS: 'Pending', RESTARTS: '0' }),
      ]);
      expect(cms).toEqual([expect.objectContaining({ NAME: 'configmap/web-config', DATA: '2' })]);
      expect(secrets).toEqual([
        expect.objectContaining({ NAME: 'secret/web-secret', TYPE: 'Opaque', DATA: '1' }),
      ]);
      expect(svcs).toEqual([
        expect.objectContaining({ NAME: 'service/web', TYPE: 'ClusterIP', 'PORT(S)': '80/TCP' }),
      ]);
      expect(deploys).toEqual([
        expect.objectContaining({
          NAME: 'deployment.apps/web',
          READY: '0/2',
          'UP-TO-DATE': '0',
          AVAILABLE: '0',
        }),
      ]);
      for (const t of tables) expect(t.rows[0].AGE).toMatch(/^\d+s$/);
    });

    it('resolves short names and lists cluster-scoped kinds', async () => {
      const { rows } = parseTable(await ok(['get', 'cm', '-n', ns]));
      expect(rows.map((r) => r.NAME)).toEqual(['web-config']);
      const nsTable = parseTable(await ok(['get', 'ns']));
      expect(nsTable.headers).toEqual(['NAME', 'STATUS', 'AGE']);
      expect(nsTable.rows).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ NAME: 'default', STATUS: 'Active' }),
          expect.objectContaining({ NAME: 'kube-system', STATUS: 'Active' }),
          expect.objectContaining({ NAME: ns, STATUS: 'Active' }),
        ]),
      );
    });

    it('get pods -A -o wide shows the NAMESPACE column and the wide columns', async () => {
      await createNamespace('kc-wide');
      await ok(
        ['create', '-n', 'kc-wide', '-f', '-'],
        yamlDocs([pod('scheduled', {}, { nodeName: 'node-1' })]),
      );
      // The kubelet's part: the pod runs and has an IP.
      const status = await client.patch('/api/v1/namespaces/kc-wide/pods/scheduled/status', {
        status: {
          phase: 'Running',
          podIP: '10.244.1.7',
          podIPs: [{ ip: '10.244.1.7' }],
          containerStatuses: [
            {
              name: 'app',
              ready: true,
              restartCount: 3,
              image: 'nginx:1.27',
              imageID: '',
              state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
            },
          ],
        },
      });
      expect(status.status, JSON.stringify(status.body)).toBe(200);

      const { headers, rows } = parseTable(await ok(['get', 'pods', '-A', '-o', 'wide']));
      expect(headers).toEqual([
        'NAMESPACE',
        'NAME',
        'READY',
        'STATUS',
        'RESTARTS',
        'AGE',
        'IP',
        'NODE',
        'NOMINATED NODE',
        'READINESS GATES',
      ]);
      expect(rows).toContainEqual(
        expect.objectContaining({
          NAMESPACE: 'kc-wide',
          NAME: 'scheduled',
          READY: '1/1',
          STATUS: 'Running',
          RESTARTS: '3',
          IP: '10.244.1.7',
          NODE: 'node-1',
          'NOMINATED NODE': '<none>',
          'READINESS GATES': '<none>',
        }),
      );
      expect(rows).toContainEqual(
        expect.objectContaining({
          NAMESPACE: ns,
          NAME: 'web-0',
          STATUS: 'Pending',
          IP: '<none>',
          NODE: '<none>',
        }),
      );

      // A pod on a node is deleted gracefully; --force skips the wait for a kubelet.
      const del = await k(['delete', 'pod', 'scheduled', '-n', 'kc-wide', '--grace-period=0', '--force']);
      expect(del.code, del.stderr).toBe(0);
      expect(del.stdout).toBe('pod "scheduled" force deleted\n');
      expect((await client.get('/api/v1/namespaces/kc-wide/pods/scheduled')).status).toBe(404);
    });

    it('-o json prints the object as the API serves it, and a list as kind List', async () => {
      const served = (await client.get(`/api/v1/namespaces/${ns}/configmaps/web-config`)).body;
      expect(served.metadata.managedFields).toHaveLength(1);
      // kubectl hides managedFields unless asked to show them.
      expect(JSON.parse(await ok(['get', 'cm', 'web-config', '-n', ns, '-o', 'json']))).toEqual(
        withoutManagedFields(served),
      );
      expect(
        JSON.parse(await ok(['get', 'cm', 'web-config', '-n', ns, '-o', 'json', '--show-managed-fields'])),
      ).toEqual(served);
      const list = JSON.parse(await ok(['get', 'deployments', '-n', ns, '-o', 'json']));
      expect(list).toMatchObject({ apiVersion: 'v1', kind: 'List' });
      expect(list.items).toEqual([
        withoutManagedFields((await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).body),
      ]);
    });

    it('-o yaml prints the object as the API serves it', async () => {
      const served = (await client.get(`/api/v1/namespaces/${ns}/pods/web-0`)).body;
      const out = await ok(['get', 'pod', 'web-0', '-n', ns, '-o', 'yaml']);
      expect(out).toMatch(/^apiVersion: v1\nkind: Pod\nmetadata:\n/);
      expect(YAML.parse(out)).toEqual(withoutManagedFields(served));
    });

    it('-o name prints kind/name for every kind asked for', async () => {
      expect(lines(await ok(['get', 'cm,secret,svc,deploy', '-n', ns, '-o', 'name']))).toEqual([
        'configmap/web-config',
        'secret/web-secret',
        'service/web',
        'deployment.apps/web',
      ]);
    });

    describe('-l selects by label', () => {
      beforeAll(async () => {
        await createNamespace('kc-labels');
        const cms = [
          configMap('a', { app: 'web', tier: 'front' }),
          configMap('b', { app: 'web', tier: 'back' }),
          configMap('c', { app: 'db', tier: 'back' }),
          configMap('d', {}),
        ];
        await ok(['create', '-n', 'kc-labels', '-f', '-'], yamlDocs(cms));
      });

      it.each([
        { name: 'equality', selector: 'app=web', want: ['a', 'b'] },
        { name: 'double equals', selector: 'app==db', want: ['c'] },
        { name: 'inequality', selector: 'app!=web', want: ['c', 'd'] },
        { name: 'set membership', selector: 'tier in (front,back)', want: ['a', 'b', 'c'] },
        { name: 'set exclusion', selector: 'tier notin (front)', want: ['b', 'c', 'd'] },
        { name: 'exists', selector: 'tier', want: ['a', 'b', 'c'] },
        { name: 'does not exist', selector: '!tier', want: ['d'] },
        { name: 'all of several', selector: 'app=web,tier=back', want: ['b'] },
      ])('$name: -l "$selector"', async ({ selector, want }) => {
        const out = await ok(['get', 'configmaps', '-n', 'kc-labels', '-l', selector, '-o', 'name']);
        expect(lines(out)).toEqual(want.map((n) => `configmap/${n}`));
      });

      it('says so when nothing matches', async () => {
        const r = await k(['get', 'configmaps', '-n', 'kc-labels', '-l', 'app=none']);
        expect(r.code).toBe(0);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe('No resources found in kc-labels namespace.\n');
      });

      it('--show-labels and -L print labels as columns', async () => {
        const { headers, rows } = parseTable(
          await ok(['get', 'cm', '-n', 'kc-labels', '-l', 'app', '-L', 'tier']),
        );
        expect(headers).toEqual(['NAME', 'DATA', 'AGE', 'TIER']);
        expect(rows.map((r) => [r.NAME, r.TIER])).toEqual([
          ['a', 'front'],
          ['b', 'back'],
          ['c', 'back'],
        ]);
        const shown = parseTable(await ok(['get', 'cm', 'a', '-n', 'kc-labels', '--show-labels']));
        expect(shown.rows[0].LABELS).toBe('app=web,tier=front');
      });
    });
  });

  describe('get -w', () => {
    const ns = 'kc-watch';
    beforeAll(() => createNamespace(ns));

    it('prints existing rows, then a row for each change', async () => {
      await ok(['create', '-n', ns, '-f', '-'], yamlDocs([configMap('before')]));
      const w = startKubectl(['get', 'configmaps', '-n', ns, '-w']);
      try {
        expect(await w.waitForLine(/^NAME\s/)).toEqual(['NAME', 'DATA', 'AGE']);
        expect((await w.waitForLine(/^before\s/)).slice(0, 2)).toEqual(['before', '0']);
        await ok(['create', '-n', ns, '-f', '-'], yamlDocs([configMap('after', {}, { k: 'v' })]));
        expect((await w.waitForLine(/^after\s/)).slice(0, 2)).toEqual(['after', '1']);
      } finally {
        await w.stop();
      }
    });

    it('--output-watch-events prints ADDED, MODIFIED and DELETED in order', async () => {
      const w = startKubectl(['get', 'configmaps', '-n', ns, '-w', '--output-watch-events']);
      try {
        expect(await w.waitForLine(/^EVENT\s/)).toEqual(['EVENT', 'NAME', 'DATA', 'AGE']);
        await w.waitForLine(/^ADDED\s+before\s/);
        await ok(['create', '-n', ns, '-f', '-'], yamlDocs([configMap('watched')]));
        await w.waitForLine(/^ADDED\s+watched\s/);
        await ok(['label', 'configmap', 'watched', '-n', ns, 'seen=yes']);
        await w.waitForLine(/^MODIFIED\s+watched\s/);
        await ok(['delete', 'configmap', 'watched', '-n', ns]);
        await w.waitForLine(/^DELETED\s+watched\s/);
        const events = w
          .lines()
          .filter((l) => /\swatched\s/.test(l))
          .map((l) => l.split(/\s+/)[0]);
        expect(events).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      } finally {
        await w.stop();
      }
    });

    it('-A -w shows new rows from every namespace', async () => {
      await createNamespace('kc-watch-other');
      const w = startKubectl(['get', 'pods', '-A', '-w']);
      try {
        expect(await w.waitForLine(/^NAMESPACE\s/)).toEqual([
          'NAMESPACE',
          'NAME',
          'READY',
          'STATUS',
          'RESTARTS',
          'AGE',
        ]);
        await ok(['create', '-n', 'kc-watch-other', '-f', '-'], yamlDocs([pod('late')]));
        expect((await w.waitForLine(/^kc-watch-other\s+late\s/)).slice(0, 4)).toEqual([
          'kc-watch-other',
          'late',
          '0/1',
          'Pending',
        ]);
      } finally {
        await w.stop();
      }
    });
  });

  describe('label and annotate', () => {
    const ns = 'kc-label';
    beforeAll(() => seed(ns));
    const labelsOf = async (p: string) => (await client.get(p)).body.metadata.labels ?? {};
    const annotationsOf = async (p: string) => (await client.get(p)).body.metadata.annotations ?? {};
    const cmPath = `/api/v1/namespaces/${ns}/configmaps/web-config`;
    const podPath = `/api/v1/namespaces/${ns}/pods/web-0`;

    it('label adds, refuses to change without --overwrite, changes with it, and removes with key-', async () => {
      expect(await ok(['label', 'configmap', 'web-config', '-n', ns, 'env=prod'])).toBe(
        'configmap/web-config labeled\n',
      );
      expect(await labelsOf(cmPath)).toEqual({ app: 'web', tier: 'front', env: 'prod' });

      const refused = await fails(['label', 'configmap', 'web-config', '-n', ns, 'env=dev']);
      expect(refused.stderr).toBe("error: 'env' already has a value (prod), and --overwrite is false\n");
      expect((await labelsOf(cmPath)).env).toBe('prod');

      await ok(['label', 'configmap', 'web-config', '-n', ns, 'env=dev', '--overwrite']);
      expect((await labelsOf(cmPath)).env).toBe('dev');

      expect(await ok(['label', 'cm', 'web-config', '-n', ns, 'env-'])).toBe(
        'configmap/web-config unlabeled\n',
      );
      expect(await labelsOf(cmPath)).toEqual({ app: 'web', tier: 'front' });
    });

    it('label -l changes every object that matches', async () => {
      const out = await ok(['label', 'pods,configmaps', '-n', ns, '-l', 'tier=front', 'reviewed=yes']);
      expect(lines(out)).toEqual(['pod/web-0 labeled', 'configmap/web-config labeled']);
      expect((await labelsOf(podPath)).reviewed).toBe('yes');
      expect((await labelsOf(`/api/v1/namespaces/${ns}/services/web`)).reviewed).toBeUndefined();
    });

    it('annotate adds, refuses to change without --overwrite, changes with it, and removes with key-', async () => {
      expect(await ok(['annotate', 'pod', 'web-0', '-n', ns, 'note=hello'])).toBe('pod/web-0 annotated\n');
      expect((await annotationsOf(podPath)).note).toBe('hello');

      const refused = await fails(['annotate', 'pod', 'web-0', '-n', ns, 'note=bye']);
      expect(refused.stderr).toBe(
        "error: --overwrite is false but found the following declared annotation(s): 'note' already has a value (hello)\n",
      );

      await ok(['annotate', 'pod', 'web-0', '-n', ns, 'note=bye', '--overwrite']);
      expect((await annotationsOf(podPath)).note).toBe('bye');

      await ok(['annotate', 'pod', 'web-0', '-n', ns, 'note-']);
      expect((await annotationsOf(podPath)).note).toBeUndefined();
    });

    it('annotate --all changes every object of the kind in the namespace', async () => {
      const out = await ok(['annotate', 'deployments,services', '--all', '-n', ns, 'owner=team-a']);
      expect(lines(out)).toEqual(['deployment.apps/web annotated', 'service/web annotated']);
      expect((await annotationsOf(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).owner).toBe('team-a');
    });
  });

  describe('delete', () => {
    const ns = 'kc-delete';
    beforeAll(() => createNamespace(ns));
    const exists = async (p: string) => (await client.get(p)).status === 200;

    it('by name', async () => {
      await ok(['create', '-n', ns, '-f', '-'], yamlDocs([configMap('one')]));
      expect(await ok(['delete', 'configmap', 'one', '-n', ns])).toBe('configmap "one" deleted\n');
      expect(await exists(`/api/v1/namespaces/${ns}/configmaps/one`)).toBe(false);
    });

    it('-f deletes what a file names', async () => {
      const file = path.join(dir, 'delete-me.yaml');
      await writeFile(file, yamlDocs(webApp()));
      await ok(['create', '-n', ns, '-f', file]);
      expect(lines(await ok(['delete', '-n', ns, '-f', file]))).toEqual([
        'configmap "web-config" deleted',
        'secret "web-secret" deleted',
        'pod "web-0" deleted',
        'service "web" deleted',
        'deployment.apps "web" deleted',
      ]);
      expect(await exists(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).toBe(false);
    });

    it('-l deletes only what matches', async () => {
      const cms = [
        configMap('keep'),
        configMap('drop-1', { drop: 'yes' }),
        configMap('drop-2', { drop: 'yes' }),
      ];
      await ok(['create', '-n', ns, '-f', '-'], yamlDocs(cms));
      expect(lines(await ok(['delete', 'configmaps', '-n', ns, '-l', 'drop=yes']))).toEqual([
        'configmap "drop-1" deleted',
        'configmap "drop-2" deleted',
      ]);
      expect(lines(await ok(['get', 'configmaps', '-n', ns, '-o', 'name']))).toEqual(['configmap/keep']);
    });

    it('--all deletes every object of the kind in the namespace, and only there', async () => {
      await createNamespace('kc-delete-other');
      await ok(['create', '-n', 'kc-delete-other', '-f', '-'], yamlDocs([configMap('elsewhere')]));
      await ok(['create', '-n', ns, '-f', '-'], yamlDocs([configMap('x'), configMap('y')]));
      expect(lines(await ok(['delete', 'configmaps', '--all', '-n', ns]))).toEqual([
        'configmap "keep" deleted',
        'configmap "x" deleted',
        'configmap "y" deleted',
      ]);
      const after = await k(['get', 'configmaps', '-n', ns]);
      expect(after.stderr).toBe(`No resources found in ${ns} namespace.\n`);
      expect(await exists('/api/v1/namespaces/kc-delete-other/configmaps/elsewhere')).toBe(true);
    });
  });

  describe('errors read as they do against Kubernetes, with a non-zero exit code', () => {
    beforeAll(async () => {
      await createNamespace('kc-errors');
      await createNamespace('kc-doomed');
      await ok(['delete', 'namespace', 'kc-doomed', '--wait=false']);
    });

    it.each([
      {
        name: 'get of a missing object',
        args: ['get', 'pod', 'nope', '-n', 'kc-errors'],
        stderr: 'Error from server (NotFound): pods "nope" not found\n',
      },
      {
        name: 'delete of a missing object',
        args: ['delete', 'configmap', 'nope', '-n', 'kc-errors'],
        stderr: 'Error from server (NotFound): configmaps "nope" not found\n',
      },
      {
        name: 'get of a missing object in a group',
        args: ['get', 'deployment', 'nope', '-n', 'kc-errors', '-o', 'yaml'],
        stderr: 'Error from server (NotFound): deployments.apps "nope" not found\n',
      },
      {
        name: 'an invalid name',
        args: ['create', '-n', 'kc-errors', '-f', '-'],
        input: yamlDocs([configMap('Bad_Name')]),
        stderr:
          "The ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')\n",
      },
      {
        name: 'an unknown field (kubectl asks for strict validation)',
        args: ['create', '-n', 'kc-errors', '-f', '-'],
        input: yamlDocs([{ ...configMap('extra'), bogus: 1 }]),
        stderr:
          'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "bogus"\n',
      },
      {
        name: 'a create in a missing namespace',
        args: ['create', '-f', '-'],
        input: yamlDocs([{ ...configMap('x'), metadata: { name: 'x', namespace: 'no-such-ns' } }]),
        stderr:
          'Error from server (NotFound): error when creating "STDIN": namespaces "no-such-ns" not found\n',
      },
      {
        name: 'a create in a terminating namespace',
        args: ['create', '-n', 'kc-doomed', '-f', '-'],
        input: yamlDocs([configMap('late')]),
        stderr:
          'Error from server (Forbidden): error when creating "STDIN": configmaps "late" is forbidden: unable to create new content in namespace kc-doomed because it is being terminated\n',
      },
      {
        name: 'an unknown resource type',
        args: ['get', 'widgets'],
        stderr: 'error: the server doesn\'t have a resource type "widgets"\n',
      },
    ])('$name', async ({ args, input, stderr }) => {
      const r = await fails(args, input);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(stderr);
    });
  });
});

describe.skipIf(smokeVersions.length === 0).each(smokeVersions)('kubectl %s (smoke)', (version) => {
  let kc: string;
  const ns = `kc-v${version.replace('.', '-')}`;
  const kv = (args: string[], input?: string) => kubectl(args, { kubeconfig: kc, input, version });
  const okv = async (args: string[], input?: string) => {
    const r = await kv(args, input);
    expect(r.code, `kubectl ${version} ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    kc = await writeKubeconfig(path.join(dir, `v${version}`), url);
  });

  it('version and api-resources', async () => {
    const v = JSON.parse(await okv(['version', '-o', 'json']));
    expect(v.clientVersion.minor).toBe(version.split('.')[1]);
    expect(v.serverVersion.gitVersion).toBe(serverVersion.gitVersion);
    const names = parseTable(await okv(['api-resources'])).rows.map((r) => r.NAME);
    expect(names).toEqual(
      expect.arrayContaining(['pods', 'configmaps', 'deployments', 'namespaces', 'jobs']),
    );
  });

  it('create -f, get, label, annotate, delete -f', async () => {
    expect(await okv(['create', '-f', '-'], namespaceYaml(ns))).toBe(`namespace/${ns} created\n`);
    const input = yamlDocs(webApp());
    expect(lines(await okv(['create', '-n', ns, '-f', '-'], input))).toEqual(webAppCreated);
    expect(lines(await okv(['get', 'cm,deploy', '-n', ns, '-l', 'app=web', '-o', 'name']))).toEqual([
      'configmap/web-config',
      'deployment.apps/web',
    ]);
    const wide = parseTable(await okv(['get', 'pods', '-A', '-o', 'wide']));
    expect(wide.headers.slice(0, 2)).toEqual(['NAMESPACE', 'NAME']);
    expect(wide.rows).toContainEqual(
      expect.objectContaining({ NAMESPACE: ns, NAME: 'web-0', STATUS: 'Pending' }),
    );
    expect(await okv(['label', 'pod', 'web-0', '-n', ns, 'v=1'])).toBe('pod/web-0 labeled\n');
    // kubectl 1.27 prints "annotate" here; later versions "annotated".
    expect(await okv(['annotate', 'pod', 'web-0', '-n', ns, 'a=b'])).toMatch(/^pod\/web-0 annotated?\n$/);
    const pod = YAML.parse(await okv(['get', 'pod', 'web-0', '-n', ns, '-o', 'yaml']));
    expect(pod.metadata.labels.v).toBe('1');
    expect(pod.metadata.annotations.a).toBe('b');
    expect(lines(await okv(['delete', '-n', ns, '-f', '-'], input))).toHaveLength(5);
    expect((await kv(['get', 'all', '-n', ns])).stderr).toBe(`No resources found in ${ns} namespace.\n`);
  });

  it('errors', async () => {
    const missing = await kv(['get', 'pod', 'nope', '-n', 'default']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "nope" not found');
    const invalid = await kv(['create', '-n', 'default', '-f', '-'], yamlDocs([configMap('Bad_Name')]));
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(
      'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name"',
    );
    const twice = await kv(['create', '-f', '-'], namespaceYaml('default'));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      'Error from server (AlreadyExists): error when creating "STDIN": namespaces "default" already exists',
    );
  });
});
