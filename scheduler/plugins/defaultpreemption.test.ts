import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { handleOf, info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code, Status } from '../framework.js';
import { Framework } from '../framework-runtime.js';
import { noMetrics } from '../metrics.js';
import { Nominator } from '../nominator.js';
import { DefaultBinder } from './defaultbinder.js';
import { DefaultPreemption, pickCandidate } from './defaultpreemption.js';
import { NodeResourcesFit } from './noderesources.js';

function preemption(nodes: ReturnType<typeof nodeInfo>[]) {
  const evicted: string[] = [];
  let fw: Framework | undefined;
  const p = new DefaultPreemption({
    handle: handleOf(nodes),
    framework: () => fw!,
    evictor: { evict: async (ns, name) => evicted.push(`${ns}/${name}`) },
    nominator: new Nominator(),
    logger: pino({ level: 'silent' }),
    metrics: noMetrics,
  });
  fw = new Framework([new NodeResourcesFit(), p, new DefaultBinder({ bind: async () => ({}) })]);
  return { p, evicted };
}

describe('DefaultPreemption', () => {
  it('evicts the fewest, least important lower-priority pods that make room', () => {
    const ni = nodeInfo(makeNode('n', { cpu: '2' }), [
      makePod('p1', { cpu: '500m', priority: 1, node: 'n' }),
      makePod('p2', { cpu: '500m', priority: 2, node: 'n' }),
      makePod('p3', { cpu: '1', priority: 3, node: 'n' }),
    ]);
    const { p } = preemption([ni]);
    const victims = p.selectVictims(info(makePod('high', { cpu: '1', priority: 100 })), ni);
    expect(victims?.map((v) => v.key).sort()).toEqual(['default/p1', 'default/p2']);
    // Pods of equal or higher priority are never victims.
    expect(p.selectVictims(info(makePod('mid', { cpu: '1500m', priority: 2 })), ni)).toBeUndefined();
  });

  it('prefers the node whose most important victim matters least', () => {
    const a = { node: 'a', victims: [info(makePod('x', { priority: 5 }))] };
    const b = {
      node: 'b',
      victims: [info(makePod('y', { priority: 1 })), info(makePod('z', { priority: 1 }))],
    };
    expect(pickCandidate([a, b])?.node).toBe('b');
  });

  it('evicts through the evictor and nominates the node', async () => {
    const nodes = [
      nodeInfo(makeNode('full', { cpu: '1' }), [makePod('low', { cpu: '1', priority: 0, node: 'full' })]),
    ];
    const { p, evicted } = preemption(nodes);
    const filtered = new Map([['full', Status.unschedulable('Insufficient cpu')]]);
    const r = await p.postFilter(newState(), info(makePod('high', { cpu: '1', priority: 10 })), filtered);
    expect(r).toEqual({ nominatedNodeName: 'full' });
    expect(evicted).toEqual(['default/low']);
  });

  it('says why when preemption cannot help', async () => {
    const nodes = [
      nodeInfo(makeNode('tainted')),
      nodeInfo(makeNode('busy', { cpu: '1' }), [makePod('peer', { cpu: '1', priority: 10, node: 'busy' })]),
    ];
    const { p, evicted } = preemption(nodes);
    const filtered = new Map([
      ['tainted', Status.unresolvable('node(s) had untolerated taint {k: v}')],
      ['busy', Status.unschedulable('Insufficient cpu')],
    ]);
    const r = await p.postFilter(newState(), info(makePod('high', { cpu: '1', priority: 10 })), filtered);
    expect(r).toBeInstanceOf(Status);
    expect((r as Status).code).toBe(Code.Unschedulable);
    expect((r as Status).message).toBe(
      '0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    );
    expect(evicted).toEqual([]);
    const never = makePod('never', { cpu: '1', priority: 100, spec: { preemptionPolicy: 'Never' } });
    expect(await p.postFilter(newState(), info(never), filtered)).toMatchObject({
      code: Code.UnschedulableAndUnresolvable,
    });
  });
});
