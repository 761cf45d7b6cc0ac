import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../api/meta.js';
import { builtinRegistry } from '../../api/types/index.js';
import { podType } from '../../api/types/pod.js';
import { strategyFor } from './index.js';

const pod = (ephemeral: string[] = []) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', generation: 3, labels: { app: 'web' } },
    spec: {
      containers: [{ name: 'app', image: 'nginx' }],
      ...(ephemeral.length
        ? { ephemeralContainers: ephemeral.map((name) => ({ name, image: 'busybox' })) }
        : {}),
    },
    status: { phase: 'Running' },
  }) as KubeObject;

describe('the Pod strategy through ephemeralcontainers', () => {
  it('takes only spec.ephemeralContainers from the body and moves generation when they change', () => {
    const old = pod();
    const next = pod(['debugger']);
    next.metadata.labels = { app: 'other' };
    (next.spec as { containers: { image: string }[] }).containers[0].image = 'evil';
    next.status = { phase: 'Failed' };
    strategyFor(podType).subresourceUpdates.ephemeralcontainers.prepare(next, old);
    expect(next.spec).toEqual(pod(['debugger']).spec);
    expect(next.status).toEqual({ phase: 'Running' });
    expect(next.metadata).toMatchObject({ generation: 4, labels: { app: 'web' } });
  });

  it('leaves generation alone when the ephemeral containers are the same', () => {
    const old = pod(['debugger']);
    const next = pod(['debugger']);
    strategyFor(podType).subresourceUpdates.ephemeralcontainers.prepare(next, old);
    expect(next.metadata.generation).toBe(3);
  });

  it('is no update of kinds without the subresource', () => {
    const updates = strategyFor(builtinRegistry.get('', 'v1', 'configmaps')!).subresourceUpdates;
    expect(Object.keys(updates)).toEqual(['status']);
  });
});

describe('the PersistentVolume strategy', () => {
  const pvType = builtinRegistry.get('', 'v1', 'persistentvolumes')!;
  const at = (t: string) => () => new Date(t);
  const pv = (status: Record<string, unknown>) =>
    ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv' },
      spec: {},
      status,
    }) as KubeObject;
  const t0 = '2024-01-01T00:00:00Z';
  const t1 = '2024-01-02T00:00:00Z';

  it('starts every volume Pending since its creation, whatever the client sent', () => {
    const obj = pv({ phase: 'Bound', message: 'mine' });
    strategyFor(pvType, at(t0)).prepareForCreate(obj);
    expect(obj.status).toEqual({ phase: 'Pending', lastPhaseTransitionTime: t0 });
  });

  it.each([
    { name: 'same phase, time left out: kept', status: { phase: 'Pending' }, want: t0 },
    {
      name: 'same phase, time set: the writer’s',
      status: { phase: 'Pending', lastPhaseTransitionTime: '2023-06-01T00:00:00Z' },
      want: '2023-06-01T00:00:00Z',
    },
    { name: 'new phase, time left out: now', status: { phase: 'Available' }, want: t1 },
    {
      name: 'new phase, time unchanged: now',
      status: { phase: 'Available', lastPhaseTransitionTime: t0 },
      want: t1,
    },
  ])('through /status: $name', ({ status, want }) => {
    const obj = pv(status);
    strategyFor(pvType, at(t1)).subresourceUpdates.status.prepare(
      obj,
      pv({ phase: 'Pending', lastPhaseTransitionTime: t0 }),
    );
    expect((obj.status as { lastPhaseTransitionTime?: string }).lastPhaseTransitionTime).toBe(want);
  });
});
