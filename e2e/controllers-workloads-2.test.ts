// The DaemonSet, StatefulSet and CronJob controllers in a real
// nk-controller-manager against a real etcd and apiserver, with the real
// nk-scheduler placing pods on hollow nodes (nk-hollow-nodes) that report
// them Running and Ready. One cluster for the whole file; the CronJob is
// created first so that its wait for the next minute overlaps the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  type HollowNodes,
  kubectl,
  logTail,
  makeTempDir,
  sleep,
  startApiserver,
  startControllerManager,
  startEtcd,
  startHollowNodes,
  startScheduler,
  waitFor,
  watchStream,
  writeKubeconfig,
} from '../testing/harness.js';

let apiserver: Apiserver;
let client: Api;
let cmLog = '';
let kubeconfig: string;
let cronCreatedAt = 0;

const ns = 'default';
const isReady = (p: any) =>
  p.status?.phase === 'Running' &&
  p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

async function list(path: string, selector: string): Promise<any[]> {
  const res = await client.get(`${path}?labelSelector=${encodeURIComponent(selector)}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.items ?? [];
}
const podsOf = (selector: string) => list(`/api/v1/namespaces/${ns}/pods`, selector);

async function create(path: string, body: object): Promise<any> {
  const res = await client.post(path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const container = { name: 'app', image: 'nginx' };

beforeAll(async () => {
  const etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  await startHollowNodes({ apiserverUrl: apiserver.url, nodes: 2, prefix: 'wl2-node-' });
  await startScheduler({ apiserverUrl: apiserver.url });
  const cm = await startControllerManager({
    apiserverUrl: apiserver.url,
    controllers: ['daemonset', 'statefulset', 'cronjob'],
  });
  cmLog = cm.logPath;
  await create(`/apis/batch/v1/namespaces/${ns}/cronjobs`, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick' },
    spec: {
      schedule: '* * * * *',
      jobTemplate: {
        metadata: { labels: { app: 'tick' } },
        spec: { template: { spec: { restartPolicy: 'Never', containers: [container] } } },
      },
    },
  });
  cronCreatedAt = Date.now();
});

afterAll(async () => {
  await cleanup();
});

describe('DaemonSet', () => {
  let joined: HollowNodes;

  it('runs one pod on each node, and one more on a node that joins', async () => {
    const ds = await create(`/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { containers: [container], terminationGracePeriodSeconds: 0 },
        },
      },
    });
    const onNodes = async (want: string[]) =>
      waitFor(
        async () => {
          const pods = (await podsOf('app=agent')).filter((p) => !p.metadata.deletionTimestamp);
          const nodes = pods.map((p) => p.spec.nodeName).sort();
          return pods.every(isReady) && JSON.stringify(nodes) === JSON.stringify(want) && pods;
        },
        { timeoutMs: 20_000, what: `agent pods ready on ${want} (log: ${logTail(cmLog, 5)})` },
      );
    const pods = await onNodes(['wl2-node-0', 'wl2-node-1']);
    for (const p of pods) {
      // The scheduler bound each pod to the node its required node affinity names.
      expect(
        p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      ).toEqual([{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [p.spec.nodeName] }] }]);
      expect(p.metadata.ownerReferences[0]).toMatchObject({ kind: 'DaemonSet', uid: ds.metadata.uid });
      expect(p.spec.tolerations).toEqual(
        expect.arrayContaining([
          { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
          { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
        ]),
      );
    }
    joined = await startHollowNodes({
      apiserverUrl: apiserver.url,
      nodes: 1,
      prefix: 'wl2-node-',
      firstIndex: 2,
    });
    await onNodes(['wl2-node-0', 'wl2-node-1', 'wl2-node-2']);
    const status = await waitFor(async () => {
      const d = (await client.get(`/apis/apps/v1/namespaces/${ns}/daemonsets/agent`)).body;
      return d.status?.numberAvailable === 3 && d.status;
    });
    expect(status).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 3,
      updatedNumberScheduled: 3,
      numberMisscheduled: 0,
      observedGeneration: 1,
    });
  });

  it('removes the pod of a node that leaves', async () => {
    await joined.stop();
    expect((await client.del('/api/v1/nodes/wl2-node-2')).status).toBe(200);
    await waitFor(
      async () => {
        const pods = await podsOf('app=agent');
        return pods.length === 2 && pods.every((p) => p.spec.nodeName !== 'wl2-node-2');
      },
      { timeoutMs: 20_000, what: 'the pod on wl2-node-2 deleted' },
    );
    await waitFor(async () => {
      const cur = (await client.get(`/apis/apps/v1/namespaces/${ns}/daemonsets/agent`)).body;
      return cur.status?.desiredNumberScheduled === 2 && cur.status?.numberAvailable === 2;
    });
  });
  it('rolls a new image out with kubectl, never more than maxUnavailable (1) node without a ready pod', async () => {
    let minReady = Number.POSITIVE_INFINITY;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = await podsOf('app=agent');
        minReady = Math.min(minReady, pods.filter((p) => isReady(p) && !p.metadata.deletionTimestamp).length);
        await sleep(100);
      }
    })();
    try {
      const set = await kubectl(['set', 'image', 'daemonset/agent', 'app=nginx:2'], { kubeconfig });
      expect(set.code, set.stderr).toBe(0);
      const status = await kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { kubeconfig });
      expect(status.code, status.stderr + logTail(cmLog, 5)).toBe(0);
      expect(status.stdout).toMatch(/successfully rolled out/);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(minReady).toBeGreaterThanOrEqual(1);
    const pods = (await podsOf('app=agent')).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(['nginx:2', 'nginx:2']);
    expect(new Set(pods.map((p) => p.metadata.labels['controller-revision-hash'])).size).toBe(1);
    const d = (await client.get(`/apis/apps/v1/namespaces/${ns}/daemonsets/agent`)).body;
    expect(d.status).toMatchObject({ updatedNumberScheduled: 2, numberAvailable: 2, observedGeneration: 2 });
  });

  it('keeps ControllerRevisions that kubectl rollout history lists and rollout undo restores', async () => {
    const hist = await kubectl(['rollout', 'history', 'daemonset/agent'], { kubeconfig });
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout).toMatch(/^1\s/m);
    expect(hist.stdout).toMatch(/^2\s/m);
    const undo = await kubectl(['rollout', 'undo', 'daemonset/agent'], { kubeconfig });
    expect(undo.code, undo.stderr).toBe(0);
    const status = await kubectl(['rollout', 'status', 'daemonset/agent', '--timeout=60s'], { kubeconfig });
    expect(status.code, status.stderr + logTail(cmLog, 5)).toBe(0);
    const pods = (await podsOf('app=agent')).filter((p) => !p.metadata.deletionTimestamp);
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(['nginx', 'nginx']);
    // The first revision came back as number 3 rather than a new one being made.
    const revs = await list(`/apis/apps/v1/namespaces/${ns}/controllerrevisions`, 'app=agent');
    expect(revs.map((r) => r.revision).sort()).toEqual([2, 3]);
  });
});

