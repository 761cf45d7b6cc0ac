// The ReplicaSet and Deployment controllers in a real nk-controller-manager
// against a real etcd and apiserver, with hollow nodes running the pods and
// the real kubectl driving rollouts. One cluster for the whole file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Binder, startBinder } from '../testing/binder.js';
import {
  type Api,
  api,
  cleanup,
  kubectl,
  logTail,
  makeTempDir,
  sleep,
  startApiserver,
  startControllerManager,
  startEtcd,
  startHollowNodes,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

let client: Api;
let kubeconfig: string;
let binder: Binder;
let cmLog = '';

const ns = 'default';
const isReady = (p: any) => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');

async function podsOf(selector: string): Promise<any[]> {
  const res = await client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`);
  return res.body.items ?? [];
}

function deploymentManifest(name: string, replicas: number, image: string, strategy: object) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy,
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image }], terminationGracePeriodSeconds: 0 },
      },
    },
  };
}

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  const hollow = await startHollowNodes({ apiserverUrl: apiserver.url, nodes: 2, prefix: 'wl-node-' });
  binder = startBinder(apiserver.url, () => hollow.names);
  const cm = await startControllerManager({
    apiserverUrl: apiserver.url,
    controllers: ['deployment', 'replicaset', 'job', 'ttl-after-finished'],
  });
  cmLog = cm.logPath;
});

afterAll(async () => {
  await binder?.stop();
  await cleanup();
});

describe('ReplicaSet', () => {
  it('keeps replicas pods, adopts a matching orphan, and scales down', async () => {
    const orphan = await client.post(`/api/v1/namespaces/${ns}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'orphan', labels: { app: 'rs1' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 0 },
    });
    expect(orphan.status).toBe(201);
    const rs = await client.post(`/apis/apps/v1/namespaces/${ns}/replicasets`, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'rs1' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'rs1' } },
        template: {
          metadata: { labels: { app: 'rs1' } },
          spec: { containers: [{ name: 'c', image: 'busybox' }], terminationGracePeriodSeconds: 0 },
        },
      },
    });
    expect(rs.status).toBe(201);
    const uid = rs.body.metadata.uid;
    await waitFor(
      async () => {
        const r = await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets/rs1`);
        return r.body.status?.readyReplicas === 3 && r.body.status?.availableReplicas === 3;
      },
      { timeoutMs: 20_000, what: `rs1 ready (log: ${logTail(cmLog, 5)})` },
    );
    const pods = await podsOf('app=rs1');
    expect(pods).toHaveLength(3);
    // The orphan was adopted, so only two were created.
    const adopted = pods.find((p) => p.metadata.name === 'orphan');
    expect(adopted.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'rs1',
        uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    const scaled = await client.patch(`/apis/apps/v1/namespaces/${ns}/replicasets/rs1/scale`, {
      spec: { replicas: 1 },
    });
    expect(scaled.status).toBe(200);
    await waitFor(async () => (await podsOf('app=rs1')).length === 1, {
      timeoutMs: 20_000,
      what: 'scale down to 1',
    });
    const rsNow = await waitFor(async () => {
      const r = await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets/rs1`);
      return (
        r.body.status?.replicas === 1 &&
        r.body.status?.observedGeneration === r.body.metadata.generation &&
        r.body
      );
    });
    expect(rsNow.status.fullyLabeledReplicas).toBe(1);
  });
});

