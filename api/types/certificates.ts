/**
 * certificates.k8s.io/v1 CertificateSigningRequest: a client asks a signer
 * for a certificate. Validation and columns follow Kubernetes'
 * pkg/apis/certificates and its printer. What each write path may change
 * (the requestor is the apiserver's to fill, /approval holds the Approved
 * and Denied conditions, /status the certificate) is in
 * certificates-strategy.ts.
 *
 * The request's PEM armour is checked, and that it holds one DER SEQUENCE;
 * its signature is not (Kubernetes checks it with Go's x509 package).
 */
import { X509Certificate } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { KubeObject } from '../meta.js';
import { ObjectMeta, TypeMeta } from '../meta.js';
import { ageColumn, column, humanDuration } from '../printers.js';
import type { ResourceType } from '../registry.js';
import { AtomicList, Int, MapList, Str, Struct, T, Time } from '../schema.js';
import type { FieldError } from '../status.js';
import {
  DNS1123LabelMaxLength,
  DNS1123SubdomainMaxLength,
  duplicateError,
  forbiddenError,
  index,
  invalidError,
  isDNS1123Label,
  isDNS1123Subdomain,
  nameIsPathSegment,
  notSupportedError,
  requiredError,
  tooLongError,
} from '../validation.js';
import { isDerSequence, pemBlocks } from './pem.js';
import { decodeBase64 } from './secret.js';

export const certificatesGroup = 'certificates.k8s.io';

/** Signers Kubernetes defines (certificates/v1 constants). */
export const kubeAPIServerClientSigner = 'kubernetes.io/kube-apiserver-client';
export const kubeAPIServerClientKubeletSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
export const kubeletServingSigner = 'kubernetes.io/kubelet-serving';
const legacyUnknownSigner = 'kubernetes.io/legacy-unknown';

/** Every key usage Kubernetes knows (`allValidUsages`), sorted as its error lists them. */
export const keyUsages = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
].sort();

/** `[]byte` on the wire: base64 in JSON. */
const Bytes = (description: string) => T.String({ format: 'byte', description });

export const CertificateSigningRequestCondition = Struct(
  {
    type: Str('Approved, Denied or Failed (only True), or another type.'),
    status: Str('True, False or Unknown.'),
    reason: Str('A brief reason, CamelCase.'),
    message: Str('A human-readable explanation.'),
    lastUpdateTime: Time('When the condition was last written; the apiserver fills it in.'),
    lastTransitionTime: Time('When the status last changed; the apiserver fills it in.'),
  },
  'One state of a request.',
);
export type CertificateSigningRequestCondition = Static<typeof CertificateSigningRequestCondition>;

export const CertificateSigningRequest = Struct(
  {
    ...TypeMeta,
    metadata: ObjectMeta,
    spec: Struct(
      {
        request: Bytes('A PEM-encoded PKCS#10 CERTIFICATE REQUEST. Cannot be changed.'),
        signerName: Str('The signer asked to sign, as example.com/signer-name. Required.'),
        expirationSeconds: Int('Validity asked for, at least 600 seconds; the signer may give less.'),
        usages: AtomicList(Str(), 'Key usages asked for: digital signature, client auth, server auth...'),
        username: Str('Who created the request. Set by the apiserver.'),
        uid: Str('UID of who created the request. Set by the apiserver.'),
        groups: AtomicList(Str(), 'Groups of who created the request. Set by the apiserver.'),
        extra: T.Record(T.String(), T.Array(T.String()), {
          description: 'Extra attributes of who created the request. Set by the apiserver.',
        }),
      },
      'What is asked for, and by whom.',
    ),
    status: Struct(
      {
        conditions: MapList(
          CertificateSigningRequestCondition,
          ['type'],
          'Approved or Denied (through /approval), and Failed (through /status).',
          { noPatchMerge: true },
        ),
        certificate: Bytes('The issued certificate chain, PEM; written by the signer through /status.'),
      },
      'The approval and the certificate.',
    ),
  },
  'A request for a certificate from a signer, approved or denied, then signed.',
);
export type CertificateSigningRequest = Static<typeof CertificateSigningRequest>;

