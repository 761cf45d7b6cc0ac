// @kubernetes/client-node 2.x against a real TLS apiserver with RBAC: every scenario of
// e2e/clients/expected.ts written with its typed APIs and its Watch, each observation
// compared with what kubectl and the Python client must observe too.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup } from '../testing/harness.js';
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
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let rbac: k8s.RbacAuthorizationV1Api;

beforeAll(async () => {
  cluster = await startClientsCluster('clients-node');
  kc = new k8s.KubeConfig();
  kc.loadFromFile(path.resolve(cluster.adminKubeconfig));
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
}, 120_000);

afterAll(async () => {
  await cleanup();
});

const contentType = (t: k8s.PatchStrategy) => k8s.setHeaderOptions('Content-Type', t);

async function errorOf(p: Promise<unknown>): Promise<ErrorSeen> {
  const err = await p.then(
    () => new Error('no error'),
    (e: unknown) => e,
  );
  if (!(err instanceof k8s.ApiException)) throw err;
  return errorSeen(err.code, typeof err.body === 'string' ? JSON.parse(err.body) : err.body);
}

/** The typed method `verb` (create, read, replace, delete) of a kind, bound to its scope. */
function method(kind: string, namespaced: boolean, verb: string): (params: any) => Promise<any> {
  const api: any = kind === 'Deployment' ? apps : kind === 'ClusterRole' ? rbac : core;
  const fn = api[`${verb}${namespaced ? 'Namespaced' : ''}${kind}`].bind(api);
  return (params) => fn(namespaced ? { ...params, namespace: ns } : params);
}

/** Events (type, name) of a watch until a DELETED event or the stream's end; bookmarks skipped. */
function watchEvents(query: Record<string, string | number | boolean>, until: string): Promise<Seen[]> {
  const events: Seen[] = [];
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    let finished = false;
    const finish = () => {
      finished = true;
      controller?.abort();
      resolve(events);
    };
    new k8s.Watch(kc)
      .watch(
        `/api/v1/namespaces/${ns}/configmaps`,
        query,
        (type, obj) => {
          if (type === 'BOOKMARK') return;
          events.push([type, type === 'ERROR' ? `${obj.code} ${obj.reason}` : obj.metadata.name]);
          if (type === until || type === 'ERROR') finish();
        },
        (err) => {
          if (err && err.name !== 'AbortError') reject(err);
          else finish();
        },
      )
      .then((c) => {
        controller = c;
        if (finished) c.abort();
      }, reject);
  });
}

