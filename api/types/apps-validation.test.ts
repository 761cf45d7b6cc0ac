import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import type { ResourceType } from '../registry.js';
import { appsTypes, type Deployment } from './apps.js';

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

describe('apps validation', () => {
  const errors = (kind: string, o: KubeObject, old?: KubeObject) =>
    (rt(kind).validate?.(o, old) ?? []).map((e) => `${e.type} ${e.field}`);

  it.each(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet'])('accepts a defaulted %s', (kind) => {
    expect(errors(kind, defaulted(kind))).toEqual([]);
  });

  it.each([
    {
      name: 'missing selector',
      kind: 'Deployment',
      spec: { selector: undefined },
      want: 'FieldValueRequired spec.selector',
    },
    {
      name: 'empty selector',
      kind: 'ReplicaSet',
      spec: { selector: {} },
      want: 'FieldValueInvalid spec.selector',
    },
    {
      name: 'selector that misses the template',
      kind: 'DaemonSet',
      spec: { selector: { matchLabels: { app: 'db' } } },
      want: 'FieldValueInvalid spec.template.metadata.labels',
    },
    {
      name: 'bad selector operator',
      kind: 'StatefulSet',
      spec: { selector: { matchExpressions: [{ key: 'app', operator: 'Is', values: ['web'] }] } },
      want: 'FieldValueInvalid spec.selector.matchExpressions[0].operator',
    },
    {
      name: 'negative replicas',
      kind: 'Deployment',
      spec: { replicas: -1 },
      want: 'FieldValueInvalid spec.replicas',
    },
    {
      name: 'restartPolicy other than Always',
      kind: 'Deployment',
      spec: { template: { ...template(), spec: { ...template().spec, restartPolicy: 'Never' } } },
      want: 'FieldValueNotSupported spec.template.spec.restartPolicy',
    },
    {
      name: 'activeDeadlineSeconds in a template',
      kind: 'ReplicaSet',
      spec: { template: { ...template(), spec: { ...template().spec, activeDeadlineSeconds: 5 } } },
      want: 'FieldValueForbidden spec.template.spec.activeDeadlineSeconds',
    },
    {
      name: 'no template',
      kind: 'ReplicaSet',
      spec: { template: undefined },
      want: 'FieldValueRequired spec.template',
    },
    {
      name: 'Recreate with rollingUpdate',
      kind: 'Deployment',
      spec: { strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } },
      want: 'FieldValueForbidden spec.strategy.rollingUpdate',
    },
    {
      name: 'maxUnavailable and maxSurge both 0',
      kind: 'Deployment',
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '0%' } } },
      want: 'FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable',
    },
    {
      name: 'maxUnavailable over 100%',
      kind: 'Deployment',
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '120%', maxSurge: 1 } } },
      want: 'FieldValueInvalid spec.strategy.rollingUpdate.maxUnavailable',
    },
    {
      name: 'maxSurge not a percent',
      kind: 'Deployment',
      spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 'lots' } } },
      want: 'FieldValueInvalid spec.strategy.rollingUpdate.maxSurge',
    },
    {
      name: 'unknown strategy',
      kind: 'Deployment',
      spec: { strategy: { type: 'BlueGreen' } },
      want: 'FieldValueNotSupported spec.strategy.type',
    },
    {
      name: 'progress deadline not above minReadySeconds',
      kind: 'Deployment',
      spec: { minReadySeconds: 600, progressDeadlineSeconds: 600 },
      want: 'FieldValueInvalid spec.progressDeadlineSeconds',
    },
    {
      name: 'bad podManagementPolicy',
      kind: 'StatefulSet',
      spec: { podManagementPolicy: 'Random' },
      want: 'FieldValueInvalid spec.podManagementPolicy',
    },
    {
      name: 'OnDelete with rollingUpdate',
      kind: 'StatefulSet',
      spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } },
      want: 'FieldValueInvalid spec.updateStrategy.rollingUpdate',
    },
    {
      name: 'negative partition',
      kind: 'StatefulSet',
      spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: -1 } } },
      want: 'FieldValueInvalid spec.updateStrategy.rollingUpdate.partition',
    },
    {
      name: 'bad claim retention',
      kind: 'StatefulSet',
      spec: { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep', whenScaled: 'Retain' } },
      want: 'FieldValueNotSupported spec.persistentVolumeClaimRetentionPolicy.whenDeleted',
    },
    {
      name: 'negative ordinals start',
      kind: 'StatefulSet',
      spec: { ordinals: { start: -2 } },
      want: 'FieldValueInvalid spec.ordinals.start',
    },
    {
      name: 'DaemonSet with surge and unavailable both set',
      kind: 'DaemonSet',
      spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } },
      want: 'FieldValueInvalid spec.updateStrategy.rollingUpdate.maxSurge',
    },
    {
      name: 'DaemonSet with surge and unavailable both 0',
      kind: 'DaemonSet',
      spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } },
      want: 'FieldValueRequired spec.updateStrategy.rollingUpdate.maxUnavailable',
    },
  ])('rejects $name', ({ kind, spec, want }) => {
    const o = defaulted(kind);
    Object.assign(o.spec as object, spec);
    expect(errors(kind, o)).toContain(want);
  });

  it('lets StatefulSet containers mount their claim templates', () => {
    const tpl = template();
    const withMount = {
      ...tpl,
      spec: {
        containers: [{ ...tpl.spec.containers[0], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      },
    };
    const sts = defaulted('StatefulSet', {
      template: withMount,
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: {} }],
    });
    expect(errors('StatefulSet', sts)).toEqual([]);
  });

  it.each([
    {
      name: 'Deployment selector',
      kind: 'Deployment',
      change: { selector: { matchLabels: { app: 'web', v: '2' } } },
      want: ['FieldValueInvalid spec.selector'],
    },
    {
      name: 'DaemonSet selector',
      kind: 'DaemonSet',
      change: { selector: { matchLabels: { app: 'web', v: '2' } } },
      want: ['FieldValueInvalid spec.selector'],
    },
    {
      name: 'StatefulSet serviceName',
      kind: 'StatefulSet',
      change: { serviceName: 'other' },
      want: ['FieldValueForbidden spec'],
    },
    { name: 'StatefulSet replicas (allowed)', kind: 'StatefulSet', change: { replicas: 5 }, want: [] },
    { name: 'Deployment replicas (allowed)', kind: 'Deployment', change: { replicas: 5 }, want: [] },
  ])('on update checks $name', ({ kind, change, want }) => {
    const old = defaulted(kind);
    const next = structuredClone(old);
    Object.assign(next.spec as object, change);
    // Moving the selector also needs matching pod labels, so only immutability is left to fail.
    const labels = (next as Deployment).spec?.template?.metadata?.labels ?? {};
    if ('selector' in change) labels.v = '2';
    expect(errors(kind, next, old)).toEqual(want);
  });
});
