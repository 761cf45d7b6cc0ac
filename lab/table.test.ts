import { describe, expect, it } from 'vitest';
import { table } from './table.js';

describe('lab drill table', () => {
  it('lists every measure of every drill with its result, columns aligned', () => {
    const out = table([
      { drill: 'etcd', measures: { stopped: 'etcd-2', longestGapMs: 148 }, problems: [] },
      { drill: 'worker', measures: { nodeNotReadyMs: 20388 }, problems: ['lost 1 acknowledged writes: a-1'] },
    ]);
    expect(out.split('\n')).toEqual([
      'DRILL    MEASURE          VALUE',
      'etcd     stopped          etcd-2',
      'etcd     longestGapMs     148',
      'etcd     result           passed',
      'worker   nodeNotReadyMs   20388',
      'worker   result           FAILED: lost 1 acknowledged writes: a-1',
    ]);
  });
});
