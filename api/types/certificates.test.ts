import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { certificatePem, requestPem } from '../../testing/pem-fixtures.js';
import type { KubeObject } from '../meta.js';
import { formatFieldError } from '../validation.js';
import {
  type CertificateSigningRequest,
  certificatesTypes,
  conditionSummary,
  validateCertificateSigningRequest,
} from './certificates.js';
import {
  prepareCSRForApprovalUpdate,
  prepareCSRForCreate,
  prepareCSRForStatusUpdate,
  prepareCSRForUpdate,
} from './certificates-strategy.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const certificate = b64(certificatePem);
const t0 = '2026-05-01T11:00:00Z';
const t1 = '2026-05-01T12:00:00Z';

type CSR = CertificateSigningRequest & KubeObject;

const csr = (spec: Partial<NonNullable<CSR['spec']>> = {}, status?: CSR['status']): CSR => ({
  apiVersion: 'certificates.k8s.io/v1',
  kind: 'CertificateSigningRequest',
  metadata: { name: 'node-csr-abc', creationTimestamp: t0 },
  spec: {
    request: b64(requestPem),
    signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
    usages: ['digital signature', 'client auth'],
    username: 'system:bootstrap:abcdef',
    groups: ['system:bootstrappers', 'system:authenticated'],
    ...spec,
  },
  ...(status ? { status } : {}),
});

const approved = (extra: object = {}) => ({
  type: 'Approved',
  status: 'True',
  reason: 'KubectlApprove',
  lastUpdateTime: t0,
  lastTransitionTime: t0,
  ...extra,
});

const errors = (o: CSR, old?: CSR, sub?: string) =>
  validateCertificateSigningRequest(o, old, sub).map(formatFieldError);

describe('CertificateSigningRequest validation', () => {
  it('accepts a kubelet client request, and the schema takes it', () => {
    expect(errors(csr())).toEqual([]);
    expect(Value.Check(certificatesTypes[0].schema, csr({ expirationSeconds: 3600 }))).toBe(true);
  });

  it.each([
    {
      name: 'no signer',
      spec: { signerName: '' },
      want: 'spec.signerName: Required value',
    },
    {
      name: 'a signer without a path',
      spec: { signerName: 'example.com' },
      want: `spec.signerName: Invalid value: "example.com": must be a fully qualified domain and path of the form 'example.com/signer-name'`,
    },
    {
      name: 'a signer domain of one label',
      spec: { signerName: 'example/signer' },
      want: 'spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots',
    },
    {
      name: 'the legacy signer',
      spec: { signerName: 'kubernetes.io/legacy-unknown' },
      want: 'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via this API version',
    },
    {
      name: 'a request that is not PEM',
      spec: { request: b64('hello') },
      want: 'spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST',
    },
    {
      name: 'a certificate where the request goes',
      spec: { request: certificate },
      want: 'spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST',
    },
    {
      name: 'a request whose DER is cut short',
      spec: { request: b64(requestPem.replace('MIHrMIGS', 'MIHsMIGS')) },
      want: 'spec.request: Invalid value: "<request data>": x509: malformed certificate request',
    },
    {
      name: 'a request that is not base64',
      spec: { request: '-----BEGIN' },
      want: 'spec.request: Invalid value: "<request data>": must be base64-encoded',
    },
    { name: 'no usages', spec: { usages: [] }, want: 'spec.usages: Required value' },
    {
      name: 'an unknown usage',
      spec: { usages: ['client auth', 'world domination'] },
      want: 'spec.usages[1]: Unsupported value: "world domination": supported values: "any", "cert sign", "client auth", "code signing", "content commitment", "crl sign", "data encipherment", "decipher only", "digital signature", "email protection", "encipher only", "ipsec end system", "ipsec tunnel", "ipsec user", "key agreement", "key encipherment", "microsoft sgc", "netscape sgc", "ocsp signing", "s/mime", "server auth", "signing", "timestamping"',
    },
    {
      name: 'a usage twice',
      spec: { usages: ['client auth', 'client auth'] },
      want: 'spec.usages[1]: Duplicate value: "client auth"',
    },
    {
      name: 'less than ten minutes',
      spec: { expirationSeconds: 599 },
      want: 'spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 600 seconds (10 minutes)',
    },
  ])('refuses $name', ({ spec, want }) => {
    expect(errors(csr(spec))).toEqual([want]);
  });

  it.each([
    {
      name: 'Approved that is not True',
      conditions: [approved({ status: 'False' })],
      want: 'status.conditions[0].status: Unsupported value: "False": supported values: "True"',
    },
    {
      name: 'Approved and Denied together',
      conditions: [approved(), { type: 'Denied', status: 'True' }],
      want: 'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive',
    },
    {
      name: 'Approved twice',
      conditions: [approved(), approved()],
      want: 'status.conditions[1].type: Duplicate value: "Approved"',
    },
    {
      name: 'a condition without a status',
      conditions: [{ type: 'Custom' }],
      want: 'status.conditions[0].status: Required value',
    },
  ])('refuses conditions with $name', ({ conditions, want }) => {
    expect(errors(csr({}, { conditions }))).toEqual([want]);
  });

  it('takes only CERTIFICATE blocks in status.certificate', () => {
    const old = csr({}, { conditions: [approved()] });
    const withKey = csr({}, { conditions: [approved()], certificate: b64(requestPem) });
    expect(errors(withKey, old, 'status')).toEqual([
      'status.certificate: Invalid value: "<certificate data>": only CERTIFICATE PEM blocks are allowed, found "CERTIFICATE REQUEST"',
    ]);
    const chain = csr({}, { conditions: [approved()], certificate: b64(certificatePem + certificatePem) });
    expect(errors(chain, old, 'status')).toEqual([]);
  });
});

