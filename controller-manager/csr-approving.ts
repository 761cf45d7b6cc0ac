/**
 * The CSR approving controller (`csrapproving`), Kubernetes'
 * pkg/controller/certificates/approver/sarapprove.go: approves a kubelet's
 * request for a client certificate (signer
 * kubernetes.io/kube-apiserver-client-kubelet, O=system:nodes,
 * CN=system:node:*, no SANs, client usages) when whoever made the request
 * may, as a SubjectAccessReview tells:
 *
 *   - a node renewing its own certificate (spec.username is the CN) needs
 *     `create certificatesigningrequests/selfnodeclient`;
 *   - any node client request (a kubelet joining with a bootstrap token)
 *     needs `create certificatesigningrequests/nodeclient`.
 *
 * The first allowed gets the condition Approved (AutoApproved), written
 * through /approval. Everything else is left for a human (`kubectl
 * certificate approve`) or denied by one. Keyed by the request's name.
 */
import { isNotFound } from '../api/status.js';
import { certificatesGroup, kubeAPIServerClientKubeletSigner } from '../api/types/certificates.js';
import type { CertificateRequestInfo } from '../base/pki.js';
import type { ResourceClient } from '../client/resource.js';
import type { RestClient } from '../client/rest.js';
import { type ControllerContext, QueueController } from './controller.js';
import {
  approvalOf,
  type CSR,
  csrClient,
  readRequest,
  validateKubeletClientCSR,
  withCondition,
} from './csr-signing.js';

export const csrApprovingName = 'csrapproving';

/** A SubjectAccessReview's spec.resourceAttributes. */
export interface ResourceAttributes {
  group: string;
  resource: string;
  subresource: string;
  verb: string;
  version: string;
}

/** Who the review asks about, and what. */
export interface SubjectAccessReviewSpec {
  user?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  resourceAttributes: ResourceAttributes;
}

/** Asks the apiserver whether a user may do something; resolves to status.allowed. */
export type SubjectAccessReviewer = (spec: SubjectAccessReviewSpec) => Promise<boolean>;

/** The reviewer over HTTP: POST /apis/authorization.k8s.io/v1/subjectaccessreviews. */
export function restSubjectAccessReviewer(rest: RestClient): SubjectAccessReviewer {
  return async (spec) => {
    const review = await rest.request<{ status?: { allowed?: boolean } }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
    });
    return review.status?.allowed === true;
  };
}

interface Recognizer {
  /** The permission asked for: create certificatesigningrequests/<subresource>. */
  subresource: 'selfnodeclient' | 'nodeclient';
  message: string;
  recognize(csr: CSR, req: CertificateRequestInfo): boolean;
}

const isNodeClientCert = (csr: CSR, req: CertificateRequestInfo) =>
  csr.spec?.signerName === kubeAPIServerClientKubeletSigner &&
  validateKubeletClientCSR(req, csr.spec?.usages ?? []) === undefined;

/** In Kubernetes' order: a node renewing its own certificate is also a node client request. */
export const recognizers: Recognizer[] = [
  {
    subresource: 'selfnodeclient',
    message: 'Auto approving self kubelet client certificate after SubjectAccessReview.',
    recognize: (csr, req) => csr.spec?.username === req.commonName && isNodeClientCert(csr, req),
  },
  {
    subresource: 'nodeclient',
    message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
    recognize: isNodeClientCert,
  },
];

export class CSRApprovingController extends QueueController {
  private readonly csrs;
  private readonly client: ResourceClient<CSR>;
  private readonly review: SubjectAccessReviewer;

  constructor(ctx: ControllerContext, o: { review?: SubjectAccessReviewer } = {}) {
    super(csrApprovingName, ctx);
    this.review = o.review ?? restSubjectAccessReviewer(ctx.rest);
    this.client = csrClient(ctx);
    this.csrs = this.informer<CSR>('certificatesigningrequests');
    this.csrs.addEventHandler({
      onAdd: (csr) => this.enqueue(csr),
      onUpdate: (_o, csr) => this.enqueue(csr),
    });
  }

  async sync(name: string): Promise<void> {
    const csr = this.csrs.store.get(name);
    if (!csr || csr.status?.certificate) return;
    const { approved, denied } = approvalOf(csr);
    if (approved || denied) return;
    // Only kubelet client requests can be recognized: skip the parse for the others.
    if (csr.spec?.signerName !== kubeAPIServerClientKubeletSigner) return;
    const req = await readRequest(csr, this.log);
    if (!req) return;
    const tried: string[] = [];
    for (const r of recognizers) {
      if (!r.recognize(csr, req)) continue;
      tried.push(r.subresource);
      if (!(await this.review(this.reviewSpec(csr, r.subresource)))) continue;
      await this.approve(csr, r.message);
      this.log.info({ csr: name, subject: req.commonName, as: r.subresource }, 'approved');
      return;
    }
    // Kubernetes retries these with backoff; here the next change to the
    // request brings it back, and a human can approve it meanwhile.
    if (tried.length)
      this.log.info(
        { csr: name, user: csr.spec?.username, tried },
        'recognized, but the SubjectAccessReview did not allow it',
      );
  }

  private reviewSpec(csr: CSR, subresource: string): SubjectAccessReviewSpec {
    return {
      user: csr.spec?.username,
      uid: csr.spec?.uid,
      groups: csr.spec?.groups,
      extra: csr.spec?.extra,
      resourceAttributes: {
        group: certificatesGroup,
        resource: 'certificatesigningrequests',
        subresource,
        verb: 'create',
        version: '*',
      },
    };
  }

  /** PUT /approval with one more condition; a request deleted meanwhile needs nothing. */
  private async approve(csr: CSR, message: string): Promise<void> {
    const next = withCondition(csr, this.ctx.clock, { type: 'Approved', reason: 'AutoApproved', message });
    try {
      await this.client.rest.request({
        method: 'PUT',
        path: this.client.objectPath(csr.metadata.name!, 'approval'),
        body: next,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export const newCSRApprovingController = (ctx: ControllerContext) => new CSRApprovingController(ctx);
