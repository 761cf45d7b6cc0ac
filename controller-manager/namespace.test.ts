import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { NamespaceController } from './namespace.js';

const terminating = (name: string): KubeObject => ({
  metadata: { name, deletionTimestamp: '2024-01-01T00:00:00Z' },
  spec: { finalizers: ['kubernetes'] },
  status: { phase: 'Terminating' },
});

describe('NamespaceController', () => {
  it('deletes every namespaced kind, then removes the kubernetes finalizer', async () => {
    const c = testCluster();
    const ctrl = new NamespaceController(c.ctx);
    c.seed('namespaces', terminating('team'));
    c.api.put('configmaps', { metadata: { name: 'a', namespace: 'team' } });
    c.api.put('deployments', { metadata: { name: 'web', namespace: 'team' } });
    c.api.put('configmaps', { metadata: { name: 'other', namespace: 'keep' } });
    await ctrl.sync('team');
    const collections = c.api.actions.filter((a) => a.verb === 'deletecollection').map((a) => a.resource);
    const namespaced = c.ctx.registry.all.filter((rt) => rt.namespaced).map((rt) => rt.plural);
    expect(collections.sort()).toEqual(namespaced.sort());
    expect(c.api.list('configmaps').map((o) => o.metadata.name)).toEqual(['other']);
    const fin = c.api.actions.find((a) => a.resource === 'namespaces/finalize');
    expect(fin?.verb).toBe('update');
    expect(fin?.body.spec.finalizers).toEqual([]);
  });

  it('waits while content with finalizers remains, and says so in the conditions', async () => {
    const c = testCluster();
    const ctrl = new NamespaceController(c.ctx);
    c.seed('namespaces', terminating('team'));
    c.api.put('configmaps', {
      metadata: { name: 'held', namespace: 'team', finalizers: ['example.com/hold'] },
    });
    await ctrl.sync('team');
    expect(c.api.actions.some((a) => a.resource === 'namespaces/finalize')).toBe(false);
    const status = c.api.actions.find((a) => a.resource === 'namespaces/status')?.body.status;
    expect(status.conditions.map((x: { type: string; status: string }) => `${x.type}=${x.status}`)).toEqual([
      'NamespaceContentRemaining=True',
      'NamespaceFinalizersRemaining=True',
    ]);
    expect(status.conditions[1].message).toContain('example.com/hold in 1 resource instances');
    // Requeued for a later look; once the finalizer is gone the namespace is finalized.
    expect(ctrl.queue.waitingLen()).toBe(1);
    c.api.objects.clear();
    await ctrl.sync('team');
    expect(c.api.actions.some((a) => a.resource === 'namespaces/finalize')).toBe(true);
  });

  it('leaves namespaces that are active, gone, or already finalized', async () => {
    const c = testCluster();
    const ctrl = new NamespaceController(c.ctx);
    c.seed('namespaces', { metadata: { name: 'active' }, spec: { finalizers: ['kubernetes'] } });
    c.seed('namespaces', { ...terminating('done'), spec: { finalizers: [] } });
    for (const n of ['active', 'done', 'missing']) await ctrl.sync(n);
    expect(c.api.writes()).toEqual([]);
  });
});
