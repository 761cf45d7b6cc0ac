import { describe, expect, it } from 'vitest';
import { newAlreadyExists, StatusError } from '../api/status.js';
import { testCluster } from '../testing/cluster-fakes.js';
import {
  newRootCACertPublisher,
  RootCACertPublisher,
  rootCAConfigMapName,
  rootCADescription,
} from './root-ca-cert-publisher.js';

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const description = { 'kubernetes.io/description': rootCADescription };

function publisher() {
  const c = testCluster({ rootCA: ca });
  return { c, ctrl: new RootCACertPublisher(c.ctx) };
}

describe('RootCACertPublisher', () => {
  it('publishes the CA in a namespace that lacks it', async () => {
    const { c, ctrl } = publisher();
    c.seed('namespaces', { metadata: { name: 'team' } });
    await ctrl.sync('team');
    expect(c.api.writes()).toEqual([`create configmaps team/${rootCAConfigMapName}`]);
    expect(c.api.get('configmaps', `team/${rootCAConfigMapName}`)).toMatchObject({
      metadata: { name: 'kube-root-ca.crt', namespace: 'team', annotations: description },
      data: { 'ca.crt': ca },
    });
  });

  it('leaves a namespace whose ConfigMap is right, one being deleted, and one that is gone', async () => {
    const { c, ctrl } = publisher();
    c.seed(
      'namespaces',
      { metadata: { name: 'has' } },
      { metadata: { name: 'going', deletionTimestamp: '2024-01-01T00:00:00Z' } },
    );
    c.seed('configmaps', {
      metadata: { name: rootCAConfigMapName, namespace: 'has', annotations: description },
      data: { 'ca.crt': ca },
    } as never);
    for (const ns of ['has', 'going', 'missing']) await ctrl.sync(ns);
    expect(c.api.writes()).toEqual([]);
  });

  it.each([
    { name: 'other CA', data: { 'ca.crt': 'not it' }, annotations: description },
    { name: 'an extra key', data: { 'ca.crt': ca, extra: 'x' }, annotations: description },
    { name: 'no data', data: undefined, annotations: description },
    { name: 'no description', data: { 'ca.crt': ca }, annotations: { team: 'a' } },
  ])('resets an edited ConfigMap: $name', async ({ data, annotations }) => {
    const { c, ctrl } = publisher();
    c.seed('namespaces', { metadata: { name: 'team' } });
    c.seed('configmaps', {
      metadata: { name: rootCAConfigMapName, namespace: 'team', annotations },
      data,
    } as never);
    await ctrl.sync('team');
    expect(c.api.writes()).toEqual([`update configmaps team/${rootCAConfigMapName}`]);
    const cm = c.api.get('configmaps', `team/${rootCAConfigMapName}`) as never as {
      data: unknown;
      metadata: { annotations: Record<string, string> };
    };
    expect(cm.data).toEqual({ 'ca.crt': ca });
    expect(cm.metadata.annotations).toEqual({ ...annotations, ...description });
  });

  it('keeps a description someone rewrote, as Kubernetes does', async () => {
    const { c, ctrl } = publisher();
    c.seed('namespaces', { metadata: { name: 'team' } });
    const mine = { 'kubernetes.io/description': 'ours' };
    c.seed('configmaps', {
      metadata: { name: rootCAConfigMapName, namespace: 'team', annotations: mine },
      data: { 'ca.crt': 'old' },
    } as never);
    await ctrl.sync('team');
    expect(c.api.get('configmaps', `team/${rootCAConfigMapName}`)?.metadata.annotations).toEqual(mine);
  });

  it.each([
    {
      name: 'AlreadyExists (the cache lags)',
      err: newAlreadyExists({ group: '', resource: 'configmaps' }, 'x'),
    },
    {
      name: 'Forbidden (the namespace is terminating)',
      err: new StatusError(403, 'Forbidden', 'terminating'),
    },
  ])('treats $name on create as done', async ({ err }) => {
    const { c, ctrl } = publisher();
    c.seed('namespaces', { metadata: { name: 'team' } });
    c.api.failures.set(`create configmaps team/${rootCAConfigMapName}`, err);
    await expect(ctrl.sync('team')).resolves.toBeUndefined();
  });

  it('throws other errors to be retried', async () => {
    const { c, ctrl } = publisher();
    c.seed('namespaces', { metadata: { name: 'team' } });
    c.api.failures.set(
      `create configmaps team/${rootCAConfigMapName}`,
      new StatusError(500, 'InternalError', 'x'),
    );
    await expect(ctrl.sync('team')).rejects.toThrow('x');
  });

  it('queues the namespace of its own ConfigMap, and no other', () => {
    const { ctrl } = publisher();
    ctrl.configMapChanged({ metadata: { name: 'settings', namespace: 'other' } });
    expect(ctrl.queue.len()).toBe(0);
    ctrl.configMapChanged({ metadata: { name: rootCAConfigMapName, namespace: 'team' } });
    expect(ctrl.queue.len()).toBe(1);
  });
});

describe('newRootCACertPublisher', () => {
  it('does not run without --root-ca-file', async () => {
    const c = testCluster();
    const ctrl = newRootCACertPublisher(c.ctx);
    expect(ctrl).not.toBeInstanceOf(RootCACertPublisher);
    await expect(ctrl.run(new AbortController().signal)).resolves.toBeUndefined();
    expect(c.api.actions).toEqual([]);
  });

  it('runs the publisher with it', () => {
    expect(newRootCACertPublisher(testCluster({ rootCA: ca }).ctx)).toBeInstanceOf(RootCACertPublisher);
  });
});
