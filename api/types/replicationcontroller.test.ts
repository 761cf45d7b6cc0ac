import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import { builtinRegistry } from './index.js';
import {
  type ReplicationController as RCSchema,
  replicationControllerType as rt,
} from './replicationcontroller.js';

type ReplicationController = RCSchema & KubeObject;

const now = new Date('2024-05-01T12:00:00Z');

function template(labels: Record<string, string> | null = { app: 'web' }) {
  return {
    ...(labels ? { metadata: { labels } } : {}),
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
  };
}

function rc(
  spec: Record<string, unknown>,
  extra: Partial<ReplicationController> = {},
): ReplicationController {
  return {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-05-01T11:00:00Z' },
    spec: { template: template(), ...spec },
    ...extra,
  } as ReplicationController;
}

function defaulted(spec: Record<string, unknown> = {}, extra: Partial<ReplicationController> = {}) {
  const o = rc(spec, extra);
  rt.defaults?.(o);
  return o;
}

const errors = (o: KubeObject, old?: KubeObject, sub?: string) =>
  (rt.validate?.(o, old, sub) ?? []).map((e) => `${e.type} ${e.field}`);

describe('ReplicationController registration', () => {
  it('is core/v1 replicationcontrollers, short name rc, in category all, with status and scale', () => {
    expect(builtinRegistry.resolve('rc')).toBe(rt);
    expect(builtinRegistry.get('', 'v1', 'replicationcontrollers')).toBe(rt);
    expect(rt).toMatchObject({
      group: '',
      version: 'v1',
      kind: 'ReplicationController',
      plural: 'replicationcontrollers',
      singular: 'replicationcontroller',
      shortNames: ['rc'],
      categories: ['all'],
      namespaced: true,
      subresources: ['status', 'scale'],
      zeroStatus: { replicas: 0 },
    });
  });

  it('gives the scale subresource the selector as a label selector string', () => {
    expect(rt.scaleSelector?.(rc({ selector: { tier: 'front', app: 'web' } }))).toBe('app=web,tier=front');
  });

  it('selects by status.replicas', () => {
    expect(rt.fieldLabels?.(rc({}, { status: { replicas: 4 } }))).toEqual({ 'status.replicas': '4' });
    expect(rt.fieldLabels?.(rc({}))).toEqual({ 'status.replicas': '0' });
  });
});

describe('ReplicationController defaults', () => {
  it('defaults replicas to 1, and the selector and labels to the template labels', () => {
    const o = defaulted();
    expect(o.spec?.replicas).toBe(1);
    expect(o.spec?.selector).toEqual({ app: 'web' });
    expect(o.metadata.labels).toEqual({ app: 'web' });
    // The pod template gets the pod defaults.
    expect(o.spec?.template?.spec?.restartPolicy).toBe('Always');
    expect(o.spec?.template?.spec?.containers?.[0].terminationMessagePath).toBe('/dev/termination-log');
  });

  it('keeps a selector, labels and replicas that are set, even 0 replicas', () => {
    const o = defaulted(
      { replicas: 0, selector: { app: 'web', tier: 'x' } },
      {
        metadata: { name: 'web', labels: { owner: 'me' } },
      },
    );
    expect(o.spec?.replicas).toBe(0);
    expect(o.spec?.selector).toEqual({ app: 'web', tier: 'x' });
    expect(o.metadata.labels).toEqual({ owner: 'me' });
  });

  it('leaves the selector unset when the template has no labels', () => {
    const o = defaulted({ template: template(null) });
    expect(o.spec?.selector).toBeUndefined();
    expect(o.metadata.labels).toBeUndefined();
  });

  it('passes its own schema once defaulted, with a full status', () => {
    const o = {
      ...defaulted({ minReadySeconds: 5 }),
      status: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
        observedGeneration: 1,
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'quota',
            lastTransitionTime: '2024-05-01T11:00:05Z',
          },
        ],
      },
    };
    expect([...Value.Errors(rt.schema, o)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  });

  it('rejects a LabelSelector where the selector is a map of labels', () => {
    const o = defaulted({ selector: { matchLabels: { app: 'web' } } });
    expect(Value.Check(rt.schema, o)).toBe(false);
  });
});

