/**
 * The CSR signing controller (`csrsigning`), Kubernetes'
 * pkg/controller/certificates/signer: with --cluster-signing-cert-file and
 * --cluster-signing-key-file, it signs every CertificateSigningRequest that
 * is Approved (not Denied, not Failed), has no certificate yet, and asks
 * one of the three signers it serves:
 *
 *   kubernetes.io/kube-apiserver-client-kubelet  a kubelet's client certificate
 *   kubernetes.io/kube-apiserver-client          any client certificate
 *   kubernetes.io/kubelet-serving                a kubelet's serving certificate
 *
 * A request that does not fit its signer gets the condition Failed
 * (SignerValidationFailure) instead. The certificate lasts the
 * `expirationSeconds` asked for, at least 10 minutes and at most
 * --cluster-signing-duration, and never past the CA. Without the files it
 * does not run. Keyed by the request's name.
 *
 * The request checks live here and csr-approving.ts uses them too, as both
 * of Kubernetes' controllers use pkg/apis/certificates.
 */
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { isNotFound } from '../api/status.js';
import { metaTime } from '../api/time.js';
import {
  type CertificateSigningRequest,
  type CertificateSigningRequestCondition,
  certificatesGroup,
  kubeAPIServerClientKubeletSigner,
  kubeAPIServerClientSigner,
  kubeletServingSigner,
} from '../api/types/certificates.js';
import { type CertificateRequestInfo, csrSubject, signCSR } from '../base/pki.js';
import type { Clock } from '../client/clock.js';
import { ResourceClient } from '../client/resource.js';
import { type Controller, type ControllerContext, QueueController } from './controller.js';

export type CSR = CertificateSigningRequest & KubeObject;

export const csrSigningName = 'csrsigning';
/** --cluster-signing-duration's default: a year. */
export const defaultClusterSigningDurationMs = 8760 * 3600_000;

// ---- What Kubernetes' helpers check (pkg/apis/certificates/helpers.go) ----

const sameSet = (a: Set<string>, b: string[]) => a.size === b.length && b.every((u) => a.has(u));

/** Either set is right: key encipherment only means something for RSA keys. */
const kubeletClientUsages = [
  ['digital signature', 'key encipherment', 'client auth'],
  ['digital signature', 'client auth'],
];
const kubeletServingUsages = [
  ['digital signature', 'key encipherment', 'server auth'],
  ['digital signature', 'server auth'],
];

const isSystemNodes = (req: CertificateRequestInfo) =>
  req.organizations.length === 1 && req.organizations[0] === 'system:nodes';

/** Why a request is not a kubelet's client certificate request, or undefined when it is (ValidateKubeletClientCSR). */
export function validateKubeletClientCSR(req: CertificateRequestInfo, usages: string[]): string | undefined {
  if (!isSystemNodes(req)) return 'subject organization is not system:nodes';
  if (req.dnsNames.length) return 'DNS subjectAltNames are not allowed';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.ipAddresses.length) return 'IP subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  if (!req.commonName?.startsWith('system:node:'))
    return 'subject common name does not begin with system:node:';
  const set = new Set(usages);
  if (!kubeletClientUsages.some((want) => sameSet(set, want)))
    return `usages did not match [${[...kubeletClientUsages[0]].sort().join(' ')}]`;
  return undefined;
}

/** Why a request is not a kubelet's serving certificate request, or undefined (ValidateKubeletServingCSR). */
export function validateKubeletServingCSR(req: CertificateRequestInfo, usages: string[]): string | undefined {
  if (!isSystemNodes(req)) return 'subject organization is not system:nodes';
  if (!req.dnsNames.length && !req.ipAddresses.length) return 'DNS or IP subjectAltName is required';
  if (req.emailAddresses.length) return 'Email subjectAltNames are not allowed';
  if (req.uris.length) return 'URI subjectAltNames are not allowed';
  const set = new Set(usages);
  if (!kubeletServingUsages.some((want) => sameSet(set, want)))
    return `usages did not match [${[...kubeletServingUsages[0]].sort().join(' ')}]`;
  if (!req.commonName?.startsWith('system:node:'))
    return 'subject common name does not begin with system:node:';
  return undefined;
}

/** Client auth required; digital signature and key encipherment allowed; nothing else (validAPIServerClientUsages). */
export function validateAPIServerClientUsages(usages: string[]): string | undefined {
  for (const u of usages)
    if (u !== 'client auth' && u !== 'digital signature' && u !== 'key encipherment')
      return `invalid usage for client certificate: ${u}`;
  if (!usages.includes('client auth')) return 'missing required usage for client certificate: client auth';
  return undefined;
}

/** The signers this controller serves, each with its check. */
export const signerChecks: Record<
  string,
  (req: CertificateRequestInfo, usages: string[]) => string | undefined
> = {
  [kubeAPIServerClientKubeletSigner]: validateKubeletClientCSR,
  [kubeAPIServerClientSigner]: (_req, usages) => validateAPIServerClientUsages(usages),
  [kubeletServingSigner]: validateKubeletServingCSR,
};

// ---- Conditions (pkg/controller/certificates/certificate_controller_utils.go) ----

