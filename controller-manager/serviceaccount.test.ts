import { describe, expect, it } from 'vitest';
import { newAlreadyExists } from '../api/status.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { ServiceAccountsController } from './serviceaccount.js';

describe('ServiceAccountsController', () => {
  it('creates the default service account in a namespace that lacks one', async () => {
    const c = testCluster();
    const ctrl = new ServiceAccountsController(c.ctx);
    c.seed('namespaces', { metadata: { name: 'team' } });
    await ctrl.sync('team');
    expect(c.api.writes()).toEqual(['create serviceaccounts team/default']);
  });

  it('leaves a namespace that has one, and one that is being deleted', async () => {
    const c = testCluster();
    const ctrl = new ServiceAccountsController(c.ctx);
    c.seed(
      'namespaces',
      { metadata: { name: 'has' } },
      { metadata: { name: 'gone', deletionTimestamp: '2024-01-01T00:00:00Z' } },
    );
    c.seed('serviceaccounts', { metadata: { name: 'default', namespace: 'has' } });
    await ctrl.sync('has');
    await ctrl.sync('gone');
    await ctrl.sync('missing');
    expect(c.api.writes()).toEqual([]);
  });

  it('treats AlreadyExists as done', async () => {
    const c = testCluster();
    const ctrl = new ServiceAccountsController(c.ctx);
    c.seed('namespaces', { metadata: { name: 'team' } });
    c.api.failures.set(
      'create serviceaccounts team/default',
      newAlreadyExists({ group: '', resource: 'serviceaccounts' }, 'default'),
    );
    await expect(ctrl.sync('team')).resolves.toBeUndefined();
  });
});
