import { describe, expect, it } from 'vitest';
import { FakeClock } from '../client/clock.js';
import { makePod } from '../testing/scheduler-fixtures.js';
import type { ClusterEvent } from './framework.js';
import { SchedulingQueue } from './queue.js';

const events = new Map<string, Set<ClusterEvent>>([
  ['NodeAffinity', new Set<ClusterEvent>(['NodeAdd', 'NodeUpdate'])],
  ['NodeResourcesFit', new Set<ClusterEvent>(['NodeAdd', 'PodDelete'])],
]);

function setup() {
  const clock = new FakeClock(1_000_000);
  const q = new SchedulingQueue({ clock, pluginEvents: events });
  return { clock, q };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('SchedulingQueue', () => {
  it('pops by priority, then by age', async () => {
    const { clock, q } = setup();
    q.add(makePod('low-old', { priority: 1 }));
    clock.step(1);
    q.add(makePod('high', { priority: 10 }));
    clock.step(1);
    q.add(makePod('low-new', { priority: 1 }));
    const order = [];
    for (let i = 0; i < 3; i++) order.push((await q.pop())!.info.key);
    expect(order).toEqual(['default/high', 'default/low-old', 'default/low-new']);
  });

  it('parks an unschedulable pod until an event one of its rejecting plugins cares about', async () => {
    const { clock, q } = setup();
    q.add(makePod('p'));
    const item = (await q.pop())!;
    q.requeueFailed(item, q.schedulingCycle, ['NodeAffinity']);
    expect(q.depth).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
    q.moveOnEvent('PodDelete'); // NodeAffinity does not care
    expect(q.depth.unschedulable).toBe(1);
    clock.step(2_000); // past its 1 s backoff
    q.moveOnEvent('NodeAdd');
    expect(q.depth).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('backs off 1 s after the first failure, doubling to at most 10 s', async () => {
    const { clock, q } = setup();
    q.add(makePod('p'));
    const waits: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const item = (await q.pop())!;
      q.requeueFailed(item, q.schedulingCycle, [], true);
      const start = clock.now();
      let waited = 0;
      while (q.depth.active === 0 && waited < 20_000) {
        clock.step(100);
        waited += 100;
      }
      waits.push(clock.now() - start);
      await flush();
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  it('sends a pod that failed while an event happened to backoff, not to unschedulable', async () => {
    const { q } = setup();
    q.add(makePod('p'));
    const item = (await q.pop())!;
    const cycle = q.schedulingCycle;
    q.moveOnEvent('NodeAdd'); // arrives while the pod is being scheduled
    q.requeueFailed(item, cycle, ['NodeAffinity']);
    expect(q.depth).toEqual({ active: 0, backoff: 1, unschedulable: 0 });
  });

  it('moves pods left unschedulable for 5 minutes', async () => {
    const { clock, q } = setup();
    q.add(makePod('p'));
    q.requeueFailed((await q.pop())!, q.schedulingCycle, ['NodeAffinity']);
    clock.step(299_000);
    q.flushUnschedulableLeftover();
    expect(q.depth.unschedulable).toBe(1);
    clock.step(1_000);
    q.flushUnschedulableLeftover();
    expect(q.depth).toEqual({ active: 1, backoff: 0, unschedulable: 0 });
  });

  it('an update of an unschedulable pod gives it another try; a delete drops it, even in flight', async () => {
    const { clock, q } = setup();
    q.add(makePod('p'));
    q.requeueFailed((await q.pop())!, q.schedulingCycle, ['NodeAffinity']);
    clock.step(1_000);
    q.update(makePod('p', { labels: { changed: 'yes' } }));
    expect(q.depth.active).toBe(1);
    const item = (await q.pop())!;
    expect(item.info.pod.metadata.labels).toEqual({ changed: 'yes' });
    q.delete('default/p');
    q.requeueFailed(item, q.schedulingCycle, ['NodeAffinity']);
    expect(q.depth).toEqual({ active: 0, backoff: 0, unschedulable: 0 });
  });

  it('leaves an unschedulable pod parked when only its status changed (our own condition write)', async () => {
    const { clock, q } = setup();
    q.add(makePod('p'));
    q.requeueFailed((await q.pop())!, q.schedulingCycle, ['NodeAffinity']);
    clock.step(1_000);
    const written = makePod('p');
    written.metadata.resourceVersion = '42';
    written.status = {
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }],
    };
    q.update(written);
    expect(q.depth).toEqual({ active: 0, backoff: 0, unschedulable: 1 });
  });

  it('pop waits for a pod and ends when closed', async () => {
    const { q } = setup();
    const waiting = q.pop();
    q.add(makePod('p'));
    expect((await waiting)?.info.key).toBe('default/p');
    const next = q.pop();
    q.close();
    expect(await next).toBeUndefined();
  });
});
