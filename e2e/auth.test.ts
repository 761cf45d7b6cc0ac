// Authentication and RBAC on the apiserver's TLS port, with the real kubectl:
// certificates made by cli/pki.ts (openssl), a static token file, a real etcd and a real
// apiserver process started with --authorization-mode RBAC.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCA, ensureServiceAccountKey, issueCert } from '../base/pki.js';
import {
  type Apiserver,
  cleanup,
  type EtcdCluster,
  kubectl,
  makeTempDir,
  startControllerManager,
  startEtcd,
  waitFor,
} from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

let dir: string;
let etcd: EtcdCluster;
let apiserver: Apiserver;
let secure: SecureApiserver;
const kubeconfigs: Record<string, string> = {};

const kubeconfig = (name: string, user: Record<string, string>) => secure.kubeconfig(name, user);

/** One HTTPS request to the secure port, trusting the cluster CA; the client certificate is optional. */
function request(method: string, urlPath: string, opts: { cert?: string; token?: string } = {}) {
  return secure.request(method, urlPath, opts);
}

beforeAll(async () => {
  dir = makeTempDir('nanokube-auth-');
  await ensureCA(path.join(dir, 'other'), 'someone-else');
  await issueCert(path.join(dir, 'other'), {
    name: 'mallory',
    commonName: 'mallory',
    organizations: ['system:masters'],
  });
  writeFileSync(path.join(dir, 'tokens.csv'), 'bob-token-1234,bob,u-bob,"qa,testers"\n');
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [
      { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
      { name: 'jane', commonName: 'jane' },
      { name: 'node1', commonName: 'system:node:node1', organizations: ['system:nodes'] },
    ],
    extraArgs: [
      ...['--token-auth-file', path.join(dir, 'tokens.csv')],
      ...['--audit-log-path', path.join(dir, 'audit.log')],
      ...['--service-account-signing-key-file', await ensureServiceAccountKey(dir)],
      '--enable-bootstrap-token-auth',
    ],
  });
  apiserver = secure.apiserver;
  // Over the plain loopback port: this test is about users, not the controller-manager's identity.
  await startControllerManager({ apiserverUrl: apiserver.url, controllers: ['clusterrole-aggregation'] });
  kubeconfigs.admin = secure.kubeconfigFor('admin');
  kubeconfigs.jane = secure.kubeconfigFor('jane');
  kubeconfigs.bob = kubeconfig('bob', { token: 'bob-token-1234' });
}, 90_000);

afterAll(async () => {
  await cleanup();
});

describe('authentication on the TLS port', () => {
  it('answers 401 Unauthorized to a request with no credentials, a wrong token, or a certificate from another CA', async () => {
    for (const opts of [{}, { token: 'not-a-token' }, { cert: 'other/mallory' }]) {
      const r = await request('GET', '/api/v1/namespaces/default/pods', opts);
      expect(r.code, JSON.stringify(opts)).toBe(401);
      expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Unauthorized', code: 401 });
    }
  });

  it('still answers health checks without credentials', async () => {
    expect((await request('GET', '/readyz')).code).toBe(200);
  });

  it('knows each user from a certificate or a token (kubectl auth whoami)', async () => {
    const admin = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: kubeconfigs.admin });
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout).status.userInfo).toMatchObject({
      username: 'kubernetes-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
    const bob = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: kubeconfigs.bob });
    expect(bob.code, bob.stderr).toBe(0);
    expect(JSON.parse(bob.stdout).status.userInfo).toMatchObject({
      username: 'bob',
      uid: 'u-bob',
      groups: ['qa', 'testers', 'system:authenticated'],
    });
  });

  it('lets the plain port on loopback in as a cluster admin, as asked for', async () => {
    const r = await fetch(`${apiserver.url}/api/v1/namespaces`);
    expect(r.status).toBe(200);
  });
});

