import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertificateRequestInfo, type CertPaths, ensureCA, makeCSR } from '../base/pki.js';
import { testCluster } from '../testing/cluster-fakes.js';
import type { ControllerManagerConfig } from './controller.js';
import {
  type CSR,
  CSRSigningController,
  newCSRSigningController,
  signingDurationMs,
  validateAPIServerClientUsages,
  validateKubeletClientCSR,
  validateKubeletServingCSR,
} from './csr-signing.js';

let dir: string;
let ca: CertPaths;
const pems: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nk-csrsigning-'));
  ca = await ensureCA(dir);
  const key = join(dir, 'n1.key');
  pems.node = await makeCSR(key, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  pems.serving = await makeCSR(key, {
    commonName: 'system:node:n1',
    organizations: ['system:nodes'],
    sans: ['DNS:n1', 'IP:10.0.0.11'],
  });
  pems.user = await makeCSR(key, { commonName: 'jane', organizations: ['dev', 'ops'] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const approved = { conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved' }] };

function csr(pem: string, spec: Partial<CSR['spec']> = {}, status: CSR['status'] = approved): CSR {
  return {
    metadata: { name: 'csr-1' },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
      username: 'system:bootstrap:abcdef',
      ...spec,
    },
    status,
  };
}

function signer(extra: Partial<ControllerManagerConfig> = {}) {
  const signing: Partial<ControllerManagerConfig> = {
    clusterSigningCertFile: ca.cert,
    clusterSigningKeyFile: ca.key,
    ...extra,
  };
  // The real time: the certificate must verify now.
  const c = testCluster(signing as Partial<ControllerManagerConfig>, Date.now());
  return { c, ctrl: new CSRSigningController(c.ctx) };
}

const issued = (c: ReturnType<typeof signer>['c']) => {
  const b64 = (c.api.get('certificatesigningrequests', 'csr-1') as CSR | undefined)?.status?.certificate;
  return b64 ? Buffer.from(b64, 'base64').toString() : undefined;
};

function x509Text(pem: string): string {
  return execFileSync('openssl', ['x509', '-noout', '-text', '-nameopt', 'RFC2253'], {
    input: pem,
  }).toString();
}

function verify(pem: string): string {
  const file = join(dir, 'issued.crt');
  writeFileSync(file, pem);
  return execFileSync('openssl', ['verify', '-CAfile', ca.cert, file]).toString().trim();
}

describe('CSRSigningController', () => {
  it('signs an approved kubelet client request with a certificate the CA verifies', async () => {
    const { c, ctrl } = signer();
    c.seed('certificatesigningrequests', csr(pems.node));
    await ctrl.sync('csr-1');
    expect(c.api.writes()).toEqual(['update certificatesigningrequests/status csr-1']);
    const cert = issued(c)!;
    expect(verify(cert)).toMatch(/: OK$/);
    const text = x509Text(cert);
    expect(text).toContain('Subject: CN=system:node:n1,O=system:nodes');
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    // Kept as they were: the approval, and nothing Failed.
    expect(c.api.get('certificatesigningrequests', 'csr-1')?.status).toMatchObject(approved);
  });

  it('gives a serving certificate its SANs, and a client one its groups', async () => {
    const serving = signer();
    serving.c.seed(
      'certificatesigningrequests',
      csr(pems.serving, {
        signerName: 'kubernetes.io/kubelet-serving',
        usages: ['digital signature', 'key encipherment', 'server auth'],
      }),
    );
    await serving.ctrl.sync('csr-1');
    const text = x509Text(issued(serving.c)!);
    expect(text).toMatch(/Subject Alternative Name:\s+DNS:n1, IP Address:10.0.0.11/);
    expect(text).toMatch(/TLS Web Server Authentication\n/);

    const client = signer();
    client.c.seed(
      'certificatesigningrequests',
      csr(pems.user, { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth'] }),
    );
    await client.ctrl.sync('csr-1');
    expect(x509Text(issued(client.c)!)).toContain('Subject: CN=jane,O=ops,O=dev');
  });

  it('gives the lifetime asked for, within --cluster-signing-duration', async () => {
    const { c, ctrl } = signer({ clusterSigningDurationMs: 24 * 3600_000 });
    c.seed('certificatesigningrequests', csr(pems.node, { expirationSeconds: 7 * 86_400 }));
    await ctrl.sync('csr-1');
    const cert = new X509Certificate(issued(c)!);
    const lifetime = Date.parse(cert.validTo) - Date.parse(cert.validFrom);
    expect(lifetime).toBe(24 * 3600_000); // a day, backdated 5 minutes at both ends
  });

  it.each([
    {
      name: 'a kubelet client request with a user subject',
      pem: 'user',
      spec: {},
      message: 'subject organization is not system:nodes',
    },
    {
      name: 'a kubelet client request with server auth',
      pem: 'node',
      spec: { usages: ['digital signature', 'server auth'] },
      message: 'usages did not match [client auth digital signature key encipherment]',
    },
    {
      name: 'a kubelet client request with SANs',
      pem: 'serving',
      spec: {},
      message: 'DNS subjectAltNames are not allowed',
    },
    {
      name: 'a serving request without SANs',
      pem: 'node',
      spec: { signerName: 'kubernetes.io/kubelet-serving', usages: ['digital signature', 'server auth'] },
      message: 'DNS or IP subjectAltName is required',
    },
    {
      name: 'an apiserver client request for code signing',
      pem: 'user',
      spec: { signerName: 'kubernetes.io/kube-apiserver-client', usages: ['client auth', 'code signing'] },
      message: 'invalid usage for client certificate: code signing',
    },
  ])('marks $name Failed', async ({ pem, spec, message }) => {
    const { c, ctrl } = signer();
    c.seed('certificatesigningrequests', csr(pems[pem], spec));
    await ctrl.sync('csr-1');
    expect(c.api.writes()).toEqual(['update certificatesigningrequests/status csr-1']);
    const status = (c.api.get('certificatesigningrequests', 'csr-1') as CSR).status;
    expect(status?.certificate).toBeUndefined();
    expect(status?.conditions?.[1]).toMatchObject({
      type: 'Failed',
      status: 'True',
      reason: 'SignerValidationFailure',
      message,
    });
  });

  it.each([
    { name: 'not approved', status: {}, spec: {} },
    { name: 'denied', status: { conditions: [{ type: 'Denied', status: 'True' }] }, spec: {} },
    {
      name: 'approved and denied',
      status: { conditions: [...approved.conditions, { type: 'Denied', status: 'True' }] },
      spec: {},
    },
    {
      name: 'already failed',
      status: { conditions: [...approved.conditions, { type: 'Failed', status: 'True' }] },
      spec: {},
    },
    { name: 'already signed', status: { ...approved, certificate: 'Y2VydA==' }, spec: {} },
    { name: 'for another signer', status: approved, spec: { signerName: 'example.com/mine' } },
  ])('does not sign a request $name', async ({ status, spec }) => {
    const { c, ctrl } = signer();
    c.seed('certificatesigningrequests', csr(pems.node, spec, status));
    await ctrl.sync('csr-1');
    await ctrl.sync('gone');
    expect(c.api.writes()).toEqual([]);
  });

  it('leaves a request it cannot read', async () => {
    const { c, ctrl } = signer();
    c.seed('certificatesigningrequests', csr('not a request'));
    await ctrl.sync('csr-1');
    expect(c.api.writes()).toEqual([]);
  });
});

describe('newCSRSigningController', () => {
  it('does not run without the signing files', async () => {
    const c = testCluster();
    const ctrl = newCSRSigningController(c.ctx);
    expect(ctrl).not.toBeInstanceOf(CSRSigningController);
    await expect(ctrl.run(new AbortController().signal)).resolves.toBeUndefined();
    expect(c.api.actions).toEqual([]);
  });

  it('runs the signer with them', () => {
    expect(newCSRSigningController(signer().c.ctx)).toBeInstanceOf(CSRSigningController);
  });
});

describe('signingDurationMs', () => {
  const day = 86_400_000;
  it.each([
    { name: 'nothing asked: the signer TTL', asked: undefined, want: 365 * day },
    { name: 'less than the TTL', asked: 86_400, want: day },
    { name: 'more than the TTL', asked: 800 * 86_400, want: 365 * day },
    { name: 'under 10 minutes', asked: 60, want: 600_000 },
  ])('$name', ({ asked, want }) => {
    expect(signingDurationMs(365 * day, asked)).toBe(want);
  });

  it('keeps a signer TTL under 10 minutes, as Kubernetes does', () => {
    expect(signingDurationMs(300_000, 3600)).toBe(300_000);
  });
});

describe('request checks', () => {
  const req = (o: Partial<CertificateRequestInfo>): CertificateRequestInfo => ({
    commonName: 'system:node:n1',
    organizations: ['system:nodes'],
    dnsNames: [],
    ipAddresses: [],
    emailAddresses: [],
    uris: [],
    ...o,
  });
  const client = ['digital signature', 'client auth'];
  const serving = ['digital signature', 'server auth'];

  it.each([
    { name: 'EC usages', r: req({}), usages: client, want: undefined },
    { name: 'RSA usages', r: req({}), usages: [...client, 'key encipherment'], want: undefined },
    {
      name: 'two groups',
      r: req({ organizations: ['system:nodes', 'x'] }),
      usages: client,
      want: 'subject organization is not system:nodes',
    },
    {
      name: 'a user CN',
      r: req({ commonName: 'jane' }),
      usages: client,
      want: 'subject common name does not begin with system:node:',
    },
    {
      name: 'an IP SAN',
      r: req({ ipAddresses: ['10.0.0.1'] }),
      usages: client,
      want: 'IP subjectAltNames are not allowed',
    },
    {
      name: 'client auth alone',
      r: req({}),
      usages: ['client auth'],
      want: 'usages did not match [client auth digital signature key encipherment]',
    },
  ])('kubelet client: $name', ({ r, usages, want }) => {
    expect(validateKubeletClientCSR(r, usages)).toBe(want);
  });

  it.each([
    { name: 'a DNS SAN', r: req({ dnsNames: ['n1'] }), usages: serving, want: undefined },
    {
      name: 'an IP SAN, RSA usages',
      r: req({ ipAddresses: ['10.0.0.1'] }),
      usages: [...serving, 'key encipherment'],
      want: undefined,
    },
    {
      name: 'an email SAN',
      r: req({ dnsNames: ['n1'], emailAddresses: ['a@b'] }),
      usages: serving,
      want: 'Email subjectAltNames are not allowed',
    },
    {
      name: 'client usages',
      r: req({ dnsNames: ['n1'] }),
      usages: client,
      want: 'usages did not match [digital signature key encipherment server auth]',
    },
  ])('kubelet serving: $name', ({ r, usages, want }) => {
    expect(validateKubeletServingCSR(r, usages)).toBe(want);
  });

  it.each([
    { usages: ['client auth'], want: undefined },
    { usages: ['client auth', 'digital signature', 'key encipherment'], want: undefined },
    { usages: ['digital signature'], want: 'missing required usage for client certificate: client auth' },
    { usages: ['client auth', 'server auth'], want: 'invalid usage for client certificate: server auth' },
  ])('apiserver client: $usages', ({ usages, want }) => {
    expect(validateAPIServerClientUsages(usages)).toBe(want);
  });
});
