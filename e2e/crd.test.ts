// CustomResourceDefinitions end to end, with the real kubectl and client-node against
// a real apiserver process on a real etcd: a CRD with a nested schema, defaults, an
// enum, printer columns, status and scale subresources and two served versions; its
// objects created, defaulted, pruned, refused, scaled, status-patched, explained,
// watched, listed under both versions, and gone with the CRD. Then the attacks.
import path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type EtcdCluster,
  etcdctl,
  kubectl,
  makeTempDir,
  type RunResult,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
  watchStream,
  writeKubeconfig,
} from '../testing/harness.js';
import { startSecureApiserver } from '../testing/secure-apiserver.js';

let client: Api;
/** A second apiserver on the same etcd: it serves the same CRDs and runs the same controller. */
let other: Api;
let kubeconfig: string;
let url: string;
let etcd: EtcdCluster;

beforeAll(async () => {
  etcd = await startEtcd();
  const [server, second] = await Promise.all([
    startApiserver({ etcdServers: etcd.endpoints }),
    startApiserver({ etcdServers: etcd.endpoints }),
  ]);
  url = server.url;
  client = api(url);
  other = api(second.url);
  kubeconfig = await writeKubeconfig(path.join(makeTempDir('nanokube-crd-'), 'kube'), url);
}, 60_000);
afterAll(cleanup);

const k = (args: string[], input?: string): Promise<RunResult> => kubectl(args, { kubeconfig, input });
async function ok(args: string[], input?: unknown): Promise<string> {
  const r = await k(args, input === undefined ? undefined : JSON.stringify(input));
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}
const kj = async (args: string[]) => JSON.parse(await ok([...args, '-o', 'json']));

const widgetSchema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['size'],
      properties: {
        size: { type: 'string', enum: ['small', 'large'], description: 'How big the widget is.' },
        replicas: { type: 'integer', minimum: 0, default: 1 },
        selector: { type: 'string' },
        color: { type: 'string', default: 'blue' },
        parts: {
          type: 'array',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, count: { type: 'integer', default: 1 } },
          },
        },
      },
    },
    status: {
      type: 'object',
      properties: {
        replicas: { type: 'integer' },
        selector: { type: 'string' },
        conditions: {
          type: 'array',
          items: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'string' } } },
        },
      },
    },
  },
};

const version = (name: string, storage: boolean) => ({
  name,
  served: true,
  storage,
  schema: { openAPIV3Schema: widgetSchema },
  subresources: {
    status: {},
    scale: {
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    },
  },
  additionalPrinterColumns: [
    { name: 'Size', type: 'string', jsonPath: '.spec.size' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  ],
});

const widgetsCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { plural: 'widgets', kind: 'Widget', shortNames: ['wg'], categories: ['all'] },
    versions: [version('v1', true), version('v1beta1', false)],
  },
};

/** A CRD of one group and kind with `versions` (one served storage version by default). */
function crdOf(
  plural: string,
  group: string,
  kind: string,
  scope: 'Namespaced' | 'Cluster',
  versions: Record<string, unknown>[] = [
    {
      name: 'v1',
      served: true,
      storage: true,
      schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    },
  ],
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: { group, scope, names: { plural, kind }, versions },
  };
}

const widget = (name: string, spec: Record<string, unknown>, apiVersion = 'example.com/v1') => ({
  apiVersion,
  kind: 'Widget',
  metadata: { name, namespace: 'default' },
  spec,
});