describe('CertificateSigningRequest write paths', () => {
  const user = { name: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'] };

  it('create: the requestor is the user who sent it, and the status starts empty', () => {
    const o = csr(
      { username: 'system:admin', groups: ['system:masters'], extra: { x: ['y'] } },
      {
        conditions: [approved()],
        certificate,
      },
    );
    prepareCSRForCreate(o, user);
    expect(o.spec).toMatchObject({ username: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'] });
    expect(o.spec?.extra).toBeUndefined();
    expect(o.status).toEqual({});
    expect(errors(o)).toEqual([]);
  });

  it('update of the object: spec and status stay as they were', () => {
    const old = csr({}, { conditions: [approved()] });
    const o = csr({ usages: ['server auth'], username: 'mallory' }, { certificate });
    o.metadata.labels = { a: 'b' };
    prepareCSRForUpdate(o, old);
    expect(o.spec).toEqual(old.spec);
    expect(o.status).toEqual(old.status);
    expect(o.metadata.labels).toEqual({ a: 'b' });
    expect(errors(o, old)).toEqual([]);
  });

  it('/approval: adds Approved with timestamps, keeps the spec and the certificate', () => {
    const old = csr();
    const o = csr(
      { usages: ['any'] },
      {
        conditions: [{ type: 'Approved', status: 'True', reason: 'KubectlApprove', lastUpdateTime: t0 }],
        certificate,
      },
    );
    prepareCSRForApprovalUpdate(o, old, t1);
    expect(o.spec).toEqual(old.spec);
    expect(o.status).toEqual({ conditions: [approved({ lastTransitionTime: t1 })] });
    expect(errors(o, old, 'approval')).toEqual([]);
  });

  it('/approval: may not take a condition away, nor turn Approved into Denied', () => {
    const old = csr({}, { conditions: [approved()] });
    const removed = csr({}, { conditions: [] });
    prepareCSRForApprovalUpdate(removed, old, t1);
    expect(errors(removed, old, 'approval')).toEqual([
      'status.conditions: Forbidden: updates may not remove a condition of type "Approved"',
    ]);
    const both = csr({}, { conditions: [approved(), { type: 'Denied', status: 'True' }] });
    prepareCSRForApprovalUpdate(both, old, t1);
    expect(errors(both, old, 'approval')).toEqual([
      'status.conditions[1].type: Invalid value: "Denied": Approved and Denied conditions are mutually exclusive',
    ]);
  });

  it('/status: writes the certificate and Failed; Approved stays as stored', () => {
    const old = csr({}, { conditions: [approved()] });
    const o = csr(
      {},
      {
        conditions: [
          approved({ reason: 'Changed' }),
          { type: 'Failed', status: 'True', reason: 'SignerError' },
        ],
        certificate,
      },
    );
    prepareCSRForStatusUpdate(o, old, t1);
    expect(o.status?.conditions).toEqual([
      approved(),
      { type: 'Failed', status: 'True', reason: 'SignerError', lastUpdateTime: t1, lastTransitionTime: t1 },
    ]);
    expect(errors(o, old, 'status')).toEqual([]);
  });

  it.each([
    {
      name: 'add Approved through /status',
      old: csr(),
      status: { conditions: [approved()] },
      sub: 'status',
      want: 'status.conditions: Forbidden: updates may not add a condition of type "Approved"',
    },
    {
      name: 'replace an issued certificate',
      old: csr({}, { conditions: [approved()], certificate: b64(certificatePem + certificatePem) }),
      status: { conditions: [approved()], certificate },
      sub: 'status',
      want: 'status.certificate: Forbidden: updates may not modify existing certificate content',
    },
    {
      name: 'remove Failed',
      old: csr({}, { conditions: [{ type: 'Failed', status: 'True' }] }),
      status: {},
      sub: 'status',
      want: 'status.conditions: Forbidden: updates may not remove a condition of type "Failed"',
    },
  ])('refuses to $name', ({ old, status, sub, want }) => {
    const o = csr({}, status);
    prepareCSRForStatusUpdate(o, old, t1);
    expect(errors(o, old, sub)).toEqual([want]);
  });

  it('refuses a certificate written anywhere but /status', () => {
    const old = csr({}, { conditions: [approved()] });
    const o = csr({}, { conditions: [approved()], certificate });
    expect(errors(o, old, 'approval')).toContain(
      'status.certificate: Forbidden: updates may not set certificate content',
    );
  });

  it('keeps the lastTransitionTime of a stored condition of the same type and status', () => {
    const old = csr({}, { conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: t0 }] });
    const o = csr({}, { conditions: [{ type: 'Failed', status: 'True', message: 'again' }] });
    prepareCSRForStatusUpdate(o, old, t1);
    expect(o.status?.conditions?.[0]).toMatchObject({ lastUpdateTime: t1, lastTransitionTime: t0 });
  });
});

describe('CertificateSigningRequest columns', () => {
  const now = new Date('2026-05-01T12:00:00Z');
  const cells = (o: CSR) => certificatesTypes[0].columns.map((c) => c.cell(o, now));

  it('prints NAME, AGE, SIGNERNAME, REQUESTOR, REQUESTEDDURATION, CONDITION', () => {
    expect(certificatesTypes[0].columns.map((c) => c.name)).toEqual([
      'Name',
      'Age',
      'SignerName',
      'Requestor',
      'RequestedDuration',
      'Condition',
    ]);
    expect(cells(csr({ expirationSeconds: 86400 }))).toEqual([
      'node-csr-abc',
      '60m',
      'kubernetes.io/kube-apiserver-client-kubelet',
      'system:bootstrap:abcdef',
      '24h',
      'Pending',
    ]);
    expect(cells(csr())[4]).toBe('<none>');
  });

  it.each([
    { name: 'pending', status: undefined, want: 'Pending' },
    { name: 'approved', status: { conditions: [approved()] }, want: 'Approved' },
    { name: 'issued', status: { conditions: [approved()], certificate }, want: 'Approved,Issued' },
    { name: 'denied', status: { conditions: [{ type: 'Denied', status: 'True' }] }, want: 'Denied' },
    {
      name: 'failed',
      status: { conditions: [approved(), { type: 'Failed', status: 'True' }] },
      want: 'Approved,Failed',
    },
  ])('sums up a $name request as $want', ({ status, want }) => {
    expect(conditionSummary(csr({}, status))).toBe(want);
  });
});
