import { describe, expect, it } from 'vitest';
import { testCluster } from '../testing/cluster-fakes.js';
import { podOf, svcOf } from '../testing/endpoint-fixtures.js';
import { computeSubsets, EndpointsController } from './endpoint.js';

const ips = (list?: { ip?: string }[]) => (list ?? []).map((a) => a.ip);

describe('computeSubsets', () => {
  it('splits ready and not-ready pods and resolves a named targetPort per pod', () => {
    const subsets = computeSubsets(svcOf(), [
      podOf('a', { ip: '10.0.0.1' }),
      podOf('b', { ip: '10.0.0.2', ready: false }),
      podOf('c', { ip: '10.0.0.3', port: 9090 }),
    ]);
    expect(subsets.map((s) => [ips(s.addresses), ips(s.notReadyAddresses), s.ports])).toEqual([
      [['10.0.0.1'], ['10.0.0.2'], [{ name: 'http', port: 8080, protocol: 'TCP' }]],
      [['10.0.0.3'], [], [{ name: 'http', port: 9090, protocol: 'TCP' }]],
    ]);
    expect(subsets[0].addresses![0]).toEqual({
      ip: '10.0.0.1',
      nodeName: 'n1',
      targetRef: { kind: 'Pod', namespace: 'ns', name: 'a', uid: 'uid-a' },
    });
  });

  it.each([
    { name: 'no IP yet', pod: podOf('p', { ip: '' }) },
    { name: 'finished', pod: podOf('p', { phase: 'Succeeded' }) },
    { name: 'terminating', pod: podOf('p', { deleting: true }) },
  ])('leaves out a pod that is $name', ({ pod }) => {
    expect(computeSubsets(svcOf(), [pod])).toEqual([]);
  });

  it('leaves out a pod without the named port', () => {
    const pod = podOf('p');
    pod.spec!.containers![0].ports = [];
    expect(computeSubsets(svcOf(), [pod])).toEqual([]);
  });

  it('publishNotReadyAddresses puts every pod, terminating ones too, under addresses', () => {
    const subsets = computeSubsets(svcOf({ publishNotReadyAddresses: true }), [
      podOf('a', { ip: '10.0.0.1', ready: false }),
      podOf('b', { ip: '10.0.0.2', deleting: true }),
    ]);
    expect(ips(subsets[0].addresses)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(subsets[0].notReadyAddresses).toBeUndefined();
  });

  it('a headless service without ports lists bare addresses, with hostnames for its subdomain', () => {
    const pod = podOf('a', { ip: '10.0.0.1' });
    pod.spec = { ...pod.spec, hostname: 'a', subdomain: 'web' };
    const subsets = computeSubsets(svcOf({ clusterIP: 'None', ports: [] }), [pod]);
    expect(subsets).toEqual([
      { addresses: [{ ip: '10.0.0.1', nodeName: 'n1', hostname: 'a', targetRef: expect.anything() }] },
    ]);
  });
});

describe('EndpointsController', () => {
  it('creates the Endpoints of a service, and writes nothing when they are current', async () => {
    const c = testCluster();
    const ctrl = new EndpointsController(c.ctx);
    c.seed('services', svcOf({ clusterIP: 'None' }));
    c.seed('pods', podOf('a', { ip: '10.0.0.1' }), podOf('other', { labels: { app: 'db' } }));
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toEqual(['create endpoints ns/web']);
    const ep = c.api.get('endpoints', 'ns/web')!;
    expect(ep.metadata.labels).toEqual({ team: 'a', 'service.kubernetes.io/headless': '' });
    expect(ips((ep.subsets as { addresses: { ip: string }[] }[])[0].addresses)).toEqual(['10.0.0.1']);
    c.informer('endpoints').store.upsert(ep);
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toEqual(['create endpoints ns/web']);
  });

  it('updates the Endpoints when a pod stops being ready', async () => {
    const c = testCluster();
    const ctrl = new EndpointsController(c.ctx);
    c.seed('services', svcOf());
    c.seed('pods', podOf('a', { ip: '10.0.0.1' }));
    await ctrl.sync('ns/web');
    c.informer('endpoints').store.upsert(c.api.get('endpoints', 'ns/web')!);
    c.seed('pods', podOf('a', { ip: '10.0.0.1', ready: false }));
    await ctrl.sync('ns/web');
    expect(c.api.writes()).toEqual(['create endpoints ns/web', 'update endpoints ns/web']);
    const subsets = c.api.get('endpoints', 'ns/web')!.subsets as { notReadyAddresses: { ip: string }[] }[];
    expect(ips(subsets[0].notReadyAddresses)).toEqual(['10.0.0.1']);
  });

  it('deletes the Endpoints of a deleted service and ignores services without a selector', async () => {
    const c = testCluster();
    const ctrl = new EndpointsController(c.ctx);
    c.seed('endpoints', { metadata: { name: 'gone', namespace: 'ns' } });
    c.seed('services', svcOf({ selector: undefined }, 'manual'));
    c.seed('endpoints', {
      metadata: { name: 'manual', namespace: 'ns' },
      subsets: [{ addresses: [{ ip: '1.2.3.4' }] }],
    });
    await ctrl.sync('ns/gone');
    await ctrl.sync('ns/manual');
    expect(c.api.writes()).toEqual(['delete endpoints ns/gone']);
  });
});
