// core/v1 ReplicationController in a real cluster: a real etcd and apiserver,
// nk-controller-manager running the replicationcontroller and garbage
// collector controllers, hollow nodes running the pods (bound by the test
// binder, as no scheduler runs), and the real kubectl and the built nkctl
// driving it: create, adopt an orphan, scale through the scale subresource,
// print Kubernetes' columns, and delete with its pods.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Binder, startBinder } from '../testing/binder.js';
import {
  type Api,
  api,
  cleanup,
  kubectl,
  logTail,
  makeTempDir,
  run,
  startApiserver,
  startControllerManager,
  startEtcd,
  startHollowNodes,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

const nkctlJs = path.resolve('dist/cli/main.js');
const ns = 'default';
const coll = `/api/v1/namespaces/${ns}/replicationcontrollers`;

let client: Api;
let kubeconfig: string;
let binder: Binder;
let cmLog = '';

const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });
const nkctl = (args: string[]) =>
  run(process.execPath, [nkctlJs, '--kubeconfig', kubeconfig, ...args], { timeoutMs: 60_000 });

async function podsOf(selector: string): Promise<any[]> {
  const res = await client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return (res.body.items ?? []).filter((p: any) => !p.metadata.deletionTimestamp);
}

async function rcReady(name: string, replicas: number): Promise<any> {
  return waitFor(
    async () => {
      const r = await client.get(`${coll}/${name}`);
      const s = r.body.status ?? {};
      return (
        s.replicas === replicas &&
        s.readyReplicas === replicas &&
        s.availableReplicas === replicas &&
        s.observedGeneration === r.body.metadata.generation &&
        r.body
      );
    },
    { timeoutMs: 30_000, what: `${name} at ${replicas} ready (log: ${logTail(cmLog, 5)})` },
  );
}

/** Whitespace-split rows of a kubectl table. */
const rows = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  const hollow = await startHollowNodes({ apiserverUrl: apiserver.url, nodes: 2, prefix: 'rc-node-' });
  binder = startBinder(apiserver.url, () => hollow.names);
  const cm = await startControllerManager({
    apiserverUrl: apiserver.url,
    controllers: ['replicationcontroller', 'garbagecollector'],
  });
  cmLog = cm.logPath;
});

afterAll(async () => {
  await binder?.stop();
  await cleanup();
});

