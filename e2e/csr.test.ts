// CertificateSigningRequests with the real kubectl on the TLS port with Node,RBAC: a user
// whose role lets it create requests asks for a certificate (the apiserver records who
// asked), an admin approves it (`kubectl certificate approve`, a PUT to /approval), a
// signer writes the certificate through /status, and `kubectl get csr` shows each step.
// A real etcd and a real apiserver process; the CSRs are made with openssl.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  cleanup,
  type EtcdCluster,
  kubectl,
  makeTempDir,
  run,
  startEtcd,
  waitFor,
} from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

let dir: string;
let etcd: EtcdCluster;
let secure: SecureApiserver;
const kubeconfigs: Record<string, string> = {};
const csrs = '/apis/certificates.k8s.io/v1/certificatesigningrequests';

const kubeconfig = (name: string, user: Record<string, string>) => secure.kubeconfig(name, user);

const as = (who: string) => (args: string[], input?: string) =>
  kubectl(args, { kubeconfig: kubeconfigs[who], input });
const admin = as('admin');
const jane = as('jane');

/** One HTTPS request as the holder of `cert`, with a JSON body. */
const request = (method: string, urlPath: string, cert: string, body?: unknown) =>
  secure.request(method, urlPath, { cert, body });

/** A PKCS#10 request for a kubelet client certificate, made by openssl, base64 as spec.request. */
async function newRequest(name: string): Promise<string> {
  const out = path.join(dir, `${name}.csr`);
  const r = await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    path.join(dir, `${name}.csr.key`),
    '-subj',
    '/O=system:nodes/CN=system:node:n1',
    '-out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(0);
  return readFileSync(out).toString('base64');
}

const csrYaml = (name: string, request: string, extra = '') => `apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: ${name}
spec:
  request: ${request}
  signerName: kubernetes.io/kube-apiserver-client-kubelet
  usages: [digital signature, client auth]
${extra}`;

/** The row of `kubectl get csr` for `name`, split on runs of spaces. */
async function row(name: string): Promise<string[]> {
  const r = await admin(['get', 'csr', name, '--no-headers']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split(/\s{2,}/);
}

beforeAll(async () => {
  dir = makeTempDir('nanokube-csr-');
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [
      { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
      { name: 'jane', commonName: 'jane' },
      // What a signer would hand back; any certificate will do for the API.
      { name: 'issued', commonName: 'system:node:n1', organizations: ['system:nodes'] },
    ],
    extraArgs: ['--enable-bootstrap-token-auth'],
  });
  kubeconfigs.admin = secure.kubeconfigFor('admin');
  kubeconfigs.jane = secure.kubeconfigFor('jane');
  const role = await admin([
    'create',
    'clusterrole',
    'csr-requester',
    '--verb=create,get,list,watch',
    '--resource=certificatesigningrequests.certificates.k8s.io',
  ]);
  expect(role.code, role.stderr).toBe(0);
  const bind = await admin([
    'create',
    'clusterrolebinding',
    'jane-csr',
    '--clusterrole=csr-requester',
    '--user=jane',
  ]);
  expect(bind.code, bind.stderr).toBe(0);
  await waitFor(
    async () => ((await jane(['auth', 'can-i', 'create', 'csr'])).code === 0 ? true : undefined),
    { what: 'jane may create CSRs' },
  );
}, 90_000);

afterAll(async () => {
  await cleanup();
});

