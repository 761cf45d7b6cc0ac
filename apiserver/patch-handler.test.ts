import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { builtinRegistry } from '../api/types/index.js';
import { scaleOf } from './patch-handler.js';

const rt = (name: string) => builtinRegistry.resolve(name)!;

function obj(apiVersion: string, kind: string, spec: object): KubeObject {
  return {
    apiVersion,
    kind,
    metadata: { name: 'web', namespace: 'default', uid: 'u1', resourceVersion: '7' },
    spec,
    status: { replicas: 2 },
  };
}

describe('scaleOf', () => {
  it.each([
    {
      name: 'a ReplicaSet: its LabelSelector as a string',
      rt: 'replicasets.apps',
      o: obj('apps/v1', 'ReplicaSet', { replicas: 3, selector: { matchLabels: { app: 'web', tier: 'a' } } }),
      selector: 'app=web,tier=a',
    },
    {
      name: 'a ReplicationController: its map of labels as a string',
      rt: 'replicationcontrollers',
      o: obj('v1', 'ReplicationController', { replicas: 3, selector: { tier: 'a', app: 'web' } }),
      selector: 'app=web,tier=a',
    },
  ])('gives the autoscaling/v1 Scale of $name', ({ rt: name, o, selector }) => {
    expect(scaleOf(o, rt(name))).toEqual({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: 'web',
        namespace: 'default',
        uid: 'u1',
        resourceVersion: '7',
        creationTimestamp: undefined,
      },
      spec: { replicas: 3 },
      status: { replicas: 2, selector },
    });
  });
});
