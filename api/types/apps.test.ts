import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { appsTypes, type DaemonSet, type Deployment, type ReplicaSet, type StatefulSet } from './apps.js';

const now = new Date('2024-05-01T12:00:00Z');
const rt = (kind: string) => appsTypes.find((t) => t.kind === kind) as ResourceType;

function template(labels: Record<string, string> = { app: 'web' }) {
  return { metadata: { labels }, spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] } };
}

function obj(kind: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: template(), ...spec },
    ...(status ? { status } : {}),
  };
}

function defaulted(kind: string, spec: Record<string, unknown> = {}): KubeObject {
  const o = obj(kind, spec);
  rt(kind).defaults?.(o);
  return o;
}

/** Column name → cell, for one object. */
function cells(kind: string, o: KubeObject): Record<string, unknown> {
  return Object.fromEntries(rt(kind).columns.map((c) => [c.name, c.cell(o, now)]));
}

describe('apps schemas', () => {
  it.each([
    {
      name: 'a Deployment as the server returns it',
      kind: 'Deployment',
      o: {
        ...defaulted('Deployment', { paused: false, minReadySeconds: 5 }),
        status: {
          observedGeneration: 2,
          replicas: 1,
          updatedReplicas: 1,
          readyReplicas: 1,
          availableReplicas: 1,
          conditions: [
            {
              type: 'Available',
              status: 'True',
              lastUpdateTime: '2024-05-01T11:00:05Z',
              lastTransitionTime: '2024-05-01T11:00:05Z',
              reason: 'MinimumReplicasAvailable',
              message: 'Deployment has minimum availability.',
            },
          ],
        },
      },
    },
    {
      name: 'a StatefulSet with claim templates and ordinals',
      kind: 'StatefulSet',
      o: defaulted('StatefulSet', {
        serviceName: 'web',
        minReadySeconds: 0,
        ordinals: { start: 1 },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data' },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        ],
      }),
    },
    { name: 'a defaulted DaemonSet', kind: 'DaemonSet', o: defaulted('DaemonSet') },
    {
      name: 'a defaulted ReplicaSet',
      kind: 'ReplicaSet',
      o: defaulted('ReplicaSet', { minReadySeconds: 3 }),
    },
  ])('accepts $name', ({ kind, o }) => {
    expect(Value.Check(rt(kind).schema, o)).toBe(true);
  });

  it('rejects an unknown spec field', () => {
    expect(Value.Check(rt('Deployment').schema, obj('Deployment', { replica: 3 }))).toBe(false);
  });
});

