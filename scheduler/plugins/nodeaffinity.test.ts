import { describe, expect, it } from 'vitest';
import { info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { NodeAffinity } from './nodeaffinity.js';

const node = makeNode('n1', { labels: { zone: 'a', disk: 'ssd', cores: '16' } });
const required = (matchExpressions: object[], matchFields: object[] = []) => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions, matchFields }],
      },
    },
  },
});

describe('NodeAffinity filter', () => {
  const p = new NodeAffinity();
  it.each([
    ['nodeSelector matches', { nodeSelector: { zone: 'a' } }, true],
    ['nodeSelector does not match', { nodeSelector: { zone: 'b' } }, false],
    ['In', required([{ key: 'zone', operator: 'In', values: ['a', 'b'] }]), true],
    ['In, no value', required([{ key: 'zone', operator: 'In', values: ['c'] }]), false],
    ['NotIn', required([{ key: 'zone', operator: 'NotIn', values: ['b'] }]), true],
    ['NotIn, label missing', required([{ key: 'rack', operator: 'NotIn', values: ['b'] }]), true],
    ['Exists', required([{ key: 'disk', operator: 'Exists' }]), true],
    ['DoesNotExist', required([{ key: 'disk', operator: 'DoesNotExist' }]), false],
    ['Gt', required([{ key: 'cores', operator: 'Gt', values: ['8'] }]), true],
    ['Lt', required([{ key: 'cores', operator: 'Lt', values: ['8'] }]), false],
    ['Gt on a non-number', required([{ key: 'zone', operator: 'Gt', values: ['1'] }]), false],
    [
      'matchFields metadata.name',
      required([], [{ key: 'metadata.name', operator: 'In', values: ['n1'] }]),
      true,
    ],
    [
      'matchFields another name',
      required([], [{ key: 'metadata.name', operator: 'In', values: ['n2'] }]),
      false,
    ],
    ['empty term matches nothing', required([]), false],
    [
      'terms are ORed',
      {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['x'] }] },
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
              ],
            },
          },
        },
      },
      true,
    ],
    [
      'selector and affinity must both hold',
      { nodeSelector: { zone: 'b' }, ...required([{ key: 'disk', operator: 'Exists' }]) },
      false,
    ],
  ])('%s', (_, spec, fits) => {
    const pod = info(makePod('p', { spec: spec as never }));
    const s = p.filter(newState(), pod, nodeInfo(node));
    expect(s === undefined).toBe(fits);
    if (s) {
      expect(s.code).toBe(Code.UnschedulableAndUnresolvable);
      expect(s.reasons).toEqual(["node(s) didn't match Pod's node affinity/selector"]);
    }
  });

  it('skips pods without selector or affinity, and narrows to named nodes', () => {
    expect(p.preFilter(newState(), info(makePod('p')))).toMatchObject({ code: Code.Skip });
    const named = info(
      makePod('p', {
        spec: required([], [{ key: 'metadata.name', operator: 'In', values: ['n1', 'n3'] }]) as never,
      }),
    );
    expect(p.preFilter(newState(), named)).toEqual({ nodeNames: new Set(['n1', 'n3']) });
  });
});

describe('NodeAffinity score', () => {
  it('sums the weights of the preferred terms a node matches, scaled to 100', () => {
    const p = new NodeAffinity();
    const pod = info(
      makePod('p', {
        spec: {
          affinity: {
            nodeAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                {
                  weight: 10,
                  preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
                },
                {
                  weight: 30,
                  preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] },
                },
              ],
            },
          },
        },
      }),
    );
    const nodes = [node, makeNode('n2', { labels: { disk: 'ssd' } }), makeNode('n3')].map((n) => nodeInfo(n));
    const scores = nodes.map((n) => p.score(newState(), pod, n));
    expect(scores).toEqual([40, 30, 0]);
    p.normalizeScore(newState(), pod, scores);
    expect(scores).toEqual([100, 75, 0]);
  });
});