describe('@kubernetes/client-node 2.x', () => {
  for (const k of fixtures.kinds) {
    it.each(crudVariants)(`CRUD of ${k.kind}/%s`, async (variant) => {
      const name = crudName(k.kind, variant);
      const body: any = { ...k.body, metadata: { name } };
      if (variant === 'typed') Object.assign(body, { apiVersion: k.apiVersion, kind: k.kind });
      const created = await method(k.kind, k.namespaced, 'create')({ body });
      const read = await method(k.kind, k.namespaced, 'read')({ name });
      const readType = [read.apiVersion, read.kind];
      read.metadata.labels = { updated: 'yes' };
      if (variant === 'bare') {
        delete read.apiVersion;
        delete read.kind;
      }
      const updated = await method(k.kind, k.namespaced, 'replace')({ name, body: read });
      const deleted = await method(k.kind, k.namespaced, 'delete')({ name });
      const after = await method(
        k.kind,
        k.namespaced,
        'read',
      )({ name }).then(
        (o) => o.status.phase,
        (e) => e.code,
      );
      expect({
        created: [created.apiVersion, created.kind],
        status: created.status === undefined ? null : JSON.parse(JSON.stringify(created.status)),
        read: readType,
        updated: [updated.apiVersion, updated.kind, updated.metadata.labels.updated],
        deleted: deleted.kind,
        after,
      }).toEqual(crud[`${k.kind}/${variant}`]);
    });
  }

  it('discovery', async () => {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    const coreVersions = await kc.makeApiClient(k8s.CoreApi).getAPIVersions();
    const groups = await kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    const r = (await core.getAPIResources()).resources.find((x) => x.name === 'configmaps')!;
    expect({
      major: version.major,
      core: coreVersions.versions,
      apps: groups.groups.some((g) => g.name === 'apps'),
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
    const listed = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'watched=yes' });
    const cm = (name: string, labels?: Record<string, string>) =>
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels } } });
    await cm('w-hidden');
    await cm('w-1', { watched: 'yes' });
    await cm('w-skip', { watched: 'yes' });
    await core.patchNamespacedConfigMap(
      { name: 'w-1', namespace: ns, body: { data: { x: 'y' } } },
      contentType(k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ name: 'w-1', namespace: ns });
    const events = await watchEvents(
      {
        resourceVersion: listed.metadata!.resourceVersion!,
        labelSelector: 'watched=yes',
        fieldSelector: 'metadata.name!=w-skip',
        allowWatchBookmarks: true,
        timeoutSeconds: 10,
      },
      'DELETED',
    );
    expect({ events }).toEqual(expected.watch);
  });

  it('gone', async () => {
    // client-node hands the 410 to the watch callback as an ERROR event with the Status.
    const [[type, codeAndReason]] = await watchEvents({ resourceVersion: '1' }, 'ERROR');
    expect(type).toBe('ERROR');
    const [code, reason] = codeAndReason.split(' ');
    const listed = await core.listNamespacedConfigMap({ namespace: ns });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'w-after' } } });
    const resumed = await watchEvents(
      {
        resourceVersion: listed.metadata!.resourceVersion!,
        fieldSelector: 'metadata.name=w-after',
        timeoutSeconds: 10,
      },
      'ADDED',
    );
    expect({ code: Number(code), reason, resumed }).toEqual(expected.gone);
  });

  // client-node only (the other clients have no informer): a watch from a resourceVersion the
  // apiserver no longer holds gets 410 as an ERROR event and its stream ends; makeInformer's
  // ListWatch then lists again and goes on watching from the new list. The first list
  // answers with resourceVersion 1 (etcd had a write before the apiserver started), as a list
  // that has gone stale by the time its watch starts.
  it('informer relists after 410 and keeps delivering', async () => {
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const selector = 'informer=yes';
    let lists = 0;
    const listFn = async () => {
      const list = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector });
      if (lists++ === 0) list.metadata = { ...list.metadata, resourceVersion: '1' };
      return list;
    };
    const informer = k8s.makeInformer(kc, path, listFn, selector);
    const added: string[] = [];
    const errors: unknown[] = [];
    informer.on('add', (obj) => added.push(obj.metadata!.name!));
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    const waitFor = async (what: () => boolean) => {
      for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 100));
    };
    await waitFor(() => lists >= 2);
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'i-1', labels: { informer: 'yes' } } },
    });
    await waitFor(() => added.includes('i-1'));
    await informer.stop();
    expect({ lists, added, errors }).toEqual({ lists: 2, added: ['i-1'], errors: [] });
  });

  it('patch', async () => {
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'p-1' }, data: { a: '1' } },
    });
    const patch = (body: unknown, t: k8s.PatchStrategy, extra = {}) =>
      core.patchNamespacedConfigMap({ name: 'p-1', namespace: ns, body, ...extra }, contentType(t));
    const json = (await patch([{ op: 'add', path: '/data/b', value: '2' }], k8s.PatchStrategy.JsonPatch))
      .data;
    const merge = (await patch({ data: { a: null, c: '3' } }, k8s.PatchStrategy.MergePatch)).data;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: 'p-web' }, ...(fixtures.deployment as any) },
    });
    const d = await apps.patchNamespacedDeployment(
      {
        name: 'p-web',
        namespace: ns,
        body: {
          spec: { template: { spec: { containers: [{ name: 'side', image: 'nanokube/busybox:1' }] } } },
        },
      },
      contentType(k8s.PatchStrategy.StrategicMergePatch),
    );
    const apply = (
      await patch(
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p-1' }, data: { d: '4' } },
        k8s.PatchStrategy.ServerSideApply,
        { fieldManager: 'patcher' },
      )
    ).data;
    expect({ json, merge, strategic: d.spec!.template.spec!.containers.map((c) => c.name), apply }).toEqual(
      expected.patch,
    );
  });

  it('deleteCollection', async () => {
    for (const name of ['dc-1', 'dc-2', 'dc-3'])
      await core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name, labels: { group: 'dc' } } },
      });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'dc-keep' } } });
    const res = await core.deleteCollectionNamespacedConfigMap({ namespace: ns, labelSelector: 'group=dc' });
    const names = (await core.listNamespacedConfigMap({ namespace: ns })).items.map((c) => c.metadata!.name!);
    expect({
      kind: res.kind,
      resourceVersion: !!res.metadata?.resourceVersion,
      remaining: names.filter((n) => n.startsWith('dc-')),
    }).toEqual(expected.deleteCollection);
  });

  it('scale', async () => {
    const name = 's-web';
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name }, ...(fixtures.deployment as any) },
    });
    const s = await apps.readNamespacedDeploymentScale({ name, namespace: ns });
    const patched = await apps.patchNamespacedDeploymentScale(
      { name, namespace: ns, body: { spec: { replicas: 3 } } },
      contentType(k8s.PatchStrategy.MergePatch),
    );
    const cur = await apps.readNamespacedDeploymentScale({ name, namespace: ns });
    cur.spec!.replicas = 2;
    const replaced = await apps.replaceNamespacedDeploymentScale({ name, namespace: ns, body: cur });
    const d = await apps.readNamespacedDeployment({ name, namespace: ns });
    expect({
      read: {
        apiVersion: s.apiVersion,
        kind: s.kind,
        spec: s.spec!.replicas,
        status: s.status!.replicas,
        selector: s.status!.selector,
      },
      patched: patched.spec!.replicas,
      replaced: replaced.spec!.replicas,
      deployment: d.spec!.replicas,
    }).toEqual(expected.scale);
  });

  it('apply', async () => {
    const apply = (value: string, fieldManager: string, force?: boolean) =>
      core.patchNamespacedConfigMap(
        {
          name: 'ssa-1',
          namespace: ns,
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa-1' }, data: { a: value } },
          fieldManager,
          force,
        },
        contentType(k8s.PatchStrategy.ServerSideApply),
      );
    const first = (await apply('1', 'mgr-a')).data;
    const conflict = await errorOf(apply('2', 'mgr-b'));
    const forced = await apply('2', 'mgr-b', true);
    const managers = (forced.metadata!.managedFields ?? []).map((m) => [m.manager, m.operation]).sort();
    expect({ first, conflict, forced: forced.data, managers }).toEqual(expected.apply);
  });

  it('dryRun', async () => {
    const body = { metadata: { name: 'dry-1' }, data: { a: '1' } };
    const c = await core.createNamespacedConfigMap({ namespace: ns, body, dryRun: 'All' });
    const afterCreate = (await errorOf(core.readNamespacedConfigMap({ name: 'dry-1', namespace: ns }))).code;
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'dry-2' }, data: { a: '1' } },
    });
    const cur = await core.readNamespacedConfigMap({ name: 'dry-2', namespace: ns });
    cur.data = { a: '2' };
    const updated = await core.replaceNamespacedConfigMap({
      name: 'dry-2',
      namespace: ns,
      body: cur,
      dryRun: 'All',
    });
    const afterUpdate = (await core.readNamespacedConfigMap({ name: 'dry-2', namespace: ns })).data!.a;
    const deleted = await core.deleteNamespacedConfigMap({ name: 'dry-2', namespace: ns, dryRun: 'All' });
    await core.readNamespacedConfigMap({ name: 'dry-2', namespace: ns });
    expect({
      created: {
        name: c.metadata!.name,
        resourceVersion: c.metadata!.resourceVersion ?? null,
        uid: !!c.metadata!.uid,
      },
      afterCreate,
      updated: updated.data!.a,
      afterUpdate,
      deleted: deleted.kind,
      afterDelete: 200,
    }).toEqual(expected.dryRun);
  });

  it('list', async () => {
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'l-1' } } });
    const listed = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name=l-1' });
    expect({
      kind: listed.kind,
      apiVersion: listed.apiVersion,
      items: listed.items.map((i) => [i.metadata!.name, i.apiVersion ?? null, i.kind ?? null]),
    }).toEqual(expected.list);
  });

  it('pagination', async () => {
    const namespace = fixtures.pagesNamespace;
    for (let i = 1; i <= 5; i++)
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: `pg-${i}` } } });
    const pages: unknown[] = [];
    let token: string | undefined;
    do {
      const page = await core.listNamespacedConfigMap({ namespace, limit: 2, _continue: token });
      token = page.metadata?._continue;
      pages.push([
        page.items.map((c) => c.metadata!.name),
        page.metadata?.remainingItemCount ?? null,
        !!token,
      ]);
    } while (token && pages.length < 5);
    expect({ pages }).toEqual(expected.pagination);
  });

  it('errors', async () => {
    const notFound = await errorOf(core.readNamespacedConfigMap({ name: 'missing', namespace: ns }));
    const dup = { metadata: { name: 'e-dup' } };
    await core.createNamespacedConfigMap({ namespace: ns, body: dup });
    const alreadyExists = await errorOf(core.createNamespacedConfigMap({ namespace: ns, body: dup }));
    const stale = await core.readNamespacedConfigMap({ name: 'e-dup', namespace: ns });
    await core.replaceNamespacedConfigMap({
      name: 'e-dup',
      namespace: ns,
      body: { ...dup, data: { v: '1' } },
    });
    stale.data = { v: '2' };
    const conflict = await errorOf(
      core.replaceNamespacedConfigMap({ name: 'e-dup', namespace: ns, body: stale }),
    );
    const invalid = await errorOf(
      core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'Not_A_Name' } } }),
    );
    const robotKc = new k8s.KubeConfig();
    robotKc.loadFromFile(cluster.robotKubeconfig);
    const forbidden = await errorOf(
      robotKc.makeApiClient(k8s.CoreV1Api).listNamespacedConfigMap({ namespace: ns }),
    );
    expect({ notFound, alreadyExists, conflict, invalid, forbidden }).toEqual(expected.errors);
  });
});
