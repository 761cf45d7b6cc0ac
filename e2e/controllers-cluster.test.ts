// The cluster controllers against a real etcd, apiserver and
// controller-manager: node pod ranges (also across a restart), the default
// ServiceAccount, namespace deletion with content, and the garbage
// collector's background, foreground and orphan propagation, Endpoints and
// EndpointSlices following pod readiness.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  type Apiserver,
  api,
  type ControllerManager,
  cleanup,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
} from '../testing/harness.js';

const controllers = [
  'nodeipam',
  'serviceaccount',
  'namespace',
  'garbagecollector',
  'endpoint',
  'endpointslice',
];
let apiserver: Apiserver;
let client: Api;
let cm: ControllerManager;

beforeAll(async () => {
  const etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  cm = await startControllerManager({ apiserverUrl: apiserver.url, controllers });
});

afterAll(async () => {
  await cleanup();
});

const node = (name: string) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
const cm0 = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...extra },
});
const ownedBy = (owner: { metadata: { name: string; uid: string } }, blockOwnerDeletion = true) => [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    blockOwnerDeletion,
  },
];
const cmPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`;

async function created(path: string, body: unknown) {
  const res = await client.post(path, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function podCIDROf(name: string): Promise<string> {
  return waitFor(async () => (await client.get(`/api/v1/nodes/${name}`)).body.spec?.podCIDR, {
    what: `podCIDR of ${name}`,
  });
}

async function gone(path: string, timeoutMs = 15_000) {
  await waitFor(async () => (await client.get(path)).status === 404, { timeoutMs, what: `${path} gone` });
}

describe('nodeipam', () => {
  it('gives each node a distinct /24 from the cluster range, also after a restart', async () => {
    await created('/api/v1/nodes', node('n1'));
    await created('/api/v1/nodes', node('n2'));
    const first = [await podCIDROf('n1'), await podCIDROf('n2')];
    await cm.stop();
    // A node made while the controller-manager is down gets a range not already taken.
    await created('/api/v1/nodes', node('n3'));
    cm = await startControllerManager({ apiserverUrl: apiserver.url, controllers });
    const third = await podCIDROf('n3');
    const all = [...first, third];
    expect(new Set(all).size).toBe(3);
    for (const c of all) expect(c).toMatch(/^10\.244\.\d+\.0\/24$/);
    const n3 = (await client.get('/api/v1/nodes/n3')).body;
    expect(n3.spec.podCIDRs).toEqual([third]);
  });
});

describe('serviceaccount', () => {
  it('puts a default ServiceAccount in every namespace', async () => {
    await created('/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'sa-test' },
    });
    for (const ns of ['default', 'kube-system', 'sa-test'])
      await waitFor(
        async () => (await client.get(`/api/v1/namespaces/${ns}/serviceaccounts/default`)).status === 200,
        {
          what: `default ServiceAccount in ${ns}`,
        },
      );
  });
});

describe('namespace', () => {
  it('refuses to delete the system namespaces', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      const res = await client.del(`/api/v1/namespaces/${ns}`);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({
        reason: 'Forbidden',
        message: `namespaces "${ns}" is forbidden: this namespace may not be deleted`,
      });
    }
  });

  it('deletes a namespace with 100 objects in it, leaving nothing behind', async () => {
    const ns = 'doomed';
    await created('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const bodies: [string, unknown][] = [];
    for (let i = 0; i < 40; i++) bodies.push([cmPath(ns), cm0(`cm-${i}`)]);
    for (let i = 0; i < 30; i++)
      bodies.push([
        `/api/v1/namespaces/${ns}/secrets`,
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: `s-${i}` } },
      ]);
    for (let i = 0; i < 20; i++)
      bodies.push([
        `/api/v1/namespaces/${ns}/pods`,
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `p-${i}` },
          spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
        },
      ]);
    for (let i = 0; i < 10; i++)
      bodies.push([
        `/apis/apps/v1/namespaces/${ns}/deployments`,
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: `d-${i}` },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: `d-${i}` } },
            template: {
              metadata: { labels: { app: `d-${i}` } },
              spec: { containers: [{ name: 'c', image: 'busybox:1' }] },
            },
          },
        },
      ]);
    for (let i = 0; i < bodies.length; i += 20)
      await Promise.all(bodies.slice(i, i + 20).map(([p, b]) => created(p, b)));
    // One object holds the namespace until its finalizer is removed.
    await created(cmPath(ns), cm0('held', { finalizers: ['example.com/hold'] }));

    const del = await client.del(`/api/v1/namespaces/${ns}`);
    expect(del.status).toBe(200);
    expect(del.body.status.phase).toBe('Terminating');
    // Everything else goes; the namespace waits on the held object and says why.
    await waitFor(
      async () => {
        const res = await client.get(`/api/v1/namespaces/${ns}`);
        const cond = res.body.status?.conditions?.find(
          (c: { type: string }) => c.type === 'NamespaceFinalizersRemaining',
        );
        return cond?.status === 'True' && cond.message.includes('example.com/hold');
      },
      { timeoutMs: 20_000, what: 'NamespaceFinalizersRemaining condition' },
    );
    expect(
      (await client.get(cmPath(ns))).body.items.map((o: { metadata: { name: string } }) => o.metadata.name),
    ).toEqual(['held']);
    const creating = await client.post(cmPath(ns), cm0('late'));
    expect(creating.status).toBe(403);

    await client.patch(cmPath(ns, 'held'), { metadata: { finalizers: null } });
    await gone(`/api/v1/namespaces/${ns}`, 20_000);
    for (const p of [
      cmPath(ns),
      `/api/v1/namespaces/${ns}/secrets`,
      `/api/v1/namespaces/${ns}/pods`,
      `/apis/apps/v1/namespaces/${ns}/deployments`,
    ])
      expect((await client.get(p)).body.items, p).toEqual([]);
  });
});

describe('garbagecollector', () => {
  it('background: deletes dependents once their owner is gone', async () => {
    const owner = await created(cmPath('default'), cm0('bg-owner'));
    await created(cmPath('default'), cm0('bg-dep', { ownerReferences: ownedBy(owner) }));
    expect((await client.del(cmPath('default', 'bg-owner'))).status).toBe(200);
    await gone(cmPath('default', 'bg-dep'));
  });

  it('collects dependents whose owner went while the controller-manager was down', async () => {
    const owner = await created(cmPath('default'), cm0('down-owner'));
    await created(cmPath('default'), cm0('down-dep', { ownerReferences: ownedBy(owner) }));
    await cm.stop();
    expect((await client.del(cmPath('default', 'down-owner'))).status).toBe(200);
    cm = await startControllerManager({ apiserverUrl: apiserver.url, controllers });
    await gone(cmPath('default', 'down-dep'));
  });

  it('foreground: the owner stays until its blocking dependents are gone', async () => {
    const owner = await created(cmPath('default'), cm0('fg-owner'));
    await created(cmPath('default'), cm0('fg-dep', { ownerReferences: ownedBy(owner) }));
    await created(
      cmPath('default'),
      cm0('fg-held', { ownerReferences: ownedBy(owner), finalizers: ['example.com/hold'] }),
    );
    const del = await client.del(cmPath('default', 'fg-owner'), { propagationPolicy: 'Foreground' });
    // Kubernetes answers 202 only to orphanDependents=false; a foreground delete is a 200.
    expect(del.status).toBe(200);
    await gone(cmPath('default', 'fg-dep'));
    const held = await waitFor(async () => {
      const r = (await client.get(cmPath('default', 'fg-held'))).body;
      return r.metadata?.deletionTimestamp ? r : undefined;
    });
    expect(held.metadata.finalizers).toEqual(['example.com/hold']);
    const ownerNow = (await client.get(cmPath('default', 'fg-owner'))).body;
    expect(ownerNow.metadata.finalizers).toEqual(['foregroundDeletion']);
    await client.patch(cmPath('default', 'fg-held'), { metadata: { finalizers: null } });
    await gone(cmPath('default', 'fg-owner'));
  });

  it('orphan: dependents stay, without the reference to the deleted owner', async () => {
    const owner = await created(cmPath('default'), cm0('or-owner'));
    const other = await created(cmPath('default'), cm0('or-other'));
    await created(
      cmPath('default'),
      cm0('or-dep', { ownerReferences: [...ownedBy(owner), ...ownedBy(other, false)] }),
    );
    const del = await client.del(cmPath('default', 'or-owner'), { propagationPolicy: 'Orphan' });
    expect(del.status).toBe(200);
    await gone(cmPath('default', 'or-owner'));
    const dep = (await client.get(cmPath('default', 'or-dep'))).body;
    expect(dep.metadata.ownerReferences).toEqual(ownedBy(other, false));
  });
});

describe('endpoints', () => {
  const podPath = (name = '') => `/api/v1/namespaces/default/pods${name ? `/${name}` : ''}`;
  const epPath = '/api/v1/namespaces/default/endpoints/ep-web';
  const slices =
    '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dep-web';

  async function setReady(name: string, ip: string, ready: boolean) {
    const pod = (await client.get(podPath(name))).body;
    pod.status = {
      ...pod.status,
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    };
    const res = await client.put(`${podPath(name)}/status`, pod);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  }

  /** Polls every 20 ms; returns how long `check` took to hold. */
  async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
    const start = Date.now();
    await waitFor(async () => (await check()) || undefined, { timeoutMs: ms, intervalMs: 20, what });
    return Date.now() - start;
  }

  it('follow pod readiness within a second, with named ports resolved per pod', async () => {
    await created('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ep-web' },
      spec: { selector: { app: 'ep-web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    for (const [name, port] of [
      ['ep-a', 8080],
      ['ep-b', 9090],
    ] as const)
      await created(podPath(), {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'ep-web' } },
        spec: {
          nodeName: 'n1',
          containers: [{ name: 'c', image: 'busybox:1', ports: [{ name: 'http', containerPort: port }] }],
        },
      });
    await setReady('ep-a', '10.244.0.10', true);
    await setReady('ep-b', '10.244.0.11', false);
    await within(5_000, 'endpoints with one ready and one not-ready address', async () => {
      const ep = (await client.get(epPath)).body;
      return ep.subsets?.length === 2;
    });
    const ep = (await client.get(epPath)).body;
    expect(ep.subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.244.0.10',
            nodeName: 'n1',
            targetRef: expect.objectContaining({ kind: 'Pod', name: 'ep-a' }),
          },
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
      {
        notReadyAddresses: [
          {
            ip: '10.244.0.11',
            nodeName: 'n1',
            targetRef: expect.objectContaining({ kind: 'Pod', name: 'ep-b' }),
          },
        ],
        ports: [{ name: 'http', port: 9090, protocol: 'TCP' }],
      },
    ]);

    await setReady('ep-b', '10.244.0.11', true);
    const took = await within(1_000, 'ep-b ready in Endpoints and its EndpointSlice', async () => {
      const e = (await client.get(epPath)).body;
      const s = (await client.get(slices)).body;
      const sliceReady = s.items
        .flatMap(
          (x: { endpoints?: { addresses: string[]; conditions: { ready: boolean } }[] }) => x.endpoints ?? [],
        )
        .find((x: { addresses: string[] }) => x.addresses[0] === '10.244.0.11')?.conditions.ready;
      return (
        e.subsets?.every((x: { addresses?: unknown[] }) => x.addresses?.length === 1) && sliceReady === true
      );
    });
    expect(took).toBeLessThan(1_000);

    await setReady('ep-a', '10.244.0.10', false);
    await within(1_000, 'ep-a not ready', async () => {
      const e = (await client.get(epPath)).body;
      return e.subsets?.some(
        (x: { notReadyAddresses?: { ip: string }[] }) => x.notReadyAddresses?.[0]?.ip === '10.244.0.10',
      );
    });
    const s = (await client.get(slices)).body.items;
    expect(s.map((x: { ports: { port: number }[] }) => x.ports[0].port).sort()).toEqual([8080, 9090]);
    expect(s[0].metadata.ownerReferences[0]).toMatchObject({
      kind: 'Service',
      name: 'ep-web',
      controller: true,
    });

    // Deleting the service removes its Endpoints and slices.
    await client.del('/api/v1/namespaces/default/services/ep-web');
    await gone(epPath);
    await waitFor(async () => (await client.get(slices)).body.items.length === 0, { what: 'slices gone' });
  });
});