describe('ReplicationController', () => {
  it('is served as core/v1 replicationcontrollers (rc) with status and scale', async () => {
    const res = await client.get('/api/v1');
    const byName = new Map<string, any>(res.body.resources.map((r: any) => [r.name, r]));
    expect(byName.get('replicationcontrollers')).toMatchObject({
      kind: 'ReplicationController',
      namespaced: true,
      shortNames: ['rc'],
      categories: ['all'],
    });
    expect(byName.get('replicationcontrollers/scale')).toMatchObject({
      kind: 'Scale',
      group: 'autoscaling',
      version: 'v1',
    });
    expect(byName.has('replicationcontrollers/status')).toBe(true);
  });

  it('creates its pods, adopts an orphan, scales with kubectl and nkctl, prints its columns, and takes its pods when deleted', async () => {
    const orphan = await client.post(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'rc1-orphan', labels: { app: 'rc1' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 0 },
    });
    expect(orphan.status).toBe(201);

    // An old manifest: no selector, no labels; both default to the template's labels.
    const manifest = [
      'apiVersion: v1',
      'kind: ReplicationController',
      'metadata:',
      '  name: rc1',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    metadata:',
      '      labels:',
      '        app: rc1',
      '    spec:',
      '      terminationGracePeriodSeconds: 0',
      '      containers:',
      '      - name: c',
      '        image: busybox',
      '',
    ].join('\n');
    const created = await k(['create', '-f', '-'], manifest);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe('replicationcontroller/rc1 created');
    const rc = (await client.get(`${coll}/rc1`)).body;
    expect(rc.spec.selector).toEqual({ app: 'rc1' });
    expect(rc.metadata.labels).toEqual({ app: 'rc1' });

    await rcReady('rc1', 3);
    const pods = await podsOf('app=rc1');
    expect(pods).toHaveLength(3);
    const ref = {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      name: 'rc1',
      uid: rc.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    };
    // The orphan was adopted, so only two were created.
    expect(pods.find((p) => p.metadata.name === 'rc1-orphan')?.metadata.ownerReferences).toEqual([ref]);
    for (const p of pods) expect(p.metadata.ownerReferences).toEqual([ref]);

    // kubectl prints Kubernetes' columns.
    const get = await k(['get', 'rc']);
    expect(get.stderr).toBe('');
    const table = rows(get.stdout);
    expect(table[0]).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    expect(table[1].slice(0, 4)).toEqual(['rc1', '3', '3', '3']);
    const wide = rows((await k(['get', 'rc', 'rc1', '-o', 'wide'])).stdout);
    expect(wide[0]).toEqual([
      'NAME',
      'DESIRED',
      'CURRENT',
      'READY',
      'AGE',
      'CONTAINERS',
      'IMAGES',
      'SELECTOR',
    ]);
    expect([wide[1][0], ...wide[1].slice(5)]).toEqual(['rc1', 'c', 'busybox', 'app=rc1']);
    expect((await k(['get', 'all'])).stdout).toMatch(/replicationcontroller\/rc1\s+3\s+3\s+3\s/);

    // Scaled through the scale subresource by the real kubectl.
    const scaled = await k(['scale', 'rc', 'rc1', '--replicas=1']);
    expect(scaled.stderr).toBe('');
    expect(scaled.stdout.trim()).toBe('replicationcontroller/rc1 scaled');
    await waitFor(async () => (await podsOf('app=rc1')).length === 1, {
      timeoutMs: 30_000,
      what: 'rc1 at 1 pod',
    });
    await rcReady('rc1', 1);
    const scale = await client.get(`${coll}/rc1/scale`);
    expect(scale.body).toMatchObject({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      spec: { replicas: 1 },
      status: { replicas: 1, selector: 'app=rc1' },
    });

    // And by nkctl.
    const nscale = await nkctl(['scale', 'rc', 'rc1', '--replicas', '2']);
    expect(nscale.stderr).toBe('');
    expect(nscale.stdout.trim()).toBe('replicationcontroller/rc1 scaled');
    await rcReady('rc1', 2);
    const nget = rows((await nkctl(['get', 'rc'])).stdout);
    expect(nget[0]).toEqual(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE']);
    expect(nget[1].slice(0, 4)).toEqual(['rc1', '2', '2', '2']);

    // nkctl expose reads the map selector.
    const exposed = await nkctl(['expose', 'rc', 'rc1', '--port', '80']);
    expect(exposed.stderr).toBe('');
    expect((await client.get(`/api/v1/namespaces/${ns}/services/rc1`)).body.spec.selector).toEqual({
      app: 'rc1',
    });

    // Deleting it (background propagation) lets the garbage collector take its pods.
    const del = await k(['delete', 'rc', 'rc1']);
    expect(del.stdout).toContain('replicationcontroller "rc1" deleted');
    await waitFor(async () => (await podsOf('app=rc1')).length === 0, {
      timeoutMs: 30_000,
      what: `rc1's pods collected (log: ${logTail(cmLog, 5)})`,
    });
    expect((await client.get(`${coll}/rc1`)).status).toBe(404);
  });

  it('refuses a selector that does not match the template, as Kubernetes does', async () => {
    const res = await client.post(coll, {
      apiVersion: 'v1',
      kind: 'ReplicationController',
      metadata: { name: 'bad' },
      spec: {
        selector: { app: 'other' },
        template: {
          metadata: { labels: { app: 'bad' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }] },
        },
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe('Invalid');
    expect(res.body.details.causes).toContainEqual(
      expect.objectContaining({ field: 'spec.template.metadata.labels' }),
    );
  });
});