const established = async (name: string) =>
  waitFor(
    async () => {
      const crd = (await client.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`)).body;
      const ok = crd.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True',
      );
      return ok ? crd : undefined;
    },
    { timeoutMs: 15_000 },
  );

describe('a CustomResourceDefinition', () => {
  it('is refused with 422 naming the field when invalid', async () => {
    const bad = structuredClone(widgetsCrd) as any;
    bad.metadata.name = 'gadgets.example.com';
    bad.spec.versions[1].storage = true;
    const r = await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', bad);
    expect(r.status).toBe(422);
    const fields = r.body.details.causes.map((c: { field: string }) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'spec.versions']));
  });

  it('is applied by kubectl, gets its names accepted and is established, listed in discovery', async () => {
    await ok(['apply', '-f', '-'], widgetsCrd);
    const crd = await established('widgets.example.com');
    expect(crd.status.acceptedNames).toMatchObject({ plural: 'widgets', kind: 'Widget', singular: 'widget' });
    expect(crd.status.storedVersions).toEqual(['v1']);
    expect(crd.spec.names.listKind).toBe('WidgetList');
    const list = await waitFor(
      async () => {
        const r = await client.get('/apis/example.com/v1');
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(list.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'widgets', kind: 'Widget', shortNames: ['wg'], categories: ['all'] }),
        expect.objectContaining({ name: 'widgets/scale', kind: 'Scale' }),
        expect.objectContaining({ name: 'widgets/status' }),
      ]),
    );
    const group = await client.get('/apis/example.com');
    expect(group.body.preferredVersion.version).toBe('v1');
    const agg = await client.get('/apis', {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    });
    const g = agg.body.items.find((i: any) => i.metadata.name === 'example.com');
    expect(g.versions.map((v: any) => v.version)).toEqual(['v1', 'v1beta1']);
    expect(g.versions[0].resources[0]).toMatchObject({ resource: 'widgets', singularResource: 'widget' });
  });

  it('serves objects: defaulted, pruned, validated with 422 naming the field', async () => {
    const out = await k(
      ['create', '--validate=warn', '-o', 'json', '-f', '-'],
      JSON.stringify(widget('w1', { size: 'small', extra: 'dropped', parts: [{ name: 'a' }] })),
    );
    expect(out.code, out.stderr).toBe(0);
    const w1 = JSON.parse(out.stdout);
    expect(w1.spec).toEqual({ size: 'small', replicas: 1, color: 'blue', parts: [{ name: 'a', count: 1 }] });
    expect(out.stderr).toMatch(/unknown field "spec.extra"/);

    const strict = await client.post(
      '/apis/example.com/v1/namespaces/default/widgets?fieldValidation=Strict',
      widget('w2', { size: 'small', extra: 1 }),
    );
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "spec.extra"');

    const bad = await client.post(
      '/apis/example.com/v1/namespaces/default/widgets',
      widget('w3', { size: 'medium', replicas: -1 }),
    );
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes.map((c: { field: string }) => c.field).sort()).toEqual([
      'spec.replicas',
      'spec.size',
    ]);
    const missing = await k(['create', '-f', '-'], JSON.stringify(widget('w4', {})));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('spec.size: Required value');
  });

  it('serves both versions, rewriting apiVersion, and stores the storage version', async () => {
    await ok(['apply', '-f', '-'], widget('w5', { size: 'large' }, 'example.com/v1beta1'));
    const v1 = await client.get('/apis/example.com/v1/namespaces/default/widgets/w5');
    expect(v1.body.apiVersion).toBe('example.com/v1');
    // Written in the storage version, under the group as Kubernetes keys custom objects.
    const raw = await etcdctl(
      ['get', '--print-value-only', '/registry/example.com/widgets/default/w5'],
      etcd,
    );
    expect(JSON.parse(raw.stdout).apiVersion).toBe('example.com/v1');
    // The other apiserver serves it too.
    const there = await waitFor(async () => {
      const r = await other.get('/apis/example.com/v1beta1/namespaces/default/widgets/w5');
      return r.status === 200 ? r.body : undefined;
    });
    expect(there.spec).toEqual({ size: 'large', replicas: 1, color: 'blue' });
    const beta = await client.get('/apis/example.com/v1beta1/namespaces/default/widgets');
    expect(beta.body.apiVersion).toBe('example.com/v1beta1');
    // Items keep apiVersion and kind, as Kubernetes' lists of custom objects.
    expect(new Set(beta.body.items.map((i: any) => `${i.kind} ${i.apiVersion}`))).toEqual(
      new Set(['Widget example.com/v1beta1']),
    );
    expect(beta.body.items.map((i: any) => i.metadata.name).sort()).toEqual(['w1', 'w5']);
    const one = await kj(['get', 'widgets.v1beta1.example.com', 'w1']);
    expect(one.apiVersion).toBe('example.com/v1beta1');
    const selected = await client.get(
      '/apis/example.com/v1/widgets?fieldSelector=metadata.name%3Dw5&labelSelector=',
    );
    expect(selected.body.items.map((i: any) => i.metadata.name)).toEqual(['w5']);
  });

  it('scales with kubectl scale and patches status through /status only', async () => {
    await ok(['scale', 'widget', 'w1', '--replicas=3']);
    const scale = await client.get('/apis/example.com/v1/namespaces/default/widgets/w1/scale');
    expect(scale.body).toMatchObject({ kind: 'Scale', spec: { replicas: 3 } });
    // The main resource ignores status; /status ignores everything else.
    await ok(['patch', 'widget', 'w1', '--type=merge', '-p', '{"status":{"replicas":9}}']);
    let w1 = await kj(['get', 'widget', 'w1']);
    expect(w1.status).toBeUndefined();
    const gen = w1.metadata.generation;
    await ok([
      'patch',
      'widget',
      'w1',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"replicas":3,"selector":"app=w1","conditions":[{"type":"Ready","status":"True"}]},"spec":{"size":"large"}}',
    ]);
    w1 = await kj(['get', 'widget', 'w1']);
    expect(w1.spec.size).toBe('small');
    expect(w1.status.replicas).toBe(3);
    expect(w1.metadata.generation).toBe(gen);
    const scaled = await client.get('/apis/example.com/v1/namespaces/default/widgets/w1/scale');
    expect(scaled.body.status).toEqual({ replicas: 3, selector: 'app=w1' });
    const smp = await client.patch(
      '/apis/example.com/v1/namespaces/default/widgets/w1',
      { spec: { color: 'red' } },
      { 'content-type': 'application/strategic-merge-patch+json' },
    );
    expect(smp.status).toBe(415);
  });

  it('prints its columns in kubectl get and explains its schema', async () => {
    const out = await ok(['get', 'wg']);
    const [head, ...rows] = out.trim().split('\n');
    expect(head.split(/\s+/)).toEqual(['NAME', 'SIZE', 'REPLICAS', 'READY']);
    expect(rows.find((r) => r.startsWith('w1'))?.split(/\s+/)).toEqual(['w1', 'small', '3', 'True']);
    expect(rows.find((r) => r.startsWith('w5'))?.split(/\s+/)).toEqual(['w5', 'large', '1']); // a missing value is an empty cell
    const explained = await ok(['explain', 'widgets.spec.size']);
    expect(explained).toContain('How big the widget is.');
    const crds = (await ok(['get', 'crd'])).trim().split('\n');
    expect(crds[0].split(/\s{2,}/)).toEqual(['NAME', 'CREATED AT']);
    expect(crds[1]).toMatch(/^widgets\.example\.com\s+\d{4}-\d\d-\d\dT/);
    // OpenAPI v2 too (older kubectls explain and validate from it), in JSON and protobuf.
    const v2 = await client.get('/openapi/v2');
    expect(v2.body.definitions['com.example.v1beta1.Widget'].properties.spec.properties.size.enum).toEqual([
      'small',
      'large',
    ]);
    expect(v2.body.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']).toBeDefined();
    const pb = await fetch(`${url}/openapi/v2`, {
      headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' },
    });
    expect(pb.status).toBe(200);
    expect(Buffer.from(await pb.arrayBuffer()).includes('com.example.v1.Widget')).toBe(true);
  });

  it('serves a changed definition: a new printer column shows', async () => {
    const changed = structuredClone(widgetsCrd);
    for (const v of changed.spec.versions)
      v.additionalPrinterColumns.push({ name: 'Color', type: 'string', jsonPath: '.spec.color' });
    await ok(['apply', '-f', '-'], changed);
    const head = await waitFor(async () => {
      const out = await ok(['get', 'wg']);
      return out.startsWith('NAME') && out.includes('COLOR') ? out.split('\n')[0] : undefined;
    });
    expect(head.split(/\s+/)).toEqual(['NAME', 'SIZE', 'REPLICAS', 'READY', 'COLOR']);
  });

  it('is watched with client-node', async () => {
    const kc = new k8s.KubeConfig();
    // Plain HTTP: client-node wants skipTLSVerify for it.
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const events: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      new k8s.Watch(kc)
        .watch(
          '/apis/example.com/v1beta1/namespaces/default/widgets',
          { resourceVersion: '0' },
          (type, obj) => {
            events.push(`${type} ${obj.metadata.name} ${obj.apiVersion}`);
            if (type === 'DELETED') resolve();
          },
          (err) => (err && err.name !== 'AbortError' ? reject(err) : resolve()),
        )
        .then((c) => done.finally(() => c.abort()), reject);
    });
    await waitFor(async () => events.length >= 2 || undefined, { timeoutMs: 10_000 });
    await ok(['create', '-f', '-'], widget('w6', { size: 'small' }));
    await ok(['delete', 'widget', 'w6']);
    await done;
    expect(events).toEqual(
      expect.arrayContaining([
        'ADDED w1 example.com/v1beta1',
        'ADDED w6 example.com/v1beta1',
        'DELETED w6 example.com/v1beta1',
      ]),
    );
  });

  it('is applied server-side and deleted as a collection', async () => {
    const applied = widget('w7', { size: 'small', parts: [{ name: 'p' }] });
    await ok(['apply', '--server-side', '--field-manager=tester', '-f', '-'], applied);
    applied.spec.size = 'large';
    await ok(['apply', '--server-side', '--field-manager=tester', '-f', '-'], applied);
    const w7 = await kj(['get', 'widget', 'w7', '--show-managed-fields']);
    expect(w7.spec).toEqual({ size: 'large', replicas: 1, color: 'blue', parts: [{ name: 'p', count: 1 }] });
    expect(w7.metadata.managedFields.map((f: { manager: string }) => f.manager)).toContain('tester');
    await ok(['label', 'widget', 'w7', 'w5', 'batch=yes']);
    await ok(['delete', 'widgets', '-l', 'batch=yes']);
    const left = await kj(['get', 'widgets']);
    expect(left.items.map((i: any) => i.metadata.name)).toEqual(['w1']);
  });

  it('takes its objects with it when deleted, ending their watches', async () => {
    const watch = await watchStream(url, '/apis/example.com/v1/widgets?watch=1');
    expect((await watch.next()).object.metadata.name).toBe('w1');
    await ok(['delete', 'crd', 'widgets.example.com', '--wait=true', '--timeout=30s']);
    // The object's deletion is seen, then the stream ends with the kind it served.
    const seen: string[] = [];
    await expect(
      (async () => {
        for (;;) {
          const ev = await watch.next(15_000);
          seen.push(ev.type);
        }
      })(),
    ).rejects.toThrow();
    expect(seen).toContain('DELETED');
    const gone = await client.get(
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
    );
    expect(gone.status).toBe(404);
    expect((await client.get('/apis/example.com/v1/widgets')).status).toBe(404);
    expect((await client.get('/apis/example.com')).status).toBe(404);
    // Defined again: no object survived the definition.
    await ok(['apply', '-f', '-'], widgetsCrd);
    await established('widgets.example.com');
    const list = await waitFor(
      async () => {
        const r = await client.get('/apis/example.com/v1/widgets');
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(list.items).toEqual([]);
    await ok(['delete', 'crd', 'widgets.example.com']);
  });
});

describe('custom objects and the controller-manager', () => {
  const gizmos = crdOf('gizmos', 'example.net', 'Gizmo', 'Namespaced');
  const gizmo = (name: string, namespace: string, ownerReferences?: unknown[]) => ({
    apiVersion: 'example.net/v1',
    kind: 'Gizmo',
    metadata: { name, namespace, ownerReferences },
  });
  const create = async (obj: unknown) =>
    JSON.parse(
      await waitFor(async () => {
        const r = await k(['create', '-o', 'json', '-f', '-'], JSON.stringify(obj));
        return r.code === 0 ? r.stdout : undefined;
      }),
    );
  const gone = (p: string) =>
    waitFor(async () => (await client.get(p)).status === 404 || undefined, { timeoutMs: 45_000 });

  beforeAll(async () => {
    await ok(['apply', '-f', '-'], gizmos);
    await established('gizmos.example.net');
    await startControllerManager({ apiserverUrl: url, controllers: ['namespace', 'garbagecollector'] });
  }, 60_000);
  afterAll(() => ok(['delete', 'crd', 'gizmos.example.net']));

  it('go when their namespace is deleted (the namespace controller finds them by discovery)', async () => {
    await ok(['create', 'namespace', 'doomed']);
    await create(gizmo('g', 'doomed'));
    await ok(['delete', 'namespace', 'doomed', '--wait=true', '--timeout=30s']);
    const raw = await etcdctl(['get', '--prefix', '--keys-only', '/registry/example.net/gizmos/'], etcd);
    expect(raw.stdout.trim()).toBe('');
  });

  it('are collected with their owner, and collect their dependents (the GC finds them by discovery)', async () => {
    const owner = await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'owner', namespace: 'default' },
    });
    const ref = (o: any) => [
      { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid },
    ];
    const g = await create(gizmo('owned', 'default', ref(owner)));
    await create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'child', namespace: 'default', ownerReferences: ref(g) },
    });
    await ok(['delete', 'configmap', 'owner']);
    await gone('/apis/example.net/v1/namespaces/default/gizmos/owned');
    await gone('/api/v1/namespaces/default/configmaps/child');
  }, 100_000);
});

describe('custom resources under RBAC', () => {
  it('are authorized like any resource, by group and resource', async () => {
    const secure = await startSecureApiserver({
      etcdServers: etcd.endpoints,
      users: [
        { name: 'admin', commonName: 'kubernetes-admin', organizations: ['system:masters'] },
        { name: 'alice', commonName: 'alice' },
      ],
    });
    const as = (cert: string) => (method: string, p: string, body?: unknown) =>
      secure.request(method, p, { cert, body });
    const admin = as('admin');
    const alice = as('alice');
    const crd = crdOf('locks', 'example.io', 'Lock', 'Namespaced');
    expect((await alice('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).code).toBe(
      403,
    );
    expect((await admin('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).code).toBe(
      201,
    );
    const path = '/apis/example.io/v1/namespaces/default/locks';
    await waitFor(async () => (await admin('GET', path)).code === 200 || undefined);
    const denied = await alice('GET', path);
    expect(denied.code).toBe(403);
    expect(denied.body.message).toContain('cannot list resource "locks" in API group "example.io"');
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'lock-reader', namespace: 'default' },
      rules: [{ apiGroups: ['example.io'], resources: ['locks'], verbs: ['get', 'list'] }],
    };
    const binding = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-reads-locks', namespace: 'default' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'lock-reader' },
      subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
    };
    expect(
      (await admin('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', role)).code,
    ).toBe(201);
    expect(
      (await admin('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', binding))
        .code,
    ).toBe(201);
    expect((await alice('GET', path)).code).toBe(200);
    const lock = { apiVersion: 'example.io/v1', kind: 'Lock', metadata: { name: 'l' } };
    expect((await alice('POST', path, lock)).code).toBe(403);
    await admin('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/locks.example.io');
  }, 60_000);
});

describe('a CRD the size of real ones', () => {
  it('applies server-side, again, and serves its kind', async () => {
    // About 600 KB, as the Prometheus operator's largest: 40 nested groups of 60 described fields.
    const field = (i: number) => ({
      type: 'string',
      description: `Field ${i}. ${'Words about it. '.repeat(12)}`,
    });
    const group = (g: number) => ({
      type: 'object',
      description: `Group ${g}.`,
      properties: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`field${i}`, field(i)])),
    });
    const spec = {
      type: 'object',
      properties: Object.fromEntries(Array.from({ length: 40 }, (_, g) => [`group${g}`, group(g)])),
    };
    const big = crdOf('bigs', 'example.dev', 'Big', 'Namespaced', [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec } } },
      },
    ]);
    expect(JSON.stringify(big).length).toBeGreaterThan(500_000);
    await ok(['apply', '--server-side', '-f', '-'], big);
    (big.spec.versions[0] as any).schema.openAPIV3Schema.properties.spec.properties.group0.description =
      'changed';
    await ok(['apply', '--server-side', '-f', '-'], big);
    await established('bigs.example.dev');
    const obj = {
      apiVersion: 'example.dev/v1',
      kind: 'Big',
      metadata: { name: 'b', namespace: 'default' },
      spec: { group3: { field7: 'x' } },
    };
    await waitFor(
      async () =>
        (await k(['apply', '--server-side', '-f', '-'], JSON.stringify(obj))).code === 0 || undefined,
    );
    const explained = await ok(['explain', 'bigs.spec.group3.field7']);
    expect(explained).toContain('Field 7.');
    await ok(['delete', 'crd', 'bigs.example.dev']);
  }, 60_000);
});

describe('attacks on custom resources', () => {
  it('a CRD cannot take a built-in resource', async () => {
    const crd = crdOf('ingresses', 'networking.k8s.io', 'Ingress', 'Namespaced');
    // A Kubernetes group asks for the approval annotation; with it, the names still decide.
    expect((await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(
      422,
    );
    Object.assign(crd.metadata, { annotations: { 'api-approved.kubernetes.io': 'unapproved, hijack' } });
    const r = await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(r.status).toBe(201);
    const status = await waitFor(
      async () => {
        const c = (
          await client.get(
            '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ingresses.networking.k8s.io',
          )
        ).body;
        return c.status?.conditions?.find((x: any) => x.type === 'NamesAccepted');
      },
      { timeoutMs: 10_000 },
    );
    expect(status).toMatchObject({ status: 'False', reason: 'PluralConflict' });
    // The built-in still serves, with its own schema.
    const ing = await client.get('/apis/networking.k8s.io/v1/ingresses');
    expect(ing.body.kind).toBe('IngressList');
    const core = crdOf('pods', '', 'Pod', 'Namespaced');
    expect((await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', core)).status).toBe(
      422,
    );
    await client.del('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ingresses.networking.k8s.io');
  });

  it('a deep schema is served and an object as deep is checked; a deeper one is refused, the server staying up', async () => {
    let schema: Record<string, unknown> = { type: 'string', enum: ['leaf'] };
    let obj: unknown = 'not-leaf';
    const build = (levels: number) => {
      for (let i = 0; i < levels; i++) {
        schema = { type: 'object', properties: { a: schema } };
        obj = { a: obj };
      }
    };
    // Deeper than a schema may be (64 levels under the root): the CRD is refused, naming the limit.
    build(100);
    const tooDeepCrd = crdOf('deeperthans', 'example.org', 'DeeperThan', 'Cluster', [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: schema } } },
      },
    ]);
    const deeper = await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', tooDeepCrd);
    expect(deeper.status).toBe(422);
    expect(deeper.body.message).toMatch(/deep/);
    schema = { type: 'string', enum: ['leaf'] };
    obj = 'not-leaf';
    build(60);
    const crd = crdOf('deeps', 'example.org', 'Deep', 'Cluster', [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec: schema } } },
      },
    ]);
    expect((await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(
      201,
    );
    await established('deeps.example.org');
    const r = await waitFor(async () => {
      const res = await client.post('/apis/example.org/v1/deeps', {
        apiVersion: 'example.org/v1',
        kind: 'Deep',
        metadata: { name: 'd' },
        spec: obj,
      });
      return res.status === 404 ? undefined : res;
    });
    expect(r.status).toBe(422);
    expect(r.body.details.causes[0].field).toBe(`spec${'.a'.repeat(60)}`);
    // Deeper than any object may nest: refused before any schema sees it.
    let tooDeep: unknown = {};
    for (let i = 0; i < 300; i++) tooDeep = { a: tooDeep };
    const refused = await client.post('/apis/example.org/v1/deeps', {
      apiVersion: 'example.org/v1',
      kind: 'Deep',
      metadata: { name: 'x' },
      spec: tooDeep,
    });
    expect(refused.status).toBe(400);
    expect((await client.get('/openapi/v3/apis/example.org/v1')).status).toBe(200);
    await client.del('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/deeps.example.org');
  });

  it('__proto__ keys in a custom object stay data', async () => {
    const crd = crdOf('things', 'example.org', 'Thing', 'Cluster', [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          },
        },
        additionalPrinterColumns: [{ name: 'P', type: 'string', jsonPath: '.spec.__proto__.polluted' }],
      },
    ]);
    expect((await client.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd)).status).toBe(
      201,
    );
    await established('things.example.org');
    const body =
      '{"apiVersion":"example.org/v1","kind":"Thing","metadata":{"name":"t"},"spec":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}';
    const created = await waitFor(
      async () => {
        const r = await client.post('/apis/example.org/v1/things', body);
        return r.status === 201 ? r : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(JSON.stringify(created.body.spec)).toContain('"__proto__":{"polluted":"yes"}');
    const table = await client.get('/apis/example.org/v1/things', {
      accept: 'application/json;as=Table;g=meta.k8s.io;v=v1',
    });
    expect(table.body.rows[0].cells).toEqual(['t', 'yes']);
    expect(({} as any).polluted).toBeUndefined();
    await client.del('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/things.example.org');
  });
});
