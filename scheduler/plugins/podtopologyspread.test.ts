import { describe, expect, it } from 'vitest';
import { handleOf, info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { PodTopologySpread } from './podtopologyspread.js';

const web = (name: string, node?: string) => makePod(name, { labels: { app: 'web' }, node });
const spread = (maxSkew: number, extra: object = {}) => ({
  topologySpreadConstraints: [
    {
      maxSkew,
      topologyKey: 'zone',
      whenUnsatisfiable: 'DoNotSchedule',
      labelSelector: { matchLabels: { app: 'web' } },
      ...extra,
    },
  ],
});

describe('PodTopologySpread', () => {
  // zone a: n1 (2 web pods), zone b: n2 (0), n3 has no zone label.
  const nodes = () => [
    nodeInfo(makeNode('n1', { labels: { zone: 'a' } }), [web('w1', 'n1'), web('w2', 'n1')]),
    nodeInfo(makeNode('n2', { labels: { zone: 'b' } })),
    nodeInfo(makeNode('n3')),
  ];

  it.each([
    [
      'maxSkew 1: the fuller zone is rejected',
      1,
      {},
      [Code.Unschedulable, undefined, Code.UnschedulableAndUnresolvable],
    ],
    ['maxSkew 3: both zones fit', 3, {}, [undefined, undefined, Code.UnschedulableAndUnresolvable]],
    [
      'minDomains 3 with 2 domains: the minimum counts as 0',
      2,
      { minDomains: 3 },
      [Code.Unschedulable, undefined, Code.UnschedulableAndUnresolvable],
    ],
  ])('%s', (_, maxSkew, extra, codes) => {
    const p = new PodTopologySpread();
    const ns = nodes();
    const pod = info(makePod('new', { labels: { app: 'web' }, spec: spread(maxSkew, extra) }));
    const state = newState();
    expect(p.preFilter(state, pod, handleOf(ns))).toBeUndefined();
    expect(ns.map((n) => p.filter(state, pod, n)?.code)).toEqual(codes);
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])(
    'a topology key %s is a label only on nodes that have it, not an inherited property',
    (topologyKey) => {
      const p = new PodTopologySpread();
      const ns = nodes();
      const pod = info(makePod('new', { labels: { app: 'web' }, spec: spread(1, { topologyKey }) }));
      const state = newState();
      p.preFilter(state, pod, handleOf(ns));
      expect(ns.map((n) => p.filter(state, pod, n)?.code)).toEqual(
        ns.map(() => Code.UnschedulableAndUnresolvable),
      );
    },
  );

  it('explains rejections as Kubernetes does', () => {
    const p = new PodTopologySpread();
    const ns = nodes();
    const pod = info(makePod('new', { labels: { app: 'web' }, spec: spread(1) }));
    const state = newState();
    p.preFilter(state, pod, handleOf(ns));
    expect(p.filter(state, pod, ns[0])?.reasons).toEqual([
      "node(s) didn't match pod topology spread constraints",
    ]);
    expect(p.filter(state, pod, ns[2])?.reasons).toEqual([
      "node(s) didn't match pod topology spread constraints (missing required label)",
    ]);
  });

  it('ignores domains of nodes the pod may not run on (nodeAffinityPolicy Honor)', () => {
    const p = new PodTopologySpread();
    // Zone b is excluded by the nodeSelector, so zone a is the only domain: skew 0 there.
    const ns = nodes();
    const pod = info(
      makePod('new', { labels: { app: 'web' }, spec: { ...spread(1), nodeSelector: { zone: 'a' } } }),
    );
    const state = newState();
    p.preFilter(state, pod, handleOf(ns));
    expect(p.filter(state, pod, ns[0])).toBeUndefined();
  });

  it('scores emptier domains higher for ScheduleAnyway', () => {
    const p = new PodTopologySpread();
    const ns = nodes().slice(0, 2);
    const pod = info(
      makePod('new', { labels: { app: 'web' }, spec: spread(1, { whenUnsatisfiable: 'ScheduleAnyway' }) }),
    );
    const state = newState();
    expect(p.preFilter(state, pod, handleOf(ns))).toMatchObject({ code: Code.Skip });
    p.preScore(state, pod, ns, handleOf(ns));
    const scores = ns.map((n) => p.score(state, pod, n));
    p.normalizeScore(state, pod, scores);
    expect(scores[1]).toBeGreaterThan(scores[0]);
  });
});
