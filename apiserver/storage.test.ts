import { describe, expect, it } from 'vitest';
import { resourceOfKey } from './storage.js';

describe('resourceOfKey', () => {
  const groupOf = (plural: string) => (plural === 'deployments' ? 'apps' : '');
  it.each([
    ['a core kind', '/registry/pods/default/p', { group: '', resource: 'pods' }],
    ['a built-in group', '/registry/deployments/default/d', { group: 'apps', resource: 'deployments' }],
    [
      'a custom resource',
      '/registry/example.com/widgets/default/w',
      { group: 'example.com', resource: 'widgets' },
    ],
  ])('%s', (_name, key, want) => {
    expect(resourceOfKey(key, groupOf)).toEqual(want);
  });
});
