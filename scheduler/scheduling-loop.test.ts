import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../api/objects.js';
import { FakeClock } from '../client/clock.js';
import { makeNode, makePod } from '../testing/scheduler-fixtures.js';
import { SchedulerCache } from './cache.js';
import type { Plugin } from './framework.js';
import { Framework } from './framework-runtime.js';
import { noMetrics } from './metrics.js';
import { Nominator } from './nominator.js';
import { DefaultBinder } from './plugins/defaultbinder.js';
import { DefaultPreemption } from './plugins/defaultpreemption.js';
import { NodeAffinity } from './plugins/nodeaffinity.js';
import { BalancedAllocation, NodeResourcesFit } from './plugins/noderesources.js';
import { TaintToleration } from './plugins/tainttoleration.js';
import { SchedulingQueue } from './queue.js';
import { numFeasibleNodesToFind, Scheduler } from './scheduling-loop.js';

const logger = pino({ level: 'silent' });
const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** Records binds; each bind waits for the test to settle it. */
class FakeBinder {
  calls: { pod: string; node: string; settle: (err?: Error) => void }[] = [];
  bind(ns: string, name: string, node: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.calls.push({ pod: `${ns}/${name}`, node, settle: (err) => (err ? reject(err) : resolve({})) });
    });
  }
}

class FakeStatusWriter {
  patches: { pod: string; patch: any }[] = [];
  async patchPodStatus(ns: string, name: string, patch: unknown) {
    this.patches.push({ pod: `${ns}/${name}`, patch });
  }
}

class FakeEvictor {
  evicted: string[] = [];
  async evict(ns: string, name: string) {
    this.evicted.push(`${ns}/${name}`);
  }
}

function setup() {
  const clock = new FakeClock(1_000_000);
  const cache = new SchedulerCache();
  const nominator = new Nominator();
  const binder = new FakeBinder();
  const status = new FakeStatusWriter();
  const evictor = new FakeEvictor();
  let framework: Framework | undefined;
  const plugins: Plugin[] = [
    new TaintToleration(),
    new NodeAffinity(),
    new NodeResourcesFit(),
    new BalancedAllocation(),
    new DefaultPreemption({
      handle: cache,
      framework: () => framework!,
      evictor,
      nominator,
      logger,
      metrics: noMetrics,
    }),
    new DefaultBinder(binder),
  ];
  framework = new Framework(plugins);
  const queue = new SchedulingQueue({ clock, pluginEvents: framework.pluginEvents() });
  const scheduler = new Scheduler({
    framework,
    cache,
    queue,
    nominator,
    client: status,
    logger,
    clock,
    metrics: noMetrics,
  });
  const scheduleNext = async () => scheduler.scheduleOne((await queue.pop())!);
  return { clock, cache, queue, binder, status, evictor, scheduler, nominator, scheduleNext };
}

const conditionMessage = (patch: any) =>
  patch.status.conditions.find((c: any) => c.type === 'PodScheduled' && c.status === 'False')?.message;

