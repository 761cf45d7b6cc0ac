/**
 * The workload controllers with real pods: etcd, apiserver, every
 * controller, the scheduler and kubelets on Docker. A Deployment of 5 rolls
 * to another image with maxUnavailable 0 and never has fewer than 5 ready
 * pods (sampled every 100 ms), and `kubectl rollout undo` brings the old
 * template back; a StatefulSet of 3 starts in order and web-1 keeps its
 * volume's data when deleted; a DaemonSet runs on a node that joins later;
 * a Job of 5 completions runs at most 2 pods at once; a CronJob every
 * minute makes a Job whose pod runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubectl,
  makeTempDir,
  sleep,
  startControllerManager,
  startKubelet,
  startScheduler,
  waitFor,
} from '../testing/harness.js';
import { docker, freePodCIDR, removeNodeContainers, testNodeName } from '../testing/kubelet-helpers.js';
import { busybox, KubeletCluster, ready, running } from './kubelet-cluster.js';

let k: KubeletCluster;
let joiner: string | undefined;
const ns = 'default';
const busybox2 = 'nanokube/busybox:2';

const live = (p: any) => !p.metadata.deletionTimestamp;

async function podsOf(selector: string): Promise<any[]> {
  const res = await k.client.get(
    `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  return res.body.items ?? [];
}

async function create(path: string, obj: object) {
  const res = await k.client.post(path, obj);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A pod template serving TCP on 8080, Ready once it listens. */
const serving = (app: string, image: string, extra: object = {}) => ({
  metadata: { labels: { app } },
  spec: {
    terminationGracePeriodSeconds: 1,
    containers: [
      {
        name: 'app',
        image,
        command: ['sh', '-c', 'mkdir -p /www && exec httpd -f -p 8080 -h /www'],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        ...extra,
      },
    ],
  },
});

beforeAll(async () => {
  // A second tag of the one image: "another image" without a registry.
  await docker.getImage(busybox).tag({ repo: 'nanokube/busybox', tag: '2' });
  k = await KubeletCluster.start('kwl');
  await startControllerManager({
    apiserverUrl: '',
    kubeconfig: k.kubeconfig,
    extraArgs: ['--local-path-root', makeTempDir('nanokube-local-path-')],
  });
  await startScheduler({ apiserverUrl: '', kubeconfig: k.kubeconfig });
}, 90_000);

afterAll(async () => {
  for (const path of [
    '/apis/apps/v1/namespaces/default/deployments',
    '/apis/apps/v1/namespaces/default/statefulsets',
    '/apis/apps/v1/namespaces/default/daemonsets',
    '/apis/batch/v1/namespaces/default/cronjobs',
    '/apis/batch/v1/namespaces/default/jobs',
  ])
    await k?.client.del(`${path}?propagationPolicy=Background`).catch(() => undefined);
  await k?.stop();
  if (joiner) await removeNodeContainers(joiner);
  await docker
    .getImage(busybox2)
    .remove()
    .catch(() => undefined);
}, 90_000);

