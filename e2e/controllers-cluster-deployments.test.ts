// Cluster controllers acting on Deployments, with a real etcd, apiserver,
// nk-controller-manager (every controller, node grace period 3 s), the
// nk-scheduler and two processes of hollow nodes:
// - a node whose kubelet dies is Unknown after the grace period, tainted,
//   and its Deployment pods are replaced on the other node once their
//   tolerationSeconds (2 s here) run out;
// - `kubectl delete --cascade=foreground` removes a Deployment's pods and
//   ReplicaSet before the Deployment itself; `--cascade=orphan` leaves both,
//   without the reference to the deleted owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
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
  writeKubeconfig,
} from '../testing/harness.js';

let client: Api;
let kubeconfig: string;
let doomed: HollowNodes;
let survivor: HollowNodes;
let cmLog = '';
const ns = 'default';

async function podsOf(app: string): Promise<any[]> {
  const res = await client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`);
  return res.body.items ?? [];
}

async function createDeployment(name: string, replicas: number, tolerationSeconds?: number) {
  const res = await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: 'app', image: 'nanokube/busybox:1' }],
          terminationGracePeriodSeconds: 0,
          tolerations:
            tolerationSeconds === undefined
              ? undefined
              : ['unreachable', 'not-ready'].map((t) => ({
                  key: `node.kubernetes.io/${t}`,
                  operator: 'Exists',
                  effect: 'NoExecute',
                  tolerationSeconds,
                })),
        },
      },
    },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const rolled = await kubectl(['rollout', 'status', `deployment/${name}`, '--timeout=60s'], { kubeconfig });
  expect(rolled.code, rolled.stderr).toBe(0);
}

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  // Leases renewed every 0.5 s, well inside the 3 s grace period.
  const fast = ['--node-lease-duration-seconds', '2'];
  doomed = await startHollowNodes({ apiserverUrl: apiserver.url, prefix: 'fail-a-', extraArgs: fast });
  survivor = await startHollowNodes({ apiserverUrl: apiserver.url, prefix: 'fail-b-', extraArgs: fast });
  const cm = await startControllerManager({
    apiserverUrl: apiserver.url,
    extraArgs: ['--node-monitor-grace-period', '3s'],
  });
  cmLog = cm.logPath;
  await startScheduler({ apiserverUrl: apiserver.url });
}, 90_000);

afterAll(async () => {
  await cleanup();
});

describe('node failure', () => {
  it("replaces a dead node's Deployment pods on the other node after tolerationSeconds", async () => {
    await createDeployment('survive', 6, 2);
    const before = await podsOf('survive');
    const [deadNode] = doomed.names;
    const [liveNode] = survivor.names;
    const onDead = before.filter((p) => p.spec.nodeName === deadNode).map((p) => p.metadata.name);
    // the scheduler spreads a Deployment's pods over both nodes
    expect(onDead.length).toBeGreaterThan(0);
    await doomed.kill();
    const node = await waitFor(
      async () => {
        const n = (await client.get(`/api/v1/nodes/${deadNode}`)).body;
        return n.spec.taints?.some((t: any) => t.key === 'node.kubernetes.io/unreachable') && n;
      },
      { timeoutMs: 20_000, what: `${deadNode} tainted unreachable` },
    );
    expect(node.status.conditions.find((c: any) => c.type === 'Ready').status).toBe('Unknown');
    // evicted (deleted; they stay Terminating, as no kubelet is left to finish them) and replaced
    let seen = '';
    const after = await waitFor(
      async () => {
        const pods = await podsOf('survive');
        seen = pods
          .map(
            (p) =>
              `${p.metadata.name}@${p.spec.nodeName ?? '-'}${p.metadata.deletionTimestamp ? '(deleting)' : ''}`,
          )
          .join(' ');
        const live = pods.filter((p) => !p.metadata.deletionTimestamp);
        const gone = onDead.every((name) => {
          const p = pods.find((x) => x.metadata.name === name);
          return !p || p.metadata.deletionTimestamp;
        });
        return gone && live.length === 6 && live.every((p) => p.spec.nodeName === liveNode) && live;
      },
      { timeoutMs: 30_000, what: `six live pods, all on ${liveNode}` },
    ).catch((err) => {
      throw new Error(`${err.message}; pods: ${seen}\n${logTail(cmLog)}`);
    });
    expect(after.map((p: any) => p.metadata.name)).not.toEqual(expect.arrayContaining(onDead));
    const dep = await waitFor(async () => {
      const d = (await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/survive`)).body;
      return d.status.availableReplicas === 6 && d;
    });
    expect(dep.status.readyReplicas).toBe(6);
  });
});

