// RBAC escalation, tried from the attacker's side (issue 21): service accounts
// that may write RoleBindings or Roles try to grant themselves more than they
// hold, against a real TLS apiserver with RBAC, a real etcd and the real kubectl.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServiceAccountKey } from '../base/pki.js';
import {
  cleanup,
  kubectl,
  makeTempDir,
  startControllerManager,
  startEtcd,
  waitFor,
} from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

const rbac = '/apis/rbac.authorization.k8s.io/v1';
const ns = 'team';
let secure: SecureApiserver;
let adminConfig: string;
const tokens: Record<string, string> = {};

const admin = async (args: string[], input?: string) => {
  const r = await kubectl(args, { kubeconfig: adminConfig, input });
  expect(r.code, r.stderr).toBe(0);
  return r;
};

const roleBinding = (name: string, kind: string, role: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name, namespace: ns },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  subjects: [{ kind: 'ServiceAccount', name: 'binder', namespace: ns }],
});
const role = (name: string, rules: unknown[]) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name, namespace: ns },
  rules,
});
const everything = [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }];
const podReading = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }];

/** POSTs `obj` as service account `who`. */
const post = (who: string, plural: string, obj: unknown) =>
  secure.request('POST', `${rbac}/namespaces/${ns}/${plural}`, { token: tokens[who], body: obj });

/** Gives `who` the rules through a Role and RoleBinding in `team`, and waits until they are in force. */
async function grant(who: string, name: string, rules: unknown[], probe: () => Promise<boolean>) {
  const yaml = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      role(name, rules),
      {
        ...roleBinding(name, 'Role', name),
        subjects: [{ kind: 'ServiceAccount', name: who, namespace: ns }],
      },
    ],
  });
  await admin(['apply', '-f', '-'], yaml);
  await waitFor(async () => (await probe()) || undefined, { what: `${who} holds ${name}` });
}

beforeAll(async () => {
  const dir = makeTempDir('nanokube-attacks-rbac-');
  const etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [
      { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
      { name: 'controller-manager', commonName: 'system:kube-controller-manager' },
    ],
    extraArgs: ['--service-account-signing-key-file', await ensureServiceAccountKey(dir)],
    authorizationMode: 'RBAC',
  });
  adminConfig = secure.kubeconfigFor('admin');
  await admin(['create', 'namespace', ns]);
  for (const who of ['binder', 'roler']) {
    await admin(['create', 'serviceaccount', who, '-n', ns]);
    tokens[who] = (await admin(['create', 'token', who, '-n', ns])).stdout.trim();
  }
  // binder may write RoleBindings and read pods in team; roler may write Roles and read pods there.
  const writes = (resource: string) => [
    { apiGroups: ['rbac.authorization.k8s.io'], resources: [resource], verbs: ['create', 'update', 'get'] },
    ...podReading,
  ];
  await grant('binder', 'binder', writes('rolebindings'), async () => {
    const r = await secure.request('GET', `${rbac}/namespaces/${ns}/rolebindings/binder`, {
      token: tokens.binder,
    });
    return r.code === 200;
  });
  await grant('roler', 'roler', writes('roles'), async () => {
    const r = await secure.request('GET', `${rbac}/namespaces/${ns}/roles/roler`, { token: tokens.roler });
    return r.code === 200;
  });
  await admin(['apply', '-f', '-'], JSON.stringify(role('pod-reader', podReading)));
  await admin(
    ['apply', '-f', '-'],
    JSON.stringify(role('secret-admin', [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }])),
  );
}, 90_000);

afterAll(async () => {
  await cleanup();
});

