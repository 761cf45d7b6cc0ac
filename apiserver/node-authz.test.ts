import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import type { UserInfo } from './authn.js';
import { newForbiddenFor, requestAttributes } from './authz.js';
import { NodeAuthorizer, podReferences } from './node-authz.js';

const pod = (name: string, node: string, spec: Record<string, unknown>) =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'app' },
    spec: { nodeName: node, ...spec },
  }) as KubeObject;

const pods = [
  pod('web', 'n1', {
    serviceAccountName: 'web-sa',
    volumes: [
      { name: 'a', secret: { secretName: 'tls' } },
      { name: 'b', projected: { sources: [{ configMap: { name: 'settings' } }] } },
      { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
    ],
    containers: [{ name: 'c', env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'p' } } }] }],
  }),
  pod('other', 'n2', { volumes: [{ name: 'a', secret: { secretName: 'n2-only' } }] }),
];
const claims = [{ metadata: { name: 'data', namespace: 'app' }, spec: { volumeName: 'pv-1' } } as KubeObject];

const authz = new NodeAuthorizer({
  pods: () => pods,
  claim: (ns, name) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
});
const n1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const can = (user: UserInfo, method: string, url: string) =>
  authz.authorize(requestAttributes(user, method, url));

describe('NodeAuthorizer', () => {
  it('finds what a pod uses', () => {
    expect([...podReferences(pods[0] as never)].sort()).toEqual([
      'configmaps/settings',
      'persistentvolumeclaims/data',
      'secrets/db',
      'secrets/tls',
      'serviceaccounts/web-sa',
    ]);
  });

  it('lets a node get what its pods use, and nothing else', () => {
    expect(can(n1, 'GET', '/api/v1/namespaces/app/secrets/tls').allowed).toBe(true);
    expect(can(n1, 'GET', '/api/v1/namespaces/app/secrets/db').allowed).toBe(true);
    expect(can(n1, 'GET', '/api/v1/namespaces/app/configmaps/settings').allowed).toBe(true);
    expect(can(n1, 'GET', '/api/v1/namespaces/app/persistentvolumeclaims/data').allowed).toBe(true);
    expect(can(n1, 'GET', '/api/v1/persistentvolumes/pv-1').allowed).toBe(true);
    expect(can(n1, 'POST', '/api/v1/namespaces/app/serviceaccounts/web-sa/token').allowed).toBe(true);
    const other = requestAttributes(n1, 'GET', '/api/v1/namespaces/app/secrets/n2-only');
    const d = authz.authorize(other);
    expect(d.allowed).toBe(false);
    expect(newForbiddenFor(other, d.reason).message).toBe(
      `secrets "n2-only" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "app": no relationship found between node 'n1' and this object`,
    );
    expect(can(n1, 'GET', '/api/v1/namespaces/app/secrets').allowed).toBe(false);
    expect(can(n1, 'POST', '/api/v1/namespaces/app/serviceaccounts/default/token').allowed).toBe(false);
  });

  it('lets a node change only its own Node and Lease, and read what a kubelet reads', () => {
    expect(can(n1, 'PATCH', '/api/v1/nodes/n1/status').allowed).toBe(true);
    expect(can(n1, 'PATCH', '/api/v1/nodes/n2/status').allowed).toBe(false);
    expect(can(n1, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1').allowed).toBe(
      true,
    );
    expect(can(n1, 'PUT', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n2').allowed).toBe(
      false,
    );
    expect(can(n1, 'GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1').allowed).toBe(true);
    expect(can(n1, 'GET', '/api/v1/services?watch=1').allowed).toBe(true);
    expect(can(n1, 'DELETE', '/api/v1/namespaces/app').allowed).toBe(false);
  });

  it('lets a node ask for a certificate and watch for it, but not approve it', () => {
    const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
    expect(can(n1, 'POST', csrs).allowed).toBe(true);
    expect(can(n1, 'GET', `${csrs}?watch=1&fieldSelector=metadata.name%3Dcsr-1`).allowed).toBe(true);
    expect(can(n1, 'GET', `${csrs}/csr-1`).allowed).toBe(true);
    expect(can(n1, 'PUT', `${csrs}/csr-1/approval`).allowed).toBe(false);
    expect(can(n1, 'PUT', `${csrs}/csr-1/status`).allowed).toBe(false);
  });

  it('has no opinion on users that are not nodes', () => {
    const jane = { name: 'jane', groups: ['system:authenticated'] };
    expect(can(jane, 'GET', '/api/v1/namespaces/app/secrets/tls')).toEqual({ allowed: false, reason: '' });
    expect(can({ name: 'system:node:n1', groups: [] }, 'GET', '/api/v1/pods').allowed).toBe(false);
  });
});
