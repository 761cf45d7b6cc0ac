/**
 * A node's credentials as an attacker holds them, against a real TLS
 * apiserver with Node,RBAC: the NodeRestriction admission plugin keeps a
 * node to its own pods, Node and Lease; a TokenRequest binds only to a pod
 * that runs as that account; and a node that points its kubelet address at
 * the apiserver does not get the apiserver's kubelet client certificate
 * used as an administrator. A real kubelet with its node certificate,
 * serving TLS and asking the apiserver about callers, still registers,
 * runs a static pod with its mirror and status, and serves its logs.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiserverKubeletClientCert, ensureCA, ensureServiceAccountKey, issueCert } from '../base/pki.js';
import {
  cleanup,
  type EtcdCluster,
  kubectl,
  makeTempDir,
  startEtcd,
  startKubelet,
  waitFor,
} from '../testing/harness.js';
import { freePodCIDR, removeNodeContainers, testNodeName } from '../testing/kubelet-helpers.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

let etcd: EtcdCluster;
let secure: SecureApiserver;
let dir: string;
const kubeletNode = testNodeName('knr');
const manifests = makeTempDir('nanokube-nr-static-');

const as = (cert: string) => (method: string, p: string, body?: unknown) =>
  secure.request(method, p, { cert, body });
const admin = as('admin');
const n1 = as('n1');

const pod = (name: string, spec: Record<string, unknown>, meta: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...meta },
  spec: { containers: [{ name: 'c', image: 'nanokube/busybox:1' }], ...spec },
});

beforeAll(async () => {
  dir = makeTempDir('nanokube-attacks-node-');
  await ensureCA(dir, 'nanokube-test-ca');
  // The apiserver's kubelet client certificate, made as nkctl makes it.
  const kubeletClient = await issueCert(dir, apiserverKubeletClientCert);
  await issueCert(dir, {
    name: 'kubelet-serving',
    commonName: `system:node:${kubeletNode}`,
    organizations: ['system:nodes'],
    sans: ['IP:127.0.0.1'],
    client: true,
  });
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [
      { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
      { name: 'n1', commonName: 'system:node:n1', organizations: ['system:nodes'] },
    ],
    extraArgs: [
      ...['--service-account-signing-key-file', await ensureServiceAccountKey(dir)],
      ...['--kubelet-client-certificate', kubeletClient.cert, '--kubelet-client-key', kubeletClient.key],
      ...['--kubelet-certificate-authority', path.join(dir, 'ca.crt')],
    ],
  });
  // The victims: another node with a pod and a Secret.
  expect(
    (await admin('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2' } })).code,
  ).toBe(201);
  for (const [name, node] of [
    ['theirs', 'n2'],
    ['mine', 'n1'],
  ])
    expect((await admin('POST', '/api/v1/namespaces/default/pods', pod(name, { nodeName: node }))).code).toBe(
      201,
    );
  const secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db' },
    stringData: { password: 'hunter2' },
  };
  expect((await admin('POST', '/api/v1/namespaces/default/secrets', secret)).code).toBe(201);
  // The node registers itself, as a kubelet does.
  const self = await n1('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1', 'kubernetes.io/os': 'linux' } },
  });
  expect(self.code, JSON.stringify(self.body)).toBe(201);
}, 90_000);

afterAll(async () => {
  rmSync(path.join(manifests, 'static.yaml'), { force: true });
  await cleanup();
  await removeNodeContainers(kubeletNode);
}, 60_000);

const mirrorOf = async (name: string, spec: Record<string, unknown>, ns = 'default') => {
  const node = (await admin('GET', '/api/v1/nodes/n1')).body;
  return pod(name, spec, {
    namespace: ns,
    annotations: { 'kubernetes.io/config.mirror': 'hash' },
    ownerReferences: [
      { apiVersion: 'v1', kind: 'Node', name: 'n1', uid: node.metadata.uid, controller: true },
    ],
  });
};

describe('a node is restricted to its own pods (NodeRestriction)', () => {
  it('cannot create an ordinary pod, in any namespace, bound anywhere, with hostPath /', async () => {
    const root = { nodeName: 'n2', volumes: [{ name: 'root', hostPath: { path: '/' } }] };
    for (const ns of ['default', 'kube-system']) {
      const r = await n1('POST', `/api/v1/namespaces/${ns}/pods`, pod('pwn', root));
      expect(r.code, JSON.stringify(r.body)).toBe(403);
      expect(r.body.message).toBe(
        'pods "pwn" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods',
      );
    }
  });

  it('cannot create a mirror pod bound to another node, or one that references a Secret', async () => {
    const other = await n1(
      'POST',
      '/api/v1/namespaces/default/pods',
      await mirrorOf('pwn', { nodeName: 'n2' }),
    );
    expect(other.code).toBe(403);
    expect(other.body.message).toMatch(/node "n1" can only create pods with spec.nodeName set to itself$/);
    const env = [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    const steal = await mirrorOf('pwn', {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'nanokube/busybox:1', env }],
    });
    const r = await n1('POST', '/api/v1/namespaces/default/pods', steal);
    expect(r.code).toBe(403);
    expect(r.body.message).toBe(
      'pods "pwn" is forbidden: node "n1" can not create pods that reference secrets',
    );
    // ...so the Node authorizer never finds a pod of n1's that uses the Secret.
    expect((await n1('GET', '/api/v1/namespaces/default/secrets/db')).code).toBe(403);
  });

  it('creates its own mirror pod and writes its status', async () => {
    const r = await n1(
      'POST',
      '/api/v1/namespaces/kube-system/pods',
      await mirrorOf('etcd-n1', { nodeName: 'n1' }, 'kube-system'),
    );
    expect(r.code, JSON.stringify(r.body)).toBe(201);
    const status = await n1('PUT', '/api/v1/namespaces/kube-system/pods/etcd-n1/status', {
      ...r.body,
      status: { phase: 'Running' },
    });
    expect(status.code, JSON.stringify(status.body)).toBe(200);
    expect(status.body.status.phase).toBe('Running');
  });

  it("cannot delete, evict or write the status of another node's pod", async () => {
    const del = await n1('DELETE', '/api/v1/namespaces/default/pods/theirs');
    expect(del.code).toBe(403);
    expect(del.body.message).toBe(
      'pods "theirs" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself',
    );
    const evict = await n1('POST', '/api/v1/namespaces/default/pods/theirs/eviction', {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: 'theirs', namespace: 'default' },
    });
    expect(evict.code).toBe(403);
    const theirs = (await admin('GET', '/api/v1/namespaces/default/pods/theirs')).body;
    const status = await n1('PUT', '/api/v1/namespaces/default/pods/theirs/status', {
      ...theirs,
      status: { phase: 'Failed' },
    });
    expect(status.code).toBe(403);
    expect(
      (await admin('GET', '/api/v1/namespaces/default/pods/theirs')).body.metadata.deletionTimestamp,
    ).toBeUndefined();
    // Its own pod it may delete.
    expect((await n1('DELETE', '/api/v1/namespaces/default/pods/mine')).code).toBe(200);
  });
});

describe('a node is restricted to its own Node and Lease', () => {
  it('cannot register another Node, relabel one, or give itself a node-restriction.kubernetes.io label', async () => {
    const create = await n1('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n3' },
    });
    expect(create.code).toBe(403);
    expect(create.body.message).toBe('nodes "n3" is forbidden: node "n1" is not allowed to modify node "n3"');
    const relabel = await secure.request('PATCH', '/api/v1/nodes/n2', {
      cert: 'n1',
      body: { metadata: { labels: { x: 'y' } } },
    });
    expect(relabel.code).toBe(403);
    const self = await n1('GET', '/api/v1/nodes/n1');
    const tagged = structuredClone(self.body);
    tagged.metadata.labels['node-restriction.kubernetes.io/pci'] = 'true';
    const own = await n1('PUT', '/api/v1/nodes/n1', tagged);
    expect(own.code).toBe(403);
    expect(own.body.message).toBe(
      'nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pci',
    );
    const role = structuredClone(self.body);
    role.metadata.labels['node-role.kubernetes.io/control-plane'] = '';
    expect((await n1('PUT', '/api/v1/nodes/n1', role)).code).toBe(403);
    // Its own status and a label of its own namespace are fine.
    const ok = structuredClone(self.body);
    ok.metadata.labels['node.kubernetes.io/instance-type'] = 'small';
    expect((await n1('PUT', '/api/v1/nodes/n1', ok)).code).toBe(200);
    const st = await n1('PUT', '/api/v1/nodes/n1/status', {
      ...(await n1('GET', '/api/v1/nodes/n1')).body,
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    });
    expect(st.code, JSON.stringify(st.body)).toBe(200);
  });

  it("cannot create another node's Lease", async () => {
    const lease = (name: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name },
    });
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases';
    expect((await n1('POST', path, lease('n2'))).code).toBe(403);
    expect((await n1('POST', path, lease('n1'))).code).toBe(201);
  });
});

describe('TokenRequest bound to a pod', () => {
  it('refuses a token for an account the bound pod does not run as, from a node or an admin', async () => {
    expect(
      (
        await admin('POST', '/api/v1/namespaces/default/serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'robot' },
        })
      ).code,
    ).toBe(201);
    expect(
      (
        await admin('POST', '/api/v1/namespaces/default/serviceaccounts', {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name: 'default' },
        })
      ).code,
    ).toBeLessThan(500);
    // A pod of n1's runs as robot, so the Node authorizer lets n1 ask for robot's tokens at all.
    const robotPod = pod('robot-pod', {
      nodeName: 'n1',
      serviceAccountName: 'robot',
      automountServiceAccountToken: false,
    });
    expect((await admin('POST', '/api/v1/namespaces/default/pods', robotPod)).code).toBe(201);
    const web = await admin(
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('web', { nodeName: 'n1', automountServiceAccountToken: false }),
    );
    expect(web.code).toBe(201);
    const ask = (who: typeof admin, podName: string, uid: string) =>
      who('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { audiences: [], boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: podName, uid } },
      });
    for (const who of [n1, admin]) {
      const r = await ask(who, 'web', web.body.metadata.uid);
      expect(r.code, JSON.stringify(r.body)).toBe(400);
      expect(r.body.message).toBe(
        'cannot bind token for serviceaccount "robot" to pod running with serviceaccount "default"',
      );
    }
    // A token bound to another node's pod, or to no pod, a node does not get.
    const theirs = await admin(
      'POST',
      '/api/v1/namespaces/default/pods',
      pod('theirs-robot', {
        nodeName: 'n2',
        serviceAccountName: 'robot',
        automountServiceAccountToken: false,
      }),
    );
    const stray = await ask(n1, 'theirs-robot', theirs.body.metadata.uid);
    expect(stray.code).toBe(403);
    expect(stray.body.message).toMatch(/node requested token bound to a pod scheduled on a different node$/);
    const unbound = await n1('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', { spec: {} });
    expect(unbound.code).toBe(403);
    const good = await ask(
      n1,
      'robot-pod',
      (await admin('GET', '/api/v1/namespaces/default/pods/robot-pod')).body.metadata.uid,
    );
    expect(good.code, JSON.stringify(good.body)).toBe(201);
  });
});

describe("the apiserver's kubelet client identity", () => {
  it('is no administrator when a node points its kubelet endpoint at the apiserver', async () => {
    const port = Number(new URL(secure.url).port);
    const cur = (await n1('GET', '/api/v1/nodes/n1')).body;
    const moved = await n1('PUT', '/api/v1/nodes/n1/status', {
      ...cur,
      status: {
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
        daemonEndpoints: { kubeletEndpoint: { Port: port } },
      },
    });
    expect(moved.code, JSON.stringify(moved.body)).toBe(200);
    // An admin proxies to the "kubelet": the apiserver connects to itself with its kubelet client certificate.
    const r = await admin('GET', '/api/v1/nodes/n1/proxy/api/v1/namespaces/default/secrets');
    expect(JSON.stringify(r.body)).not.toContain('hunter2');
    expect(r.code).toBe(403);
    expect(r.body.message).toBe(
      'secrets is forbidden: User "kube-apiserver-kubelet-client" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
  });

  it('still reaches a real kubelet that serves TLS and asks the apiserver about callers', async () => {
    writeFileSync(
      path.join(manifests, 'static.yaml'),
      `apiVersion: v1\nkind: Pod\nmetadata: { name: hello, namespace: default }\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n  - name: app\n    image: nanokube/busybox:1\n    command: [sh, -c, 'echo hello from a static pod; exec sleep 600']\n`,
    );
    await issueCert(dir, {
      name: 'kubelet-node',
      commonName: `system:node:${kubeletNode}`,
      organizations: ['system:nodes'],
    });
    await startKubelet({
      apiserverUrl: secure.url,
      kubeconfig: secure.kubeconfigFor('kubelet-node'),
      nodeName: kubeletNode,
      podCIDR: await freePodCIDR(),
      extraArgs: [
        ...['--pod-manifest-path', manifests],
        ...[
          '--tls-cert-file',
          path.join(dir, 'kubelet-serving.crt'),
          '--tls-private-key-file',
          path.join(dir, 'kubelet-serving.key'),
        ],
        ...['--client-ca-file', path.join(dir, 'ca.crt'), '--authorization-mode', 'Webhook'],
      ],
    });
    const mirrorPath = `/api/v1/namespaces/default/pods/hello-${kubeletNode}`;
    const mirror = await waitFor(
      async () => {
        const r = await admin('GET', mirrorPath);
        return r.code === 200 && r.body.status?.phase === 'Running' ? r.body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'the mirror pod Running' },
    );
    expect(mirror.metadata.ownerReferences[0]).toMatchObject({
      kind: 'Node',
      name: kubeletNode,
      controller: true,
    });
    const node = (await admin('GET', `/api/v1/nodes/${kubeletNode}`)).body;
    expect(node.status.conditions.find((c: any) => c.type === 'Ready')).toBeDefined();
    const logs = await waitFor(
      async () => {
        const r = await kubectl(['logs', `hello-${kubeletNode}`], {
          kubeconfig: secure.kubeconfigFor('admin'),
        });
        return r.stdout.includes('hello from a static pod') ? r : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'kubectl logs through the apiserver' },
    );
    expect(logs.code).toBe(0);
  });
});