// ---- the request and the certificate -------------------------------------------------

/** Why a request is not a PKCS#10 PEM block (`certificates.ParseCSR`), or undefined. */
function requestProblem(request: string | undefined): string | undefined {
  const bytes = decodeBase64(request ?? '');
  if (!bytes) return 'must be base64-encoded';
  const block = pemBlocks(bytes.toString('latin1'))[0];
  if (block?.type !== 'CERTIFICATE REQUEST') return 'PEM block type must be CERTIFICATE REQUEST';
  if (!isDerSequence(block.bytes)) return 'x509: malformed certificate request';
  return undefined;
}

/** Why status.certificate is not a chain of CERTIFICATE blocks (`validateCertificate`), or undefined. */
function certificateProblem(certificate: string | undefined): string | undefined {
  if (!certificate) return undefined;
  const bytes = decodeBase64(certificate);
  if (!bytes) return 'must be base64-encoded';
  const blocks = pemBlocks(bytes.toString('latin1'));
  if (blocks.length === 0) return 'must contain at least one CERTIFICATE PEM block';
  for (const b of blocks) {
    if (b.type !== 'CERTIFICATE')
      return `only CERTIFICATE PEM blocks are allowed, found ${JSON.stringify(b.type)}`;
    if (b.headers) return 'no PEM block headers are permitted';
    try {
      new X509Certificate(b.bytes);
    } catch (err) {
      return `x509: ${(err as Error).message}`;
    }
  }
  return undefined;
}

// ---- validation ---------------------------------------------------------------------

/**
 * `ValidateSignerName`: a domain of at least two DNS labels, one '/', and a
 * path of DNS subdomains separated by dots, 571 characters in all.
 */
export function validateSignerName(path: string, signerName: string | undefined): FieldError[] {
  if (!signerName) return [requiredError(path)];
  const segments = signerName.split('/');
  if (segments.length !== 2)
    return [
      invalidError(
        path,
        signerName,
        "must be a fully qualified domain and path of the form 'example.com/signer-name'",
      ),
    ];
  const [domain, rest] = segments;
  const errs: FieldError[] = [];
  if (domain.length > DNS1123SubdomainMaxLength) errs.push(tooLongError(path, DNS1123SubdomainMaxLength));
  const domainLabels = domain.split('.');
  // The first bad label only: the rest would repeat the same message.
  for (const lbl of domainLabels) {
    const bad = isDNS1123Label(lbl);
    errs.push(...bad.map((msg) => invalidError(path, domain, `validating label "${lbl}": ${msg}`)));
    if (bad.length) break;
  }
  if (domainLabels.length < 2)
    errs.push(invalidError(path, domain, 'should be a domain with at least two segments separated by dots'));
  for (const lbl of rest.split('.')) {
    const bad = isDNS1123Subdomain(lbl);
    errs.push(...bad.map((msg) => invalidError(path, rest, `validating label "${lbl}": ${msg}`)));
    if (bad.length) break;
  }
  const max = DNS1123SubdomainMaxLength + (DNS1123SubdomainMaxLength + DNS1123LabelMaxLength + 1) + 1;
  if (signerName.length > max) errs.push(tooLongError(path, max));
  return errs;
}

type Condition = CertificateSigningRequestCondition;
const conditionsOf = (csr: CertificateSigningRequest): Condition[] => csr.status?.conditions ?? [];
const ofType = (csr: CertificateSigningRequest, type: string) =>
  conditionsOf(csr).filter((c) => c.type === type);
/** Types that may only be True when present. */
const trueOnlyTypes = ['Approved', 'Denied', 'Failed'];

/**
 * What an update may get away with (`certificateValidationOptions`): the
 * path it came through, and problems the stored object already has, which
 * an unrelated update need not fix.
 */
interface Allowances {
  approvalConditions: boolean;
  certificate: boolean;
  legacySigner: boolean;
  unknownUsages: boolean;
  duplicateUsages: boolean;
  duplicateConditionTypes: boolean;
  emptyConditionType: boolean;
  approvedAndDenied: boolean;
  arbitraryCertificate: boolean;
}

