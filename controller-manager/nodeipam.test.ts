import { describe, expect, it } from 'vitest';
import type { Node } from '../api/objects.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { CidrSet, NodeIpamController } from './nodeipam.js';

const node = (name: string, podCIDR?: string): Node => ({
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

describe('CidrSet', () => {
  it('hands out each block once, in order, and reuses released ones', () => {
    const set = new CidrSet('10.244.0.0/22', 24);
    expect([set.allocateNext(), set.allocateNext()]).toEqual(['10.244.0.0/24', '10.244.1.0/24']);
    set.occupy('10.244.3.0/24');
    expect(set.allocateNext()).toBe('10.244.2.0/24');
    expect(set.allocateNext()).toBeUndefined();
    set.release('10.244.1.0/24');
    expect(set.allocateNext()).toBe('10.244.1.0/24');
  });

  it.each([
    { name: 'outside the range', cidr: '10.245.0.0/24' },
    { name: 'wrong size', cidr: '10.244.0.0/25' },
    { name: 'not aligned', cidr: '10.244.0.128/24' },
  ])('refuses a block $name', ({ cidr }) => {
    expect(new CidrSet('10.244.0.0/16', 24).occupy(cidr)).toBe(false);
  });
});

describe('NodeIpamController', () => {
  it('gives a new node the first free range, skipping ranges existing nodes hold (restart)', async () => {
    const c = testCluster();
    const ctrl = new NodeIpamController(c.ctx);
    c.seed('nodes', node('old-a', '10.244.0.0/24'), node('old-b', '10.244.1.0/24'), node('new'));
    await ctrl.sync('new');
    expect(c.api.writes()).toEqual(['patch nodes new']);
    expect((c.api.get('nodes', 'new') as Node).spec).toEqual({
      podCIDR: '10.244.2.0/24',
      podCIDRs: ['10.244.2.0/24'],
    });
  });

  it('never gives two nodes the same range even when the cache has not seen the first write', async () => {
    const c = testCluster();
    const ctrl = new NodeIpamController(c.ctx);
    c.seed('nodes', node('a'), node('b'));
    await ctrl.sync('a');
    await ctrl.sync('b');
    // A second sync of `a` before its update arrives keeps the same range.
    await ctrl.sync('a');
    const cidrs = ['a', 'b', 'a'].map(
      (_, i) => c.api.actions.filter((x) => x.verb === 'patch')[i].body.spec.podCIDR,
    );
    expect(cidrs).toEqual(['10.244.0.0/24', '10.244.1.0/24', '10.244.0.0/24']);
  });

  it('releases the range of a deleted node', async () => {
    const c = testCluster({ clusterCIDR: '10.244.0.0/23' });
    const ctrl = new NodeIpamController(c.ctx);
    c.seed('nodes', node('a', '10.244.0.0/24'), node('b', '10.244.1.0/24'));
    await ctrl.sync('a');
    c.informer('nodes').store.remove('b');
    await ctrl.sync('b');
    c.seed('nodes', node('c'));
    await ctrl.sync('c');
    expect((c.api.get('nodes', 'c') as Node).spec?.podCIDR).toBe('10.244.1.0/24');
  });

  it('records CIDRNotAvailable and retries when the range is full', async () => {
    const c = testCluster({ clusterCIDR: '10.244.0.0/24' });
    const ctrl = new NodeIpamController(c.ctx);
    c.seed('nodes', node('a', '10.244.0.0/24'), node('b'));
    await expect(ctrl.sync('b')).rejects.toThrow(/no pod range left/);
    expect(c.recorder.events).toEqual(['Normal CIDRNotAvailable b: Node b status is now: CIDRNotAvailable']);
  });

  it('does nothing when allocation is off', async () => {
    const c = testCluster({ allocateNodeCIDRs: false });
    const ctrl = new NodeIpamController(c.ctx);
    c.seed('nodes', node('a'));
    await ctrl.sync('a');
    expect(c.api.writes()).toEqual([]);
  });
});