describe('CertificateSigningRequest', () => {
  it('is in discovery with its short name and the status and approval subresources', async () => {
    const r = await admin(['api-resources', '--api-group=certificates.k8s.io', '--no-headers']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^certificatesigningrequests\s+csr\s+certificates\.k8s\.io\/v1\s+false\s+CertificateSigningRequest/m,
    );
    const list = await request('GET', '/apis/certificates.k8s.io/v1', 'admin');
    expect(list.body.resources.map((x: { name: string }) => x.name)).toEqual([
      'certificatesigningrequests',
      'certificatesigningrequests/status',
      'certificatesigningrequests/approval',
    ]);
  });

  it('records who asked, whatever the body claims, and starts Pending', async () => {
    const claims = '  username: kubernetes-admin\n  groups: [system:masters]\n';
    const created = await jane(['create', '-f', '-'], csrYaml('jane-1', await newRequest('jane-1'), claims));
    expect(created.code, created.stderr).toBe(0);
    const got = JSON.parse((await admin(['get', 'csr', 'jane-1', '-o', 'json'])).stdout);
    expect(got.spec).toMatchObject({ username: 'jane', groups: ['system:authenticated'] });
    expect(got.status).toEqual({});
    const table = await admin(['get', 'csr']);
    expect(table.stdout.split('\n')[0].split(/\s+/)).toEqual([
      'NAME',
      'AGE',
      'SIGNERNAME',
      'REQUESTOR',
      'REQUESTEDDURATION',
      'CONDITION',
    ]);
    expect(await row('jane-1')).toEqual([
      'jane-1',
      expect.stringMatching(/^\d+s$/),
      'kubernetes.io/kube-apiserver-client-kubelet',
      'jane',
      '<none>',
      'Pending',
    ]);
  });

  it('refuses a request that is not a PEM CERTIFICATE REQUEST with 422 and the field', async () => {
    const bad = await jane(
      ['create', '-f', '-'],
      csrYaml('jane-bad', Buffer.from('hello').toString('base64')),
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain(
      'The CertificateSigningRequest "jane-bad" is invalid: spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST',
    );
    const raw = await request('POST', csrs, 'jane', YAML.parse(csrYaml('jane-bad', 'aGVsbG8=')));
    expect(raw.code).toBe(422);
    expect(raw.body).toMatchObject({
      reason: 'Invalid',
      message:
        'CertificateSigningRequest.certificates.k8s.io "jane-bad" is invalid: spec.request: Invalid value: "<request data>": PEM block type must be CERTIFICATE REQUEST',
      details: { causes: [{ field: 'spec.request' }] },
    });
  });

  it('lets no one approve without RBAC on certificatesigningrequests/approval (403)', async () => {
    const r = await jane(['certificate', 'approve', 'jane-1']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'certificatesigningrequests.certificates.k8s.io "jane-1" is forbidden: User "jane" cannot update resource "certificatesigningrequests/approval" in API group "certificates.k8s.io" at the cluster scope',
    );
    expect((await row('jane-1'))[5]).toBe('Pending');
  });

  it('lets no one approve for a signer without approve on that signer (CertificateApproval)', async () => {
    const role = await admin([
      'create',
      'clusterrole',
      'csr-approver',
      '--verb=update',
      '--resource=certificatesigningrequests.certificates.k8s.io/approval',
    ]);
    expect(role.code, role.stderr).toBe(0);
    const bind = await admin([
      'create',
      'clusterrolebinding',
      'jane-approver',
      '--clusterrole=csr-approver',
      '--user=jane',
    ]);
    expect(bind.code, bind.stderr).toBe(0);
    const refusal = await waitFor(
      async () => {
        const r = await jane(['certificate', 'approve', 'jane-1']);
        return /user not permitted/.test(r.stderr) ? r : undefined;
      },
      { what: 'RBAC to let jane through to admission' },
    );
    expect(refusal.stderr).toContain(
      'certificatesigningrequests.certificates.k8s.io "jane-1" is forbidden: user not permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client-kubelet"',
    );
    expect((await row('jane-1'))[5]).toBe('Pending');
  });

  it('is Approved by kubectl certificate approve as an admin, then Approved,Issued once the certificate is in status', async () => {
    const approve = await admin(['certificate', 'approve', 'jane-1']);
    expect(approve.code, approve.stderr).toBe(0);
    expect(approve.stdout.trim()).toBe('certificatesigningrequest.certificates.k8s.io/jane-1 approved');
    expect((await row('jane-1'))[5]).toBe('Approved');
    const csr = JSON.parse((await admin(['get', 'csr', 'jane-1', '-o', 'json'])).stdout);
    expect(csr.status.conditions).toEqual([
      {
        type: 'Approved',
        status: 'True',
        reason: 'KubectlApprove',
        message: 'This CSR was approved by kubectl certificate approve.',
        lastUpdateTime: expect.any(String),
        lastTransitionTime: expect.any(String),
      },
    ]);
    // A certificate sent to /approval is dropped, as Kubernetes drops it ...
    const withCert = structuredClone(csr);
    withCert.status.certificate = readFileSync(path.join(dir, 'issued.crt')).toString('base64');
    const ignored = await request('PUT', `${csrs}/jane-1/approval`, 'admin', withCert);
    expect(ignored.code, JSON.stringify(ignored.body)).toBe(200);
    expect(ignored.body.status.certificate).toBeUndefined();
    expect((await row('jane-1'))[5]).toBe('Approved');
    // ... it comes in through /status, as a signer writes it.
    delete withCert.metadata.resourceVersion;
    const issued = await admin(['replace', '--subresource=status', '-f', '-'], JSON.stringify(withCert));
    expect(issued.code, issued.stderr).toBe(0);
    expect((await row('jane-1'))[5]).toBe('Approved,Issued');
    const deny = await admin(['certificate', 'deny', 'jane-1']);
    expect(deny.code).not.toBe(0);
    expect(deny.stderr).toContain('certificate signing request "jane-1" is already Approved');
    const describe = await admin(['describe', 'csr', 'jane-1']);
    expect(describe.code, describe.stderr).toBe(0);
    expect(describe.stdout).toMatch(/Requesting User:\s+jane/);
    expect(describe.stdout).toMatch(/Status:\s+Approved,Issued/);
    expect(describe.stdout).toMatch(/Common Name:\s+system:node:n1/);
  });

  it('keeps spec as it was on an update, and refuses Approved written through /status', async () => {
    const csr = JSON.parse((await admin(['get', 'csr', 'jane-1', '-o', 'json'])).stdout);
    const changed = structuredClone(csr);
    changed.spec.usages = ['server auth'];
    changed.metadata.labels = { seen: 'yes' };
    const put = await request('PUT', `${csrs}/jane-1`, 'admin', changed);
    expect(put.code, JSON.stringify(put.body)).toBe(200);
    expect(put.body.spec.usages).toEqual(['digital signature', 'client auth']);
    expect(put.body.metadata.labels).toEqual({ seen: 'yes' });
    const created = await jane(['create', '-f', '-'], csrYaml('jane-2', await newRequest('jane-2')));
    expect(created.code, created.stderr).toBe(0);
    const pending = JSON.parse((await admin(['get', 'csr', 'jane-2', '-o', 'json'])).stdout);
    pending.status = { conditions: [{ type: 'Approved', status: 'True', reason: 'Sneaky' }] };
    const r = await request('PUT', `${csrs}/jane-2/status`, 'admin', pending);
    expect(r.code).toBe(422);
    expect(r.body.message).toContain(
      'status.conditions: Forbidden: updates may not add a condition of type "Approved"',
    );
    const deny = await admin(['certificate', 'deny', 'jane-2']);
    expect(deny.code, deny.stderr).toBe(0);
    expect((await row('jane-2'))[5]).toBe('Denied');
  });

  it('lets a kubelet with a bootstrap token ask for its certificate and read it back (kubeadm bindings)', async () => {
    const bindings = await admin([
      'get',
      'clusterrolebindings',
      'kubeadm:kubelet-bootstrap',
      'kubeadm:node-autoapprove-bootstrap',
      'kubeadm:node-autoapprove-certificate-rotation',
      '-o',
      'jsonpath={range .items[*]}{.roleRef.name}={.subjects[0].name}{"\\n"}{end}',
    ]);
    expect(bindings.code, bindings.stderr).toBe(0);
    expect(bindings.stdout.trim().split('\n')).toEqual([
      'system:node-bootstrapper=system:bootstrappers',
      'system:certificates.k8s.io:certificatesigningrequests:nodeclient=system:bootstrappers',
      'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient=system:nodes',
    ]);
    const secret = await admin([
      'create',
      'secret',
      'generic',
      'bootstrap-token-abcdef',
      '-n',
      'kube-system',
      '--type',
      'bootstrap.kubernetes.io/token',
      '--from-literal=token-id=abcdef',
      '--from-literal=token-secret=0123456789abcdef',
      '--from-literal=usage-bootstrap-authentication=true',
    ]);
    expect(secret.code, secret.stderr).toBe(0);
    kubeconfigs.joiner = kubeconfig('joiner', { token: 'abcdef.0123456789abcdef' });
    const joiner = as('joiner');
    const pemRequest = await newRequest('n1');
    const created = await waitFor(
      async () => {
        const r = await joiner(['create', '-f', '-', '-o', 'name'], csrYaml('node-csr-n1', pemRequest));
        return r.code === 0 ? r : undefined;
      },
      { what: 'the bootstrap token to authenticate' },
    );
    expect(created.stdout.trim()).toBe('certificatesigningrequest.certificates.k8s.io/node-csr-n1');
    expect((await row('node-csr-n1'))[3]).toBe('system:bootstrap:abcdef');
    expect((await admin(['certificate', 'approve', 'node-csr-n1'])).code).toBe(0);
    const csr = JSON.parse((await admin(['get', 'csr', 'node-csr-n1', '-o', 'json'])).stdout);
    const pem = readFileSync(path.join(dir, 'issued.crt'));
    csr.status.certificate = pem.toString('base64');
    expect((await admin(['replace', '--subresource=status', '-f', '-'], JSON.stringify(csr))).code).toBe(0);
    const got = await joiner(['get', 'csr', 'node-csr-n1', '-o', 'jsonpath={.status.certificate}']);
    expect(got.code, got.stderr).toBe(0);
    expect(Buffer.from(got.stdout, 'base64').equals(pem)).toBe(true);
  });
});
