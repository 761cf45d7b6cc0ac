// The real kubectl against a real TLS apiserver with RBAC: every scenario of
// e2e/clients/expected.ts with kubectl's own verbs where it has them (create, replace,
// patch, apply --server-side, --subresource=scale, --dry-run=server) and `--raw` where a
// scenario needs a body without apiVersion/kind or a raw watch; each observation compared
// with what @kubernetes/client-node and the Python client must observe too. Errors are
// read from kubectl's -v=8 log of the response (status line and body).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, kubectl, makeTempDir, type RunResult } from '../testing/harness.js';
import { type ClientsCluster, fixtures, startClientsCluster } from './clients/cluster.js';
import {
  crud,
  crudName,
  crudVariants,
  type ErrorSeen,
  errorSeen,
  expected,
  type Seen,
} from './clients/expected.js';

const ns = fixtures.namespace;
let cluster: ClientsCluster;
let dir: string;

beforeAll(async () => {
  cluster = await startClientsCluster('clients-kubectl');
  dir = makeTempDir('nanokube-clients-kubectl-files-');
}, 120_000);

afterAll(async () => {
  await cleanup();
});

const k = (args: string[], input?: string, kubeconfig = cluster.adminKubeconfig): Promise<RunResult> =>
  kubectl(args, { kubeconfig, input });

/** kubectl that must succeed; its stdout parsed as JSON. */
async function kj(args: string[], input?: unknown): Promise<any> {
  const r = await k(args, input === undefined ? undefined : JSON.stringify(input));
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

/** kubectl that must fail: the last response's code and Status body, from its -v=8 log. */
async function failure(args: string[], input?: unknown, kubeconfig?: string): Promise<ErrorSeen> {
  const r = await k(['-v=8', ...args], input === undefined ? undefined : JSON.stringify(input), kubeconfig);
  expect(r.code, `kubectl ${args.join(' ')} should fail\n${r.stdout}`).not.toBe(0);
  // After a 404 kubectl may refresh its discovery (200s): the failure is the last 4xx or 5xx.
  const codes = [...r.stderr.matchAll(/Response Status: (\d{3})/g)].map((m) => Number(m[1]));
  const statuses = [...r.stderr.matchAll(/"Response Body" body=(".*")$/gm)]
    .map((m) => {
      try {
        return JSON.parse(JSON.parse(m[1]));
      } catch {
        return undefined; // -v=8 truncates long bodies (discovery); a Status is short
      }
    })
    .filter((b) => b?.kind === 'Status');
  return errorSeen(codes.filter((c) => c >= 400).pop() ?? 0, statuses.pop());
}

/** A file holding `obj` as JSON, for `-f` with `--raw`. */
function file(name: string, obj: unknown): string {
  const f = path.join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(obj));
  return f;
}

/** `kubectl get --raw` of a watch URL (which ends by its timeoutSeconds): its events. */
async function rawWatch(p: string, query: Record<string, string>): Promise<Seen[]> {
  const out = await k(['get', '--raw', `${p}?${new URLSearchParams(query)}`]);
  expect(out.code, out.stderr).toBe(0);
  return out.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((e) => e.type !== 'BOOKMARK')
    .map((e) => [
      e.type,
      e.type === 'ERROR' ? `${e.object.code} ${e.object.reason}` : e.object.metadata.name,
    ]);
}

const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
const cm = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...extra },
});

