import { describe, expect, it } from 'vitest';
import { handleOf, info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { SelectorSpread } from './selectorspread.js';

const owned = (name: string, node?: string, uid = 'rs-1') => {
  const p = makePod(name, { node });
  p.metadata.ownerReferences = [
    { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid, controller: true },
  ];
  return p;
};

describe('SelectorSpread', () => {
  it('scores nodes with fewer pods of the same owner higher', () => {
    const p = new SelectorSpread();
    const nodes = [
      nodeInfo(makeNode('n1'), [owned('a', 'n1'), owned('b', 'n1')]),
      nodeInfo(makeNode('n2'), [owned('c', 'n2'), owned('x', 'n2', 'other')]),
      nodeInfo(makeNode('n3'), [owned('y', 'n3', 'other')]),
    ];
    const pod = info(owned('new'));
    const state = newState();
    expect(p.preScore(state, pod, nodes, handleOf(nodes))).toBeUndefined();
    const scores = nodes.map((n) => p.score(state, pod, n));
    p.normalizeScore(state, pod, scores, nodes);
    expect(scores).toEqual([0, 50, 100]);
  });

  it('weighs zones in when nodes have them', () => {
    const p = new SelectorSpread();
    const zone = (z: string) => ({ labels: { 'topology.kubernetes.io/zone': z } });
    const nodes = [
      nodeInfo(makeNode('n1', zone('a')), [owned('a', 'n1')]),
      nodeInfo(makeNode('n2', zone('a'))),
      nodeInfo(makeNode('n3', zone('b'))),
    ];
    const pod = info(owned('new'));
    const state = newState();
    p.preScore(state, pod, nodes, handleOf(nodes));
    const scores = nodes.map((n) => p.score(state, pod, n));
    p.normalizeScore(state, pod, scores, nodes);
    // n2 is empty but shares zone a with n1; n3 is in the empty zone.
    expect(scores[2]).toBeGreaterThan(scores[1]);
    expect(scores[1]).toBeGreaterThan(scores[0]);
  });

  it('skips pods without an owner', () => {
    expect(new SelectorSpread().preScore(newState(), info(makePod('p')), [], handleOf([]))).toMatchObject({
      code: Code.Skip,
    });
  });
});