describe('Scheduler', () => {
  it('explains a pod that fits nowhere with a per-reason count, as Kubernetes does', async () => {
    const t = setup();
    t.cache.addNode(makeNode('tainted', { taints: [{ key: 'k', value: 'v', effect: 'NoSchedule' }] }));
    t.cache.addNode(makeNode('small-1', { cpu: '1' }));
    t.cache.addNode(makeNode('small-2', { cpu: '1' }));
    t.queue.add(makePod('big', { cpu: '2' }));
    await t.scheduleNext();
    await flush();
    expect(conditionMessage(t.status.patches[0].patch)).toBe(
      '0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.',
    );
    expect(t.queue.depth.unschedulable).toBe(1);
    expect(t.binder.calls).toHaveLength(0);
  });

  it('places the next pod before the first bind returns, counting the assumed pod', async () => {
    const t = setup();
    t.cache.addNode(makeNode('a', { cpu: '1' }));
    t.cache.addNode(makeNode('b', { cpu: '1' }));
    t.queue.add(makePod('p1', { cpu: '700m' }));
    t.queue.add(makePod('p2', { cpu: '700m' }));
    await t.scheduleNext();
    await t.scheduleNext();
    expect(t.binder.calls).toHaveLength(2);
    expect(new Set(t.binder.calls.map((c) => c.node))).toEqual(new Set(['a', 'b']));
    expect(t.cache.isAssumed('default/p1')).toBe(true);
  });

  it('forgets a pod whose bind failed and retries it after backoff', async () => {
    const t = setup();
    t.cache.addNode(makeNode('a', { cpu: '1' }));
    t.queue.add(makePod('p', { cpu: '700m' }));
    await t.scheduleNext();
    t.binder.calls[0].settle(new Error('apiserver said no'));
    await flush();
    expect(t.cache.hasPod('default/p')).toBe(false);
    expect(t.queue.depth.backoff).toBe(1);
    t.clock.step(1_000);
    await t.scheduleNext();
    expect(t.binder.calls.map((c) => c.node)).toEqual(['a', 'a']);
    t.binder.calls[1].settle();
    await flush();
    expect(t.cache.isAssumed('default/p')).toBe(true);
    // The informer's update with spec.nodeName confirms it.
    const bound: Pod = {
      ...makePod('p', { cpu: '700m' }),
      spec: { ...makePod('p', { cpu: '700m' }).spec, nodeName: 'a' },
    };
    t.cache.addPod(bound);
    expect(t.cache.isAssumed('default/p')).toBe(false);
    expect(t.cache.node('a')?.requested.milliCPU).toBe(700);
  });

  it('preempts the lower-priority pod and nominates its node; others keep off the nominated room', async () => {
    const t = setup();
    t.cache.addNode(makeNode('a', { cpu: '2' }));
    t.cache.addPod(makePod('low', { cpu: '1500m', node: 'a', priority: 1 }));
    t.queue.add(makePod('high', { cpu: '1500m', priority: 100 }));
    await t.scheduleNext();
    await flush();
    expect(t.evictor.evicted).toEqual(['default/low']);
    expect(t.status.patches[0].patch.status.nominatedNodeName).toBe('a');
    expect(t.nominator.nodeFor('default/high')).toBe('a');
    // The victim goes; a low-priority newcomer must not take the room meanwhile.
    t.cache.removePod('default/low');
    t.queue.add(makePod('sneaky', { cpu: '1500m', priority: 1 }));
    await t.scheduleNext();
    expect(t.binder.calls).toHaveLength(0);
  });

  it.each([
    ['small clusters: every node', 50, 0, 50],
    ['100 nodes: every other (at least 100)', 100, 0, 100],
    ['1,000 nodes: 42% adaptive', 1000, 0, 420],
    ['5,000 nodes: 10% adaptive', 5000, 0, 500],
    ['20,000 nodes: at least 5%', 20000, 0, 1000],
    ['explicit 30%', 1000, 30, 300],
  ])('percentageOfNodesToScore: %s', (_, nodes, pct, want) => {
    expect(numFeasibleNodesToFind(nodes, pct)).toBe(want);
  });

  it('evaluates only as many feasible nodes as percentageOfNodesToScore asks, rotating the start', async () => {
    const t = setup();
    for (let i = 0; i < 1000; i++) t.cache.addNode(makeNode(`n${String(i).padStart(4, '0')}`));
    const pi = await (async () => {
      t.queue.add(makePod('p'));
      return (await t.queue.pop())!.info;
    })();
    const { CycleState } = await import('./framework.js');
    const r1 = t.scheduler.schedulePod(new CycleState(), pi);
    expect(r1.feasible).toBe(420);
    const r2 = t.scheduler.schedulePod(new CycleState(), pi);
    expect(r2.feasible).toBe(420);
    expect(r1.node).not.toBe(r2.node);
  });
});
