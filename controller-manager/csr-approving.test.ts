import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { makeCSR } from '../base/pki.js';
import type { RestClient } from '../client/rest.js';
import { testCluster } from '../testing/cluster-fakes.js';
import {
  CSRApprovingController,
  restSubjectAccessReviewer,
  type SubjectAccessReviewSpec,
} from './csr-approving.js';
import type { CSR } from './csr-signing.js';

let dir: string;
const pems: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nk-csrapproving-'));
  const key = join(dir, 'n1.key');
  pems.node = await makeCSR(key, { commonName: 'system:node:n1', organizations: ['system:nodes'] });
  pems.user = await makeCSR(key, { commonName: 'jane', organizations: ['dev'] });
  pems.withSAN = await makeCSR(key, {
    commonName: 'system:node:n1',
    organizations: ['system:nodes'],
    sans: ['DNS:n1'],
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bootstrapper = {
  username: 'system:bootstrap:abcdef',
  uid: '',
  groups: ['system:bootstrappers', 'system:bootstrappers:kubeadm:default-node-token', 'system:authenticated'],
  extra: { 'authentication.kubernetes.io/credential-id': ['abcdef'] },
};

function csr(over: Partial<CSR['spec']> = {}, pem = pems.node, status?: CSR['status']): CSR {
  return {
    metadata: { name: 'node-csr-1' },
    spec: {
      request: Buffer.from(pem).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
      usages: ['digital signature', 'client auth'],
      ...bootstrapper,
      ...over,
    },
    status,
  };
}

/** A controller whose SubjectAccessReviews are answered by `allow` and recorded. */
function approver(allow: (spec: SubjectAccessReviewSpec) => boolean) {
  const c = testCluster({}, Date.UTC(2024, 5, 1, 12));
  const reviews: SubjectAccessReviewSpec[] = [];
  const ctrl = new CSRApprovingController(c.ctx, {
    review: async (spec) => {
      reviews.push(spec);
      return allow(spec);
    },
  });
  return { c, ctrl, reviews };
}

describe('CSRApprovingController', () => {
  it('approves a bootstrap request when the SubjectAccessReview allows nodeclient', async () => {
    const { c, ctrl, reviews } = approver((s) => s.resourceAttributes.subresource === 'nodeclient');
    c.seed('certificatesigningrequests', csr());
    await ctrl.sync('node-csr-1');
    expect(reviews).toEqual([
      {
        user: 'system:bootstrap:abcdef',
        uid: '',
        groups: bootstrapper.groups,
        extra: bootstrapper.extra,
        resourceAttributes: {
          group: 'certificates.k8s.io',
          resource: 'certificatesigningrequests',
          subresource: 'nodeclient',
          verb: 'create',
          version: '*',
        },
      },
    ]);
    expect(c.api.writes()).toEqual(['update certificatesigningrequests/approval node-csr-1']);
    expect(c.api.get('certificatesigningrequests', 'node-csr-1')).toMatchObject({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      status: {
        conditions: [
          {
            type: 'Approved',
            status: 'True',
            reason: 'AutoApproved',
            message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
            lastUpdateTime: '2024-06-01T12:00:00Z',
          },
        ],
      },
    });
  });

  it('leaves the request alone when the SubjectAccessReview says no', async () => {
    const { c, ctrl, reviews } = approver(() => false);
    c.seed('certificatesigningrequests', csr());
    await ctrl.sync('node-csr-1');
    expect(reviews.map((r) => r.resourceAttributes.subresource)).toEqual(['nodeclient']);
    expect(c.api.writes()).toEqual([]);
  });

  it('asks selfnodeclient first for a node renewing its own certificate, then nodeclient', async () => {
    const node = { username: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
    const { c, ctrl, reviews } = approver((s) => s.resourceAttributes.subresource === 'selfnodeclient');
    c.seed('certificatesigningrequests', csr(node));
    await ctrl.sync('node-csr-1');
    expect(reviews.map((r) => [r.user, r.resourceAttributes.subresource])).toEqual([
      ['system:node:n1', 'selfnodeclient'],
    ]);
    expect(c.api.get('certificatesigningrequests', 'node-csr-1')?.status).toMatchObject({
      conditions: [{ message: 'Auto approving self kubelet client certificate after SubjectAccessReview.' }],
    });

    const denied = approver((s) => s.resourceAttributes.subresource === 'nodeclient');
    denied.c.seed('certificatesigningrequests', csr(node));
    await denied.ctrl.sync('node-csr-1');
    expect(denied.reviews.map((r) => r.resourceAttributes.subresource)).toEqual([
      'selfnodeclient',
      'nodeclient',
    ]);
    expect(denied.c.api.writes()).toEqual(['update certificatesigningrequests/approval node-csr-1']);
  });

  it.each([
    { name: 'another signer', over: { signerName: 'kubernetes.io/kube-apiserver-client' } },
    { name: 'a serving usage', over: { usages: ['digital signature', 'server auth'] } },
    { name: 'no digital signature', over: { usages: ['client auth'] } },
    { name: 'an extra usage', over: { usages: ['digital signature', 'client auth', 'server auth'] } },
    { name: 'a user subject', pem: 'user' },
    { name: 'a SAN', pem: 'withSAN' },
    { name: 'an unreadable request', pem: 'garbage' },
  ])('does not approve $name', async ({ over, pem }) => {
    const { c, ctrl, reviews } = approver(() => true);
    c.seed('certificatesigningrequests', csr(over, pem ? (pems[pem] ?? 'garbage') : pems.node));
    await ctrl.sync('node-csr-1');
    expect(reviews).toEqual([]);
    expect(c.api.writes()).toEqual([]);
  });

  it.each([
    { name: 'approved', status: { conditions: [{ type: 'Approved', status: 'True' }] } },
    { name: 'denied', status: { conditions: [{ type: 'Denied', status: 'True' }] } },
    { name: 'signed', status: { certificate: 'Y2VydA==' } },
  ])('leaves a request already $name', async ({ status }) => {
    const { c, ctrl, reviews } = approver(() => true);
    c.seed('certificatesigningrequests', csr({}, pems.node, status));
    await ctrl.sync('node-csr-1');
    await ctrl.sync('gone');
    expect(reviews).toEqual([]);
    expect(c.api.writes()).toEqual([]);
  });

  it('throws a failed write to be retried, and treats a deleted request as done', async () => {
    const { c, ctrl } = approver(() => true);
    c.seed('certificatesigningrequests', csr());
    const key = 'update certificatesigningrequests/approval node-csr-1';
    c.api.failures.set(key, new StatusError(409, 'Conflict', 'stale'));
    await expect(ctrl.sync('node-csr-1')).rejects.toThrow('stale');
    c.api.failures.set(key, new StatusError(404, 'NotFound', 'gone'));
    await expect(ctrl.sync('node-csr-1')).resolves.toBeUndefined();
  });
});

describe('restSubjectAccessReviewer', () => {
  it('posts a SubjectAccessReview and answers with status.allowed', async () => {
    const sent: unknown[] = [];
    const answers = [{ status: { allowed: true } }, { status: { allowed: false, denied: true } }, {}];
    const rest = {
      request: async (o: unknown) => {
        sent.push(o);
        return answers[sent.length - 1];
      },
    } as unknown as RestClient;
    const review = restSubjectAccessReviewer(rest);
    const spec: SubjectAccessReviewSpec = {
      user: 'u',
      resourceAttributes: {
        group: 'certificates.k8s.io',
        resource: 'certificatesigningrequests',
        subresource: 'nodeclient',
        verb: 'create',
        version: '*',
      },
    };
    expect([await review(spec), await review(spec), await review(spec)]).toEqual([true, false, false]);
    expect(sent[0]).toEqual({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
    });
  });
});
