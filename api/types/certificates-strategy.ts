/**
 * What each write path may change in a CertificateSigningRequest, as
 * Kubernetes' csrStrategy, csrStatusStrategy and csrApprovalStrategy:
 *
 * - create: the requestor (spec.username, uid, groups, extra) is whoever
 *   sent the request, whatever the body claims, and the status starts
 *   empty, so nobody creates a request already approved;
 * - update of the object: spec and status stay as they were (labels,
 *   annotations and finalizers may change);
 * - /approval: only the conditions (Approved or Denied, by an approver);
 * - /status: the rest of the status (the certificate and Failed, by the
 *   signer); the Approved and Denied conditions stay as they were.
 *
 * Validation then refuses what these cannot quietly undo (adding Approved
 * through /status, removing a condition, replacing a certificate).
 * Conditions get lastUpdateTime and lastTransitionTime when they lack them.
 */
import type { CertificateSigningRequest, CertificateSigningRequestCondition } from './certificates.js';

/** The authenticated user a create came from (the apiserver's UserInfo). */
export interface Requestor {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export function prepareCSRForCreate(csr: CertificateSigningRequest, user: Requestor | undefined): void {
  const spec = { ...(csr.spec ?? {}) };
  delete spec.username;
  delete spec.uid;
  delete spec.groups;
  delete spec.extra;
  if (user) {
    if (user.name) spec.username = user.name;
    if (user.uid) spec.uid = user.uid;
    if (user.groups.length) spec.groups = [...user.groups];
    if (user.extra && Object.keys(user.extra).length) spec.extra = structuredClone(user.extra);
  }
  csr.spec = spec;
  csr.status = {};
}

export function prepareCSRForUpdate(csr: CertificateSigningRequest, old: CertificateSigningRequest): void {
  csr.spec = structuredClone(old.spec);
  if (old.status === undefined) delete csr.status;
  else csr.status = structuredClone(old.status);
}

/** Through /status: spec stays, and so do the Approved and Denied conditions (unless added or removed). */
export function prepareCSRForStatusUpdate(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest,
  now: string,
): void {
  csr.spec = structuredClone(old.spec);
  preserveConditionInstances(csr, old, 'Approved');
  preserveConditionInstances(csr, old, 'Denied');
  populateConditionTimestamps(csr, old, now);
}

/** Through /approval: spec and the certificate stay; the conditions are the body's. */
export function prepareCSRForApprovalUpdate(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest,
  now: string,
): void {
  populateConditionTimestamps(csr, old, now);
  const conditions = csr.status?.conditions;
  csr.spec = structuredClone(old.spec);
  csr.status = structuredClone(old.status ?? {});
  if (conditions?.length) csr.status.conditions = conditions;
  else delete csr.status.conditions;
}

const indicesOf = (csr: CertificateSigningRequest, type: string): number[] =>
  (csr.status?.conditions ?? []).flatMap((c, i) => (c.type === type ? [i] : []));

/** Puts back the stored instances of a condition type, when the body has as many of them. */
function preserveConditionInstances(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest,
  type: string,
): void {
  const was = indicesOf(old, type);
  const now = indicesOf(csr, type);
  if (was.length !== now.length) return;
  now.forEach((at, i) => {
    csr.status!.conditions![at] = structuredClone(old.status!.conditions![was[i]]);
  });
}

/** Fills lastUpdateTime with now, and lastTransitionTime from a stored condition of the same type and status. */
function populateConditionTimestamps(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest,
  now: string,
): void {
  for (const c of csr.status?.conditions ?? []) {
    c.lastUpdateTime ||= now;
    if (!c.lastTransitionTime) {
      const same = (old.status?.conditions ?? []).find(
        (o: CertificateSigningRequestCondition) =>
          o.type === c.type && o.status === c.status && o.lastTransitionTime,
      );
      c.lastTransitionTime = same?.lastTransitionTime ?? now;
    }
  }
}
