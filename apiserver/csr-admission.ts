/**
 * Kubernetes' CertificateApproval and CertificateSigning admission plugins.
 * RBAC on certificatesigningrequests/approval and /status says who may
 * write there at all; these say for which signers: approving through
 * /approval needs `approve` on the signer, and writing status.certificate
 * needs `sign` on it, as the resource `signers` in certificates.k8s.io
 * named by the signerName or by its domain with `/*`
 * (`kubernetes.io/*`). Without them anyone allowed to approve one signer's
 * requests could approve a client certificate for system:masters.
 */
import type { KubeObject } from '../api/meta.js';
import { newForbidden } from '../api/status.js';
import type { CertificateSigningRequest } from '../api/types/certificates.js';
import type { UserInfo } from './authn.js';
import type { Attributes, Authorizer } from './authz.js';

const group = 'certificates.k8s.io';

/** `IsAuthorizedForSignerName`: the verb on the signer itself, or on every signer of its domain. */
export function authorizedForSigner(
  authorizer: Authorizer,
  user: UserInfo,
  verb: string,
  signerName: string,
) {
  const on = (name: string): Attributes => ({
    user,
    verb,
    resourceRequest: true,
    apiGroup: group,
    apiVersion: '*',
    resource: 'signers',
    subresource: '',
    namespace: '',
    name,
    path: '',
  });
  const domain = signerName.split('/')[0];
  return authorizer.authorize(on(signerName)).allowed || authorizer.authorize(on(`${domain}/*`)).allowed;
}

/**
 * The check on an update of a CertificateSigningRequest, after the strategy
 * and validation (so spec is the stored one): throws 403 Forbidden.
 */
export function admitCertificateUpdate(
  authorizer: Authorizer,
  obj: KubeObject,
  old: KubeObject,
  subresource: string | undefined,
  user: UserInfo,
): void {
  const csr = obj as CertificateSigningRequest & KubeObject;
  const signer = csr.spec?.signerName ?? '';
  const refuse = (what: string) =>
    newForbidden(
      { group, resource: 'certificatesigningrequests' },
      csr.metadata.name ?? '',
      `user not permitted to ${what} requests with signerName "${signer}"`,
    );
  if (subresource === 'approval' && !authorizedForSigner(authorizer, user, 'approve', signer))
    throw refuse('approve');
  const issued =
    (csr.status?.certificate ?? '') !== ((old as CertificateSigningRequest).status?.certificate ?? '');
  if (subresource === 'status' && issued && !authorizedForSigner(authorizer, user, 'sign', signer))
    throw refuse('sign');
}
