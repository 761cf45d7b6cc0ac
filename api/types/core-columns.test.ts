import { describe, expect, it } from 'vitest';
import { ago, cell, ev, node, obj, port, pv, pvc, rt, secret, svc } from '../../testing/core-fixtures.js';
import type { KubeObject } from '../meta.js';

describe('core/v1 table cells', () => {
  const lb = (ingress: Record<string, string>[], extra = {}) =>
    svc(
      { type: 'LoadBalancer', ports: [port(80, { protocol: 'TCP', nodePort: 30080 })], ...extra },
      { loadBalancer: { ingress } },
    );
  const ready = (status: string) => ({ conditions: [{ type: 'Ready', status }] });
  const eps = (n: number, ports = [{ port: 80 }]) =>
    obj('Endpoints', {
      subsets: [{ addresses: Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + 1}` })), ports }],
    });

  it.each<[string, KubeObject, string, unknown]>([
    ['svc type', svc({ type: 'NodePort' }), 'Type', 'NodePort'],
    ['svc cluster IP', svc({ clusterIPs: ['10.96.0.1'] }), 'Cluster-IP', '10.96.0.1'],
    ['svc without cluster IP', svc({ type: 'ExternalName' }), 'Cluster-IP', '<none>'],
    ['svc external IP none', svc({}), 'External-IP', '<none>'],
    ['svc external IPs', svc({ externalIPs: ['1.1.1.1', '2.2.2.2'] }), 'External-IP', '1.1.1.1,2.2.2.2'],
    ['LB pending', lb([]), 'External-IP', '<pending>'],
    [
      'LB ingress',
      lb([{ ip: '5.6.7.8' }, { hostname: 'lb.example.com' }]),
      'External-IP',
      '5.6.7.8,lb.example.com',
    ],
    [
      'LB ingress and external IPs',
      lb([{ ip: '5.6.7.8' }], { externalIPs: ['1.1.1.1'] }),
      'External-IP',
      '5.6.7.8,1.1.1.1',
    ],
    [
      'ExternalName',
      svc({ type: 'ExternalName', externalName: 'db.example.com' }),
      'External-IP',
      'db.example.com',
    ],
    [
      'ports',
      svc({ ports: [port(80, { protocol: 'TCP', nodePort: 30080 }), port(443, { protocol: 'TCP' })] }),
      'Port(s)',
      '80:30080/TCP,443/TCP',
    ],
    ['no ports', svc({}), 'Port(s)', '<none>'],
    ['selector', svc({ selector: { tier: 'fe', app: 'web' } }), 'Selector', 'app=web,tier=fe'],
    ['svc age', svc({}), 'Age', '5m'],
    ['endpoints none', obj('Endpoints', {}), 'Endpoints', '<none>'],
    ['endpoints two', eps(2), 'Endpoints', '10.0.0.1:80,10.0.0.2:80'],
    ['endpoints three', eps(3), 'Endpoints', '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80'],
    ['endpoints more', eps(5), 'Endpoints', '10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more...'],
    [
      'endpoints two ports',
      eps(2, [{ port: 80 }, { port: 443 }]),
      'Endpoints',
      '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...',
    ],
    ['endpoints headless', eps(1, []), 'Endpoints', '10.0.0.1'],
    ['node ready', node({}, ready('True')), 'Status', 'Ready'],
    ['node not ready', node({}, ready('Unknown')), 'Status', 'NotReady'],
    ['node unknown', node({}), 'Status', 'Unknown'],
    ['node cordoned', node({ unschedulable: true }, ready('True')), 'Status', 'Ready,SchedulingDisabled'],
    [
      'node roles',
      node({}, {}, { 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/control-plane': '' }),
      'Roles',
      'control-plane,worker',
    ],
    ['node no roles', node({}), 'Roles', '<none>'],
    ['node version', node({}, { nodeInfo: { kubeletVersion: 'v1.31.0' } }), 'Version', 'v1.31.0'],
    [
      'node internal IP',
      node({}, { addresses: [{ type: 'InternalIP', address: '192.168.1.2' }] }),
      'Internal-IP',
      '192.168.1.2',
    ],
    ['node external IP', node({}), 'External-IP', '<none>'],
    ['node OS image unknown', node({}), 'OS-Image', '<unknown>'],
    ['secret type', secret({ type: 'kubernetes.io/tls' }), 'Type', 'kubernetes.io/tls'],
    ['secret data', secret({ data: { a: 'YQ==', b: 'Yg==' } }), 'Data', 2],
    ['event last seen', ev({ firstTimestamp: ago(10), lastTimestamp: ago(2) }), 'Last Seen', '2m'],
    [
      'event last seen from series',
      ev({ series: { count: 4, lastObservedTime: ago(1) }, eventTime: ago(9) }),
      'Last Seen',
      '60s',
    ],
    ['event first seen from eventTime', ev({ eventTime: ago(9) }), 'First Seen', '9m'],
    ['event object', ev({}), 'Object', 'pod/web-1'],
    ['event count default', ev({}), 'Count', 1],
    ['event source', ev({ source: { component: 'kubelet', host: 'n1' } }), 'Source', 'kubelet, n1'],
    ['event message', ev({ message: ' Pulled image \n' }), 'Message', 'Pulled image'],
    ['sa secrets', obj('ServiceAccount', { secrets: [{ name: 'a' }] }), 'Secrets', 1],
    ['pv capacity', pv({ capacity: { storage: '1024Mi' } }), 'Capacity', '1Gi'],
    [
      'pv access modes',
      pv({ accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadOnlyMany'] }),
      'Access Modes',
      'RWO,ROX,RWX',
    ],
    ['pv claim', pv({ claimRef: { namespace: 'default', name: 'data' } }), 'Claim', 'default/data'],
    ['pv status', pv({}, { phase: 'Available' }), 'Status', 'Available'],
    ['pv vac unset', pv({}), 'VolumeAttributesClass', '<unset>'],
    [
      'pv storage class annotation',
      obj(
        'PersistentVolume',
        { spec: { storageClassName: 'b' } },
        { annotations: { 'volume.beta.kubernetes.io/storage-class': 'a' } },
      ),
      'StorageClass',
      'a',
    ],
    [
      'pvc status terminating',
      obj('PersistentVolumeClaim', { status: { phase: 'Bound' } }, { deletionTimestamp: ago(0) }),
      'Status',
      'Terminating',
    ],
    ['pvc capacity unbound', pvc({}), 'Capacity', ''],
    [
      'pvc capacity bound',
      pvc({ volumeName: 'pv1' }, { capacity: { storage: '5Gi' }, accessModes: ['ReadWriteOncePod'] }),
      'Capacity',
      '5Gi',
    ],
    [
      'pvc access modes bound',
      pvc({ volumeName: 'pv1' }, { accessModes: ['ReadWriteOncePod'] }),
      'Access Modes',
      'RWOP',
    ],
    ['pvc volume mode', pvc({ volumeMode: 'Block' }), 'VolumeMode', 'Block'],
  ])('%s', (_name, o, column, want) => {
    expect(cell(o, column)).toEqual(want);
  });

  it('puts Age where kubectl does and marks wide columns', () => {
    const names = (kind: string, priority: number) =>
      rt(kind)
        .columns.filter((c) => c.priority === priority)
        .map((c) => c.name);
    expect(names('Service', 0)).toEqual(['Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age']);
    expect(names('Service', 1)).toEqual(['Selector']);
    expect(names('Node', 0)).toEqual(['Status', 'Roles', 'Age', 'Version']);
    expect(names('Event', 0)).toEqual(['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  });
});
