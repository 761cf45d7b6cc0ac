import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { PodGCController, quarantineMs } from './podgc.js';

function pod(
  name: string,
  o: { node?: string; phase?: string; created?: string; deleting?: boolean } = {},
): KubeObject {
  return {
    metadata: {
      name,
      namespace: 'ns',
      creationTimestamp: o.created ?? '2024-01-01T00:00:00Z',
      ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'x' }] },
    status: { phase: o.phase ?? 'Running' },
  };
}

describe('PodGCController', () => {
  it('deletes the oldest terminated pods beyond the threshold', async () => {
    const c = testCluster({ terminatedPodGCThreshold: 2 });
    const gc = new PodGCController(c.ctx);
    c.seed('nodes', { metadata: { name: 'n1' } });
    c.seed(
      'pods',
      pod('new', { node: 'n1', phase: 'Succeeded', created: '2024-01-03T00:00:00Z' }),
      pod('oldest', { node: 'n1', phase: 'Failed', created: '2024-01-01T00:00:00Z' }),
      pod('mid', { node: 'n1', phase: 'Succeeded', created: '2024-01-02T00:00:00Z' }),
      pod('running', { node: 'n1' }),
    );
    await gc.sync();
    expect(c.api.writes()).toEqual(['delete pods ns/oldest']);
    expect(c.api.actions.at(-1)?.body.gracePeriodSeconds).toBe(0);
  });

  it('after the quarantine, fails and force-deletes pods of a node that is gone', async () => {
    const c = testCluster();
    const gc = new PodGCController(c.ctx);
    c.seed('pods', pod('orphan', { node: 'gone' }), pod('pending'));
    await gc.sync();
    expect(c.api.writes()).toEqual([]);
    c.clock.step(quarantineMs);
    await gc.sync();
    expect(c.api.writes()).toEqual(['update pods/status ns/orphan', 'delete pods ns/orphan']);
    const status = c.api.actions.find((a) => a.resource === 'pods/status')!.body.status;
    expect(status.phase).toBe('Failed');
    expect(status.conditions[0]).toMatchObject({ type: 'DisruptionTarget', reason: 'DeletionByPodGC' });
  });

  it('keeps pods of a node the cache has not seen yet but the API has', async () => {
    const c = testCluster();
    const gc = new PodGCController(c.ctx);
    c.api.put('nodes', { metadata: { name: 'new' } });
    c.seed('pods', pod('p', { node: 'new' }));
    await gc.sync();
    c.clock.step(quarantineMs);
    await gc.sync();
    expect(c.api.writes()).toEqual([]);
  });

  it('force-deletes terminating pods that were never scheduled', async () => {
    const c = testCluster();
    const gc = new PodGCController(c.ctx);
    c.seed('pods', pod('stuck', { deleting: true }));
    await gc.sync();
    expect(c.api.writes()).toEqual(['delete pods ns/stuck']);
  });
});