describe('apps defaults', () => {
  it('fills a Deployment as Kubernetes does', () => {
    const d = defaulted('Deployment') as Deployment;
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    expect(d.spec?.template?.spec).toMatchObject({ restartPolicy: 'Always', dnsPolicy: 'ClusterFirst' });
  });

  it.each([
    { name: 'Recreate keeps no rollingUpdate', strategy: { type: 'Recreate' }, want: { type: 'Recreate' } },
    {
      name: 'a partial rollingUpdate is completed',
      strategy: { rollingUpdate: { maxSurge: 1 } },
      want: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: '25%' } },
    },
  ])('Deployment strategy: $name', ({ strategy, want }) => {
    expect((defaulted('Deployment', { strategy }) as Deployment).spec?.strategy).toEqual(want);
  });

  it('keeps an explicit replicas of 0', () => {
    expect((defaulted('ReplicaSet', { replicas: 0 }) as ReplicaSet).spec?.replicas).toBe(0);
  });

  it('fills a StatefulSet and its claim templates', () => {
    const sts = defaulted('StatefulSet', {
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
    }) as StatefulSet;
    expect(sts.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      revisionHistoryLimit: 10,
    });
    expect(sts.spec?.volumeClaimTemplates?.[0]).toMatchObject({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      spec: { volumeMode: 'Filesystem' },
      status: { phase: 'Pending' },
    });
  });

  it('leaves an OnDelete StatefulSet without rollingUpdate', () => {
    const sts = defaulted('StatefulSet', { updateStrategy: { type: 'OnDelete' } }) as StatefulSet;
    expect(sts.spec?.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it('fills a DaemonSet', () => {
    const ds = defaulted('DaemonSet') as DaemonSet;
    expect(ds.spec?.updateStrategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    expect(ds.spec?.revisionHistoryLimit).toBe(10);
  });
});

describe('apps columns', () => {
  it.each([
    {
      name: 'Deployment',
      kind: 'Deployment',
      o: obj('Deployment', { replicas: 3 }, { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 }),
      want: {
        Ready: '2/3',
        'Up-to-date': 3,
        Available: 2,
        Age: '60m',
        Containers: 'app',
        Images: 'nginx:1.25',
        Selector: 'app=web',
      },
    },
    {
      name: 'Deployment with no status yet',
      kind: 'Deployment',
      o: obj('Deployment', { replicas: 1 }),
      want: { Ready: '0/1', 'Up-to-date': 0, Available: 0 },
    },
    {
      name: 'ReplicaSet',
      kind: 'ReplicaSet',
      o: obj(
        'ReplicaSet',
        {
          replicas: 2,
          selector: {
            matchLabels: { app: 'web' },
            matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['b', 'a'] }],
          },
        },
        { replicas: 2, readyReplicas: 1 },
      ),
      want: { Desired: 2, Current: 2, Ready: 1, Selector: 'app=web,tier notin (a,b)' },
    },
    {
      name: 'StatefulSet',
      kind: 'StatefulSet',
      o: obj('StatefulSet', { replicas: 3 }, { readyReplicas: 3 }),
      want: { Ready: '3/3', Age: '60m', Containers: 'app', Images: 'nginx:1.25' },
    },
    {
      name: 'DaemonSet',
      kind: 'DaemonSet',
      o: obj(
        'DaemonSet',
        {
          template: {
            ...template(),
            spec: { ...template().spec, nodeSelector: { 'kubernetes.io/os': 'linux', disk: 'ssd' } },
          },
        },
        {
          desiredNumberScheduled: 3,
          currentNumberScheduled: 3,
          numberReady: 2,
          updatedNumberScheduled: 3,
          numberAvailable: 2,
        },
      ),
      want: {
        Desired: 3,
        Current: 3,
        Ready: 2,
        'Up-to-date': 3,
        Available: 2,
        'Node Selector': 'disk=ssd,kubernetes.io/os=linux',
      },
    },
    {
      name: 'DaemonSet without node selector',
      kind: 'DaemonSet',
      o: obj('DaemonSet', {}),
      want: { 'Node Selector': '<none>' },
    },
  ])('$name', ({ kind, o, want }) => {
    expect(cells(kind, o)).toMatchObject(want);
  });

  it.each([
    {
      kind: 'Deployment',
      names: ['Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
    },
    { kind: 'ReplicaSet', names: ['Desired', 'Current', 'Ready', 'Age', 'Containers', 'Images', 'Selector'] },
    { kind: 'StatefulSet', names: ['Ready', 'Age', 'Containers', 'Images'] },
    {
      kind: 'DaemonSet',
      names: [
        'Desired',
        'Current',
        'Ready',
        'Up-to-date',
        'Available',
        'Node Selector',
        'Age',
        'Containers',
        'Images',
        'Selector',
      ],
    },
  ])('$kind has the kubectl columns, wide ones last', ({ kind, names }) => {
    const cols = rt(kind).columns;
    expect(cols.map((c) => c.name)).toEqual(names);
    expect(cols.filter((c) => c.priority === 1).map((c) => c.name)).toEqual(
      names.filter((n) => ['Containers', 'Images', 'Selector'].includes(n)),
    );
  });

  it('gives the ReplicaSet status.replicas field label', () => {
    expect(rt('ReplicaSet').fieldLabels?.(obj('ReplicaSet', {}, { replicas: 4 }))).toEqual({
      'status.replicas': '4',
    });
  });
});