/** Whether the request has an Approved condition, and a Denied one (whatever their status, as Kubernetes reads them). */
export function approvalOf(csr: CSR): { approved: boolean; denied: boolean } {
  const types = (csr.status?.conditions ?? []).map((c) => c.type);
  return { approved: types.includes('Approved'), denied: types.includes('Denied') };
}

export const hasTrueCondition = (csr: CSR, type: string) =>
  (csr.status?.conditions ?? []).some((c) => c.type === type && c.status === 'True');

/** A copy of a cached request to write back (cache objects are read-only; list items may lack their kind). */
function typedCopy(csr: CSR): CSR {
  const next = structuredClone(csr);
  next.apiVersion = `${certificatesGroup}/v1`;
  next.kind = 'CertificateSigningRequest';
  return next;
}

/** A copy of `csr` with one more condition, True, written now. */
export function withCondition(
  csr: CSR,
  clock: Clock,
  c: Pick<CertificateSigningRequestCondition, 'type' | 'reason' | 'message'>,
): CSR {
  const next = typedCopy(csr);
  const lastUpdateTime = metaTime(clock.now());
  next.status = {
    ...next.status,
    conditions: [...(next.status?.conditions ?? []), { ...c, status: 'True', lastUpdateTime }],
  };
  return next;
}

/** The PEM the request holds (spec.request is base64 on the wire). */
export const requestPem = (csr: CSR) => Buffer.from(csr.spec?.request ?? '', 'base64').toString('utf8');

/**
 * The request's subject and extensions, or undefined (logged) when it does
 * not parse: it will not parse any better later, so both controllers leave it.
 */
export async function readRequest(csr: CSR, log: Logger): Promise<CertificateRequestInfo | undefined> {
  try {
    return await csrSubject(requestPem(csr));
  } catch (err) {
    log.warn({ csr: csr.metadata.name, err: (err as Error).message }, 'cannot read the certificate request');
    return undefined;
  }
}

export const csrClient = (ctx: ControllerContext) =>
  new ResourceClient<CSR>(ctx.rest, ctx.registry.get(certificatesGroup, 'v1', 'certificatesigningrequests')!);

/** How long the certificate lasts: `expirationSeconds` if set, within [10 minutes, the signer's TTL] (signer.duration). */
export function signingDurationMs(certTTLMs: number, expirationSeconds?: number): number {
  if (expirationSeconds === undefined) return certTTLMs;
  const asked = expirationSeconds * 1000;
  // In this order: a --cluster-signing-duration under 10 minutes still caps.
  if (asked > certTTLMs) return certTTLMs;
  return Math.max(asked, 10 * 60_000);
}

// ---- The controller ----

export class CSRSigningController extends QueueController {
  private readonly csrs;
  private readonly client: ResourceClient<CSR>;
  private readonly caCert: string;
  private readonly caKey: string;
  private readonly certTTLMs: number;

  constructor(ctx: ControllerContext) {
    super(csrSigningName, ctx);
    const c = ctx.config;
    if (!c.clusterSigningCertFile || !c.clusterSigningKeyFile)
      throw new Error(`${csrSigningName} needs --cluster-signing-cert-file and --cluster-signing-key-file`);
    this.caCert = c.clusterSigningCertFile;
    this.caKey = c.clusterSigningKeyFile;
    this.certTTLMs = c.clusterSigningDurationMs ?? defaultClusterSigningDurationMs;
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
    if (!approved || denied || hasTrueCondition(csr, 'Failed')) return;
    const check = signerChecks[csr.spec?.signerName ?? ''];
    if (!check) return; // another signer's request
    const req = await readRequest(csr, this.log);
    if (!req) return;
    const usages = csr.spec?.usages ?? [];
    const problem = check(req, usages);
    if (problem) {
      await this.writeStatus(
        withCondition(csr, this.ctx.clock, {
          type: 'Failed',
          reason: 'SignerValidationFailure',
          message: problem,
        }),
      );
      this.log.info({ csr: name, signer: csr.spec?.signerName, problem }, 'request does not fit its signer');
      return;
    }
    const certificate = await signCSR({
      caCert: this.caCert,
      caKey: this.caKey,
      csrPem: requestPem(csr),
      usages,
      expirationSeconds: signingDurationMs(this.certTTLMs, csr.spec?.expirationSeconds) / 1000,
      now: new Date(this.ctx.clock.now()),
    });
    const next = typedCopy(csr);
    next.status = { ...next.status, certificate: Buffer.from(certificate).toString('base64') };
    await this.writeStatus(next);
    this.log.info({ csr: name, signer: csr.spec?.signerName, subject: req.commonName }, 'signed');
  }

  /** PUT /status; a request deleted meanwhile needs nothing more. */
  private async writeStatus(csr: CSR): Promise<void> {
    try {
      await this.client.updateStatus(csr);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Runs the signer when the manager has a signing CA; otherwise a controller that only says why not. */
export function newCSRSigningController(ctx: ControllerContext): Controller {
  const c = ctx.config;
  if (c.clusterSigningCertFile && c.clusterSigningKeyFile) return new CSRSigningController(ctx);
  return {
    name: csrSigningName,
    run: async () => {
      ctx.logger.info(
        { controller: csrSigningName },
        'no --cluster-signing-cert-file and --cluster-signing-key-file: not running',
      );
    },
  };
}
