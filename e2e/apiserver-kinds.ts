/**
 * One small valid object of every kind the apiserver serves, with the path
 * of its collection, for tests that run the same verbs over all of them.
 */
import type { KubeObject } from '../api/meta.js';
import { configMap, deployment, pod } from './apiserver-fixtures.js';

export interface KindCase {
  /** The resource (plural). */
  name: string;
  /** Collection path; `{ns}` stands for the test's namespace. */
  path: string;
  namespaced: boolean;
  make: (name: string) => KubeObject;
}

const core = (plural: string) => `/api/v1/namespaces/{ns}/${plural}`;
const grouped = (gv: string, plural: string) => `/apis/${gv}/namespaces/{ns}/${plural}`;

function obj(apiVersion: string, kind: string, name: string, rest: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name }, ...rest };
}

const podSpec = { containers: [{ name: 'app', image: 'busybox' }] };
const template = { metadata: { labels: { app: 'x' } }, spec: podSpec };
const selector = { matchLabels: { app: 'x' } };

export const kinds: KindCase[] = [
  // core/v1
  { name: 'configmaps', path: core('configmaps'), namespaced: true, make: (n) => configMap(n, { k: 'v' }) },
  { name: 'pods', path: core('pods'), namespaced: true, make: (n) => pod(n) },
  {
    name: 'namespaces',
    path: '/api/v1/namespaces',
    namespaced: false,
    make: (n) => obj('v1', 'Namespace', n),
  },
  { name: 'nodes', path: '/api/v1/nodes', namespaced: false, make: (n) => obj('v1', 'Node', n) },
  {
    name: 'secrets',
    path: core('secrets'),
    namespaced: true,
    make: (n) => obj('v1', 'Secret', n, { stringData: { k: 'v' } }),
  },
  {
    name: 'serviceaccounts',
    path: core('serviceaccounts'),
    namespaced: true,
    make: (n) => obj('v1', 'ServiceAccount', n),
  },
  {
    name: 'services',
    path: core('services'),
    namespaced: true,
    make: (n) => obj('v1', 'Service', n, { spec: { selector: { app: 'x' }, ports: [{ port: 80 }] } }),
  },
  {
    name: 'endpoints',
    path: core('endpoints'),
    namespaced: true,
    make: (n) =>
      obj('v1', 'Endpoints', n, { subsets: [{ addresses: [{ ip: '10.244.0.7' }], ports: [{ port: 80 }] }] }),
  },
  {
    name: 'events',
    path: core('events'),
    namespaced: true,
    make: (n) =>
      obj('v1', 'Event', n, {
        involvedObject: { kind: 'Pod', name: 'p', namespace: 'verbs' },
        reason: 'Test',
        message: 'hello',
        type: 'Normal',
      }),
  },
  {
    name: 'persistentvolumes',
    path: '/api/v1/persistentvolumes',
    namespaced: false,
    make: (n) =>
      obj('v1', 'PersistentVolume', n, {
        spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/tmp/pv' } },
      }),
  },
  {
    name: 'persistentvolumeclaims',
    path: core('persistentvolumeclaims'),
    namespaced: true,
    make: (n) =>
      obj('v1', 'PersistentVolumeClaim', n, {
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      }),
  },
  {
    name: 'replicationcontrollers',
    path: core('replicationcontrollers'),
    namespaced: true,
    make: (n) => obj('v1', 'ReplicationController', n, { spec: { template } }),
  },
  // apps/v1
  {
    name: 'deployments',
    path: grouped('apps/v1', 'deployments'),
    namespaced: true,
    make: (n) => deployment(n),
  },
  {
    name: 'replicasets',
    path: grouped('apps/v1', 'replicasets'),
    namespaced: true,
    make: (n) => obj('apps/v1', 'ReplicaSet', n, { spec: { selector, template } }),
  },
  {
    name: 'statefulsets',
    path: grouped('apps/v1', 'statefulsets'),
    namespaced: true,
    make: (n) => obj('apps/v1', 'StatefulSet', n, { spec: { serviceName: n, selector, template } }),
  },
  {
    name: 'daemonsets',
    path: grouped('apps/v1', 'daemonsets'),
    namespaced: true,
    make: (n) => obj('apps/v1', 'DaemonSet', n, { spec: { selector, template } }),
  },
  // batch/v1
  {
    name: 'jobs',
    path: grouped('batch/v1', 'jobs'),
    namespaced: true,
    make: (n) =>
      obj('batch/v1', 'Job', n, { spec: { template: { spec: { ...podSpec, restartPolicy: 'Never' } } } }),
  },
  {
    name: 'cronjobs',
    path: grouped('batch/v1', 'cronjobs'),
    namespaced: true,
    make: (n) =>
      obj('batch/v1', 'CronJob', n, {
        spec: {
          schedule: '*/5 * * * *',
          jobTemplate: { spec: { template: { spec: { ...podSpec, restartPolicy: 'OnFailure' } } } },
        },
      }),
  },
  // networking.k8s.io/v1
  {
    name: 'ingresses',
    path: grouped('networking.k8s.io/v1', 'ingresses'),
    namespaced: true,
    make: (n) =>
      obj('networking.k8s.io/v1', 'Ingress', n, {
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      }),
  },
  {
    name: 'ingressclasses',
    path: '/apis/networking.k8s.io/v1/ingressclasses',
    namespaced: false,
    make: (n) =>
      obj('networking.k8s.io/v1', 'IngressClass', n, { spec: { controller: 'example.com/ingress' } }),
  },
  // coordination.k8s.io/v1
  {
    name: 'leases',
    path: grouped('coordination.k8s.io/v1', 'leases'),
    namespaced: true,
    make: (n) =>
      obj('coordination.k8s.io/v1', 'Lease', n, { spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } }),
  },
  // discovery.k8s.io/v1
  {
    name: 'endpointslices',
    path: grouped('discovery.k8s.io/v1', 'endpointslices'),
    namespaced: true,
    make: (n) =>
      obj('discovery.k8s.io/v1', 'EndpointSlice', n, {
        addressType: 'IPv4',
        endpoints: [{ addresses: ['10.244.0.5'] }],
        ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
      }),
  },
];