describe('RBAC', () => {
  it('creates the default roles and bindings', async () => {
    const r = await kubectl(['get', 'clusterroles', 'cluster-admin', 'admin', 'edit', 'view', '-o', 'name'], {
      kubeconfig: kubeconfigs.admin,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(4);
  });

  it('refuses a user with no binding with 403 and Kubernetes wording, then lets a view binding list but not create', async () => {
    const before = await kubectl(['get', 'pods'], { kubeconfig: kubeconfigs.jane });
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain(
      'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the namespace "default"',
    );
    const bind = await kubectl(
      ['create', 'rolebinding', 'jane-view', '--clusterrole=view', '--user=jane', '-n', 'default'],
      { kubeconfig: kubeconfigs.admin },
    );
    expect(bind.code, bind.stderr).toBe(0);
    await waitFor(
      async () => {
        const r = await kubectl(['get', 'pods'], { kubeconfig: kubeconfigs.jane });
        return r.code === 0 ? r : undefined;
      },
      { what: 'jane may list pods' },
    );
    const create = await kubectl(['create', 'configmap', 'x', '--from-literal=a=b'], {
      kubeconfig: kubeconfigs.jane,
    });
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain(
      'configmaps is forbidden: User "jane" cannot create resource "configmaps" in API group "" in the namespace "default"',
    );
    const raw = await request('POST', '/api/v1/namespaces/default/configmaps', { cert: 'jane' });
    expect(raw.code).toBe(403);
    expect(raw.body).toMatchObject({ reason: 'Forbidden', details: { kind: 'configmaps' } });
    const other = await kubectl(['get', 'pods', '-n', 'kube-system'], { kubeconfig: kubeconfigs.jane });
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('in the namespace "kube-system"');
  });

  it('answers kubectl auth can-i for three subjects', async () => {
    const canI = async (who: string, args: string[]) => {
      const r = await kubectl(['auth', 'can-i', ...args], { kubeconfig: kubeconfigs[who] });
      return `${r.stdout.trim()} (${r.code})`;
    };
    await kubectl(['create', 'clusterrolebinding', 'qa-nodes', '--clusterrole=view', '--group=qa'], {
      kubeconfig: kubeconfigs.admin,
    });
    await kubectl(['create', 'clusterrole', 'node-reader', '--verb=get,list,watch', '--resource=nodes'], {
      kubeconfig: kubeconfigs.admin,
    });
    await kubectl(
      ['create', 'clusterrolebinding', 'qa-node-reader', '--clusterrole=node-reader', '--group=qa'],
      {
        kubeconfig: kubeconfigs.admin,
      },
    );
    await waitFor(async () => ((await canI('bob', ['list', 'nodes'])) === 'yes (0)' ? true : undefined), {
      what: 'the bindings are in the cache',
    });
    // admin: everything.
    expect(await canI('admin', ['delete', 'nodes'])).toBe('yes (0)');
    expect(await canI('admin', ['*', '*'])).toBe('yes (0)');
    // jane: view in default only.
    expect(await canI('jane', ['list', 'pods'])).toBe('yes (0)');
    expect(await canI('jane', ['create', 'pods'])).toBe('no (1)');
    expect(await canI('jane', ['list', 'pods', '-n', 'kube-system'])).toBe('no (1)');
    expect(await canI('jane', ['list', 'nodes'])).toBe('no (1)');
    // bob, through his group qa: view everywhere and nodes.
    expect(await canI('bob', ['list', 'deployments.apps', '-n', 'kube-system'])).toBe('yes (0)');
    expect(await canI('bob', ['get', 'nodes'])).toBe('yes (0)');
    expect(await canI('bob', ['delete', 'nodes'])).toBe('no (1)');
    expect(await canI('bob', ['get', 'secrets'])).toBe('no (1)');
    // A subresource, and the list of rules.
    expect(await canI('jane', ['get', 'pods', '--subresource=log'])).toBe('yes (0)');
    const list = await kubectl(['auth', 'can-i', '--list'], { kubeconfig: kubeconfigs.jane });
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/pods\s+\[\]\s+\[\]\s+\[get list watch\]/);
  });

  it('aggregates a new role labelled aggregate-to-view into view', async () => {
    const canBob = async () => {
      const r = await kubectl(['auth', 'can-i', 'list', 'leases.coordination.k8s.io', '-n', 'kube-system'], {
        kubeconfig: kubeconfigs.bob,
      });
      return `${r.stdout.trim()} (${r.code})`;
    };
    expect(await canBob()).toBe('no (1)');
    const role = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: lease-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-view: "true"
rules:
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [get, list, watch]
`;
    const r = await kubectl(['apply', '-f', '-'], { kubeconfig: kubeconfigs.admin, input: role });
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => ((await canBob()) === 'yes (0)' ? true : undefined), {
      what: 'view to hold the lease rule',
    });
    const view = await kubectl(['get', 'clusterrole', 'view', '-o', 'json'], {
      kubeconfig: kubeconfigs.admin,
    });
    expect(JSON.parse(view.stdout).rules).toContainEqual({
      apiGroups: ['coordination.k8s.io'],
      resources: ['leases'],
      verbs: ['get', 'list', 'watch'],
    });
  });

  it('lets an admin act as another user (--as), and refuses the same to a user without impersonate', async () => {
    const asJane = await kubectl(['auth', 'can-i', 'create', 'pods', '--as', 'jane'], {
      kubeconfig: kubeconfigs.admin,
    });
    expect(`${asJane.stdout.trim()} (${asJane.code})`).toBe('no (1)');
    const asBob = await kubectl(['auth', 'can-i', 'get', 'nodes', '--as', 'bob', '--as-group', 'qa'], {
      kubeconfig: kubeconfigs.admin,
    });
    expect(`${asBob.stdout.trim()} (${asBob.code})`).toBe('yes (0)');
    const refused = await kubectl(['get', 'pods', '--as', 'kubernetes-admin'], {
      kubeconfig: kubeconfigs.jane,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'users "kubernetes-admin" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });

  it('changes a binding into a denial when the binding goes', async () => {
    const del = await kubectl(['delete', 'rolebinding', 'jane-view'], { kubeconfig: kubeconfigs.admin });
    expect(del.code, del.stderr).toBe(0);
    await waitFor(
      async () => {
        const r = await kubectl(['get', 'pods'], { kubeconfig: kubeconfigs.jane });
        return r.code !== 0 && /forbidden/.test(r.stderr) ? r : undefined;
      },
      { what: 'jane may no longer list pods' },
    );
  });

  it('issues service account tokens (kubectl create token) that authenticate until their account or pod goes', async () => {
    const admin = (args: string[], input?: string) => kubectl(args, { kubeconfig: kubeconfigs.admin, input });
    expect((await admin(['create', 'serviceaccount', 'robot'])).code).toBe(0);
    const created = await admin(['create', 'token', 'robot']);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(token.split('.')).toHaveLength(3);
    kubeconfigs.robot = kubeconfig('robot', { token });
    const who = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: kubeconfigs.robot });
    expect(who.code, who.stderr).toBe(0);
    expect(JSON.parse(who.stdout).status.userInfo).toMatchObject({
      username: 'system:serviceaccount:default:robot',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
    });
    const before = await kubectl(['get', 'pods'], { kubeconfig: kubeconfigs.robot });
    expect(before.stderr).toContain('User "system:serviceaccount:default:robot" cannot list resource "pods"');
    expect(
      (
        await admin([
          'create',
          'rolebinding',
          'robot-view',
          '--clusterrole=view',
          '--serviceaccount=default:robot',
        ])
      ).code,
    ).toBe(0);
    await waitFor(
      async () =>
        (await kubectl(['get', 'pods'], { kubeconfig: kubeconfigs.robot })).code === 0 ? true : undefined,
      {
        what: 'the robot may list pods',
      },
    );
    // A token for another audience is not for this apiserver.
    const vault = (await admin(['create', 'token', 'robot', '--audience', 'vault'])).stdout.trim();
    expect((await request('GET', '/api/v1/namespaces/default/pods', { token: vault })).code).toBe(401);
    // Bound to a pod that runs as the account: good while the pod lives.
    const pod =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: holder\nspec:\n  serviceAccountName: robot\n  containers:\n  - name: c\n    image: busybox\n';
    expect((await admin(['apply', '-f', '-'], pod)).code).toBe(0);
    const bound = await admin([
      'create',
      'token',
      'robot',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'holder',
    ]);
    expect(bound.code, bound.stderr).toBe(0);
    const boundToken = bound.stdout.trim();
    expect((await request('GET', '/api/v1/namespaces/default/pods', { token: boundToken })).code).toBe(200);
    expect((await admin(['delete', 'pod', 'holder', '--grace-period=0', '--force'])).code).toBe(0);
    await waitFor(
      async () =>
        (await request('GET', '/api/v1/namespaces/default/pods', { token: boundToken })).code === 401
          ? true
          : undefined,
      {
        what: 'the bound token to stop working',
      },
    );
    // The account goes, and with it every token it had.
    expect((await admin(['delete', 'serviceaccount', 'robot'])).code).toBe(0);
    await waitFor(
      async () =>
        (await request('GET', '/api/v1/namespaces/default/pods', { token })).code === 401 ? true : undefined,
      {
        what: 'the token to stop working',
      },
    );
  });

  it('lets a node read only the Secrets its own pods use (the Node authorizer)', async () => {
    const admin = (args: string[], input?: string) => kubectl(args, { kubeconfig: kubeconfigs.admin, input });
    for (const name of ['mine', 'theirs'])
      expect((await admin(['create', 'secret', 'generic', name, '--from-literal=k=v'])).code).toBe(0);
    const pods = ['node1', 'node2']
      .map(
        (node, i) => `apiVersion: v1
kind: Pod
metadata:
  name: on-${node}
spec:
  nodeName: ${node}
  containers:
  - name: c
    image: busybox
    env:
    - name: S
      valueFrom:
        secretKeyRef: {name: ${i === 0 ? 'mine' : 'theirs'}, key: k}
`,
      )
      .join('---\n');
    const applied = await admin(['apply', '-f', '-'], pods);
    expect(applied.code, applied.stderr).toBe(0);
    const asNode = (method: string, p: string) => request(method, p, { cert: 'node1' });
    await waitFor(
      async () =>
        (await asNode('GET', '/api/v1/namespaces/default/secrets/mine')).code === 200 ? true : undefined,
      {
        what: 'node1 to read the secret of its pod',
      },
    );
    const theirs = await asNode('GET', '/api/v1/namespaces/default/secrets/theirs');
    expect(theirs.code).toBe(403);
    expect(theirs.body.message).toBe(
      `secrets "theirs" is forbidden: User "system:node:node1" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node 'node1' and this object`,
    );
    expect((await asNode('GET', '/api/v1/namespaces/default/secrets')).code).toBe(403);
    expect((await asNode('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode1')).code).toBe(200);
    expect((await asNode('DELETE', '/api/v1/namespaces/default')).code).toBe(403);
  });

  it('authenticates a bootstrap token from its kube-system Secret, as kubeadm join does', async () => {
    const made = await kubectl(
      [
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
        '--from-literal=auth-extra-groups=system:bootstrappers:kubeadm:default-node-token',
      ],
      { kubeconfig: kubeconfigs.admin },
    );
    expect(made.code, made.stderr).toBe(0);
    kubeconfigs.joiner = kubeconfig('joiner', { token: 'abcdef.0123456789abcdef' });
    const who = await waitFor(
      async () => {
        const r = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: kubeconfigs.joiner });
        return r.code === 0 ? r : undefined;
      },
      { what: 'the bootstrap token to authenticate' },
    );
    expect(JSON.parse(who.stdout).status.userInfo).toMatchObject({
      username: 'system:bootstrap:abcdef',
      groups: [
        'system:bootstrappers',
        'system:bootstrappers:kubeadm:default-node-token',
        'system:authenticated',
      ],
    });
    expect((await request('GET', '/api/v1/namespaces', { token: 'abcdef.0123456789abcdee' })).code).toBe(401);
  });

  it('writes an audit line for each write and each refusal: who, what, when, and the answer', async () => {
    const lines = () =>
      readFileSync(path.join(dir, 'audit.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
    const events = await waitFor(
      async () => {
        const all = lines();
        return all.some((e) => e.objectRef?.name === 'jane-view' && e.verb === 'delete') ? all : undefined;
      },
      { what: 'the audit lines of the tests above' },
    );
    for (const e of events) {
      expect(e).toMatchObject({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', stage: 'ResponseComplete' });
      expect(Date.parse(e.requestReceivedTimestamp)).toBeGreaterThan(0);
    }
    expect(events).toContainEqual(
      expect.objectContaining({
        verb: 'create',
        user: { username: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] },
        objectRef: expect.objectContaining({
          resource: 'rolebindings',
          namespace: 'default',
          apiGroup: 'rbac.authorization.k8s.io',
        }),
        responseStatus: expect.objectContaining({ code: 201 }),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        verb: 'create',
        user: expect.objectContaining({ username: 'jane' }),
        objectRef: expect.objectContaining({ resource: 'configmaps', namespace: 'default' }),
        responseStatus: expect.objectContaining({ code: 403 }),
      }),
    );
    expect(events.some((e) => e.responseStatus.code === 401)).toBe(true);
    // Reads that were allowed are not audited.
    expect(events.some((e) => e.verb === 'list' && e.responseStatus.code === 200)).toBe(false);
  });
});

describe('ServiceAccount admission (the apiserver issues tokens)', () => {
  const podYaml = (name: string, automount?: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:${automount === undefined ? '' : `\n  automountServiceAccountToken: ${automount}`}
  initContainers:
  - name: init
    image: busybox
  containers:
  - name: c
    image: busybox
`;
  const create = async (yaml: string, extra: string[] = []) => {
    const r = await kubectl(['create', '-n', 'sa-admission', '-f', '-', '-o', 'json', ...extra], {
      kubeconfig: kubeconfigs.admin,
      input: yaml,
    });
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout);
  };

  it("mounts the kube-api-access volume in every container of a new namespace's pod, even before its account exists", async () => {
    const ns = await kubectl(['create', 'namespace', 'sa-admission'], { kubeconfig: kubeconfigs.admin });
    expect(ns.code, ns.stderr).toBe(0);
    for (const pod of [
      await create(podYaml('mounted')),
      await create(podYaml('dry'), ['--dry-run=server']),
    ]) {
      expect(pod.spec.serviceAccountName).toBe('default');
      expect(pod.spec.serviceAccount).toBe('default');
      const volume = pod.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
      expect(volume.name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
      expect(volume.projected).toEqual({
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          {
            downwardAPI: {
              items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
            },
          },
        ],
        defaultMode: 420,
      });
      const mount = {
        name: volume.name,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      };
      expect(pod.spec.initContainers[0].volumeMounts).toEqual([mount]);
      expect(pod.spec.containers[0].volumeMounts).toEqual([mount]);
    }
  });

  it('adds nothing to a pod with automountServiceAccountToken: false', async () => {
    const pod = await create(podYaml('unmounted', false));
    expect(pod.spec.serviceAccountName).toBe('default');
    expect(pod.spec.volumes ?? []).toEqual([]);
    expect(pod.spec.containers[0].volumeMounts ?? []).toEqual([]);
    expect(pod.spec.initContainers[0].volumeMounts ?? []).toEqual([]);
  });
});
