// Hollow nodes (nk-hollow-nodes) against a real etcd and apiserver: nodes
// register Ready with their capacity and Leases, a pod bound to one is
// reported Running and Ready, and a graceful delete of it completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  type HollowNodes,
  startApiserver,
  startEtcd,
  startHollowNodes,
  waitFor,
} from '../testing/harness.js';

let apiserver: Apiserver;
let client: Api;
let hollow: HollowNodes;

beforeAll(async () => {
  const etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  hollow = await startHollowNodes({
    apiserverUrl: apiserver.url,
    nodes: 3,
    prefix: 'hn-',
    cpu: '2',
    memory: '4Gi',
    pods: 20,
    labels: { 'topology.kubernetes.io/zone': 'z1' },
    taints: ['dedicated=hollow:PreferNoSchedule'],
  });
});

afterAll(async () => {
  await cleanup();
});

const podPath = (name: string) => `/api/v1/namespaces/default/pods/${name}`;

describe('hollow nodes', () => {
  it('register Ready Nodes with capacity, labels, taints, addresses and node info', async () => {
    expect(hollow.names).toEqual(['hn-0', 'hn-1', 'hn-2']);
    const res = await client.get('/api/v1/nodes/hn-1');
    expect(res.status).toBe(200);
    const node = res.body;
    expect(node.status.capacity).toMatchObject({ cpu: '2', memory: '4Gi', pods: '20' });
    expect(node.status.allocatable).toMatchObject({ cpu: '2', memory: '4Gi', pods: '20' });
    expect(node.metadata.labels).toMatchObject({
      'topology.kubernetes.io/zone': 'z1',
      'kubernetes.io/hostname': 'hn-1',
    });
    expect(node.spec.taints).toEqual([{ key: 'dedicated', value: 'hollow', effect: 'PreferNoSchedule' }]);
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.3' });
    expect(node.status.nodeInfo.containerRuntimeVersion).toMatch(/^hollow:\/\//);
    expect(node.status.nodeInfo.kubeletVersion).toMatch(/^v1\./);
  });

  it('hold a Lease per node in kube-node-lease, owned by the Node', async () => {
    const lease = await waitFor(
      async () => {
        const r = await client.get('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/hn-2');
        return r.status === 200 && r.body;
      },
      { what: 'lease of hn-2' },
    );
    expect(lease.spec.holderIdentity).toBe('hn-2');
    expect(lease.spec.leaseDurationSeconds).toBe(40);
    expect(Date.now() - Date.parse(lease.spec.renewTime)).toBeLessThan(30_000);
    expect(lease.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Node', name: 'hn-2' });
  });

  it('report a pod bound to one of them Running and Ready, with a pod IP', async () => {
    const created = await client.post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bound' },
      spec: {
        initContainers: [{ name: 'setup', image: 'busybox' }],
        containers: [{ name: 'app', image: 'nginx' }],
      },
    });
    expect(created.status).toBe(201);
    // Unbound, nobody touches it.
    const bind = await client.post(`${podPath('bound')}/binding`, {
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: 'bound' },
      target: { kind: 'Node', name: 'hn-0' },
    });
    expect(bind.status).toBe(201);
    const pod = await waitFor(
      async () => {
        const r = await client.get(podPath('bound'));
        return r.body.status?.phase === 'Running' && r.body;
      },
      { what: 'pod Running' },
    );
    expect(pod.status.hostIP).toBe('127.0.0.2');
    expect(pod.status.podIP).toMatch(/^100\.64\.0\.\d+$/);
    expect(pod.status.containerStatuses).toEqual([
      expect.objectContaining({ name: 'app', ready: true, state: { running: expect.any(Object) } }),
    ]);
    expect(pod.status.initContainerStatuses[0].state.terminated.reason).toBe('Completed');
    const conds = Object.fromEntries(pod.status.conditions.map((c: any) => [c.type, c.status]));
    expect(conds).toMatchObject({ Ready: 'True', ContainersReady: 'True', PodScheduled: 'True' });
  });

  it('finish a graceful deletion of a pod they run', async () => {
    const del = await client.del(podPath('bound'));
    expect(del.status).toBe(200);
    // The apiserver only marks it (grace 30 s); the hollow kubelet completes it.
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    await waitFor(async () => (await client.get(podPath('bound'))).status === 404, {
      what: 'pod gone',
      timeoutMs: 15_000,
    });
  });

  it('leave pods on nodes they do not run alone', async () => {
    await client.post('/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'elsewhere' },
      spec: { nodeName: 'not-hollow', containers: [{ name: 'app', image: 'nginx' }] },
    });
    await new Promise((r) => setTimeout(r, 1_500));
    const pod = (await client.get(podPath('elsewhere'))).body;
    expect(pod.status.phase).toBe('Pending');
  });
});
