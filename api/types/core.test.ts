import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import {
  ago,
  b64,
  defaulted,
  ev,
  node,
  obj,
  port,
  pv,
  pvc,
  rt,
  secret,
  svc,
} from '../../testing/core-fixtures.js';
import type { KubeObject } from '../meta.js';
import { coreTypes } from './core.js';

// Whoever validates requests registers the formats; the schema tests need date-time.
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => !Number.isNaN(Date.parse(v)));

describe('core/v1 schemas', () => {
  it.each<[string, KubeObject]>([
    [
      'LoadBalancer Service with status',
      svc(
        {
          type: 'LoadBalancer',
          ports: [port(443, { name: 'https', targetPort: 'https', nodePort: 31443, appProtocol: 'https' })],
          clusterIP: '10.96.0.5',
          clusterIPs: ['10.96.0.5'],
          ipFamilies: ['IPv4'],
          ipFamilyPolicy: 'SingleStack',
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
          loadBalancerSourceRanges: ['10.0.0.0/8'],
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 32000,
          allocateLoadBalancerNodePorts: true,
          loadBalancerClass: 'example.com/lb',
          internalTrafficPolicy: 'Cluster',
          trafficDistribution: 'PreferClose',
          publishNotReadyAddresses: false,
        },
        {
          loadBalancer: {
            ingress: [{ ip: '1.2.3.4', ipMode: 'VIP', ports: [{ port: 443, protocol: 'TCP' }] }],
          },
          conditions: [
            { type: 'Ready', status: 'True', lastTransitionTime: ago(1), reason: 'Ok', message: '' },
          ],
        },
      ),
    ],
    [
      'Endpoints',
      obj('Endpoints', {
        subsets: [
          {
            addresses: [
              { ip: '10.244.0.5', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'web-1', uid: 'u1' } },
            ],
            notReadyAddresses: [{ ip: '10.244.0.6', hostname: 'web-2' }],
            ports: [{ name: 'http', port: 80, protocol: 'TCP', appProtocol: 'http' }],
          },
        ],
      }),
    ],
    [
      'Node as the kubelet reports it',
      node(
        {
          podCIDR: '10.244.1.0/24',
          podCIDRs: ['10.244.1.0/24'],
          providerID: 'nanokube://n1',
          taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute', timeAdded: ago(1) }],
          configSource: { configMap: { name: 'kc', namespace: 'kube-system', kubeletConfigKey: 'k' } },
        },
        {
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: 3.5, memory: '7Gi' },
          conditions: [
            { type: 'Ready', status: 'True', lastHeartbeatTime: ago(0), lastTransitionTime: null },
          ],
          addresses: [{ type: 'InternalIP', address: '192.168.1.10' }],
          daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
          nodeInfo: {
            machineID: 'm',
            systemUUID: 's',
            bootID: 'b',
            kernelVersion: '6.1.0',
            osImage: 'Debian',
            containerRuntimeVersion: 'docker://27.3.1',
            kubeletVersion: 'v1.31.0',
            kubeProxyVersion: '',
            operatingSystem: 'linux',
            architecture: 'amd64',
            swap: { capacity: 0 },
          },
          images: [{ names: ['nginx:1.25'], sizeBytes: 187000000 }],
          volumesInUse: ['kubernetes.io/csi/x'],
          volumesAttached: [{ name: 'kubernetes.io/csi/x', devicePath: '' }],
          runtimeHandlers: [{ name: '', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
          features: { supplementalGroupsPolicy: true },
        },
      ),
    ],
    ['Secret', secret({ type: 'Opaque', data: { a: b64('x') }, stringData: { b: 'y' }, immutable: true })],
    [
      'Event from client-go, with nulls',
      ev({
        reason: 'Pulled',
        message: 'ok',
        source: { component: 'kubelet', host: 'n1' },
        firstTimestamp: ago(3),
        lastTimestamp: ago(1),
        count: 2,
        type: 'Normal',
        eventTime: null,
        reportingComponent: '',
        reportingInstance: '',
      }),
    ],
    [
      'ServiceAccount',
      obj('ServiceAccount', {
        secrets: [{ name: 't' }],
        imagePullSecrets: [{ name: 'reg' }],
        automountServiceAccountToken: false,
      }),
    ],
    [
      'PersistentVolume with local source',
      pv({
        hostPath: undefined,
        local: { path: '/mnt/disk1' },
        claimRef: { kind: 'PersistentVolumeClaim', namespace: 'default', name: 'data', uid: 'u' },
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: 'local',
        mountOptions: ['noatime'],
        volumeMode: 'Filesystem',
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['n1'] }] },
            ],
          },
        },
      }),
    ],
    [
      'PersistentVolumeClaim',
      pvc(
        {
          selector: { matchLabels: { tier: 'db' } },
          storageClassName: 'standard',
          volumeName: 'pv1',
          dataSource: { kind: 'PersistentVolumeClaim', name: 'src' },
        },
        { phase: 'Bound', accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } },
      ),
    ],
  ])('accepts %s', (_name, o) => {
    const body = JSON.parse(JSON.stringify(o));
    expect([...Value.Errors(rt(o.kind!).schema, body)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  });

  it.each<[string, KubeObject]>([
    ['an unknown Service spec field', svc({ clusterIp: '10.96.0.1' })],
    ['an unknown Node status field', node({}, { ready: true })],
  ])('rejects %s', (_name, o) => {
    expect(Value.Check(rt(o.kind!).schema, o)).toBe(false);
  });
});