describe('a service account that may create RoleBindings', () => {
  it('cannot bind cluster-admin to itself (403, Kubernetes wording)', async () => {
    const r = await post('binder', 'rolebindings', roleBinding('pwn', 'ClusterRole', 'cluster-admin'));
    expect(r.code).toBe(403);
    expect(r.body).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      details: { name: 'pwn', kind: 'rolebindings' },
    });
    expect(r.body.message).toContain(
      'rolebindings.rbac.authorization.k8s.io "pwn" is forbidden: user "system:serviceaccount:team:binder" ' +
        '(groups=["system:serviceaccounts" "system:serviceaccounts:team" "system:authenticated"]) ' +
        'is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}',
    );
    const gone = await secure.request('GET', `${rbac}/namespaces/${ns}/rolebindings/pwn`, {
      token: tokens.binder,
    });
    expect(gone.code).toBe(404);
  });

  it('cannot bind edit, admin or a Role with more than it holds', async () => {
    for (const [kind, name] of [
      ['ClusterRole', 'edit'],
      ['ClusterRole', 'admin'],
      ['Role', 'secret-admin'],
    ]) {
      const r = await post('binder', 'rolebindings', roleBinding(`pwn-${name}`, kind, name));
      expect(r.code, `${kind} ${name}`).toBe(403);
      expect(r.body.message).toContain('is attempting to grant RBAC permissions not currently held');
    }
  });

  it('binds a role whose permissions it holds (201)', async () => {
    const r = await post('binder', 'rolebindings', roleBinding('readers', 'Role', 'pod-reader'));
    expect(r.code, JSON.stringify(r.body)).toBe(201);
  });

  it('shows the refusal through kubectl create rolebinding --clusterrole=cluster-admin', async () => {
    const config = secure.kubeconfig('binder', { token: tokens.binder });
    const r = await kubectl(
      [
        'create',
        'rolebinding',
        'evil',
        '--clusterrole=cluster-admin',
        '--serviceaccount=team:binder',
        '-n',
        ns,
      ],
      { kubeconfig: config },
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'failed to create rolebinding: rolebindings.rbac.authorization.k8s.io "evil" is forbidden: user "system:serviceaccount:team:binder"',
    );
    expect(r.stderr).toContain('is attempting to grant RBAC permissions not currently held');
  });

  it('binds cluster-admin once it is granted bind on that ClusterRole', async () => {
    const bind = [
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['clusterroles'],
        verbs: ['bind'],
        resourceNames: ['cluster-admin'],
      },
    ];
    await grant('binder', 'binder-bind', bind, async () => {
      const r = await secure.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
        token: tokens.binder,
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SelfSubjectAccessReview',
          spec: {
            resourceAttributes: {
              namespace: ns,
              verb: 'bind',
              group: 'rbac.authorization.k8s.io',
              resource: 'clusterroles',
              name: 'cluster-admin',
            },
          },
        },
      });
      return r.body?.status?.allowed === true;
    });
    // bind names cluster-admin only.
    expect(
      (await post('binder', 'rolebindings', roleBinding('pwn-admin2', 'ClusterRole', 'admin'))).code,
    ).toBe(403);
    const r = await post('binder', 'rolebindings', roleBinding('granted', 'ClusterRole', 'cluster-admin'));
    expect(r.code, JSON.stringify(r.body)).toBe(201);
  });
});

describe('a service account that may create Roles', () => {
  it('cannot create a role granting *, but can create one within what it holds', async () => {
    const r = await post('roler', 'roles', role('all', everything));
    expect(r.code).toBe(403);
    expect(r.body.message).toContain(
      'roles.rbac.authorization.k8s.io "all" is forbidden: user "system:serviceaccount:team:roler"',
    );
    expect(r.body.message).toContain('{APIGroups:["*"], Resources:["*"], Verbs:["*"]}');
    expect((await post('roler', 'roles', role('reader', podReading))).code).toBe(201);
  });

  it('cannot widen its own role by update', async () => {
    const cur = await secure.request('GET', `${rbac}/namespaces/${ns}/roles/reader`, { token: tokens.roler });
    const wider = { ...cur.body, rules: everything };
    const r = await secure.request('PUT', `${rbac}/namespaces/${ns}/roles/reader`, {
      token: tokens.roler,
      body: wider,
    });
    expect(r.code).toBe(403);
  });

  it('creates a role granting * once it is granted escalate', async () => {
    const escalate = [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['escalate'] },
    ];
    let last = 0;
    await grant('roler', 'roler-escalate', escalate, async () => {
      last = (await post('roler', 'roles', role('all-escalated', everything))).code;
      return last === 201;
    });
    expect(last).toBe(201);
  });
});

describe('writers of RBAC objects that are not system:masters', () => {
  it('lets the aggregation controller, as system:kube-controller-manager, keep aggregated roles up to date', async () => {
    await startControllerManager({
      apiserverUrl: secure.url,
      kubeconfig: secure.kubeconfigFor('controller-manager'),
      controllers: ['clusterrole-aggregation'],
    });
    const extra = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'lease-viewer', labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] }],
    };
    await admin(['apply', '-f', '-'], JSON.stringify(extra));
    await waitFor(
      async () => {
        const view = JSON.parse((await admin(['get', 'clusterrole', 'view', '-o', 'json'])).stdout);
        return view.rules.some((r: { resources?: string[] }) => r.resources?.includes('leases')) || undefined;
      },
      { what: 'view aggregates lease-viewer' },
    );
  });
});