function allowances(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest | undefined,
  subresource: string | undefined,
): Allowances {
  const types = old ? conditionsOf(old).map((c) => c.type ?? '') : [];
  const usages = old?.spec?.usages ?? [];
  return {
    approvalConditions: subresource === 'approval',
    certificate: subresource === 'status',
    legacySigner: old?.spec?.signerName === legacyUnknownSigner,
    unknownUsages: usages.some((u) => !keyUsages.includes(u)),
    duplicateUsages: new Set(usages).size !== usages.length,
    duplicateConditionTypes: new Set(types).size !== types.length,
    emptyConditionType: types.includes(''),
    approvedAndDenied: types.includes('Approved') && types.includes('Denied'),
    arbitraryCertificate:
      old !== undefined &&
      ((csr.status?.certificate ?? '') === (old.status?.certificate ?? '') ||
        certificateProblem(old.status?.certificate) !== undefined),
  };
}

function validateUsages(usages: string[] | undefined, allow: Allowances): FieldError[] {
  const errs: FieldError[] = [];
  if (!usages?.length) errs.push(requiredError('spec.usages'));
  const seen = new Set<string>();
  (usages ?? []).forEach((u, i) => {
    if (!allow.unknownUsages && !keyUsages.includes(u))
      errs.push(notSupportedError(index('spec.usages', i), u, keyUsages));
    if (!allow.duplicateUsages && seen.has(u)) errs.push(duplicateError(index('spec.usages', i), u));
    seen.add(u);
  });
  return errs;
}

function validateConditions(csr: CertificateSigningRequest, allow: Allowances): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  let approved = false;
  let denied = false;
  conditionsOf(csr).forEach((c, i) => {
    const path = index('status.conditions', i);
    const type = c.type ?? '';
    if (!allow.emptyConditionType && !type) errs.push(requiredError(`${path}.type`));
    const statuses = trueOnlyTypes.includes(type) ? ['True'] : ['False', 'True', 'Unknown'];
    if (!c.status) errs.push(requiredError(`${path}.status`));
    else if (!statuses.includes(c.status)) errs.push(notSupportedError(`${path}.status`, c.status, statuses));
    if (!allow.approvedAndDenied) {
      if (type === 'Approved') approved = true;
      if (type === 'Denied') denied = true;
      if ((type === 'Approved' || type === 'Denied') && approved && denied)
        errs.push(
          invalidError(`${path}.type`, type, 'Approved and Denied conditions are mutually exclusive'),
        );
    }
    if (!allow.duplicateConditionTypes && seen.has(type)) errs.push(duplicateError(`${path}.type`, type));
    seen.add(type);
  });
  return errs;
}

const sameCondition = (a: Condition, b: Condition) =>
  (['type', 'status', 'reason', 'message', 'lastUpdateTime', 'lastTransitionTime'] as const).every(
    (k) => (a[k] ?? '') === (b[k] ?? ''),
  );

/** `validateCertificateSigningRequestUpdate` beyond the object's own checks. */
function validateUpdate(
  csr: CertificateSigningRequest,
  old: CertificateSigningRequest,
  allow: Allowances,
): FieldError[] {
  const errs: FieldError[] = [];
  for (const t of ['Approved', 'Denied', 'Failed']) {
    const was = ofType(old, t);
    const now = ofType(csr, t);
    if (now.length < was.length)
      errs.push(forbiddenError('status.conditions', `updates may not remove a condition of type "${t}"`));
    else if (t !== 'Failed' && !allow.approvalConditions) {
      if (now.length > was.length)
        errs.push(forbiddenError('status.conditions', `updates may not add a condition of type "${t}"`));
      else if (!now.every((c, i) => sameCondition(c, was[i])))
        errs.push(forbiddenError('status.conditions', `updates may not modify a condition of type "${t}"`));
    }
  }
  const cert = csr.status?.certificate ?? '';
  const oldCert = old.status?.certificate ?? '';
  if (cert !== oldCert) {
    if (!allow.certificate)
      errs.push(forbiddenError('status.certificate', 'updates may not set certificate content'));
    else if (oldCert)
      errs.push(forbiddenError('status.certificate', 'updates may not modify existing certificate content'));
  }
  return errs;
}

