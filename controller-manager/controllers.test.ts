import { describe, expect, it } from 'vitest';
import { enabledControllers } from './controllers.js';

const known = ['deployment', 'replicaset', 'namespace'];

describe('enabledControllers', () => {
  it.each([
    { name: 'star is all', spec: ['*'], want: ['deployment', 'namespace', 'replicaset'] },
    { name: 'star minus one', spec: ['*', '-namespace'], want: ['deployment', 'replicaset'] },
    { name: 'just one', spec: ['replicaset'], want: ['replicaset'] },
    { name: 'later wins', spec: ['-deployment', 'deployment'], want: ['deployment'] },
    { name: 'blank entries ignored', spec: ['', ' replicaset '], want: ['replicaset'] },
  ])('$name', ({ spec, want }) => {
    expect(enabledControllers(spec, known)).toEqual(want);
  });

  it('rejects an unknown controller by name', () => {
    expect(() => enabledControllers(['nope'], known)).toThrow(/unknown controller "nope"/);
  });
});
