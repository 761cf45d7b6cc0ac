/**
 * CertificateSigningRequests: the requestor recorded on create, the
 * approval subresource, and the CertificateApproval and CertificateSigning
 * admission plugins (csr-admission.ts); the rules themselves are in
 * api/types/certificates-strategy.ts.
 */
import { metaTime } from '../../api/time.js';
import type { CertificateSigningRequest as CSR } from '../../api/types/certificates.js';
import {
  prepareCSRForApprovalUpdate,
  prepareCSRForCreate,
  prepareCSRForStatusUpdate,
  prepareCSRForUpdate,
} from '../../api/types/certificates-strategy.js';
import { admitCertificateUpdate } from '../csr-admission.js';
import { wholeObject } from '../subresources.js';
import type { Kind } from './kind.js';

export const certificateSigningRequests: Kind = {
  strategy: (base, now) => {
    const status = base.subresourceUpdates.status;
    return {
      ...base,
      prepareForCreate(obj, user) {
        base.prepareForCreate(obj, user);
        prepareCSRForCreate(obj as CSR, user);
      },
      prepareForUpdate(obj, old) {
        prepareCSRForUpdate(obj as CSR, old as CSR);
        base.prepareForUpdate(obj, old);
      },
      subresourceUpdates: {
        ...base.subresourceUpdates,
        status: {
          prepare(obj, old) {
            status.prepare(obj, old);
            prepareCSRForStatusUpdate(obj as CSR, old as CSR, metaTime(now().getTime()));
          },
        },
        approval: {
          // Metadata as through /status; then only the conditions come from the body.
          prepare(obj, old) {
            status.prepare(obj, old);
            prepareCSRForApprovalUpdate(obj as CSR, old as CSR, metaTime(now().getTime()));
          },
        },
      },
    };
  },
  admission: (ctx) => ({
    admitUpdate: (obj, old, sub, user) => admitCertificateUpdate(ctx.authorizer(), obj, old, sub, user),
  }),
  subresources: { approval: wholeObject },
};