/**
 * `ValidateCertificateSigningRequest{Create,Update,StatusUpdate,ApprovalUpdate}`:
 * `old` is set on update and `subresource` names the path it came through.
 */
export function validateCertificateSigningRequest(
  csr: CertificateSigningRequest,
  old?: CertificateSigningRequest,
  subresource?: string,
): FieldError[] {
  const allow = allowances(csr, old, subresource);
  const spec = csr.spec ?? {};
  const errs: FieldError[] = [];
  const problem = requestProblem(spec.request);
  if (problem) errs.push(invalidError('spec.request', '<request data>', problem));
  errs.push(...validateUsages(spec.usages, allow));
  if (!allow.legacySigner && spec.signerName === legacyUnknownSigner)
    errs.push(
      invalidError(
        'spec.signerName',
        spec.signerName,
        'the legacy signerName is not allowed via this API version',
      ),
    );
  else errs.push(...validateSignerName('spec.signerName', spec.signerName));
  if (spec.expirationSeconds !== undefined && spec.expirationSeconds < 600)
    errs.push(
      invalidError(
        'spec.expirationSeconds',
        spec.expirationSeconds,
        'may not specify a duration less than 600 seconds (10 minutes)',
      ),
    );
  errs.push(...validateConditions(csr, allow));
  const certProblem = allow.arbitraryCertificate ? undefined : certificateProblem(csr.status?.certificate);
  if (certProblem) errs.push(invalidError('status.certificate', '<certificate data>', certProblem));
  if (old) errs.push(...validateUpdate(csr, old, allow));
  return errs;
}

// ---- columns ------------------------------------------------------------------------

/** The CONDITION column (`extractCSRStatus`): Approved, Denied or Pending, then Failed and Issued. */
export function conditionSummary(csr: CertificateSigningRequest): string {
  const has = (t: string) => ofType(csr, t).length > 0;
  let s = has('Denied') ? 'Denied' : has('Approved') ? 'Approved' : 'Pending';
  if (has('Failed')) s += ',Failed';
  if (csr.status?.certificate) s += ',Issued';
  return s;
}

const csrOf = (o: KubeObject) => o as CertificateSigningRequest;

/** NAME, AGE, SIGNERNAME, REQUESTOR, REQUESTEDDURATION, CONDITION, as Kubernetes prints them. */
const csrColumns = [
  column('Name', 'Name must be unique. Cannot be updated.', (o) => o.metadata.name ?? '', { format: 'name' }),
  ageColumn,
  column('SignerName', 'The signer asked to sign.', (o) => csrOf(o).spec?.signerName || '<none>'),
  column('Requestor', 'Who created the request.', (o) => csrOf(o).spec?.username ?? ''),
  column('RequestedDuration', 'Validity asked for.', (o) => {
    const s = csrOf(o).spec?.expirationSeconds;
    return s === undefined ? '<none>' : humanDuration(s * 1000);
  }),
  column('Condition', 'Approved, Denied or Pending; Failed; Issued.', (o) => conditionSummary(csrOf(o))),
];

export const certificatesTypes: ResourceType[] = [
  {
    group: certificatesGroup,
    version: 'v1',
    kind: 'CertificateSigningRequest',
    plural: 'certificatesigningrequests',
    singular: 'certificatesigningrequest',
    shortNames: ['csr'],
    categories: [],
    namespaced: false,
    subresources: ['status', 'approval'],
    schema: CertificateSigningRequest,
    validate: (obj, old, subresource) =>
      validateCertificateSigningRequest(
        obj as CertificateSigningRequest,
        old as CertificateSigningRequest | undefined,
        subresource,
      ),
    fieldLabels: (o) => ({ 'spec.signerName': csrOf(o).spec?.signerName ?? '' }),
    columns: csrColumns,
    // Kubernetes takes any name (`ValidateCertificateRequestName`); it must still be a path segment.
    validateName: nameIsPathSegment,
  },
];
