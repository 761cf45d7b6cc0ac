import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../meta.js';
import { apiVersionOf } from '../registry.js';
import { builtinRegistry } from './index.js';

const kinds = builtinRegistry.all.map((rt) => ({ name: `${rt.kind}.${rt.group || 'core'}`, rt }));

describe('the builtin registry', () => {
  it('serves every kind the apiserver core issue names', () => {
    const want = [
      'Namespace',
      'Pod',
      'Service',
      'Endpoints',
      'Node',
      'ConfigMap',
      'Secret',
      'Event',
      'ServiceAccount',
      'PersistentVolume',
      'PersistentVolumeClaim',
      'Deployment',
      'ReplicaSet',
      'ReplicationController',
      'StatefulSet',
      'DaemonSet',
      'ControllerRevision',
      'Job',
      'CronJob',
      'Ingress',
      'IngressClass',
      'Lease',
      'EndpointSlice',
      'StorageClass',
      'Role',
      'ClusterRole',
      'RoleBinding',
      'ClusterRoleBinding',
      'CertificateSigningRequest',
      'ValidatingWebhookConfiguration',
      'MutatingWebhookConfiguration',
      'APIService',
    ];
    expect(builtinRegistry.all.map((r) => r.kind).sort()).toEqual([...want].sort());
  });

  it.each(kinds)('$name: the schema accepts its own minimal object with defaults', ({ rt }) => {
    const obj: KubeObject = {
      apiVersion: apiVersionOf(rt),
      kind: rt.kind,
      metadata: { name: 'x', namespace: rt.namespaced ? 'default' : undefined },
    };
    rt.defaults?.(obj);
    const check = TypeCompiler.Compile(rt.schema);
    expect([...check.Errors(JSON.parse(JSON.stringify(obj)))].map((e) => `${e.path}: ${e.message}`)).toEqual(
      [],
    );
  });

  it.each(kinds)('$name: every table cell renders for a bare object', ({ rt }) => {
    const obj: KubeObject = {
      apiVersion: apiVersionOf(rt),
      kind: rt.kind,
      metadata: { name: 'x', creationTimestamp: '2026-01-01T00:00:00Z' },
    };
    for (const c of rt.columns) {
      expect(() => c.cell(obj, new Date()), c.name).not.toThrow();
    }
  });

  it('resolves kubectl-style names', () => {
    expect(builtinRegistry.resolve('po')?.kind).toBe('Pod');
    expect(builtinRegistry.resolve('deployments.apps')?.kind).toBe('Deployment');
    expect(builtinRegistry.resolve('cm')?.kind).toBe('ConfigMap');
  });
});