describe('Deployment', () => {
  it('rolls 5 replicas to a new image with maxUnavailable 0 and never fewer than 5 ready pods', async () => {
    const d = deploymentManifest('web', 5, 'nginx:1', {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    });
    expect((await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d)).status).toBe(201);
    const first = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { kubeconfig });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/successfully rolled out/);

    // The sampler must see the rollout half-way (both images live at once),
    // or the minimum it reports says nothing about the rollout.
    let minReady = Number.POSITIVE_INFINITY;
    let sawMixed = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const live = (await podsOf('app=web')).filter((p) => !p.metadata.deletionTimestamp);
        minReady = Math.min(minReady, live.filter(isReady).length);
        const images = new Set(live.map((p) => p.spec.containers[0].image));
        if (images.has('nginx:1') && images.has('nginx:2')) sawMixed = true;
        await sleep(20);
      }
    })();
    try {
      const set = await kubectl(['set', 'image', 'deployment/web', 'app=nginx:2'], { kubeconfig });
      expect(set.code, set.stderr).toBe(0);
      const status = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { kubeconfig });
      expect(status.code, status.stderr + logTail(cmLog)).toBe(0);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(sawMixed).toBe(true);
    expect(minReady).toBeGreaterThanOrEqual(5);
    const pods = await podsOf('app=web');
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    expect(live.map((p) => p.spec.containers[0].image)).toEqual(Array(5).fill('nginx:2'));
    const dep = (await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).body;
    expect(dep.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
    expect(dep.status).toMatchObject({
      replicas: 5,
      updatedReplicas: 5,
      readyReplicas: 5,
      availableReplicas: 5,
    });
    expect(dep.status.conditions.find((c: any) => c.type === 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
    });
    const rsList = (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dweb`))
      .body.items;
    expect(rsList).toHaveLength(2);
    expect(rsList.map((r: any) => r.spec.replicas).sort()).toEqual([0, 5]);
  });

  it('kubectl rollout undo returns to the previous template as revision 3', async () => {
    const hist = await kubectl(['rollout', 'history', 'deployment/web'], { kubeconfig });
    expect(hist.code, hist.stderr).toBe(0);
    expect(hist.stdout).toMatch(/^1\s/m);
    expect(hist.stdout).toMatch(/^2\s/m);
    const undo = await kubectl(['rollout', 'undo', 'deployment/web'], { kubeconfig });
    expect(undo.code, undo.stderr).toBe(0);
    const status = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=60s'], { kubeconfig });
    expect(status.code, status.stderr).toBe(0);
    const dep = (await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/web`)).body;
    expect(dep.spec.template.spec.containers[0].image).toBe('nginx:1');
    expect(dep.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
    const live = (await podsOf('app=web')).filter((p) => !p.metadata.deletionTimestamp);
    expect(live.map((p) => p.spec.containers[0].image)).toEqual(Array(5).fill('nginx:1'));
    // The first ReplicaSet came back instead of a third one being made.
    const rsList = (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dweb`))
      .body.items;
    expect(rsList).toHaveLength(2);
  });

  it('Recreate stops every old pod before starting new ones', async () => {
    const d = deploymentManifest('batchy', 3, 'nginx:1', { type: 'Recreate' });
    expect((await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d)).status).toBe(201);
    const first = await kubectl(['rollout', 'status', 'deployment/batchy', '--timeout=60s'], { kubeconfig });
    expect(first.code, first.stderr).toBe(0);
    let mixed = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const images = new Set((await podsOf('app=batchy')).map((p) => p.spec.containers[0].image));
        if (images.size > 1) mixed = true;
        await sleep(100);
      }
    })();
    try {
      await kubectl(['set', 'image', 'deployment/batchy', 'app=nginx:2'], { kubeconfig });
      const status = await kubectl(['rollout', 'status', 'deployment/batchy', '--timeout=60s'], {
        kubeconfig,
      });
      expect(status.code, status.stderr).toBe(0);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(mixed).toBe(false);
    const live = (await podsOf('app=batchy')).map((p) => p.spec.containers[0].image);
    expect(live).toEqual(Array(3).fill('nginx:2'));
  });

  it('spreads a resize in the middle of a stuck rollout over both ReplicaSets, then times out', async () => {
    const d = deploymentManifest('prop', 10, 'nginx:1', {
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: 3, maxUnavailable: 2 },
    });
    (d.spec as any).progressDeadlineSeconds = 5;
    await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    expect(
      (await kubectl(['rollout', 'status', 'deployment/prop', '--timeout=60s'], { kubeconfig })).code,
    ).toBe(0);
    // New pods can never be scheduled: the rollout stops with old and new both holding pods.
    await client.patch(`/apis/apps/v1/namespaces/${ns}/deployments/prop`, {
      spec: { template: { spec: { nodeSelector: { 'kubernetes.io/hostname': 'nowhere' } } } },
    });
    const rsOf = async () =>
      (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dprop`)).body.items;
    const before = await waitFor(
      async () => {
        const items = await rsOf();
        const sizes = items.map((r: any) => r.spec.replicas).sort((a: number, b: number) => a - b);
        return items.length === 2 && sizes[0] === 5 && sizes[1] === 8 && items;
      },
      { timeoutMs: 20_000, what: 'rollout stuck at 8 old + 5 new' },
    );
    await client.patch(`/apis/apps/v1/namespaces/${ns}/deployments/prop`, { spec: { replicas: 20 } });
    const after = await waitFor(async () => {
      const items = await rsOf();
      return (
        items.every(
          (r: any) => r.metadata.annotations['deployment.kubernetes.io/desired-replicas'] === '20',
        ) && items
      );
    });
    // 13 allowed → 23 allowed: both sides grow in proportion to their size (8→14, 5→9).
    const size = (name: string, list: any[]) => list.find((r: any) => r.metadata.name === name).spec.replicas;
    const grown = before.map((r: any) => [r.spec.replicas, size(r.metadata.name, after)]).sort();
    expect(grown).toEqual([
      [5, 9],
      [8, 14],
    ]);
    expect(after.reduce((n: number, r: any) => n + r.spec.replicas, 0)).toBe(23);
    // No progress for progressDeadlineSeconds: the rollout is reported failed and rollout status says so.
    const failed = await waitFor(
      async () => {
        const r = (await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/prop`)).body;
        const c = r.status?.conditions?.find((x: any) => x.type === 'Progressing');
        return c?.reason === 'ProgressDeadlineExceeded' && c;
      },
      { timeoutMs: 30_000, what: 'ProgressDeadlineExceeded' },
    );
    expect(failed.status).toBe('False');
    const status = await kubectl(['rollout', 'status', 'deployment/prop', '--timeout=10s'], { kubeconfig });
    expect(status.code).not.toBe(0);
    expect(status.stderr).toMatch(/exceeded its progress deadline/);
  });
});

describe('Job', () => {
  it('with completions 5 and parallelism 2 runs at most 2 pods at once and completes', async () => {
    // The pods are pinned to a node nobody runs: this test plays the kubelet and finishes them.
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'pi', namespace: ns },
      spec: {
        completions: 5,
        parallelism: 2,
        ttlSecondsAfterFinished: 2,
        template: {
          spec: {
            restartPolicy: 'Never',
            nodeSelector: { 'kubernetes.io/hostname': 'job-runner' },
            containers: [{ name: 'pi', image: 'busybox' }],
          },
        },
      },
    };
    const created = await client.post(`/apis/batch/v1/namespaces/${ns}/jobs`, job);
    expect(created.status).toBe(201);
    const selector = `batch.kubernetes.io/job-name=pi`;
    let maxActive = 0;
    let finishedByUs = 0;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const j = (await client.get(`/apis/batch/v1/namespaces/${ns}/jobs/pi`)).body;
      if (j.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True')) break;
      const pods = await podsOf(selector);
      const seen = pods.map((p) => `${p.metadata.name}:${p.status?.phase}`).join(' ');
      expect(
        Date.now(),
        `job did not complete in 30 s: ${JSON.stringify(j.status)} ${seen} ${logTail(cmLog, 6)}`,
      ).toBeLessThan(deadline);
      const active = pods.filter((p) => !['Succeeded', 'Failed'].includes(p.status?.phase));
      maxActive = Math.max(maxActive, active.length);
      // Finish one pod per round, as a slow kubelet would.
      const next = active[0];
      if (next) {
        next.status = { ...next.status, phase: 'Succeeded' };
        const res = await client.put(`/api/v1/namespaces/${ns}/pods/${next.metadata.name}/status`, next);
        if (res.status === 200) finishedByUs++;
      }
      await sleep(100);
    }
    const j = (await client.get(`/apis/batch/v1/namespaces/${ns}/jobs/pi`)).body;
    expect(j.status).toMatchObject({ succeeded: 5, active: 0, failed: 0 });
    expect(j.status.completionTime).toBeTruthy();
    expect(maxActive).toBe(2);
    expect(finishedByUs).toBe(5);
    expect((await podsOf(selector)).length).toBe(5);
    const wait = await kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=5s'], {
      kubeconfig,
    });
    expect(wait.code, wait.stderr).toBe(0);
    // ttlSecondsAfterFinished: 2 → the job is deleted soon after.
    await waitFor(async () => (await client.get(`/apis/batch/v1/namespaces/${ns}/jobs/pi`)).status === 404, {
      timeoutMs: 15_000,
      what: 'job deleted after its TTL',
    });
  });
});