describe('cascading deletion of a Deployment', () => {
  it('foreground: pods and the ReplicaSet go before the Deployment', async () => {
    await createDeployment('fg', 3);
    const pods = await podsOf('fg');
    expect(pods).toHaveLength(3);
    // A finalizer of the test's holds the pods, so the middle of the cascade can be looked at.
    const hold = 'e2e.nanokube.io/hold';
    for (const p of pods)
      expect(
        (
          await client.patch(`/api/v1/namespaces/${ns}/pods/${p.metadata.name}`, {
            metadata: { finalizers: [hold] },
          })
        ).status,
      ).toBe(200);
    const deleting = kubectl(['delete', 'deployment', 'fg', '--cascade=foreground', '--timeout=60s'], {
      kubeconfig,
      timeoutMs: 70_000,
    });
    const mid = await waitFor(async () => {
      const d = await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/fg`);
      const rs = (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dfg`)).body
        .items;
      const held = await podsOf('fg');
      return (
        held.length === 3 &&
        held.every((p) => p.metadata.deletionTimestamp) &&
        rs?.length === 1 &&
        rs[0].metadata.deletionTimestamp && { d, rs: rs[0] }
      );
    });
    // the Deployment and the ReplicaSet wait, deleting, for what they own
    expect(mid.d.status).toBe(200);
    expect(mid.d.body.metadata.deletionTimestamp).toBeTruthy();
    expect(mid.d.body.metadata.finalizers).toContain('foregroundDeletion');
    expect(mid.rs.metadata.finalizers).toContain('foregroundDeletion');
    // Let the pods go, reading the Deployment first each time: once it is gone, no later
    // read may find its pods or ReplicaSet.
    let sawGone = false;
    const leftBehind: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const d = await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/fg`);
        const left = await podsOf('fg');
        const rs = (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dfg`))
          .body.items;
        if (d.status === 404) {
          sawGone = true;
          if (left.length || rs?.length) leftBehind.push(`${left.length} pods, ${rs?.length} replicasets`);
        }
        await sleep(20);
      }
    })();
    for (const p of pods)
      await client.patch(`/api/v1/namespaces/${ns}/pods/${p.metadata.name}`, {
        metadata: { finalizers: null },
      });
    const del = await deleting;
    await sleep(300);
    sampling = false;
    await sampler;
    expect(del.code, del.stderr).toBe(0);
    expect(sawGone).toBe(true);
    expect(leftBehind).toEqual([]);
    expect(await podsOf('fg')).toEqual([]);
  });

  it('orphan: the ReplicaSet and its pods stay, without the owner reference', async () => {
    await createDeployment('orph', 2);
    const del = await kubectl(['delete', 'deployment', 'orph', '--cascade=orphan'], { kubeconfig });
    expect(del.code, del.stderr).toBe(0);
    const rs = await waitFor(async () => {
      const items = (await client.get(`/apis/apps/v1/namespaces/${ns}/replicasets?labelSelector=app%3Dorph`))
        .body.items;
      return items?.length === 1 && !items[0].metadata.ownerReferences?.length && items[0];
    });
    expect(rs.status.replicas).toBe(2);
    // nothing comes to delete them later
    await sleep(1_000);
    const pods = await podsOf('orph');
    expect(pods.filter((p) => !p.metadata.deletionTimestamp)).toHaveLength(2);
    expect(pods.every((p) => p.metadata.ownerReferences[0].name === rs.metadata.name)).toBe(true);
  });
});
