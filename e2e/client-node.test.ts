// The official JavaScript client, @kubernetes/client-node at its current major (2.x, which
// loads only on Node.js 22 and newer), against a real TLS apiserver with RBAC, signed in
// with a client certificate from a kubeconfig as its users would: typed CRUD, a merge
// patch through its header option, the scale subresource, a watch from a list's
// resourceVersion with a label selector, and the Status of an error in its exception.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, type EtcdCluster, makeTempDir, startEtcd } from './harness.js';
import { type SecureApiserver, startSecureApiserver } from './secure-apiserver.js';

let etcd: EtcdCluster;
let secure: SecureApiserver;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let kc: k8s.KubeConfig;
const namespace = 'default';

beforeAll(async () => {
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir: makeTempDir('nanokube-client-node-'),
    users: [{ name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] }],
  });
  kc = new k8s.KubeConfig();
  kc.loadFromFile(path.resolve(secure.kubeconfigFor('admin')));
  core = kc.makeApiClient(k8s.CoreV1Api);
  apps = kc.makeApiClient(k8s.AppsV1Api);
}, 120_000);

afterAll(async () => {
  await cleanup();
});

/** The Kubernetes Status an ApiException carries (client-node keeps the body as text). */
function statusOf(err: unknown): { code: number; status: any } {
  expect(err).toBeInstanceOf(k8s.ApiException);
  const e = err as k8s.ApiException<unknown>;
  return { code: e.code, status: typeof e.body === 'string' ? JSON.parse(e.body) : e.body };
}

describe('@kubernetes/client-node 2.x', () => {
  it('creates, reads, lists by label, merge-patches and deletes a ConfigMap', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'js-1', labels: { client: 'js' } }, data: { a: '1' } },
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.resourceVersion).toBeTruthy();

    const read = await core.readNamespacedConfigMap({ name: 'js-1', namespace });
    expect(read.data).toEqual({ a: '1' });

    const list = await core.listNamespacedConfigMap({ namespace, labelSelector: 'client=js' });
    expect(list.items.map((c) => c.metadata?.name)).toEqual(['js-1']);
    expect(list.metadata?.resourceVersion).toBeTruthy();

    const patched = await core.patchNamespacedConfigMap(
      { name: 'js-1', namespace, body: { data: { b: '2' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ a: '1', b: '2' });

    await core.deleteNamespacedConfigMap({ name: 'js-1', namespace });
    const gone = await core.readNamespacedConfigMap({ name: 'js-1', namespace }).catch((e: unknown) => e);
    const { code, status } = statusOf(gone);
    expect(code).toBe(404);
    expect(status).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
  });

  it('reads and replaces the scale of a Deployment', async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'js-web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'js-web' } },
          template: {
            metadata: { labels: { app: 'js-web' } },
            spec: { containers: [{ name: 'web', image: 'nanokube/busybox:1' }] },
          },
        },
      },
    });
    const scale = await apps.readNamespacedDeploymentScale({ name: 'js-web', namespace });
    expect(scale.spec?.replicas).toBe(1);
    const replaced = await apps.replaceNamespacedDeploymentScale({
      name: 'js-web',
      namespace,
      body: { metadata: { name: 'js-web', namespace }, spec: { replicas: 3 } },
    });
    expect(replaced.spec?.replicas).toBe(3);
    const d = await apps.readNamespacedDeployment({ name: 'js-web', namespace });
    expect(d.spec?.replicas).toBe(3);
  });

  it('watches from a list resourceVersion with a label selector', async () => {
    const list = await core.listNamespacedConfigMap({ namespace, labelSelector: 'watched=yes' });
    const events: [string, string][] = [];
    let stop: AbortController | undefined;
    const seen = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no events in 20 s: ${JSON.stringify(events)}`)),
        20_000,
      );
      new k8s.Watch(kc)
        .watch(
          `/api/v1/namespaces/${namespace}/configmaps`,
          { resourceVersion: list.metadata?.resourceVersion, labelSelector: 'watched=yes' },
          (phase, obj) => {
            events.push([phase, obj?.metadata?.name]);
            if (phase === 'DELETED') {
              clearTimeout(timer);
              resolve();
            }
          },
          (err) => {
            if (err && err.name !== 'AbortError') reject(err);
          },
        )
        .then((c) => {
          stop = c;
        }, reject);
    });
    // Wait until the watch is open, then write: one unlabelled object the selector hides.
    for (let i = 0; i < 50 && !stop; i++) await new Promise((r) => setTimeout(r, 100));
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'js-hidden' } } });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'js-w', labels: { watched: 'yes' } } },
    });
    await core.patchNamespacedConfigMap(
      { name: 'js-w', namespace, body: { data: { x: 'y' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await core.deleteNamespacedConfigMap({ name: 'js-w', namespace });
    try {
      await seen;
    } finally {
      stop?.abort();
    }
    expect(events).toEqual([
      ['ADDED', 'js-w'],
      ['MODIFIED', 'js-w'],
      ['DELETED', 'js-w'],
    ]);
  });

  it('carries a conflict and an invalid object as their Status', async () => {
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'js-dup' } } });
    const dup = await core
      .createNamespacedConfigMap({ namespace, body: { metadata: { name: 'js-dup' } } })
      .catch((e: unknown) => e);
    expect(statusOf(dup)).toMatchObject({ code: 409, status: { reason: 'AlreadyExists', code: 409 } });
    const bad = await core
      .createNamespacedConfigMap({ namespace, body: { metadata: { name: 'Not_A_Name' } } })
      .catch((e: unknown) => e);
    expect(statusOf(bad)).toMatchObject({ code: 422, status: { reason: 'Invalid', code: 422 } });
  });
});
