import { describe, expect, it } from 'vitest';
import { testCluster } from '../testing/cluster-fakes.js';
import { podOf, svcOf } from '../testing/endpoint-fixtures.js';
import { desiredSlices, EndpointSliceController } from './endpointslice.js';

describe('desiredSlices', () => {
  it('gives each endpoint ready, serving and terminating as Kubernetes does', () => {
    const [slice] = desiredSlices(svcOf(), [
      podOf('a', { ip: '10.0.0.1' }),
      podOf('b', { ip: '10.0.0.2', ready: false }),
      podOf('c', { ip: '10.0.0.3', deleting: true }),
    ]);
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice.endpoints.map((e) => [e.addresses, e.conditions])).toEqual([
      [['10.0.0.1'], { ready: true, serving: true, terminating: false }],
      [['10.0.0.2'], { ready: false, serving: false, terminating: false }],
      [['10.0.0.3'], { ready: false, serving: true, terminating: true }],
    ]);
    expect(slice.endpoints[0]).toMatchObject({
      nodeName: 'n1',
      targetRef: { kind: 'Pod', name: 'a', uid: 'uid-a' },
    });
  });

  it('splits endpoints by resolved ports and keeps an empty placeholder for a service without pods', () => {
    const slices = desiredSlices(svcOf(), [
      podOf('a', { ip: '10.0.0.1' }),
      podOf('b', { ip: '10.0.0.2', port: 9090 }),
    ]);
    expect(slices.map((s) => s.ports[0].port)).toEqual([8080, 9090]);
    expect(desiredSlices(svcOf(), [])).toEqual([{ ports: [], endpoints: [] }]);
  });

  it('holds at most 100 endpoints per slice', () => {
    const pods = Array.from({ length: 150 }, (_, i) =>
      podOf(`p${i}`, { ip: `10.0.${Math.floor(i / 200)}.${i}` }),
    );
    expect(desiredSlices(svcOf(), pods).map((s) => s.endpoints.length)).toEqual([100, 50]);
  });
});

describe('EndpointSliceController', () => {
  it('creates a labelled slice owned by the service, then waits for its cache instead of creating twice', async () => {
    const c = testCluster();
    const ctrl = new EndpointSliceController(c.ctx);
    c.seed('services', svcOf());
    c.seed('pods', podOf('a', { ip: '10.0.0.1' }));
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toEqual(['create endpointslices ns/web-']);
    const [slice] = c.api.list('endpointslices');
    expect(slice.metadata.labels).toEqual({
      team: 'a',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(slice.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'v1',
        kind: 'Service',
        name: 'web',
        uid: 'svc-web',
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toHaveLength(1);
    expect(ctrl.queue.waitingLen()).toBe(1);
    // Once the cache has it, a pod turning unready updates that same slice.
    c.informer('endpointslices').store.upsert(slice);
    c.seed('pods', podOf('a', { ip: '10.0.0.1', ready: false }));
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toEqual([
      'create endpointslices ns/web-',
      `update endpointslices ns/${slice.metadata.name}`,
    ]);
  });

  it('deletes the slices of a deleted service', async () => {
    const c = testCluster();
    const ctrl = new EndpointSliceController(c.ctx);
    c.seed('endpointslices', {
      metadata: {
        name: 'old-abc',
        namespace: 'ns',
        labels: {
          'kubernetes.io/service-name': 'old',
          'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
        },
      },
    });
    await ctrl.sync('ns/old');
    expect(c.api.writes()).toEqual(['delete endpointslices ns/old-abc']);
  });
});
