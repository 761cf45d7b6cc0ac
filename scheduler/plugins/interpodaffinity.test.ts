import { describe, expect, it } from 'vitest';
import { handleOf, info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { InterPodAffinity } from './interpodaffinity.js';

const term = (app: string, topologyKey = 'kubernetes.io/hostname', extra: object = {}) => ({
  labelSelector: { matchLabels: { app } },
  topologyKey,
  ...extra,
});
const antiAffinity = (app: string, topologyKey?: string) => ({
  affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(app, topologyKey)] } },
});
const affinity = (app: string, topologyKey?: string) => ({
  affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term(app, topologyKey)] } },
});

function run(pod: ReturnType<typeof makePod>, nodes: ReturnType<typeof nodeInfo>[]) {
  const p = new InterPodAffinity();
  const state = newState();
  const pi = info(pod);
  const pre = p.preFilter(state, pi, handleOf(nodes));
  if (pre?.code === Code.Skip) return nodes.map(() => undefined);
  return nodes.map((n) => p.filter(state, pi, n));
}

describe('InterPodAffinity filter', () => {
  const cluster = () => [
    nodeInfo(makeNode('n1', { labels: { zone: 'a' } }), [
      makePod('db', { labels: { app: 'db' }, node: 'n1' }),
    ]),
    nodeInfo(makeNode('n2', { labels: { zone: 'a' } })),
    nodeInfo(makeNode('n3', { labels: { zone: 'b' } })),
  ];

  it('anti-affinity keeps the pod off nodes (or zones) that hold a matching pod', () => {
    const byHost = run(makePod('p', { spec: antiAffinity('db') }), cluster());
    expect(byHost.map((s) => s?.reasons[0])).toEqual([
      "node(s) didn't match pod anti-affinity rules",
      undefined,
      undefined,
    ]);
    expect(byHost[0]?.code).toBe(Code.Unschedulable);
    const byZone = run(makePod('p', { spec: antiAffinity('db', 'zone') }), cluster());
    expect(byZone.map((s) => !s)).toEqual([false, false, true]);
  });

  it('affinity needs a matching pod in the same domain', () => {
    const byZone = run(makePod('p', { spec: affinity('db', 'zone') }), cluster());
    expect(byZone.map((s) => !s)).toEqual([true, true, false]);
    expect(byZone[2]?.reasons).toEqual(["node(s) didn't match pod affinity rules"]);
  });

  it('lets the first pod of a group that matches its own affinity go anywhere', () => {
    const first = makePod('p', { labels: { app: 'cache' }, spec: affinity('cache') });
    expect(run(first, cluster()).every((s) => !s)).toBe(true);
    const stranger = makePod('q', { spec: affinity('cache') });
    expect(run(stranger, cluster()).every((s) => s?.code === Code.UnschedulableAndUnresolvable)).toBe(true);
  });

  it("honours existing pods' anti-affinity towards the incoming pod", () => {
    const nodes = [
      nodeInfo(makeNode('n1'), [makePod('guard', { node: 'n1', spec: antiAffinity('web') })]),
      nodeInfo(makeNode('n2')),
    ];
    const s = run(makePod('p', { labels: { app: 'web' } }), nodes);
    expect(s[0]?.reasons).toEqual(["node(s) didn't satisfy existing pods anti-affinity rules"]);
    expect(s[1]).toBeUndefined();
  });

  it('matches only pods in the namespaces the term names', () => {
    const nodes = [
      nodeInfo(makeNode('n1'), [makePod('db', { labels: { app: 'db' }, node: 'n1', ns: 'other' })]),
    ];
    expect(run(makePod('p', { spec: antiAffinity('db') }), nodes)[0]).toBeUndefined();
    const withNs = makePod('p', {
      spec: {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              term('db', undefined, { namespaces: ['other'] }),
            ],
          },
        },
      },
    });
    expect(run(withNs, nodes)[0]).toBeDefined();
    const allNs = makePod('p', {
      spec: {
        affinity: {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              term('db', undefined, { namespaceSelector: {} }),
            ],
          },
        },
      },
    });
    expect(run(allNs, nodes)[0]).toBeDefined();
  });
});

describe('InterPodAffinity score', () => {
  it('prefers domains with pods it likes and avoids those it dislikes', () => {
    const p = new InterPodAffinity();
    const nodes = [
      nodeInfo(makeNode('n1'), [makePod('db', { labels: { app: 'db' }, node: 'n1' })]),
      nodeInfo(makeNode('n2')),
      nodeInfo(makeNode('n3'), [makePod('noisy', { labels: { app: 'noisy' }, node: 'n3' })]),
    ];
    const pod = info(
      makePod('p', {
        spec: {
          affinity: {
            podAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, podAffinityTerm: term('db') }],
            },
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 50, podAffinityTerm: term('noisy') },
              ],
            },
          },
        },
      }),
    );
    const state = newState();
    expect(p.preScore(state, pod, nodes, handleOf(nodes))).toBeUndefined();
    const scores = nodes.map((n) => p.score(state, pod, n));
    p.normalizeScore(state, pod, scores);
    expect(scores).toEqual([100, 50, 0]);
  });
});