describe('StatefulSet', () => {
  it('starts web-0, web-1, web-2 in order, each after the one before is Ready, each with its claim', async () => {
    await create(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'nginx' },
      spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    const watch = await watchStream(
      apiserver.url,
      `/api/v1/namespaces/${ns}/pods?watch=1&labelSelector=${encodeURIComponent('app=web')}`,
    );
    expect(watch.status).toBe(200);
    await create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        serviceName: 'nginx',
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ ...container, volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            terminationGracePeriodSeconds: 0,
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      },
    });
    // Every pod event in etcd order: an ADDED of web-k must come after web-(k-1) was seen Ready.
    const added: string[] = [];
    const ready = new Set<string>();
    const addedBeforeReady: string[] = [];
    const deadline = Date.now() + 30_000;
    while (ready.size < 3) {
      const ev = await watch.next(Math.max(1, deadline - Date.now()));
      const name = ev.object.metadata.name;
      if (ev.type === 'ADDED') {
        added.push(name);
        const prev = `web-${Number(name.slice(4)) - 1}`;
        if (name !== 'web-0' && !ready.has(prev)) addedBeforeReady.push(name);
      }
      if (isReady(ev.object)) ready.add(name);
    }
    watch.abort();
    expect(added).toEqual(['web-0', 'web-1', 'web-2']);
    expect(addedBeforeReady).toEqual([]);

    const pods = await podsOf('app=web');
    for (const p of pods) {
      const name = p.metadata.name;
      expect(p.spec).toMatchObject({ hostname: name, subdomain: 'nginx' });
      expect(p.metadata.labels).toMatchObject({
        'statefulset.kubernetes.io/pod-name': name,
        'apps.kubernetes.io/pod-index': name.slice(4),
      });
      expect(p.spec.volumes).toContainEqual({
        name: 'data',
        persistentVolumeClaim: { claimName: `data-${name}` },
      });
    }
    const claims = await list(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, 'app=web');
    expect(claims.map((c) => c.metadata.name).sort()).toEqual(['data-web-0', 'data-web-1', 'data-web-2']);
    const sts = await waitFor(async () => {
      const s = (await client.get(`/apis/apps/v1/namespaces/${ns}/statefulsets/web`)).body;
      return s.status?.readyReplicas === 3 && s.status?.observedGeneration === 1 && s;
    });
    expect(sts.status).toMatchObject({
      replicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      availableReplicas: 3,
    });
    expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
    expect(pods[0].metadata.labels['controller-revision-hash']).toBe(sts.status.updateRevision);
  });

  it('keeps the claim of web-1 when the pod is deleted, and the new web-1 uses it', async () => {
    const claimPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-web-1`;
    const claim = (await client.get(claimPath)).body;
    const old = (await client.get(`/api/v1/namespaces/${ns}/pods/web-1`)).body;
    expect((await client.del(`/api/v1/namespaces/${ns}/pods/web-1`)).status).toBe(200);
    const fresh = await waitFor(
      async () => {
        const p = (await client.get(`/api/v1/namespaces/${ns}/pods/web-1`)).body;
        return p.metadata?.uid && p.metadata.uid !== old.metadata.uid && isReady(p) && p;
      },
      { timeoutMs: 20_000, what: `web-1 recreated (log: ${logTail(cmLog, 5)})` },
    );
    expect(fresh.spec.volumes).toContainEqual({
      name: 'data',
      persistentVolumeClaim: { claimName: 'data-web-1' },
    });
    const after = (await client.get(claimPath)).body;
    expect(after.metadata.uid).toBe(claim.metadata.uid);
    expect(after.metadata.deletionTimestamp).toBeUndefined();
  });
  /** Names of pods in the order the watch sees them `type`d, until `until` returns true. */
  async function podEvents(type: string, change: () => Promise<void>, until: () => Promise<boolean>) {
    const watch = await watchStream(
      apiserver.url,
      `/api/v1/namespaces/${ns}/pods?watch=1&labelSelector=${encodeURIComponent('app=web')}`,
    );
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const ev of watch) if (ev.type === type) seen.push(ev.object.metadata.name);
    })();
    try {
      await change();
      await waitFor(until, {
        timeoutMs: 40_000,
        intervalMs: 200,
        what: `rollout (log: ${logTail(cmLog, 5)})`,
      });
    } finally {
      watch.abort();
      await collecting.catch(() => {});
    }
    return seen;
  }

  const stsPath = `/apis/apps/v1/namespaces/${ns}/statefulsets/web`;
  const images = async () =>
    Object.fromEntries(
      (await podsOf('app=web'))
        .filter((p) => !p.metadata.deletionTimestamp && isReady(p))
        .map((p) => [p.metadata.name, p.spec.containers[0].image]),
    );

  it('with partition 2 updates only web-2, then with partition 0 the rest from the highest ordinal down', async () => {
    expect(
      (await client.patch(stsPath, { spec: { updateStrategy: { rollingUpdate: { partition: 2 } } } })).status,
    ).toBe(200);
    const partial = await podEvents(
      'DELETED',
      async () => {
        const set = await kubectl(['set', 'image', 'statefulset/web', 'app=nginx:2'], { kubeconfig });
        expect(set.code, set.stderr).toBe(0);
      },
      async () =>
        JSON.stringify(await images()) ===
        JSON.stringify({ 'web-0': 'nginx', 'web-1': 'nginx', 'web-2': 'nginx:2' }),
    );
    expect(partial).toEqual(['web-2']);
    const status = await kubectl(['rollout', 'status', 'statefulset/web', '--timeout=30s'], { kubeconfig });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/partitioned roll out complete: 1 new pods have been updated/);
    const mid = (await client.get(stsPath)).body;
    expect(mid.status.currentRevision).not.toBe(mid.status.updateRevision);
    expect(mid.status).toMatchObject({ currentReplicas: 2, updatedReplicas: 1 });

    const rest = await podEvents(
      'DELETED',
      async () => {
        await client.patch(stsPath, { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } });
      },
      async () => Object.values(await images()).filter((i) => i === 'nginx:2').length === 3,
    );
    expect(rest).toEqual(['web-1', 'web-0']);
    const done = await kubectl(['rollout', 'status', 'statefulset/web', '--timeout=30s'], { kubeconfig });
    expect(done.code, done.stderr).toBe(0);
    // A set partition (0 by default, as Kubernetes defaults it) makes kubectl report it this way.
    expect(done.stdout).toMatch(/partitioned roll out complete: 3 new pods have been updated/);
    const after = (await client.get(stsPath)).body;
    expect(after.status.currentRevision).toBe(after.status.updateRevision);
  });

  it('kubectl rollout undo brings the previous template back through the same ordered rollout', async () => {
    const hist = await kubectl(['rollout', 'history', 'statefulset/web'], { kubeconfig });
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout).toMatch(/^1\s/m);
    expect(hist.stdout).toMatch(/^2\s/m);
    const order = await podEvents(
      'DELETED',
      async () => {
        const undo = await kubectl(['rollout', 'undo', 'statefulset/web'], { kubeconfig });
        expect(undo.code, undo.stderr).toBe(0);
      },
      async () => Object.values(await images()).filter((i) => i === 'nginx').length === 3,
    );
    expect(order).toEqual(['web-2', 'web-1', 'web-0']);
    const s = (await client.get(stsPath)).body;
    expect(s.spec.template.spec.containers[0].image).toBe('nginx');
    const revs = await list(`/apis/apps/v1/namespaces/${ns}/controllerrevisions`, 'app=web');
    const byName = Object.fromEntries(revs.map((r) => [r.metadata.name, r.revision]));
    expect(byName[s.status.updateRevision]).toBe(3);
  });

  it('scales down from the highest ordinal, one at a time, keeping the claims', async () => {
    const order = await podEvents(
      'DELETED',
      async () => {
        const res = await client.patch(`${stsPath}/scale`, { spec: { replicas: 1 } });
        expect(res.status).toBe(200);
      },
      async () => (await podsOf('app=web')).length === 1,
    );
    expect(order).toEqual(['web-2', 'web-1']);
    const claims = await list(`/api/v1/namespaces/${ns}/persistentvolumeclaims`, 'app=web');
    expect(claims).toHaveLength(3);
  });
});

describe('CronJob', () => {
  it('every minute makes a Job named for its scheduled minute, owned by the CronJob', {
    timeout: 90_000,
  }, async () => {
    const job = await waitFor(
      async () => {
        const items = await list(`/apis/batch/v1/namespaces/${ns}/jobs`, 'app=tick');
        return items[0];
      },
      {
        timeoutMs: Math.max(5_000, cronCreatedAt + 75_000 - Date.now()),
        intervalMs: 500,
        what: `a Job from the CronJob (log: ${logTail(cmLog, 5)})`,
      },
    );
    const cj = (await client.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/tick`)).body;
    const scheduled = Date.parse(job.metadata.annotations['batch.kubernetes.io/cronjob-scheduled-timestamp']);
    expect(scheduled % 60_000).toBe(0);
    expect(job.metadata.name).toBe(`tick-${scheduled / 60_000}`);
    expect(job.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        name: 'tick',
        uid: cj.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    // The first run is the first whole minute after the CronJob was made.
    const made = Date.parse(cj.metadata.creationTimestamp);
    expect(scheduled).toBe(Math.floor(made / 60_000) * 60_000 + 60_000);
    const status = await waitFor(async () => {
      const c = (await client.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/tick`)).body;
      return c.status?.active?.length && c.status;
    });
    expect(status.lastScheduleTime).toBe(new Date(scheduled).toISOString().replace('.000Z', 'Z'));
    expect(status.active).toContainEqual(
      expect.objectContaining({ kind: 'Job', name: job.metadata.name, uid: job.metadata.uid }),
    );
  });
});
