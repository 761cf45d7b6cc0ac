import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import { rolloutStatus } from './status.js';

const obj = (name: string, generation: number, spec: object, status: object) =>
  ({ metadata: { name, generation }, spec, status }) as KubeObject;

describe('rolloutStatus', () => {
  it.each([
    {
      name: 'deployment spec not yet observed',
      kind: 'Deployment',
      o: obj('web', 2, { replicas: 3 }, { observedGeneration: 1 }),
      message: 'Waiting for deployment spec update to be observed...',
      done: false,
    },
    {
      name: 'deployment with new replicas still to come',
      kind: 'Deployment',
      o: obj('web', 2, { replicas: 3 }, { observedGeneration: 2, updatedReplicas: 1, replicas: 3 }),
      message: 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...',
      done: false,
    },
    {
      name: 'deployment with old replicas left',
      kind: 'Deployment',
      o: obj('web', 2, { replicas: 3 }, { observedGeneration: 2, updatedReplicas: 3, replicas: 4 }),
      message: 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...',
      done: false,
    },
    {
      name: 'deployment waiting for availability',
      kind: 'Deployment',
      o: obj(
        'web',
        2,
        { replicas: 3 },
        { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 1 },
      ),
      message: 'Waiting for deployment "web" rollout to finish: 1 of 3 updated replicas are available...',
      done: false,
    },
    {
      name: 'deployment done',
      kind: 'Deployment',
      o: obj(
        'web',
        2,
        { replicas: 3 },
        { observedGeneration: 2, updatedReplicas: 3, replicas: 3, availableReplicas: 3 },
      ),
      message: 'deployment "web" successfully rolled out',
      done: true,
    },
    {
      name: 'daemon set updating',
      kind: 'DaemonSet',
      o: obj('agent', 1, {}, { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 1 }),
      message: 'Waiting for daemon set "agent" rollout to finish: 1 out of 2 new pods have been updated...',
      done: false,
    },
    {
      name: 'daemon set done',
      kind: 'DaemonSet',
      o: obj(
        'agent',
        1,
        {},
        { observedGeneration: 1, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 },
      ),
      message: 'daemon set "agent" successfully rolled out',
      done: true,
    },
    {
      name: 'stateful set waiting for ready pods',
      kind: 'StatefulSet',
      o: obj('db', 1, { replicas: 3 }, { observedGeneration: 1, readyReplicas: 1 }),
      message: 'Waiting for 2 pods to be ready...',
      done: false,
    },
    {
      name: 'stateful set with a partition',
      kind: 'StatefulSet',
      o: obj(
        'db',
        1,
        { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } },
        { observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3 },
      ),
      message: 'partitioned roll out complete: 3 new pods have been updated...',
      done: true,
    },
    {
      name: 'stateful set between revisions',
      kind: 'StatefulSet',
      o: obj(
        'db',
        1,
        { replicas: 2 },
        {
          observedGeneration: 1,
          readyReplicas: 2,
          updatedReplicas: 1,
          currentRevision: 'a',
          updateRevision: 'b',
        },
      ),
      message: 'waiting for statefulset rolling update to complete 1 pods at revision b...',
      done: false,
    },
  ])('$name', ({ kind, o, message, done }) => {
    expect(rolloutStatus(kind, o)).toEqual({ message, done });
  });

  it.each([
    {
      name: 'a deployment past its progress deadline',
      kind: 'Deployment',
      o: obj(
        'web',
        1,
        { replicas: 1 },
        { observedGeneration: 1, conditions: [{ type: 'Progressing', reason: 'ProgressDeadlineExceeded' }] },
      ),
      error: 'deployment "web" exceeded its progress deadline',
    },
    {
      name: 'a daemon set updated on delete',
      kind: 'DaemonSet',
      o: obj('agent', 1, { updateStrategy: { type: 'OnDelete' } }, {}),
      error: 'rollout status is only available for RollingUpdate strategy type',
    },
    {
      name: 'a pod',
      kind: 'Pod',
      o: obj('p', 1, {}, {}),
      error: 'no status viewer has been implemented for Pod',
    },
  ])('refuses $name', ({ kind, o, error }) => {
    expect(() => rolloutStatus(kind, o)).toThrow(error);
  });

  it('pins a deployment revision', () => {
    const d = obj('web', 1, { replicas: 1 }, { observedGeneration: 1 });
    d.metadata.annotations = { 'deployment.kubernetes.io/revision': '3' };
    expect(() => rolloutStatus('Deployment', d, 2)).toThrow(
      'desired revision (2) is different from the running revision (3)',
    );
  });
});
