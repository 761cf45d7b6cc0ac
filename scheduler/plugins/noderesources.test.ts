import { describe, expect, it } from 'vitest';
import { info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { BalancedAllocation, NodeResourcesFit } from './noderesources.js';

describe('NodeResourcesFit filter', () => {
  const p = new NodeResourcesFit();
  const node = makeNode('n', { cpu: '2', memory: '4Gi', pods: 3 });
  it.each([
    ['fits', [makePod('a', { cpu: '1' })], makePod('p', { cpu: '1', memory: '1Gi' }), []],
    ['cpu short', [makePod('a', { cpu: '1500m' })], makePod('p', { cpu: '600m' }), ['Insufficient cpu']],
    [
      'memory short',
      [makePod('a', { memory: '3Gi' })],
      makePod('p', { memory: '2Gi' }),
      ['Insufficient memory'],
    ],
    [
      'both short',
      [makePod('a', { cpu: '2', memory: '4Gi' })],
      makePod('p', { cpu: '1m', memory: '1Mi' }),
      ['Insufficient cpu', 'Insufficient memory'],
    ],
    ['pod count', [makePod('a'), makePod('b'), makePod('c')], makePod('p'), ['Too many pods']],
    ['no requests always fit the resources', [makePod('a', { cpu: '2', memory: '4Gi' })], makePod('p'), []],
    [
      'an init container counts alone',
      [makePod('a', { cpu: '1' })],
      makePod('p', {
        spec: {
          initContainers: [{ name: 'i', image: 'i', resources: { requests: { cpu: '1500m' } } }],
          containers: [{ name: 'c', image: 'i' }],
        },
      }),
      ['Insufficient cpu'],
    ],
    [
      'ephemeral-storage',
      [],
      makePod('p', {
        spec: {
          containers: [{ name: 'c', image: 'i', resources: { requests: { 'ephemeral-storage': '20Gi' } } }],
        },
      }),
      ['Insufficient ephemeral-storage'],
    ],
    [
      'extended resources',
      [],
      makePod('p', {
        spec: {
          containers: [{ name: 'c', image: 'i', resources: { requests: { 'example.com/gpu': '1' } } }],
        },
      }),
      ['Insufficient example.com/gpu'],
    ],
  ])('%s', (_, existing, pod, reasons) => {
    const s = p.filter(newState(), info(pod), nodeInfo(node, existing));
    expect(s?.reasons ?? []).toEqual(reasons);
    if (s) expect(s.code).toBe(Code.Unschedulable);
  });
});

describe('resource scores', () => {
  it('LeastAllocated prefers the emptier node, counting 100m/200Mi for pods without requests', () => {
    const p = new NodeResourcesFit();
    const pod = info(makePod('p', { cpu: '1', memory: '1Gi' }));
    const empty = nodeInfo(makeNode('a', { cpu: '4', memory: '8Gi' }));
    const half = nodeInfo(makeNode('b', { cpu: '4', memory: '8Gi' }), [
      makePod('x', { cpu: '1', memory: '3Gi' }),
    ]);
    // cpu (4-1)/4=75, memory (8-1)/8=87 → 81; cpu (4-2)/4=50, memory (8-4)/8=50 → 50
    expect(p.score(newState(), pod, empty)).toBe(81);
    expect(p.score(newState(), pod, half)).toBe(50);
    const noRequests = info(makePod('q'));
    // 100m of 4 cpu: 97; 200Mi of 8Gi: 97
    expect(p.score(newState(), noRequests, empty)).toBe(97);
  });

  it('BalancedAllocation prefers nodes where cpu and memory use stay in step', () => {
    const p = new BalancedAllocation();
    const pod = info(makePod('p', { cpu: '1', memory: '2Gi' }));
    const balanced = nodeInfo(makeNode('a', { cpu: '4', memory: '8Gi' }));
    const skewed = nodeInfo(makeNode('b', { cpu: '4', memory: '8Gi' }), [makePod('x', { cpu: '2' })]);
    expect(p.score(newState(), pod, balanced)).toBe(100);
    // cpu 3/4, memory 2/8: std 0.25 → 75
    expect(p.score(newState(), pod, skewed)).toBe(75);
  });
});