describe('kubectl', () => {
  for (const f of fixtures.kinds) {
    it.each(crudVariants)(`CRUD of ${f.kind}/%s`, async (variant) => {
      const name = crudName(f.kind, variant);
      const resource = [f.path.split('/').pop()!, ...(f.namespaced ? ['-n', ns] : [])];
      const at = `${f.path}/${name}`;
      let created: any;
      let read: any;
      let updated: any;
      if (variant === 'typed') {
        created = await kj(['create', ...resource.slice(1), '-f', '-', '-o', 'json'], {
          apiVersion: f.apiVersion,
          kind: f.kind,
          metadata: { name },
          ...f.body,
        });
        read = await kj(['get', ...resource, name, '-o', 'json']);
        read.metadata.labels = { updated: 'yes' };
        updated = await kj(['replace', '-f', '-', '-o', 'json'], read);
      } else {
        created = await kj(['create', '--raw', f.path, '-f', file(name, { metadata: { name }, ...f.body })]);
        read = await kj(['get', '--raw', at]);
        const { apiVersion: _a, kind: _k, ...bare } = read;
        bare.metadata.labels = { updated: 'yes' };
        updated = await kj(['replace', '--raw', at, '-f', file(`${name}-update`, bare)]);
      }
      const deleted = await kj(['delete', '--raw', at]);
      const got = await k(['get', '--raw', at]);
      const after =
        got.code === 0 ? JSON.parse(got.stdout).status.phase : (await failure(['get', '--raw', at])).code;
      expect({
        created: [created.apiVersion, created.kind],
        status: created.status ?? null,
        read: [read.apiVersion, read.kind],
        updated: [updated.apiVersion, updated.kind, updated.metadata.labels.updated],
        deleted: deleted.kind,
        after,
      }).toEqual(crud[`${f.kind}/${variant}`]);
    });
  }

  it('discovery', async () => {
    const version = await kj(['version', '-o', 'json']);
    const versions = await k(['api-versions']);
    expect(versions.code, versions.stderr).toBe(0);
    const resources = await k(['api-resources', '--api-group=', '--namespaced=true', '-o', 'name']);
    expect(resources.stdout.split('\n')).toContain('configmaps');
    const r = (await kj(['get', '--raw', '/api/v1'])).resources.find((x: any) => x.name === 'configmaps');
    expect({
      major: version.serverVersion.major,
      core: (await kj(['get', '--raw', '/api'])).versions,
      apps: versions.stdout.split('\n').includes('apps/v1'),
      configmaps: {
        singularName: r.singularName,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: [...r.verbs].sort(),
        shortNames: r.shortNames,
      },
    }).toEqual(expected.discovery);
  });

  it('watch', async () => {
    // `get -o json` prints a List without the list's resourceVersion; --raw shows the server's.
    const listed = await kj(['get', '--raw', `${cmPath}?labelSelector=${encodeURIComponent('watched=yes')}`]);
    await kj(['create', '-f', '-', '-o', 'json'], cm('w-hidden'));
    await kj(['create', '-f', '-', '-o', 'json'], cm('w-1', { labels: { watched: 'yes' } }));
    await kj(['create', '-f', '-', '-o', 'json'], cm('w-skip', { labels: { watched: 'yes' } }));
    await kj([
      'patch',
      'configmap',
      'w-1',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      '{"data":{"x":"y"}}',
      '-o',
      'json',
    ]);
    expect((await k(['delete', 'configmap', 'w-1', '-n', ns])).code).toBe(0);
    const events = await rawWatch(cmPath, {
      watch: '1',
      resourceVersion: listed.metadata.resourceVersion,
      labelSelector: 'watched=yes',
      fieldSelector: 'metadata.name!=w-skip',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '3',
    });
    expect({ events }).toEqual(expected.watch);
  });

  it('gone', async () => {
    // A raw watch shows the 410 as the ERROR event the apiserver sends.
    const [[type, codeAndReason]] = await rawWatch(cmPath, {
      watch: '1',
      resourceVersion: '1',
      timeoutSeconds: '3',
    });
    expect(type).toBe('ERROR');
    const [code, reason] = codeAndReason.split(' ');
    const listed = await kj(['get', '--raw', cmPath]);
    await kj(['create', '-f', '-', '-o', 'json'], cm('w-after'));
    const resumed = await rawWatch(cmPath, {
      watch: '1',
      resourceVersion: listed.metadata.resourceVersion,
      fieldSelector: 'metadata.name=w-after',
      timeoutSeconds: '3',
    });
    expect({ code: Number(code), reason, resumed }).toEqual(expected.gone);
  });

  it('patch', async () => {
    await kj(['create', '-f', '-', '-o', 'json'], { ...cm('p-1'), data: { a: '1' } });
    const patch = async (type: string, p: unknown) =>
      (
        await kj([
          'patch',
          'configmap',
          'p-1',
          '-n',
          ns,
          '--type',
          type,
          '-p',
          JSON.stringify(p),
          '-o',
          'json',
        ])
      ).data;
    const json = await patch('json', [{ op: 'add', path: '/data/b', value: '2' }]);
    const merge = await patch('merge', { data: { a: null, c: '3' } });
    await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'p-web' },
      ...fixtures.deployment,
    });
    const side = {
      spec: { template: { spec: { containers: [{ name: 'side', image: 'nanokube/busybox:1' }] } } },
    };
    const d = await kj([
      'patch',
      'deployment',
      'p-web',
      '-n',
      ns,
      '--type',
      'strategic',
      '-p',
      JSON.stringify(side),
      '-o',
      'json',
    ]);
    const apply = (
      await kj(['apply', '--server-side', '--field-manager', 'patcher', '-n', ns, '-f', '-', '-o', 'json'], {
        ...cm('p-1'),
        data: { d: '4' },
      })
    ).data;
    expect({
      json,
      merge,
      strategic: d.spec.template.spec.containers.map((c: any) => c.name),
      apply,
    }).toEqual(expected.patch);
  });

  it('deleteCollection', async () => {
    for (const name of ['dc-1', 'dc-2', 'dc-3'])
      await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], cm(name, { labels: { group: 'dc' } }));
    await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], cm('dc-keep'));
    const res = await kj(['delete', '--raw', `${cmPath}?labelSelector=${encodeURIComponent('group=dc')}`]);
    const names: string[] = (await kj(['get', 'configmaps', '-n', ns, '-o', 'json'])).items.map(
      (c: any) => c.metadata.name,
    );
    expect({
      kind: res.kind,
      resourceVersion: !!res.metadata?.resourceVersion,
      remaining: names.filter((n) => n.startsWith('dc-')),
    }).toEqual(expected.deleteCollection);
  });

  it('scale', async () => {
    await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 's-web' },
      ...fixtures.deployment,
    });
    const scale = ['deployment', 's-web', '-n', ns, '--subresource=scale'];
    const s = await kj(['get', ...scale, '-o', 'json']);
    const patched = await kj([
      'patch',
      ...scale,
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":3}}',
      '-o',
      'json',
    ]);
    const cur = await kj(['get', ...scale, '-o', 'json']);
    cur.spec.replicas = 2;
    // kubectl replace --subresource cannot map the kind Scale; --raw sends it as it is.
    const at = `/apis/apps/v1/namespaces/${ns}/deployments/s-web/scale`;
    const replaced = await kj(['replace', '--raw', at, '-f', file('scale', cur)]);
    const d = await kj(['get', 'deployment', 's-web', '-n', ns, '-o', 'json']);
    expect({
      read: {
        apiVersion: s.apiVersion,
        kind: s.kind,
        spec: s.spec.replicas,
        status: s.status.replicas,
        selector: s.status.selector,
      },
      patched: patched.spec.replicas,
      replaced: replaced.spec.replicas,
      deployment: d.spec.replicas,
    }).toEqual(expected.scale);
  });

  it('apply', async () => {
    const ssa = ['apply', '--server-side', '-n', ns, '-f', '-'];
    const body = (a: string) => ({ ...cm('ssa-1'), data: { a } });
    const first = (await kj([...ssa, '--field-manager', 'mgr-a', '-o', 'json'], body('1'))).data;
    const conflict = await failure([...ssa, '--field-manager', 'mgr-b'], body('2'));
    await kj([...ssa, '--field-manager', 'mgr-b', '--force-conflicts', '-o', 'json'], body('2'));
    const forced = await kj(['get', 'configmap', 'ssa-1', '-n', ns, '-o', 'json', '--show-managed-fields']);
    const managers = forced.metadata.managedFields.map((m: any) => [m.manager, m.operation]).sort();
    expect({ first, conflict, forced: forced.data, managers }).toEqual(expected.apply);
  });

  it('dryRun', async () => {
    const c = await kj(['create', '--dry-run=server', '-n', ns, '-f', '-', '-o', 'json'], {
      ...cm('dry-1'),
      data: { a: '1' },
    });
    const afterCreate = (await failure(['get', 'configmap', 'dry-1', '-n', ns])).code;
    await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], { ...cm('dry-2'), data: { a: '1' } });
    const cur = await kj(['get', 'configmap', 'dry-2', '-n', ns, '-o', 'json']);
    cur.data = { a: '2' };
    const updated = (await kj(['replace', '--dry-run=server', '-f', '-', '-o', 'json'], cur)).data.a;
    const afterUpdate = (await kj(['get', 'configmap', 'dry-2', '-n', ns, '-o', 'json'])).data.a;
    expect((await k(['delete', 'configmap', 'dry-2', '-n', ns, '--dry-run=server'])).code).toBe(0);
    const deleted = (await kj(['delete', '--raw', `${cmPath}/dry-2?dryRun=All`])).kind;
    const afterDelete = (await k(['get', 'configmap', 'dry-2', '-n', ns])).code === 0 ? 200 : 404;
    expect({
      created: {
        name: c.metadata.name,
        resourceVersion: c.metadata.resourceVersion ?? null,
        uid: !!c.metadata.uid,
      },
      afterCreate,
      updated,
      afterUpdate,
      deleted,
      afterDelete,
    }).toEqual(expected.dryRun);
  });

  it('list', async () => {
    await kj(['create', '-f', '-', '-o', 'json'], cm('l-1'));
    const selector = `fieldSelector=${encodeURIComponent('metadata.name=l-1')}`;
    // --raw shows the server's list; `get -o json` fills each item's apiVersion and kind back in.
    const listed = await kj(['get', '--raw', `${cmPath}?${selector}`]);
    const got = await kj(['get', 'configmaps', '-n', ns, '--field-selector=metadata.name=l-1', '-o', 'json']);
    expect(got.items.map((i: any) => [i.apiVersion, i.kind])).toEqual([['v1', 'ConfigMap']]);
    expect({
      kind: listed.kind,
      apiVersion: listed.apiVersion,
      items: listed.items.map((i: any) => [i.metadata.name, i.apiVersion ?? null, i.kind ?? null]),
    }).toEqual(expected.list);
  });

  it('pagination', async () => {
    const namespace = fixtures.pagesNamespace;
    for (let i = 1; i <= 5; i++)
      await kj(['create', '-n', namespace, '-f', '-', '-o', 'json'], cm(`pg-${i}`, { namespace }));
    // kubectl's own paging (--chunk-size) joins the pages; --raw shows each one.
    const all = await kj(['get', 'configmaps', '-n', namespace, '--chunk-size=2', '-o', 'json']);
    expect(all.items.map((c: any) => c.metadata.name)).toEqual(['pg-1', 'pg-2', 'pg-3', 'pg-4', 'pg-5']);
    const pages: unknown[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams({ limit: '2', ...(token ? { continue: token } : {}) });
      const page = await kj(['get', '--raw', `/api/v1/namespaces/${namespace}/configmaps?${q}`]);
      token = page.metadata.continue;
      pages.push([
        page.items.map((c: any) => c.metadata.name),
        page.metadata.remainingItemCount ?? null,
        !!token,
      ]);
    } while (token && pages.length < 5);
    expect({ pages }).toEqual(expected.pagination);
  });

  it('errors', async () => {
    const notFound = await failure(['get', 'configmap', 'missing', '-n', ns]);
    await kj(['create', '-n', ns, '-f', '-', '-o', 'json'], cm('e-dup'));
    const alreadyExists = await failure(['create', '-n', ns, '-f', '-'], cm('e-dup'));
    const stale = await kj(['get', 'configmap', 'e-dup', '-n', ns, '-o', 'json']);
    await kj(['replace', '-f', '-', '-o', 'json'], { ...cm('e-dup'), data: { v: '1' } });
    const conflict = await failure(['replace', '-f', '-'], { ...stale, data: { v: '2' } });
    const invalid = await failure(['create', '-n', ns, '-f', '-'], cm('Not_A_Name'));
    const forbidden = await failure(['get', 'configmaps', '-n', ns], undefined, cluster.robotKubeconfig);
    expect({ notFound, alreadyExists, conflict, invalid, forbidden }).toEqual(expected.errors);
  });
});
