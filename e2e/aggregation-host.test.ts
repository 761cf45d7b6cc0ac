/**
 * The aggregation proxy against a real apiserver process on its TLS port
 * (RBAC, client certificates, front proxy), with the backend
 * (testing/sample-apiserver.ts) run by node on this host, on its non-loopback
 * address, behind a Service without a selector and hand-made Endpoints: no
 * Docker needed, so the proxy's edges are tried here. The backend trusts
 * only what the extension-apiserver-authentication ConfigMap says.
 *
 * Shown: identity through `kubectl get --raw` and forged headers dropped;
 * RBAC refuses first; a watch streams through (its first event arrives
 * while the stream is open); discovery, classic and aggregated, and
 * `kubectl api-resources`; an APIService whose caBundle does not sign the
 * backend's certificate is never Available and answers 503; a backend that
 * dies answers 503 at once and turns FailedDiscoveryCheck.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { networkInterfaces } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type EtcdCluster,
  freePort,
  kubectl,
  makeTempDir,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';
import { sampleApiserverSource } from '../testing/sample-apiserver.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';
import {
  apiService,
  backendCerts,
  group,
  rbacObjects,
  users,
  version,
  whoamisPath,
} from './aggregation-fixtures.js';

const hostIP = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

let etcd: EtcdCluster;
let secure: SecureApiserver;
let admin: Api;
let adminKubeconfig: string;
let backend: ChildProcess | undefined;
let port: number;

const condition = async (name: string) => {
  const r = await admin.get(`/apis/apiregistration.k8s.io/v1/apiservices/${name}`);
  return (r.body.status?.conditions ?? []).find((c: any) => c.type === 'Available');
};

const mustCreate = async (p: string, obj: unknown) => {
  const r = await admin.post(p, obj);
  if (r.status !== 201) throw new Error(`POST ${p}: ${r.status} ${JSON.stringify(r.body)}`);
};

beforeAll(async () => {
  if (!hostIP) throw new Error('this host has no non-loopback IPv4 address');
  etcd = await startEtcd();
  secure = await startSecureApiserver({ etcdServers: etcd.endpoints, users });
  admin = api(secure.apiserver.url);
  adminKubeconfig = await writeKubeconfig(makeTempDir(), secure.apiserver.url);
  for (const o of rbacObjects)
    await mustCreate(
      `/apis/rbac.authorization.k8s.io/v1/${o.kind === 'ClusterRole' ? 'clusterroles' : 'clusterrolebindings'}`,
      o,
    );

  // The backend reads the front-proxy CA and allowed names from the ConfigMap, as a pod would mount it.
  const cm = (await admin.get('/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication'))
    .body;
  const auth = makeTempDir('nanokube-sample-auth-');
  for (const k of ['requestheader-client-ca-file', 'requestheader-allowed-names'])
    writeFileSync(path.join(auth, k), cm.data[k]);
  const certs = await backendCerts('sample-api', 'default');
  const code = makeTempDir('nanokube-sample-code-');
  mkdirSync(code, { recursive: true });
  writeFileSync(path.join(code, 'server.mjs'), sampleApiserverSource);
  port = await freePort();
  backend = spawn(process.execPath, [path.join(code, 'server.mjs')], {
    env: {
      GROUP: group,
      VERSION: version,
      TLS_DIR: certs.dir,
      AUTH_DIR: auth,
      HOST: hostIP,
      PORT: String(port),
    },
    stdio: 'inherit',
  });

  await mustCreate('/api/v1/namespaces/default/services', {
    metadata: { name: 'sample-api' },
    spec: { ports: [{ name: 'https', port: 443, targetPort: port }] },
  });
  await mustCreate('/api/v1/namespaces/default/endpoints', {
    metadata: { name: 'sample-api' },
    subsets: [{ addresses: [{ ip: hostIP }], ports: [{ name: 'https', port }] }],
  });
  await mustCreate(
    '/apis/apiregistration.k8s.io/v1/apiservices',
    apiService({ namespace: 'default', service: 'sample-api', caBundle: certs.caBundle }),
  );
  // The same backend under another group, with a caBundle that did not sign its certificate.
  const stranger = await backendCerts('sample-api', 'default');
  await mustCreate(
    '/apis/apiregistration.k8s.io/v1/apiservices',
    apiService({
      name: `${version}.wrong-ca.nanokube.test`,
      namespace: 'default',
      service: 'sample-api',
      caBundle: stranger.caBundle,
    }),
  );
  await waitFor(async () => (await condition(`${version}.${group}`))?.status === 'True', {
    timeoutMs: 60_000,
    what: 'the APIService Available',
  });
}, 120_000);

afterAll(async () => {
  backend?.kill('SIGKILL');
  await cleanup();
});

describe('the aggregation proxy', () => {
  it("passes on the caller's identity, and never headers the caller forged", async () => {
    const r = await kubectl(['get', '--raw', whoamisPath], { kubeconfig: secure.kubeconfigFor('alice') });
    expect(r.stderr).toBe('');
    const [item] = JSON.parse(r.stdout).items;
    expect(item).toMatchObject({ user: ['alice'], groups: ['whoami-readers', 'system:authenticated'] });
    expect(item.clientCN).toBe('front-proxy-client');

    const forged = await secure.request('GET', whoamisPath, {
      cert: 'alice',
      headers: {
        'X-Remote-User': 'system:admin',
        'X-Remote-Group': ['system:masters'],
        'X-Remote-Extra-Scopes': 'all',
        'Impersonate-Extra-Scopes': 'all',
      },
    });
    expect(forged.code).toBe(200);
    expect(forged.body.items[0].user).toEqual(['alice']);
    expect(forged.body.items[0].groups).not.toContain('system:masters');
    expect(Object.keys(forged.body.items[0].remoteHeaders).sort()).toEqual([
      'x-remote-group',
      'x-remote-user',
    ]);
  });

  it('lets RBAC refuse a user without rights before the backend is asked', async () => {
    const r = await secure.request('GET', whoamisPath, { cert: 'mallory' });
    expect(r.code).toBe(403);
    expect(r.body.message).toBe(
      `whoamis.${group} is forbidden: User "mallory" cannot list resource "whoamis" in API group "${group}" at the cluster scope`,
    );
  });

  it('refuses, before any proxying, path forms that read differently here and at the backend', async () => {
    // Sent as they are (a URL would normalize them away): dot segments and an encoded "/".
    const status = (path: string, cert: string) =>
      new Promise<number>((resolve, reject) => {
        const u = new URL(secure.url);
        const req = https.request(
          { host: u.hostname, port: u.port, path, method: 'GET', ...secure.tls(cert) },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
    const base = `/apis/${group}/${version}`;
    for (const path of [
      `${base}/./whoamis`,
      `${base}/x/../whoamis`,
      `${base}/whoamis%2F..%2F..`,
      `${base}/%2e%2e/whoamis`,
    ])
      for (const cert of ['alice', 'mallory'])
        expect({ path, cert, code: await status(path, cert) }).toEqual({ path, cert, code: 400 });
  });

  it('streams a watch through: its first event arrives while the stream stays open', async () => {
    const line = await new Promise<string>((resolve, reject) => {
      const req = https.get(`${secure.url}${whoamisPath}?watch=1`, secure.tls('alice'), (res) => {
        res.setEncoding('utf8').once('data', (chunk: string) => {
          expect(res.complete).toBe(false);
          req.destroy();
          resolve(chunk);
        });
      });
      req.on('error', reject);
    });
    expect(JSON.parse(line)).toMatchObject({ type: 'ADDED', object: { user: ['alice'] } });
  });

  it('lists the available group-version in classic and aggregated discovery, and not the other', async () => {
    const apis = (await admin.get('/apis')).body;
    const names = apis.groups.map((g: any) => g.name);
    expect(names).toContain(group);
    expect(names).not.toContain('wrong-ca.nanokube.test');
    const agg = await admin.get('/apis', {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    });
    const item = agg.body.items.find((g: any) => g.metadata.name === group);
    expect(item.versions[0].resources[0]).toMatchObject({
      resource: 'whoamis',
      scope: 'Cluster',
      verbs: ['get', 'list'],
    });
    expect((await admin.get(`/apis/${group}`)).body).toMatchObject({ kind: 'APIGroup', name: group });
    const res = await kubectl(['api-resources', `--api-group=${group}`], { kubeconfig: adminKubeconfig });
    expect(res.stdout).toMatch(/^whoamis\s+whoami\.nanokube\.test\/v1alpha1\s+false\s+WhoAmI$/m);
  });

  it('lets a server bound to extension-apiserver-authentication-reader read the ConfigMap, and no other', async () => {
    const cmPath = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
    expect((await secure.request('GET', cmPath, { cert: 'mallory' })).code).toBe(403);
    await mustCreate('/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/rolebindings', {
      metadata: { name: 'mallory-reads-auth' },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
    });
    await waitFor(async () => (await secure.request('GET', cmPath, { cert: 'mallory' })).code === 200, {
      timeoutMs: 10_000,
      what: 'mallory reading the ConfigMap',
    });
    expect(
      (await secure.request('GET', cmPath, { cert: 'mallory' })).body.data['requestheader-allowed-names'],
    ).toBe('["front-proxy-client"]');
    expect(
      (
        await secure.request('GET', '/api/v1/namespaces/kube-system/configmaps/kube-proxy', {
          cert: 'mallory',
        })
      ).code,
    ).toBe(403);
  });

  it("keeps an APIService unavailable whose caBundle does not sign the backend's certificate", async () => {
    const name = `${version}.wrong-ca.nanokube.test`;
    await waitFor(async () => (await condition(name))?.reason === 'FailedDiscoveryCheck', {
      timeoutMs: 60_000,
      what: 'the wrong-CA APIService checked',
    });
    expect((await condition(name)).status).toBe('False');
    const r = await admin.get(`/apis/wrong-ca.nanokube.test/${version}/whoamis`);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      kind: 'Status',
      code: 503,
      reason: 'ServiceUnavailable',
      message: 'service unavailable',
    });
  });

  it('answers 503 when the backend is down, and marks the APIService FailedDiscoveryCheck', async () => {
    backend?.kill('SIGKILL');
    await new Promise((resolve) => backend?.once('exit', resolve));
    const r = await secure.request('GET', whoamisPath, { cert: 'alice' });
    expect(r.code).toBe(503);
    expect(r.body).toMatchObject({ reason: 'ServiceUnavailable', message: 'service unavailable' });
    // Touching the Endpoints wakes the availability loop at once.
    await admin.patch('/api/v1/namespaces/default/endpoints/sample-api', {
      metadata: { labels: { touched: '1' } },
    });
    await waitFor(async () => (await condition(`${version}.${group}`))?.status === 'False', {
      timeoutMs: 60_000,
      what: 'the APIService unavailable',
    });
    const c = await condition(`${version}.${group}`);
    expect(c.reason).toBe('FailedDiscoveryCheck');
    expect(c.message).toContain(
      `failing or missing response from https://${hostIP}:${port}/apis/${group}/${version}`,
    );
    expect((await admin.get('/apis')).body.groups.map((g: any) => g.name)).not.toContain(group);
  });
});
