import { describe, expect, it } from 'vitest';
import { makePod } from '../testing/scheduler-fixtures.js';
import { podRequests } from './types.js';

const c = (name: string, cpu: string, extra: object = {}) => ({
  name,
  image: 'i',
  resources: { requests: { cpu } },
  ...extra,
});

describe('podRequests', () => {
  it.each([
    ['app containers add up', { containers: [c('a', '100m'), c('b', '200m')] }, 300],
    [
      'an init container bigger than the apps wins',
      { initContainers: [c('i', '1')], containers: [c('a', '100m')] },
      1000,
    ],
    [
      'init containers run one at a time: the largest counts',
      { initContainers: [c('i1', '300m'), c('i2', '200m')], containers: [c('a', '100m')] },
      300,
    ],
    [
      'sidecars add to the apps and to later init containers',
      {
        initContainers: [c('s', '200m', { restartPolicy: 'Always' }), c('i', '500m')],
        containers: [c('a', '100m')],
      },
      700,
    ],
    ['overhead is added', { containers: [c('a', '100m')], overhead: { cpu: '50m' } }, 150],
    [
      'pod-level requests replace the sum',
      { containers: [c('a', '100m')], resources: { requests: { cpu: '2' } } },
      2000,
    ],
  ])('%s', (_, spec, milli) => {
    expect(podRequests(makePod('p', { spec: spec as never })).milliCPU).toBe(milli);
  });

  it('counts 100m and 200Mi for containers without requests when scoring', () => {
    const r = podRequests(makePod('p'), true);
    expect(r).toMatchObject({ milliCPU: 100, memory: 200 * 1024 * 1024 });
    expect(podRequests(makePod('p'))).toMatchObject({ milliCPU: 0, memory: 0 });
  });
});
