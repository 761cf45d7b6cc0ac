import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import { ago, b64, ev, node, obj, port, problems, pv, pvc, secret, svc } from './core-fixtures.js';

const bigValue = b64('x'.repeat(1024 * 1024 + 1));

describe('core/v1 validation', () => {
  it.each<[string, KubeObject, KubeObject | undefined, string[]]>([
    ['a plain Service', svc({ ports: [port(80)] }), undefined, []],
    ['a Service without ports', svc({}), undefined, ['spec.ports: FieldValueRequired']],
    [
      'an ExternalName Service without ports',
      svc({ type: 'ExternalName', externalName: 'db.example.com.' }),
      undefined,
      [],
    ],
    [
      'ExternalName without a name',
      svc({ type: 'ExternalName' }),
      undefined,
      ['spec.externalName: FieldValueRequired'],
    ],
    [
      'an unknown type',
      svc({ type: 'Magic', ports: [port(80)] }),
      undefined,
      ['spec.type: FieldValueNotSupported'],
    ],
    [
      'port 0',
      svc({ ports: [port(0, { targetPort: 8080 })] }),
      undefined,
      ['spec.ports[0].port: FieldValueInvalid'],
    ],
    [
      'port 0 defaulting targetPort 0',
      svc({ ports: [port(0)] }),
      undefined,
      ['spec.ports[0].port: FieldValueInvalid', 'spec.ports[0].targetPort: FieldValueInvalid'],
    ],
    [
      'port 70000',
      svc({ ports: [port(70000, { targetPort: 80 })] }),
      undefined,
      ['spec.ports[0].port: FieldValueInvalid'],
    ],
    [
      'two ports, one unnamed',
      svc({ ports: [port(80, { name: 'a' }), port(81)] }),
      undefined,
      ['spec.ports[1].name: FieldValueRequired'],
    ],
    [
      'two ports, same name',
      svc({ ports: [port(80, { name: 'a' }), port(81, { name: 'a' })] }),
      undefined,
      ['spec.ports[1].name: FieldValueDuplicate'],
    ],
    [
      'same port and protocol twice',
      svc({ ports: [port(80, { name: 'a' }), port(80, { name: 'b' })] }),
      undefined,
      ['spec.ports[1]: FieldValueDuplicate'],
    ],
    [
      'a bad protocol',
      svc({ ports: [port(80, { protocol: 'ICMP' })] }),
      undefined,
      ['spec.ports[0].protocol: FieldValueNotSupported'],
    ],
    [
      'a bad named targetPort',
      svc({ ports: [port(80, { targetPort: 'Not_A_Name' })] }),
      undefined,
      ['spec.ports[0].targetPort: FieldValueInvalid'],
    ],
    [
      'a nodePort on ClusterIP',
      svc({ ports: [port(80, { nodePort: 30080 })] }),
      undefined,
      ['spec.ports[0].nodePort: FieldValueForbidden'],
    ],
    [
      'a bad selector label',
      svc({ selector: { app: 'bad value!' }, ports: [port(80)] }),
      undefined,
      ['spec.selector: FieldValueInvalid'],
    ],
    [
      'externalTrafficPolicy on ClusterIP',
      svc({ externalTrafficPolicy: 'Local', ports: [port(80)] }),
      undefined,
      ['spec.externalTrafficPolicy: FieldValueInvalid'],
    ],
    [
      'source ranges on ClusterIP',
      svc({ loadBalancerSourceRanges: ['10.0.0.0/8'], ports: [port(80)] }),
      undefined,
      ['spec.loadBalancerSourceRanges: FieldValueForbidden'],
    ],
    [
      'headless NodePort',
      svc({ type: 'NodePort', clusterIP: 'None', ports: [port(80)] }),
      undefined,
      ['spec.clusterIPs[0]: FieldValueInvalid'],
    ],
    [
      'a changed clusterIP',
      svc({ clusterIP: '10.96.0.2', ports: [port(80)] }),
      svc({ clusterIP: '10.96.0.1', ports: [port(80)] }),
      ['spec.clusterIPs[0]: FieldValueInvalid'],
    ],
    [
      'Endpoints with a bad IP',
      obj('Endpoints', { subsets: [{ addresses: [{ ip: '10.0.0' }], ports: [{ port: 80 }] }] }),
      undefined,
      ['subsets[0].addresses[0].ip: FieldValueInvalid'],
    ],
    [
      'Endpoints on loopback',
      obj('Endpoints', { subsets: [{ addresses: [{ ip: '127.0.0.1' }] }] }),
      undefined,
      ['subsets[0].addresses[0].ip: FieldValueInvalid'],
    ],
    [
      'an Endpoints subset without addresses',
      obj('Endpoints', { subsets: [{ ports: [{ port: 80 }] }] }),
      undefined,
      ['subsets[0]: FieldValueRequired'],
    ],
    [
      'a Node with a bad taint',
      node({ taints: [{ key: 'k', effect: 'Sometimes' }] }),
      undefined,
      ['spec.taints[0].effect: FieldValueNotSupported'],
    ],
    [
      'a Node with a duplicate taint',
      node({
        taints: [
          { key: 'k', effect: 'NoSchedule' },
          { key: 'k', value: 'v', effect: 'NoSchedule' },
        ],
      }),
      undefined,
      ['spec.taints[1]: FieldValueDuplicate'],
    ],
    [
      'a Node with two IPv4 pod CIDRs',
      node({ podCIDRs: ['10.244.1.0/24', '10.244.2.0/24'] }),
      undefined,
      ['spec.podCIDRs: FieldValueInvalid'],
    ],
    [
      'a Node changing its podCIDR',
      node({ podCIDR: '10.244.2.0/24' }),
      node({ podCIDR: '10.244.1.0/24' }),
      ['spec.podCIDRs: FieldValueForbidden'],
    ],
    ['a Node getting its first podCIDR', node({ podCIDR: '10.244.2.0/24' }), node({}), []],
    [
      'a valid Secret',
      secret({ data: { 'tls.crt': b64('c'), 'tls.key': b64('k') }, type: 'kubernetes.io/tls' }),
      undefined,
      [],
    ],
    [
      'Secret data that is not base64',
      secret({ data: { a: 'not base64!' } }),
      undefined,
      ['data[a]: FieldValueInvalid'],
    ],
    ['a bad Secret key', secret({ data: { 'a/b': b64('x') } }), undefined, ['data: FieldValueInvalid']],
    [
      'a TLS Secret without its key',
      secret({ type: 'kubernetes.io/tls', data: { 'tls.crt': b64('c') } }),
      undefined,
      ['data[tls.key]: FieldValueRequired'],
    ],
    [
      'a dockerconfigjson Secret without config',
      secret({ type: 'kubernetes.io/dockerconfigjson' }),
      undefined,
      ['data[.dockerconfigjson]: FieldValueRequired'],
    ],
    [
      'a dockerconfigjson Secret with bad JSON',
      secret({ type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{' } }),
      undefined,
      ['data[.dockerconfigjson]: FieldValueInvalid'],
    ],
    [
      'a token Secret without its account',
      secret({ type: 'kubernetes.io/service-account-token' }),
      undefined,
      ['metadata.annotations[kubernetes.io/service-account.name]: FieldValueRequired'],
    ],
    [
      'a token Secret with its account',
      secret(
        { type: 'kubernetes.io/service-account-token' },
        { annotations: { 'kubernetes.io/service-account.name': 'default' } },
      ),
      undefined,
      [],
    ],
    ['a Secret over 1 MiB', secret({ data: { big: bigValue } }), undefined, ['data: FieldValueTooLong']],
    ['a changed Secret type', secret({ type: 'Other' }), secret({}), ['type: FieldValueInvalid']],
    [
      'changed data of an immutable Secret',
      secret({ immutable: true, data: { a: b64('2') } }),
      secret({ immutable: true, data: { a: b64('1') } }),
      ['data: FieldValueForbidden'],
    ],
    ['an old-style Event', ev({ reason: 'Pulled' }), undefined, []],
    [
      'a Node Event in default',
      obj('Event', { involvedObject: { kind: 'Node', name: 'n1' } }),
      undefined,
      [],
    ],
    [
      'an Event whose object is elsewhere',
      obj('Event', { involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } }),
      undefined,
      ['involvedObject.namespace: FieldValueInvalid'],
    ],
    [
      'a new-style Event missing fields',
      ev({ eventTime: ago(0) }),
      undefined,
      [
        'reportingComponent: FieldValueRequired',
        'reportingInstance: FieldValueRequired',
        'action: FieldValueRequired',
        'reason: FieldValueRequired',
      ],
    ],
    ['a valid PV', pv({}), undefined, []],
    [
      'a PV without access modes',
      pv({ accessModes: [] }),
      undefined,
      ['spec.accessModes: FieldValueRequired'],
    ],
    ['a PV without a source', pv({ hostPath: undefined }), undefined, ['spec: FieldValueRequired']],
    [
      'a PV with two sources',
      pv({ nfs: { server: 'nfs', path: '/x' } }),
      undefined,
      ['spec.nfs: FieldValueForbidden'],
    ],
    [
      'a local PV without node affinity',
      pv({ hostPath: undefined, local: { path: '/mnt' } }),
      undefined,
      ['spec.nodeAffinity: FieldValueRequired'],
    ],
    [
      'a PV with zero capacity',
      pv({ capacity: { storage: '0' } }),
      undefined,
      ['spec.capacity[storage]: FieldValueInvalid'],
    ],
    [
      'a PV with a bad reclaim policy',
      pv({ persistentVolumeReclaimPolicy: 'Keep' }),
      undefined,
      ['spec.persistentVolumeReclaimPolicy: FieldValueNotSupported'],
    ],
    [
      'a PV changing its source',
      pv({ hostPath: { path: '/other' } }),
      pv({}),
      ['spec.persistentvolumesource: FieldValueForbidden'],
    ],
    ['a valid PVC', pvc({}), undefined, []],
    [
      'a PVC without access modes',
      pvc({ accessModes: undefined }),
      undefined,
      ['spec.accessModes: FieldValueRequired'],
    ],
    [
      'a PVC without a storage request',
      pvc({ resources: {} }),
      undefined,
      ['spec.resources[storage]: FieldValueRequired'],
    ],
    [
      'RWOP with another mode',
      pvc({ accessModes: ['ReadWriteOncePod', 'ReadWriteOnce'] }),
      undefined,
      ['spec.accessModes: FieldValueForbidden'],
    ],
    ['a PVC being bound', pvc({ volumeName: 'pv1' }), pvc({}), []],
    [
      'a PVC changing access modes',
      pvc({ accessModes: ['ReadWriteMany'] }),
      pvc({}),
      ['spec: FieldValueForbidden'],
    ],
    [
      'a bound PVC growing',
      pvc({ resources: { requests: { storage: '2Gi' } } }, { phase: 'Bound' }),
      pvc({}, { phase: 'Bound' }),
      [],
    ],
  ])('%s', (_name, o, old, want) => {
    expect(problems(o, old)).toEqual(want);
  });
});
