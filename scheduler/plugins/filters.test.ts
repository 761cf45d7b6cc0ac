// NodeUnschedulable, NodeName, NodePorts and TaintToleration: small filters, one table each.
import { describe, expect, it } from 'vitest';
import { tolerates } from '../../api/scheduling.js';
import { info, makeNode, makePod, newState, nodeInfo } from '../../testing/scheduler-fixtures.js';
import { Code } from '../framework.js';
import { NodeName } from './nodename.js';
import { NodePorts } from './nodeports.js';
import { NodeUnschedulable } from './nodeunschedulable.js';
import { TaintToleration } from './tainttoleration.js';

describe('NodeUnschedulable', () => {
  const p = new NodeUnschedulable();
  it.each([
    ['schedulable node', false, [], undefined],
    ['cordoned node', true, [], Code.UnschedulableAndUnresolvable],
    [
      'cordoned node, pod tolerates it',
      true,
      [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      undefined,
    ],
  ])('%s', (_, unschedulable, tolerations, code) => {
    const s = p.filter(
      newState(),
      info(makePod('p', { spec: { tolerations } })),
      nodeInfo(makeNode('n', { unschedulable })),
    );
    expect(s?.code).toBe(code);
    if (s) expect(s.reasons).toEqual(['node(s) were unschedulable']);
  });
});

describe('NodeName', () => {
  it('allows only the named node', () => {
    const p = new NodeName();
    const pod = info(makePod('p', { spec: { nodeName: 'a' } }));
    expect(p.filter(newState(), pod, nodeInfo(makeNode('a')))).toBeUndefined();
    expect(p.filter(newState(), pod, nodeInfo(makeNode('b')))?.reasons).toEqual([
      "node(s) didn't match the requested node name",
    ]);
    expect(p.preFilter(newState(), info(makePod('q')))).toMatchObject({ code: Code.Skip });
  });
});

describe('NodePorts', () => {
  const withPort = (name: string, hostPort: number, hostIP?: string, protocol?: string) =>
    makePod(name, {
      spec: {
        containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort, hostIP, protocol }] }],
      },
    });
  it.each([
    ['free port', withPort('a', 8080), withPort('b', 9090), false],
    ['same port, any IP', withPort('a', 8080), withPort('b', 8080), true],
    [
      'same port, different specific IPs',
      withPort('a', 8080, '10.0.0.1'),
      withPort('b', 8080, '10.0.0.2'),
      false,
    ],
    ['same port, wildcard vs specific', withPort('a', 8080), withPort('b', 8080, '10.0.0.2'), true],
    ['same port, other protocol', withPort('a', 8080, undefined, 'UDP'), withPort('b', 8080), false],
  ])('%s', (_, existing, incoming, clash) => {
    const s = new NodePorts().filter(newState(), info(incoming), nodeInfo(makeNode('n'), [existing]));
    expect(s?.reasons).toEqual(
      clash ? ["node(s) didn't have free ports for the requested pod ports"] : undefined,
    );
  });
});

describe('TaintToleration', () => {
  const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
  it.each([
    ['Equal with the same value', { key: 'k', operator: 'Equal', value: 'v' }, true],
    ['Equal with another value', { key: 'k', value: 'w' }, false],
    ['Exists on the key', { key: 'k', operator: 'Exists' }, true],
    ['Exists with no key tolerates everything', { operator: 'Exists' }, true],
    ['another effect', { key: 'k', operator: 'Exists', effect: 'NoExecute' }, false],
  ])('tolerates: %s', (_, t, want) => {
    expect(tolerates(t, taint)).toBe(want);
  });

  it('rejects a node with an untolerated NoSchedule or NoExecute taint, naming it', () => {
    const p = new TaintToleration();
    const node = nodeInfo(makeNode('n', { taints: [{ key: 'gpu', value: 'yes', effect: 'NoExecute' }] }));
    const s = p.filter(newState(), info(makePod('p')), node);
    expect(s?.code).toBe(Code.UnschedulableAndUnresolvable);
    expect(s?.reasons).toEqual(['node(s) had untolerated taint {gpu: yes}']);
    const tolerant = makePod('q', { spec: { tolerations: [{ key: 'gpu', operator: 'Exists' }] } });
    expect(p.filter(newState(), info(tolerant), node)).toBeUndefined();
    const prefer = nodeInfo(makeNode('m', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] }));
    expect(p.filter(newState(), info(makePod('p')), prefer)).toBeUndefined();
  });

  it('scores nodes with fewer intolerable PreferNoSchedule taints higher', () => {
    const p = new TaintToleration();
    const pod = info(makePod('p'));
    const nodes = [
      nodeInfo(makeNode('clean')),
      nodeInfo(makeNode('one', { taints: [{ key: 'a', effect: 'PreferNoSchedule' }] })),
      nodeInfo(
        makeNode('two', {
          taints: [
            { key: 'a', effect: 'PreferNoSchedule' },
            { key: 'b', effect: 'PreferNoSchedule' },
          ],
        }),
      ),
    ];
    const scores = nodes.map((n) => p.score(newState(), pod, n));
    p.normalizeScore(newState(), pod, scores);
    expect(scores).toEqual([100, 50, 0]);
  });
});
