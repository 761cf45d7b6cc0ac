import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import type { UserInfo } from './authn.js';
import { type PolicyRule, RbacAuthorizer } from './authz.js';
import { admitCertificateUpdate } from './csr-admission.js';

/** RBAC where the user `approver` holds `rules`, through one ClusterRoleBinding. */
function rbacWith(rules: PolicyRule[]): RbacAuthorizer {
  const binding = {
    metadata: { name: 'approver' },
    subjects: [{ kind: 'User', name: 'approver' }],
    roleRef: { kind: 'ClusterRole', name: 'approver' },
  } as KubeObject;
  return new RbacAuthorizer({
    clusterRoleBindings: () => [binding],
    roleBindings: () => [],
    clusterRole: () => ({ metadata: { name: 'approver' }, rules }) as KubeObject,
    role: () => undefined,
  });
}

const approver: UserInfo = { name: 'approver', groups: ['system:authenticated'] };
const signers = (verb: string, names: string[]): PolicyRule => ({
  verbs: [verb],
  apiGroups: ['certificates.k8s.io'],
  resources: ['signers'],
  resourceNames: names,
});

const csr = (certificate?: string) =>
  ({
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: { name: 'csr-1' },
    spec: { signerName: 'kubernetes.io/kube-apiserver-client' },
    status: certificate ? { certificate } : {},
  }) as KubeObject;

const attempt = (rules: PolicyRule[], sub: string, obj = csr(), old = csr()) => {
  try {
    admitCertificateUpdate(rbacWith(rules), obj, old, sub, approver);
    return 'allowed';
  } catch (err) {
    return (err as Error).message;
  }
};

describe('CertificateApproval and CertificateSigning admission', () => {
  it.each([
    { name: 'the signer itself', rules: [signers('approve', ['kubernetes.io/kube-apiserver-client'])] },
    { name: 'every signer of its domain', rules: [signers('approve', ['kubernetes.io/*'])] },
  ])('lets a user approve who may approve $name', ({ rules }) => {
    expect(attempt(rules, 'approval')).toBe('allowed');
  });

  it('refuses to approve for a signer the user may not approve for', () => {
    expect(attempt([signers('approve', ['example.com/mine'])], 'approval')).toBe(
      'certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"',
    );
  });

  it('asks for sign only when /status changes the certificate', () => {
    expect(attempt([], 'status')).toBe('allowed');
    expect(attempt([], 'status', csr('Y2VydA=='))).toBe(
      'certificatesigningrequests.certificates.k8s.io "csr-1" is forbidden: user not permitted to sign requests with signerName "kubernetes.io/kube-apiserver-client"',
    );
    expect(attempt([signers('sign', ['kubernetes.io/*'])], 'status', csr('Y2VydA=='))).toBe('allowed');
  });

  it('lets system:masters do both', () => {
    const admin: UserInfo = { name: 'admin', groups: ['system:masters'] };
    expect(() => admitCertificateUpdate(rbacWith([]), csr('Y2VydA=='), csr(), 'status', admin)).not.toThrow();
    expect(() => admitCertificateUpdate(rbacWith([]), csr(), csr(), 'approval', admin)).not.toThrow();
  });
});
