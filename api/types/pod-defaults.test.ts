import { describe, expect, it } from 'vitest';
import { podDefaults } from './pod-defaults.js';
import type { Pod, Toleration } from './pod-schema.js';

const notReady = {
  key: 'node.kubernetes.io/not-ready',
  operator: 'Exists',
  effect: 'NoExecute',
  tolerationSeconds: 300,
};
const unreachable = { ...notReady, key: 'node.kubernetes.io/unreachable' };

function tolerationsAfterDefaults(tolerations?: Toleration[]): Toleration[] | undefined {
  const pod: Pod = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'x:1' }], tolerations },
  };
  podDefaults(pod);
  return pod.spec?.tolerations;
}

describe('DefaultTolerationSeconds', () => {
  it.each([
    { name: 'none given: both added', given: undefined, want: [notReady, unreachable] },
    {
      name: 'own not-ready toleration kept, unreachable added',
      given: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 5,
        },
      ],
      want: [{ ...notReady, tolerationSeconds: 5 }, unreachable],
    },
    {
      name: 'a toleration of every taint: nothing added',
      given: [{ operator: 'Exists' }],
      want: [{ operator: 'Exists' }],
    },
    {
      name: 'a NoSchedule toleration does not count',
      given: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }],
      want: [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' },
        notReady,
        unreachable,
      ],
    },
  ])('$name', ({ given, want }) => {
    expect(tolerationsAfterDefaults(given as Toleration[] | undefined)).toEqual(want);
  });

  it('is idempotent (defaults run again on every update)', () => {
    const pod: Pod = { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } };
    podDefaults(pod);
    podDefaults(pod);
    expect(pod.spec?.tolerations).toEqual([notReady, unreachable]);
  });
});