describe('core/v1 defaults', () => {
  it.each<[string, KubeObject, string, unknown]>([
    ['Service type', svc({ ports: [port(80)] }), 'spec.type', 'ClusterIP'],
    ['Service session affinity', svc({ ports: [port(80)] }), 'spec.sessionAffinity', 'None'],
    ['port protocol', svc({ ports: [port(80)] }), 'spec.ports.0.protocol', 'TCP'],
    ['targetPort from port', svc({ ports: [port(80)] }), 'spec.ports.0.targetPort', 80],
    [
      'named targetPort kept',
      svc({ ports: [port(80, { targetPort: 'http' })] }),
      'spec.ports.0.targetPort',
      'http',
    ],
    ['ipFamilies', svc({ ports: [port(80)] }), 'spec.ipFamilies', ['IPv4']],
    [
      'ipFamilies from an IPv6 clusterIP',
      svc({ clusterIP: 'fd00::1', ports: [port(80)] }),
      'spec.ipFamilies',
      ['IPv6'],
    ],
    ['ipFamilyPolicy', svc({ ports: [port(80)] }), 'spec.ipFamilyPolicy', 'SingleStack'],
    [
      'clusterIPs from clusterIP',
      svc({ clusterIP: '10.96.0.9', ports: [port(80)] }),
      'spec.clusterIPs',
      ['10.96.0.9'],
    ],
    ['internalTrafficPolicy', svc({ ports: [port(80)] }), 'spec.internalTrafficPolicy', 'Cluster'],
    [
      'no externalTrafficPolicy for ClusterIP',
      svc({ ports: [port(80)] }),
      'spec.externalTrafficPolicy',
      undefined,
    ],
    [
      'externalTrafficPolicy for NodePort',
      svc({ type: 'NodePort', ports: [port(80)] }),
      'spec.externalTrafficPolicy',
      'Cluster',
    ],
    [
      'allocateLoadBalancerNodePorts',
      svc({ type: 'LoadBalancer', ports: [port(80)] }),
      'spec.allocateLoadBalancerNodePorts',
      true,
    ],
    [
      'ClientIP timeout',
      svc({ sessionAffinity: 'ClientIP', ports: [port(80)] }),
      'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
      10800,
    ],
    [
      'no ipFamilies for ExternalName',
      svc({ type: 'ExternalName', externalName: 'a.example.com' }),
      'spec.ipFamilies',
      undefined,
    ],
    [
      'Endpoints port protocol',
      obj('Endpoints', { subsets: [{ ports: [{ port: 80 }] }] }),
      'subsets.0.ports.0.protocol',
      'TCP',
    ],
    [
      'Node allocatable from capacity',
      node({}, { capacity: { cpu: '2' } }),
      'status.allocatable',
      { cpu: '2' },
    ],
    ['Node podCIDRs from podCIDR', node({ podCIDR: '10.244.1.0/24' }), 'spec.podCIDRs', ['10.244.1.0/24']],
    ['Node podCIDR from podCIDRs', node({ podCIDRs: ['10.244.2.0/24'] }), 'spec.podCIDR', '10.244.2.0/24'],
    ['Secret type', secret({}), 'type', 'Opaque'],
    [
      'stringData merged into data',
      secret({ data: { a: b64('old') }, stringData: { a: 'new' } }),
      'data',
      { a: b64('new') },
    ],
    ['stringData removed', secret({ stringData: { a: 'x' } }), 'stringData', undefined],
    ['PV reclaim policy', pv({}), 'spec.persistentVolumeReclaimPolicy', 'Retain'],
    ['PV volume mode', pv({}), 'spec.volumeMode', 'Filesystem'],
    ['PV phase', pv({}), 'status.phase', 'Pending'],
    ['PVC volume mode', pvc({}), 'spec.volumeMode', 'Filesystem'],
    ['PVC phase', pvc({}), 'status.phase', 'Pending'],
    [
      'PVC dataSourceRef from dataSource',
      pvc({ dataSource: { kind: 'PersistentVolumeClaim', name: 's' } }),
      'spec.dataSourceRef',
      { kind: 'PersistentVolumeClaim', name: 's' },
    ],
  ])('%s', (_name, o, path, want) => {
    let got: any = defaulted(o);
    for (const part of path.split('.')) got = got?.[part];
    expect(got).toEqual(want);
  });
});

describe('core/v1 field labels', () => {
  it.each<[string, KubeObject, Record<string, string>]>([
    ['node', node({ unschedulable: true }), { 'spec.unschedulable': 'true' }],
    ['secret', secret({ type: 'Opaque' }), { type: 'Opaque' }],
    ['service', svc({ clusterIP: 'None' }), { 'spec.clusterIP': 'None', 'spec.type': '' }],
    [
      'event',
      ev({ reason: 'Killing', type: 'Normal', reportingComponent: 'kubelet' }),
      {
        'involvedObject.kind': 'Pod',
        'involvedObject.name': 'web-1',
        reason: 'Killing',
        source: 'kubelet',
        type: 'Normal',
      },
    ],
  ])('%s', (_name, o, want) => {
    expect(rt(o.kind!).fieldLabels?.(o)).toMatchObject(want);
  });

  it('registers every kind once with its short names', () => {
    const short = Object.fromEntries(coreTypes.map((t) => [t.kind, t.shortNames]));
    expect(short).toMatchObject({
      Service: ['svc'],
      Endpoints: ['ep'],
      Node: ['no'],
      Event: ['ev'],
      ServiceAccount: ['sa'],
      PersistentVolume: ['pv'],
      PersistentVolumeClaim: ['pvc'],
    });
    expect(rt('Node').namespaced).toBe(false);
    expect(rt('PersistentVolume').namespaced).toBe(false);
  });
});
