/**
 * TLS bootstrapping, as the kubelet does it when it joins with a bootstrap
 * token (`--bootstrap-kubeconfig`): while `--kubeconfig` does not exist, or
 * its client certificate has expired, it makes a key, sends a
 * CertificateSigningRequest for `system:node:<name>` in `system:nodes`
 * (signer kubernetes.io/kube-apiserver-client-kubelet) with the bootstrap
 * token's credentials, waits for the controller-manager to approve and sign
 * it, and writes `--kubeconfig` with the certificate. Without a serving
 * certificate of its own (`--tls-cert-file`) it makes a self-signed one in
 * `--cert-dir`, as the kubelet does.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { makeCSR, selfSignedCert } from '../base/pki.js';
import { configFromKubeconfig, kubeconfigYaml } from '../client/kubeconfig.js';
import { RestClient } from '../client/rest.js';

export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';

interface Csr {
  metadata: { name: string };
  status?: { certificate?: string; conditions?: { type: string; reason?: string; message?: string }[] };
}

/** The client certificate a kubeconfig holds (inline or as a file), if it is readable. */
function clientCertOf(kubeconfig: string): X509Certificate | undefined {
  try {
    const cert = configFromKubeconfig({ kubeconfig }).rest.cert;
    return cert ? new X509Certificate(cert) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `kubeconfig` has a client certificate valid for at least another minute. */
export function hasValidClientCert(kubeconfig: string, now = Date.now()): boolean {
  if (!existsSync(kubeconfig)) return false;
  const cert = clientCertOf(kubeconfig);
  return cert !== undefined && Date.parse(cert.validTo) > now + 60_000;
}

export interface BootstrapOptions {
  bootstrapKubeconfig: string;
  kubeconfig: string;
  certDir: string;
  nodeName: string;
  logger: Logger;
  signal?: AbortSignal;
  /** How long to wait for the certificate; default 15 minutes, as the kubelet waits. */
  timeoutMs?: number;
  pollMs?: number;
}

/** Makes sure `kubeconfig` holds a valid client certificate, asking the cluster for one if not. */
export async function bootstrapClientCertificate(o: BootstrapOptions): Promise<void> {
  if (hasValidClientCert(o.kubeconfig)) return;
  const boot = configFromKubeconfig({ kubeconfig: o.bootstrapKubeconfig }).rest;
  mkdirSync(o.certDir, { recursive: true, mode: 0o700 });
  const keyFile = join(o.certDir, 'kubelet-client.key');
  const request = await makeCSR(keyFile, {
    commonName: `system:node:${o.nodeName}`,
    organizations: ['system:nodes'],
  });
  const rest = new RestClient({ ...boot, userAgent: `nk-kubelet/${o.nodeName} (bootstrap)` }, o.logger);
  try {
    const created = await rest.request<Csr>({
      method: 'POST',
      path: '/apis/certificates.k8s.io/v1/certificatesigningrequests',
      body: {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'CertificateSigningRequest',
        metadata: { generateName: 'node-csr-' },
        spec: {
          request: Buffer.from(request).toString('base64'),
          signerName: kubeletClientSigner,
          usages: ['digital signature', 'client auth'],
        },
      },
      signal: o.signal,
    });
    const name = created.metadata.name;
    o.logger.info({ csr: name }, 'asked for a client certificate; waiting for it to be approved and signed');
    const cert = await waitForCertificate(rest, name, o);
    const certFile = join(o.certDir, 'kubelet-client.crt');
    writeFileSync(certFile, cert, { mode: 0o600 });
    const yaml = kubeconfigYaml({
      server: boot.servers[0],
      servers: boot.servers,
      name: 'nanokube',
      caData: boot.ca?.toString('base64'),
      certData: Buffer.from(cert).toString('base64'),
      keyData: readFileSync(keyFile).toString('base64'),
    });
    const tmp = `${o.kubeconfig}.tmp`;
    writeFileSync(tmp, yaml, { mode: 0o600 });
    renameSync(tmp, o.kubeconfig);
    o.logger.info({ csr: name, kubeconfig: o.kubeconfig }, 'got a client certificate');
  } finally {
    rest.close();
  }
}

async function waitForCertificate(rest: RestClient, name: string, o: BootstrapOptions): Promise<string> {
  const deadline = Date.now() + (o.timeoutMs ?? 900_000);
  for (;;) {
    if (o.signal?.aborted) throw new Error('stopped while waiting for a client certificate');
    const csr = await rest
      .request<Csr>({
        method: 'GET',
        path: `/apis/certificates.k8s.io/v1/certificatesigningrequests/${name}`,
        signal: o.signal,
      })
      .catch((err) => {
        o.logger.warn({ err, csr: name }, 'could not read the certificate signing request');
        return undefined;
      });
    const refused = csr?.status?.conditions?.find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (refused)
      throw new Error(
        `certificate signing request ${name} was ${refused.type.toLowerCase()}: ${refused.reason ?? ''} ${refused.message ?? ''}`.trim(),
      );
    if (csr?.status?.certificate) return Buffer.from(csr.status.certificate, 'base64').toString();
    if (Date.now() > deadline) throw new Error(`timed out waiting for certificate signing request ${name}`);
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

/** The kubelet's serving certificate and key in `certDir`, self-signed and made if missing. */
export async function ensureSelfSignedServingCert(
  certDir: string,
  nodeName: string,
  nodeIP: string,
): Promise<{ cert: Buffer; key: Buffer }> {
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const paths = await selfSignedCert(certDir, {
    name: 'kubelet',
    commonName: `${nodeName}@${Math.floor(Date.now() / 1000)}`,
    sans: [`IP:${nodeIP}`, `DNS:${nodeName}`],
  });
  return { cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
}
