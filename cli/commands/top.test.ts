import { describe, expect, it } from 'vitest';
import type { Summary } from '../../api/stats.js';
import { nodeTable, podTable, podUsages } from './top.js';

const node = (name: string, cpu: string, memory: string) => ({
  metadata: { name },
  status: { allocatable: { cpu, memory } },
});

const cpu = (nanoCores?: number) => ({ time: '', usageNanoCores: nanoCores, usageCoreNanoSeconds: 0 });
const memory = (bytes: number) => ({ time: '', workingSetBytes: bytes });

const summary: Summary = {
  node: { nodeName: 'n1', startTime: '', cpu: cpu(250_000_000), memory: memory(1024 ** 3) },
  pods: [
    {
      podRef: { namespace: 'default', name: 'web', uid: 'u1' },
      cpu: cpu(),
      memory: memory(0),
      containers: [
        { name: 'app', cpu: cpu(100_500_000), memory: memory(20 * 1024 ** 2) },
        { name: 'sidecar', cpu: cpu(1_000_000), memory: memory(5 * 1024 ** 2 + 1) },
      ],
    },
    {
      podRef: { namespace: 'default', name: 'starting', uid: 'u2' },
      cpu: cpu(),
      memory: memory(0),
      containers: [],
    },
  ],
};

describe('nodeTable', () => {
  it('shows millicores, Mi and whole percents of allocatable, and <unknown> for nodes without figures', () => {
    const usage = new Map([['n1', { cpu: 250_000_001, memory: 1024 ** 3 }]]);
    expect(nodeTable([node('n2', '1', '1Gi'), node('n1', '2', '4Gi')], usage)).toEqual([
      // 250.000001m rounds up to 251m (Quantity.MilliValue), 251/2000 is 12.55%.
      ['n1', '251m', '12%', '1024Mi', '25%'],
      ['n2', '<unknown>', '<unknown>', '<unknown>', '<unknown>'],
    ]);
  });

  it('sorts by name, or by the busiest first', () => {
    const usage = new Map([
      ['a', { cpu: 1e6, memory: 3 }],
      ['b', { cpu: 2e6, memory: 1 }],
    ]);
    const nodes = [node('b', '1', '1Gi'), node('a', '1', '1Gi')];
    expect(nodeTable(nodes, usage).map((r) => r[0])).toEqual(['a', 'b']);
    expect(nodeTable(nodes, usage, { sortBy: 'cpu' }).map((r) => r[0])).toEqual(['b', 'a']);
    expect(nodeTable(nodes, usage, { sortBy: 'memory' }).map((r) => r[0])).toEqual(['a', 'b']);
  });
});

describe('podUsages and podTable', () => {
  it('sums the containers of a pod and leaves out pods with no running container', () => {
    const pods = podUsages(summary);
    expect(pods).toEqual([
      {
        namespace: 'default',
        name: 'web',
        usage: { cpu: 101_500_000, memory: 25 * 1024 ** 2 + 1 },
        containers: [
          { name: 'app', usage: { cpu: 100_500_000, memory: 20 * 1024 ** 2 } },
          { name: 'sidecar', usage: { cpu: 1_000_000, memory: 5 * 1024 ** 2 + 1 } },
        ],
      },
    ]);
    expect(podTable(pods, {})).toEqual([['web', '102m', '25Mi']]);
    expect(podTable(pods, { allNamespaces: true, containers: true })).toEqual([
      ['default', 'web', 'app', '101m', '20Mi'],
      ['default', 'web', 'sidecar', '1m', '5Mi'],
    ]);
  });
});