describe('Deployment on Docker', () => {
  it('rolls 5 replicas to another image with maxUnavailable 0, never fewer than 5 ready (sampled every 100 ms)', async () => {
    await create(`/apis/apps/v1/namespaces/${ns}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'front' },
      spec: {
        replicas: 5,
        selector: { matchLabels: { app: 'front' } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: serving('front', busybox),
      },
    });
    const first = await kubectl(['rollout', 'status', 'deployment/front', '--timeout=90s'], {
      kubeconfig: k.kubeconfig,
      timeoutMs: 100_000,
    });
    expect(first.code, first.stderr).toBe(0);
    let minReady = Number.POSITIVE_INFINITY;
    let samples = 0;
    let sawMixed = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const pods = (await podsOf('app=front')).filter(live);
        minReady = Math.min(minReady, pods.filter(ready).length);
        const images = new Set(pods.map((p) => p.spec.containers[0].image));
        if (images.size > 1) sawMixed = true;
        samples++;
        await sleep(100);
      }
    })();
    try {
      const set = await kubectl(['set', 'image', 'deployment/front', `app=${busybox2}`], {
        kubeconfig: k.kubeconfig,
      });
      expect(set.code, set.stderr).toBe(0);
      const done = await kubectl(['rollout', 'status', 'deployment/front', '--timeout=120s'], {
        kubeconfig: k.kubeconfig,
        timeoutMs: 130_000,
      });
      expect(done.code, done.stderr).toBe(0);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(sawMixed).toBe(true);
    expect(samples).toBeGreaterThan(10);
    expect(minReady).toBeGreaterThanOrEqual(5);
    const pods = (await podsOf('app=front')).filter(live);
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(Array(5).fill(busybox2));
    expect(pods.every((p) => running(p) && ready(p))).toBe(true);
  }, 180_000);

  it('`kubectl rollout undo` returns to the previous template', async () => {
    const undo = await kubectl(['rollout', 'undo', 'deployment/front'], { kubeconfig: k.kubeconfig });
    expect(undo.code, undo.stderr).toBe(0);
    const done = await kubectl(['rollout', 'status', 'deployment/front', '--timeout=120s'], {
      kubeconfig: k.kubeconfig,
      timeoutMs: 130_000,
    });
    expect(done.code, done.stderr).toBe(0);
    const pods = (await podsOf('app=front')).filter(live);
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual(Array(5).fill(busybox));
    const dep = (await k.client.get(`/apis/apps/v1/namespaces/${ns}/deployments/front`)).body;
    expect(dep.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
  }, 180_000);
});

describe('StatefulSet on Docker', () => {
  it('starts 3 pods in order 0, 1, 2, and web-1 keeps its volume’s data when deleted', async () => {
    await create(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { clusterIP: 'None', selector: { app: 'web' }, ports: [{ port: 8080 }] },
    });
    const template = serving('web', busybox, { volumeMounts: [{ name: 'data', mountPath: '/data' }] });
    await create(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        serviceName: 'web',
        selector: { matchLabels: { app: 'web' } },
        template,
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } },
          },
        ],
      },
    });
    // Sample which pods exist and are Ready: web-N never appears before web-(N-1) is Ready.
    const outOfOrder: string[] = [];
    const pods = await waitFor(
      async () => {
        const list = await podsOf('app=web');
        const byName = new Map(list.map((p) => [p.metadata.name, p]));
        for (let i = 1; i < 3; i++)
          if (byName.has(`web-${i}`) && !ready(byName.get(`web-${i - 1}`)))
            outOfOrder.push(`web-${i} before web-${i - 1} was Ready`);
        return list.length === 3 && list.every((p) => ready(p)) && list;
      },
      { timeoutMs: 90_000, intervalMs: 100, what: 'three Ready pods' },
    );
    expect(outOfOrder).toEqual([]);
    const created = pods
      .sort((a: any, b: any) => a.metadata.name.localeCompare(b.metadata.name))
      .map((p: any) => Date.parse(p.metadata.creationTimestamp));
    expect(created[0]).toBeLessThanOrEqual(created[1]);
    expect(created[1]).toBeLessThanOrEqual(created[2]);
    const write = await kubectl(['exec', 'web-1', '--', 'sh', '-c', 'echo kept-by-web-1 > /data/note'], {
      kubeconfig: k.kubeconfig,
    });
    expect(write.code, write.stderr).toBe(0);
    const oldUid = pods.find((p: any) => p.metadata.name === 'web-1').metadata.uid;
    const del = await kubectl(['delete', 'pod', 'web-1'], { kubeconfig: k.kubeconfig });
    expect(del.code, del.stderr).toBe(0);
    await waitFor(
      async () => {
        const p = (await k.client.get(`/api/v1/namespaces/${ns}/pods/web-1`)).body;
        return p.metadata?.uid && p.metadata.uid !== oldUid && ready(p);
      },
      { timeoutMs: 60_000, what: 'web-1 back and Ready' },
    );
    const read = await kubectl(['exec', 'web-1', '--', 'cat', '/data/note'], { kubeconfig: k.kubeconfig });
    expect(read).toMatchObject({ code: 0, stdout: 'kept-by-web-1\n' });
    const claim = (await k.client.get(`/api/v1/namespaces/${ns}/persistentvolumeclaims/data-web-1`)).body;
    expect(claim.status.phase).toBe('Bound');
  }, 180_000);
});

describe('DaemonSet on Docker', () => {
  it('runs a pod on every node, and on a node that joins', async () => {
    await create(`/apis/apps/v1/namespaces/${ns}/daemonsets`, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [{ name: 'agent', image: busybox, command: ['sleep', '3600'] }],
          },
        },
      },
    });
    await waitFor(async () => (await podsOf('app=agent')).filter((p) => running(p)).length === 1, {
      timeoutMs: 60_000,
      what: 'the agent running on the first node',
    });
    joiner = testNodeName('kwl-join');
    await startKubelet({
      apiserverUrl: '',
      kubeconfig: k.kubeconfig,
      nodeName: joiner,
      podCIDR: await freePodCIDR(),
    });
    const pods = await waitFor(
      async () => {
        const list = (await podsOf('app=agent')).filter((p) => running(p));
        return list.length === 2 && list;
      },
      { timeoutMs: 60_000, what: 'an agent pod running on the new node' },
    );
    expect(pods.map((p: any) => p.spec.nodeName).sort()).toEqual([k.node, joiner].sort());
    const ds = await waitFor(async () => {
      const d = (await k.client.get(`/apis/apps/v1/namespaces/${ns}/daemonsets/agent`)).body;
      return d.status.numberReady === 2 && d;
    });
    expect(ds.status.desiredNumberScheduled).toBe(2);
  }, 120_000);
});

describe('Job and CronJob on Docker', () => {
  it('a Job with completions 5 and parallelism 2 runs at most 2 pods at once and completes', async () => {
    await create(`/apis/batch/v1/namespaces/${ns}/jobs`, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'batch' },
      spec: {
        completions: 5,
        parallelism: 2,
        template: {
          spec: {
            restartPolicy: 'Never',
            containers: [{ name: 'work', image: busybox, command: ['sh', '-c', 'sleep 1; echo done'] }],
          },
        },
      },
    });
    let maxActive = 0;
    const job = await waitFor(
      async () => {
        const pods = (await podsOf('job-name=batch')).filter(live);
        const active = pods.filter((p) => p.status?.phase === 'Running' || p.status?.phase === 'Pending');
        maxActive = Math.max(maxActive, active.length);
        const j = (await k.client.get(`/apis/batch/v1/namespaces/${ns}/jobs/batch`)).body;
        return j.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True') && j;
      },
      { timeoutMs: 90_000, intervalMs: 100, what: 'the Job Complete' },
    );
    expect(maxActive).toBeGreaterThan(0);
    expect(maxActive).toBeLessThanOrEqual(2);
    expect(job.status.succeeded).toBe(5);
    const logs = await kubectl(['logs', 'job/batch'], { kubeconfig: k.kubeconfig });
    expect(logs.stdout).toBe('done\n');
  }, 120_000);

  it('a CronJob every minute makes a Job whose pod runs to completion', async () => {
    await create(`/apis/batch/v1/namespaces/${ns}/cronjobs`, {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick' },
      spec: {
        schedule: '* * * * *',
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: 'Never',
                containers: [{ name: 'tick', image: busybox, command: ['echo', 'tick'] }],
              },
            },
          },
        },
      },
    });
    const job = await waitFor(
      async () => {
        const jobs = (await k.client.get(`/apis/batch/v1/namespaces/${ns}/jobs`)).body.items ?? [];
        return jobs.find(
          (j: any) =>
            j.metadata.ownerReferences?.[0]?.name === 'tick' &&
            j.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True'),
        );
      },
      { timeoutMs: 100_000, intervalMs: 500, what: 'a completed Job of the CronJob' },
    );
    expect(job.metadata.name).toMatch(/^tick-\d+$/);
    const cj = (await k.client.get(`/apis/batch/v1/namespaces/${ns}/cronjobs/tick`)).body;
    expect(cj.status.lastScheduleTime).toBeTruthy();
  }, 120_000);
});
