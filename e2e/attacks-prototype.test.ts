// Attacks on the patch path, from the attacker's side: a service account that may only get
// and patch one ConfigMap sends JSON patches, merge patches, strategic merge patches and
// server-side applies with `__proto__`, `constructor` and `prototype` keys, and patches
// that grow without bound, to a real TLS apiserver with RBAC. After each the apiserver must
// still serve, answer with a 4xx Status or a harmless success, and its RBAC must not have
// learned anything from a polluted Object.prototype (a discovery rule without apiGroups and
// resources would then allow reading any Secret).
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureServiceAccountKey } from '../base/pki.js';
import { cleanup, type EtcdCluster, makeTempDir, startEtcd } from '../testing/harness.js';
import { type SecureApiserver, startSecureApiserver } from '../testing/secure-apiserver.js';

let etcd: EtcdCluster;
let secure: SecureApiserver;
let token: string;

const ns = '/api/v1/namespaces/default';
const target = `${ns}/configmaps/target`;

const asAdmin = (method: string, urlPath: string, body?: unknown) =>
  secure.request(method, urlPath, { cert: 'admin', body });
const asAccount = (method: string, urlPath: string, contentType?: string, raw?: string) =>
  secure.request(method, urlPath, { token, contentType, raw });

beforeAll(async () => {
  const dir = makeTempDir('nanokube-attacks-');
  etcd = await startEtcd();
  secure = await startSecureApiserver({
    etcdServers: etcd.endpoints,
    dir,
    users: [{ name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] }],
    extraArgs: ['--service-account-signing-key-file', await ensureServiceAccountKey(path.join(dir, 'sa'))],
  });
  const created = [
    await asAdmin('POST', `${ns}/serviceaccounts`, {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'patcher' },
    }),
    await asAdmin('POST', `${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'target', labels: { app: 'web' } },
      data: { k: 'v' },
    }),
    await asAdmin('POST', `${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'crown-jewels' },
      stringData: { password: 'hunter2' },
    }),
    await asAdmin('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'patch-target' },
      rules: [
        { verbs: ['get', 'patch'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['target'] },
      ],
    }),
    await asAdmin('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'patch-target' },
      subjects: [{ kind: 'ServiceAccount', name: 'patcher', namespace: 'default' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'patch-target' },
    }),
  ];
  for (const r of created) expect(r.code, JSON.stringify(r.body)).toBe(201);
  const tr = await asAdmin('POST', `${ns}/serviceaccounts/patcher/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: {},
  });
  expect(tr.code, JSON.stringify(tr.body)).toBe(201);
  token = tr.body.status.token;
  // The account's reach before any attack: its ConfigMap, and nothing else.
  expect((await asAccount('GET', target)).code).toBe(200);
  expect((await asAccount('GET', `${ns}/secrets/crown-jewels`)).code).toBe(403);
}, 120_000);

afterAll(async () => {
  await cleanup();
});

/** The apiserver serves, and the account still reaches nothing beyond its one ConfigMap. */
async function stillSafe(what: string): Promise<void> {
  const health = await secure.request('GET', '/healthz', { cert: 'admin' });
  expect(health.code, `${what}: /healthz`).toBe(200);
  const list = await asAdmin('GET', `${ns}/configmaps`);
  expect(list.code, `${what}: list`).toBe(200);
  expect(list.body.kind).toBe('ConfigMapList');
  for (const [method, p] of [
    ['GET', `${ns}/secrets/crown-jewels`],
    ['GET', `${ns}/secrets`],
    ['GET', `${ns}/configmaps`],
    ['GET', '/api/v1/nodes'],
  ]) {
    const r = await asAccount(method, p);
    expect(r.code, `${what}: ${method} ${p} as the account`).toBe(403);
  }
  const cm = await asAdmin('GET', target);
  expect(cm.code, `${what}: the target`).toBe(200);
  for (const v of Object.values(cm.body.data ?? {})) expect(typeof v, `${what}: data`).toBe('string');
}

/** A 4xx Kubernetes Status, or a success. */
function refusedOrHarmless(r: { code: number; body: any }, what: string): void {
  expect(r.code, `${what}: ${JSON.stringify(r.body)}`).toBeLessThan(500);
  if (r.code >= 400) {
    expect(r.body, what).toMatchObject({ kind: 'Status', status: 'Failure', code: r.code });
  } else {
    expect(r.code, what).toBe(200);
    expect(r.body.kind, what).toBe('ConfigMap');
  }
}

const jsonPatchPaths = [
  '/__proto__/polluted',
  '/metadata/__proto__/x',
  '/constructor/prototype/x',
  '/__proto__/apiGroups',
  '/__proto__/resources',
  '/metadata/__proto__/apiGroups',
  '/data/__proto__/resources',
  '/metadata/labels/constructor/prototype/apiGroups',
];

// Bodies are raw text: a JavaScript object literal with a `__proto__` key sets a prototype
// and would never send the key.
const mergeBodies = [
  '{"__proto__":{"polluted":"yes","apiGroups":["*"],"resources":["*"]}}',
  '{"metadata":{"__proto__":{"apiGroups":["*"],"resources":["*"]}}}',
  '{"constructor":{"prototype":{"apiGroups":["*"],"resources":["*"]}}}',
  '{"metadata":{"labels":{"__proto__":{"apiGroups":["*"]},"constructor":{"prototype":{"resources":["*"]}}}}}',
  '{"data":{"__proto__":"p","constructor":"c","prototype":"q"}}',
];

const strategicBodies = [
  ...mergeBodies,
  '{"metadata":{"ownerReferences":[{"uid":"u1","__proto__":{"apiGroups":["*"]}}]}}',
  '{"$setElementOrder/__proto__":[{"uid":"a"}],"__proto__":[{"uid":"a"}]}',
  '{"$deleteFromPrimitiveList/__proto__":["resources"]}',
  '{"$retainKeys":["__proto__","metadata"],"__proto__":{"resources":["*"]}}',
  '{"metadata":{"$patch":"replace","name":"target","__proto__":{"apiGroups":["*"]}}}',
];

const applyBodies = [
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: target
  __proto__:
    apiGroups: ["*"]
    resources: ["*"]
__proto__:
  polluted: "yes"
constructor:
  prototype:
    apiGroups: ["*"]
`,
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: target
  labels:
    __proto__: x
data:
  __proto__: p
  constructor: c
  prototype: q
`,
  `apiVersion: v1
kind: ConfigMap
metadata:
  name: target
data:
  __proto__: p
  constructor: c
  prototype: q
`,
];

describe('prototype keys from the wire', () => {
  it('JSON patch paths through __proto__, constructor and prototype', async () => {
    for (const p of jsonPatchPaths) {
      for (const op of ['add', 'replace']) {
        const what = `json patch ${op} ${p}`;
        const body = JSON.stringify([{ op, path: p, value: ['*'] }]);
        refusedOrHarmless(await asAccount('PATCH', target, 'application/json-patch+json', body), what);
        await stillSafe(what);
      }
    }
  }, 120_000);

  it('merge patches with __proto__, constructor and prototype keys at several depths', async () => {
    for (const body of mergeBodies) {
      refusedOrHarmless(await asAccount('PATCH', target, 'application/merge-patch+json', body), body);
      await stillSafe(body);
    }
  }, 60_000);

  it('strategic merge patches with __proto__, constructor and prototype keys and directives', async () => {
    for (const body of strategicBodies) {
      refusedOrHarmless(
        await asAccount('PATCH', target, 'application/strategic-merge-patch+json', body),
        body,
      );
      await stillSafe(body);
    }
  }, 60_000);

  it('server-side apply with __proto__, constructor and prototype keys', async () => {
    for (const body of applyBodies) {
      for (const force of ['false', 'true']) {
        const r = await asAccount(
          'PATCH',
          `${target}?fieldManager=mallory&force=${force}`,
          'application/apply-patch+yaml',
          body,
        );
        refusedOrHarmless(r, body);
        await stillSafe(body);
      }
    }
  }, 60_000);

  it('keeps such keys as plain data when they are valid data keys', async () => {
    const r = await asAccount(
      'PATCH',
      target,
      'application/merge-patch+json',
      '{"data":{"__proto__":"p","constructor":"c","prototype":"q"}}',
    );
    expect(r.code, JSON.stringify(r.body)).toBe(200);
    const got = await asAdmin('GET', target);
    expect(got.body.data).toMatchObject({ constructor: 'c', prototype: 'q', k: 'v' });
    expect(Object.hasOwn(got.body.data, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(got.body.data, '__proto__')?.value).toBe('p');
    await stillSafe('plain data');
  });
});

describe('patches that grow without bound', () => {
  it('refuses more than 10000 JSON patch operations with 413', async () => {
    const ops = Array.from({ length: 10_001 }, () => ({ op: 'test', path: '/data/k', value: 'v' }));
    const r = await asAccount('PATCH', target, 'application/json-patch+json', JSON.stringify(ops));
    expect(r.code, JSON.stringify(r.body).slice(0, 300)).toBe(413);
    expect(r.body).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge' });
    expect(r.body.message).toContain('The allowed maximum operations in a JSON patch is 10000, got 10001');
    await stillSafe('too many operations');
  }, 60_000);

  // That the merge is linear is counted in the unit tests (strategic-merge, managedfields);
  // here, a service account's long list is served and leaves the apiserver well.
  it('serves a strategic patch of 8000 keyed list items', async () => {
    const n = 8000;
    const refs = Array.from({ length: n }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'K',
      name: 'n',
      uid: `u${i}`,
    }));
    const body = JSON.stringify({ metadata: { ownerReferences: refs } });
    const r = await asAccount('PATCH', target, 'application/strategic-merge-patch+json', body);
    expect(r.code, JSON.stringify(r.body).slice(0, 300)).toBe(200);
    await stillSafe('long list');
  }, 120_000);

  it('refuses bodies nested deeper than the decoder allows, and serves those just under it', async () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    for (const [type, body] of [
      ['application/merge-patch+json', `{"metadata":{"annotations":{"x":"y"}},"spec":${deep(2000)}}`],
      ['application/strategic-merge-patch+json', `{"spec":${deep(2000)}}`],
      ['application/json-patch+json', `[{"op":"add","path":"/spec","value":${deep(2000)}}]`],
    ]) {
      const r = await asAccount('PATCH', target, type, body);
      expect(r.code, `${type}: ${JSON.stringify(r.body).slice(0, 300)}`).toBe(400);
      expect(r.body.message).toMatch(/nested deeper than/);
    }
    const yaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: target\n${Array.from(
      { length: 1000 },
      (_, i) => `${'  '.repeat(i)}a:`,
    ).join('\n')} 1\n`;
    const y = await asAccount(
      'PATCH',
      `${target}?fieldManager=mallory`,
      'application/apply-patch+yaml',
      yaml,
    );
    expect(y.code, JSON.stringify(y.body).slice(0, 300)).toBe(400);
    for (const type of ['application/merge-patch+json', 'application/strategic-merge-patch+json']) {
      const r = await asAccount('PATCH', target, type, `{"spec":${deep(200)}}`);
      expect(r.code, `${type}: ${JSON.stringify(r.body).slice(0, 300)}`).toBeLessThan(500);
    }
    await stillSafe('deep bodies');
  }, 60_000);
  it('refuses 40 JSON patch copies of the whole document (doubling it each time)', async () => {
    const ops = Array.from({ length: 40 }, (_, i) => ({ op: 'copy', from: '', path: `/data/d${i}` }));
    const r = await asAccount('PATCH', target, 'application/json-patch+json', JSON.stringify(ops));
    expect([400, 413, 422], JSON.stringify(r.body)).toContain(r.code);
    expect(r.body).toMatchObject({ kind: 'Status', status: 'Failure' });
    expect(r.body.message).toContain('accumulated size increase of copy');
    await stillSafe('doubling copies');
  }, 60_000);
});
