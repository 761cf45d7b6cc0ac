/**
 * API aggregation end to end, with real Docker and the real kubectl: a
 * cluster whose apiserver serves TLS with RBAC and the front-proxy
 * certificates, and a pod (nanokube/nanokube:1 running
 * testing/sample-apiserver.ts) that serves whoami.nanokube.test/v1alpha1
 * over HTTPS, trusting the front-proxy headers only from a client
 * certificate that the CA in kube-system/extension-apiserver-authentication
 * signed. An APIService hands the group-version to its Service.
 *
 * Shown: the ConfigMap is published; the APIService becomes Available;
 * discovery (api-resources) lists the group; a user with RBAC rights on
 * whoamis reads their own identity as the pod saw it, through `kubectl get
 * --raw` and `kubectl get`; X-Remote-* headers the caller forges do not
 * reach the pod; a user without rights is refused here (403); scaling the
 * backend to 0 makes the APIService unavailable (MissingEndpoints) and
 * requests 503 `service unavailable`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCluster, startDockerCluster } from '../testing/docker-cluster.js';
import { kubectl, waitFor } from '../testing/harness.js';
import { sampleApiserverSource } from '../testing/sample-apiserver.js';
import {
  apiService,
  backendCerts,
  group,
  rbacObjects,
  users,
  version,
  whoamisPath,
} from './aggregation-fixtures.js';

const apiServiceName = `${version}.${group}`;
const ns = 'kube-system';

let cluster: DockerCluster;
let admin: string;
let alice: string;
let mallory: string;

const apply = async (obj: unknown) => {
  const r = await kubectl(['apply', '-f', '-'], { kubeconfig: admin, input: JSON.stringify(obj) });
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
};

const available = async () => {
  const r = await cluster.client.get(`/apis/apiregistration.k8s.io/v1/apiservices/${apiServiceName}`);
  return (r.body.status?.conditions ?? []).find((c: any) => c.type === 'Available');
};

beforeAll(async () => {
  cluster = await startDockerCluster('agg', [], { secure: { users } });
  admin = cluster.kubeconfig;
  alice = cluster.secure!.kubeconfigFor('alice');
  mallory = cluster.secure!.kubeconfigFor('mallory');

  // The backend's serving certificate, from a CA of its own that the APIService names.
  const certs = await backendCerts('sample-api', ns);
  const created = await kubectl(
    [
      '-n',
      ns,
      'create',
      'secret',
      'tls',
      'sample-api-tls',
      `--cert=${certs.serving.cert}`,
      `--key=${certs.serving.key}`,
    ],
    { kubeconfig: admin },
  );
  expect(created.stderr).toBe('');
  await apply({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'sample-api-code', namespace: ns },
    data: { 'server.mjs': sampleApiserverSource },
  });
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'sample-api', namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'sample-api' } },
      template: {
        metadata: { labels: { app: 'sample-api' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'api',
              image: 'nanokube/nanokube:1',
              command: ['node', '/code/server.mjs'],
              env: [
                { name: 'GROUP', value: group },
                { name: 'VERSION', value: version },
              ],
              readinessProbe: { tcpSocket: { port: 8443 }, periodSeconds: 1 },
              volumeMounts: [
                { name: 'code', mountPath: '/code' },
                { name: 'tls', mountPath: '/tls' },
                { name: 'auth', mountPath: '/auth' },
              ],
            },
          ],
          volumes: [
            { name: 'code', configMap: { name: 'sample-api-code' } },
            { name: 'tls', secret: { secretName: 'sample-api-tls' } },
            { name: 'auth', configMap: { name: 'extension-apiserver-authentication' } },
          ],
        },
      },
    },
  });
  await apply({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'sample-api', namespace: ns },
    spec: { selector: { app: 'sample-api' }, ports: [{ name: 'https', port: 443, targetPort: 8443 }] },
  });
  await apply(apiService({ namespace: ns, service: 'sample-api', caBundle: certs.caBundle }));
  for (const o of rbacObjects) await apply(o);
  await waitFor(async () => (await available())?.status === 'True', {
    timeoutMs: 120_000,
    what: 'the APIService Available',
  });
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
}, 120_000);

describe('API aggregation', () => {
  it('publishes the extension-apiserver-authentication ConfigMap with both CAs and the header names', async () => {
    const cm = (
      await cluster.client.get(`/api/v1/namespaces/${ns}/configmaps/extension-apiserver-authentication`)
    ).body;
    expect(cm.data['client-ca-file']).toContain('BEGIN CERTIFICATE');
    expect(cm.data['requestheader-client-ca-file']).toContain('BEGIN CERTIFICATE');
    expect(cm.data['requestheader-client-ca-file']).not.toBe(cm.data['client-ca-file']);
    expect(JSON.parse(cm.data['requestheader-allowed-names'])).toEqual(['front-proxy-client']);
    expect(JSON.parse(cm.data['requestheader-username-headers'])).toEqual(['X-Remote-User']);
    expect(JSON.parse(cm.data['requestheader-group-headers'])).toEqual(['X-Remote-Group']);
    expect(JSON.parse(cm.data['requestheader-extra-headers-prefix'])).toEqual(['X-Remote-Extra-']);
  });

  it('shows the APIService Available, and the built-in group-versions as Local', async () => {
    const r = await kubectl(['get', 'apiservices'], { kubeconfig: admin });
    expect(r.stdout).toMatch(/^NAME\s+SERVICE\s+AVAILABLE\s+AGE$/m);
    expect(r.stdout).toMatch(
      new RegExp(`^${apiServiceName.replace(/\./g, '\\.')}\\s+kube-system/sample-api\\s+True\\s`, 'm'),
    );
    expect(r.stdout).toMatch(/^v1\.apps\s+Local\s+True\s/m);
    expect(r.stdout).toMatch(/^v1\.\s+Local\s+True\s/m);
  });

  it("answers a user with rights with that user's identity as the backend saw it", async () => {
    const r = await kubectl(['get', '--raw', whoamisPath], { kubeconfig: alice });
    expect(r.stderr).toBe('');
    const [item] = JSON.parse(r.stdout).items;
    expect(item.user).toEqual(['alice']);
    expect(item.groups).toEqual(['whoami-readers', 'system:authenticated']);
    expect(item.clientCN).toBe('front-proxy-client');
    expect(item.authorization).toEqual([]);
  });

  it('lists the aggregated group in discovery, so kubectl finds and gets its resources', async () => {
    const res = await kubectl(['api-resources', `--api-group=${group}`], { kubeconfig: admin });
    expect(res.stdout).toMatch(
      new RegExp(`^whoamis\\s+${group.replace(/\./g, '\\.')}/${version}\\s+false\\s+WhoAmI$`, 'm'),
    );
    const groups = JSON.parse((await kubectl(['get', '--raw', '/apis'], { kubeconfig: admin })).stdout);
    expect(groups.groups.find((g: any) => g.name === group)?.preferredVersion.version).toBe(version);
    const got = await kubectl(['get', 'whoamis', '-o', 'jsonpath={.items[0].user[0]}'], {
      kubeconfig: alice,
    });
    expect(got.stderr).toBe('');
    expect(got.stdout).toBe('alice');
  });

  it('does not pass on front-proxy headers the caller forged', async () => {
    const r = await cluster.secure!.request('GET', whoamisPath, {
      cert: 'alice',
      headers: {
        'X-Remote-User': 'system:admin',
        'X-Remote-Group': ['system:masters', 'evil'],
        'X-Remote-Extra-Scopes': 'all',
        'X-Remote-Uid': '0',
      },
    });
    expect(r.code).toBe(200);
    const [item] = r.body.items;
    expect(item.user).toEqual(['alice']);
    expect(item.groups).toEqual(['whoami-readers', 'system:authenticated']);
    expect(Object.keys(item.remoteHeaders).sort()).toEqual(['x-remote-group', 'x-remote-user']);
  });

  it('refuses a user without RBAC rights on the resources before the backend sees the request', async () => {
    const r = await kubectl(['get', '--raw', whoamisPath], { kubeconfig: mallory });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('forbidden');
    expect(r.stderr).toContain(`cannot list resource "whoamis" in API group "${group}"`);
  });

  it('marks the APIService unavailable when its backend is gone, and answers 503', async () => {
    const scaled = await kubectl(['-n', ns, 'scale', 'deployment/sample-api', '--replicas=0'], {
      kubeconfig: admin,
    });
    expect(scaled.stderr).toBe('');
    await waitFor(async () => (await available())?.status === 'False', {
      timeoutMs: 90_000,
      what: 'the APIService unavailable',
    });
    expect(await available()).toMatchObject({
      reason: 'MissingEndpoints',
      message: 'endpoints for service/sample-api in "kube-system" have no addresses with port name "https"',
    });
    const r = await cluster.secure!.request('GET', whoamisPath, { cert: 'alice' });
    expect(r.code).toBe(503);
    expect(r.body).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      message: 'service unavailable',
    });
    const listed = await kubectl(['get', 'apiservice', apiServiceName], { kubeconfig: admin });
    expect(listed.stdout).toContain('False (MissingEndpoints)');
  });
});