describe('ReplicationController validation', () => {
  it('accepts a defaulted one, on create and on a selector change', () => {
    expect(errors(defaulted())).toEqual([]);
    // Unlike a ReplicaSet's, an RC's selector may change.
    const old = defaulted();
    const changed = defaulted({
      selector: { app: 'web', v: '2' },
      template: template({ app: 'web', v: '2' }),
    });
    expect(errors(changed, old)).toEqual([]);
  });

  it.each([
    {
      name: 'no selector and no template labels',
      o: () => defaulted({ template: template(null) }),
      want: ['FieldValueRequired spec.selector'],
    },
    {
      name: 'empty selector',
      o: () => defaulted({ selector: {}, template: template({}) }),
      want: ['FieldValueRequired spec.selector'],
    },
    {
      name: 'selector that misses the template',
      o: () => defaulted({ selector: { app: 'db' } }),
      want: ['FieldValueInvalid spec.template.metadata.labels'],
    },
    {
      name: 'negative replicas',
      o: () => defaulted({ replicas: -1 }),
      want: ['FieldValueInvalid spec.replicas'],
    },
    {
      name: 'negative minReadySeconds',
      o: () => defaulted({ minReadySeconds: -1 }),
      want: ['FieldValueInvalid spec.minReadySeconds'],
    },
    {
      name: 'no template',
      o: () => defaulted({ selector: { app: 'web' }, template: undefined }),
      want: ['FieldValueRequired spec.template'],
    },
    {
      name: 'restartPolicy other than Always',
      o: () =>
        defaulted({ template: { ...template(), spec: { ...template().spec, restartPolicy: 'Never' } } }),
      want: ['FieldValueNotSupported spec.template.spec.restartPolicy'],
    },
    {
      name: 'activeDeadlineSeconds in the template',
      o: () =>
        defaulted({ template: { ...template(), spec: { ...template().spec, activeDeadlineSeconds: 5 } } }),
      want: ['FieldValueForbidden spec.template.spec.activeDeadlineSeconds'],
    },
    {
      name: 'a container without an image',
      o: () => defaulted({ template: { ...template(), spec: { containers: [{ name: 'app' }] } } }),
      want: ['FieldValueRequired spec.template.spec.containers[0].image'],
    },
  ])('rejects $name', ({ o, want }) => {
    expect(errors(o())).toEqual(want);
  });

  it('says why activeDeadlineSeconds is refused, naming the kind', () => {
    const o = defaulted({
      template: { ...template(), spec: { ...template().spec, activeDeadlineSeconds: 5 } },
    });
    expect(rt.validate?.(o)?.[0].detail).toBe(
      'activeDeadlineSeconds in ReplicationController is not Supported',
    );
  });

  it.each([
    {
      name: 'a negative observedGeneration',
      status: { replicas: 1, observedGeneration: -1 },
      want: ['FieldValueInvalid status.observedGeneration'],
    },
    {
      name: 'more ready than replicas',
      status: { replicas: 1, readyReplicas: 2, availableReplicas: 0 },
      want: ['FieldValueInvalid status.readyReplicas'],
    },
    {
      name: 'more available than ready',
      status: { replicas: 2, readyReplicas: 1, availableReplicas: 2 },
      want: ['FieldValueInvalid status.availableReplicas'],
    },
    {
      name: 'more fully labeled than replicas',
      status: { replicas: 1, fullyLabeledReplicas: 2 },
      want: ['FieldValueInvalid status.fullyLabeledReplicas'],
    },
  ])('rejects a status with $name', ({ status, want }) => {
    const old = defaulted();
    expect(errors({ ...old, status }, old, 'status')).toEqual(want);
  });
});

describe('ReplicationController columns', () => {
  const cells = (o: KubeObject) => Object.fromEntries(rt.columns.map((c) => [c.name, c.cell(o, now)]));

  it('prints NAME DESIRED CURRENT READY AGE, and CONTAINERS IMAGES SELECTOR with -o wide', () => {
    expect(rt.columns.map((c) => c.name)).toEqual([
      'Desired',
      'Current',
      'Ready',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    expect(rt.columns.filter((c) => c.priority === 1).map((c) => c.name)).toEqual([
      'Containers',
      'Images',
      'Selector',
    ]);
    expect(rt.columns.filter((c) => c.type === 'integer').map((c) => c.name)).toEqual([
      'Desired',
      'Current',
      'Ready',
    ]);
  });

  it('fills the cells as kubectl does', () => {
    const o = defaulted(
      {
        replicas: 3,
        selector: { tier: 'front', app: 'web' },
        template: template({ app: 'web', tier: 'front' }),
      },
      { status: { replicas: 2, readyReplicas: 1 } },
    );
    expect(cells(o)).toEqual({
      Desired: 3,
      Current: 2,
      Ready: 1,
      Age: '60m',
      Containers: 'app',
      Images: 'nginx:1.25',
      Selector: 'app=web,tier=front',
    });
  });

  it('prints zeros and <none> for a bare object', () => {
    const o: KubeObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'x' } };
    expect(cells(o)).toMatchObject({ Desired: 0, Current: 0, Ready: 0, Selector: '<none>' });
  });
});
