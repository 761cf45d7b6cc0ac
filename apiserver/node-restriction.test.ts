import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import type { AdmissionAttributes } from './admission.js';
import type { UserInfo } from './authn.js';
import { admitNodeTokenRequest, forbiddenLabels, nodeRestriction } from './node-restriction.js';

const rt = (group: string, version: string, plural: string) => builtinRegistry.get(group, version, plural)!;
const pods = rt('', 'v1', 'pods');
const nodes = rt('', 'v1', 'nodes');
const leases = rt('coordination.k8s.io', 'v1', 'leases');
const configmaps = rt('', 'v1', 'configmaps');

const n1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const admin: UserInfo = { name: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
const node1 = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'uid-n1' } };
const plugin = nodeRestriction({ node: async (name) => (name === 'n1' ? node1 : undefined) });

function mirror(over: { spec?: Record<string, unknown>; meta?: Record<string, unknown> } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'etcd-n1',
      namespace: 'kube-system',
      annotations: { 'kubernetes.io/config.mirror': 'hash' },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-n1', controller: true }],
      ...over.meta,
    },
    spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], ...over.spec },
  } as KubeObject;
}

const pod = (nodeName: string, labels?: Record<string, string>): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: { nodeName, containers: [{ name: 'c', image: 'busybox' }] },
  }) as KubeObject;

const nodeObj = (name: string, labels?: Record<string, string>, taints?: unknown[]): KubeObject =>
  ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels },
    spec: taints ? { taints } : {},
  }) as KubeObject;

function attrs(
  a: Partial<AdmissionAttributes> & Pick<AdmissionAttributes, 'operation' | 'rt'>,
): AdmissionAttributes {
  return { namespace: '', name: '', subresource: '', user: n1, dryRun: false, ...a };
}

/** The Status message the plugin refuses with, or 'allowed'. */
async function verdict(a: AdmissionAttributes): Promise<string> {
  try {
    await plugin(a);
    return 'allowed';
  } catch (err) {
    if (!(err instanceof StatusError)) throw err;
    return `${err.code} ${err.message}`;
  }
}

const create = (obj: KubeObject) =>
  verdict(attrs({ operation: 'CREATE', rt: pods, namespace: obj.metadata.namespace ?? '', obj }));

describe('NodeRestriction: pods', () => {
  it('lets a node create its own mirror pod, owned by its Node', async () => {
    expect(await create(mirror())).toBe('allowed');
  });

  it('refuses a pod that is not a mirror pod, in any namespace, with a hostPath or not', async () => {
    const plain = mirror({
      meta: { annotations: {} },
      spec: { volumes: [{ name: 'root', hostPath: { path: '/' } }] },
    });
    expect(await create(plain)).toBe(
      `403 pods "etcd-n1" is forbidden: pod does not have "kubernetes.io/config.mirror" annotation, node "n1" can only create mirror pods`,
    );
  });

  it('refuses a mirror pod bound to another node or owned by something else', async () => {
    expect(await create(mirror({ spec: { nodeName: 'n2' } }))).toBe(
      '403 pods "etcd-n1" is forbidden: node "n1" can only create pods with spec.nodeName set to itself',
    );
    expect(await create(mirror({ meta: { ownerReferences: [] } }))).toMatch(
      /node "n1" can only create pods with an owner reference set to itself$/,
    );
    const notController = [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'uid-n1' }];
    expect(await create(mirror({ meta: { ownerReferences: notController } }))).toMatch(
      /with a controller owner reference set to itself$/,
    );
    const wrongUid = [{ apiVersion: 'v1', kind: 'Node', name: 'n1', uid: 'old', controller: true }];
    expect(await create(mirror({ meta: { ownerReferences: wrongUid } }))).toMatch(
      /node n1 UID mismatch: expected old got uid-n1$/,
    );
  });

  it('refuses a mirror pod that references a service account, Secret, ConfigMap, claim or token', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ serviceAccountName: 'default' }, 'a service account'],
      [{ volumes: [{ name: 's', secret: { secretName: 'db' } }] }, 'secrets'],
      [{ imagePullSecrets: [{ name: 'pull' }] }, 'secrets'],
      [
        {
          containers: [
            {
              name: 'c',
              image: 'b',
              env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } }],
            },
          ],
        },
        'secrets',
      ],
      [{ volumes: [{ name: 'c', configMap: { name: 'cfg' } }] }, 'configmaps'],
      [{ volumes: [{ name: 'p', persistentVolumeClaim: { claimName: 'data' } }] }, 'persistentvolumeclaims'],
      [
        { volumes: [{ name: 't', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] },
        'a service account',
      ],
    ];
    for (const [spec, what] of cases)
      expect(await create(mirror({ spec })), JSON.stringify(spec)).toBe(
        `403 pods "etcd-n1" is forbidden: node "n1" can not create pods that reference ${what}`,
      );
  });

  it('lets a node delete, evict and update the status of only the pods bound to it', async () => {
    const del = (old: KubeObject, subresource = '') =>
      verdict(attrs({ operation: 'DELETE', rt: pods, namespace: 'default', name: 'web', subresource, old }));
    expect(await del(pod('n1'))).toBe('allowed');
    expect(await del(pod('n2'))).toBe(
      '403 pods "web" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself',
    );
    expect(await del(pod('n1'), 'eviction')).toBe('allowed');
    expect(await del(pod('n2'), 'eviction')).toBe(
      '403 pods "web" is forbidden: node n1 can only evict pods with spec.nodeName set to itself',
    );
    const status = (old: KubeObject, obj: KubeObject) =>
      verdict(
        attrs({
          operation: 'UPDATE',
          rt: pods,
          namespace: 'default',
          name: 'web',
          subresource: 'status',
          old,
          obj,
        }),
      );
    expect(await status(pod('n1'), pod('n1'))).toBe('allowed');
    expect(await status(pod('n2'), pod('n2'))).toMatch(
      /node "n1" can only update pod status for pods with spec.nodeName set to itself$/,
    );
    expect(await status(pod('n1'), pod('n1', { role: 'db' }))).toMatch(
      /node "n1" cannot update labels through pod status$/,
    );
    expect(
      await verdict(
        attrs({
          operation: 'UPDATE',
          rt: pods,
          namespace: 'default',
          name: 'web',
          old: pod('n1'),
          obj: pod('n1'),
        }),
      ),
    ).toMatch(/unexpected operation "UPDATE", node "n1" can only create and delete mirror pods$/);
  });
});

describe('NodeRestriction: nodes and leases', () => {
  const nodeCreate = (obj: KubeObject) => verdict(attrs({ operation: 'CREATE', rt: nodes, obj }));
  const nodeUpdate = (old: KubeObject, obj: KubeObject, subresource = '') =>
    verdict(attrs({ operation: 'UPDATE', rt: nodes, name: obj.metadata.name!, subresource, old, obj }));

  it('lets a node register itself with the kubelet labels, and no other Node', async () => {
    const labels = {
      'kubernetes.io/hostname': 'n1',
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'm5',
      'kubelet.kubernetes.io/x': '1',
      'team.example.com/owner': 'me',
      plain: 'yes',
    };
    expect(await nodeCreate(nodeObj('n1', labels))).toBe('allowed');
    expect(await nodeCreate(nodeObj('n2'))).toBe(
      '403 nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"',
    );
    expect(await nodeCreate(nodeObj('n1', { 'node-role.kubernetes.io/control-plane': '' }))).toBe(
      '403 nodes "n1" is forbidden: node "n1" is not allowed to set the following labels: node-role.kubernetes.io/control-plane',
    );
  });

  it('refuses node-restriction.kubernetes.io labels, other kubernetes.io labels and taint changes on update', async () => {
    const old = nodeObj('n1', { 'kubernetes.io/hostname': 'n1' }, [{ key: 'k', effect: 'NoSchedule' }]);
    const relabel = nodeObj(
      'n1',
      { 'kubernetes.io/hostname': 'n1', 'node-restriction.kubernetes.io/pci': 'yes' },
      [{ key: 'k', effect: 'NoSchedule' }],
    );
    expect(await nodeUpdate(old, relabel)).toBe(
      '403 nodes "n1" is forbidden: is not allowed to modify labels: node-restriction.kubernetes.io/pci',
    );
    const sub = nodeObj('n1', { 'kubernetes.io/hostname': 'n1', 'x.node-restriction.kubernetes.io/a': '1' }, [
      { key: 'k', effect: 'NoSchedule' },
    ]);
    expect(await nodeUpdate(old, sub)).toMatch(/x.node-restriction.kubernetes.io\/a$/);
    expect(await nodeUpdate(old, nodeObj('n1', { 'kubernetes.io/hostname': 'n1' }))).toBe(
      '403 nodes "n1" is forbidden: node "n1" is not allowed to modify taints',
    );
    // Status writes (and unchanged labels and taints) pass.
    expect(await nodeUpdate(old, structuredClone(old), 'status')).toBe('allowed');
    expect(await nodeUpdate(nodeObj('n1'), nodeObj('n1', undefined, []))).toBe('allowed');
  });

  it('lists the forbidden labels as Kubernetes does', () => {
    expect(
      forbiddenLabels([
        'kubernetes.io/hostname',
        'beta.kubernetes.io/arch',
        'failure-domain.beta.kubernetes.io/zone',
        'topology.kubernetes.io/zone',
        'foo.node.kubernetes.io/x',
        'node-role.kubernetes.io/worker',
        'k8s.io/x',
        'a.k8s.io/x',
        'node-restriction.kubernetes.io/x',
        'example.com/x',
      ]),
    ).toEqual([
      'node-role.kubernetes.io/worker',
      'k8s.io/x',
      'a.k8s.io/x',
      'node-restriction.kubernetes.io/x',
    ]);
  });

  it('lets a node create only its own Lease in kube-node-lease', async () => {
    const lease = (ns: string, name: string) =>
      ({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: ns },
      }) as KubeObject;
    const mk = (ns: string, name: string) =>
      verdict(attrs({ operation: 'CREATE', rt: leases, namespace: ns, obj: lease(ns, name) }));
    expect(await mk('kube-node-lease', 'n1')).toBe('allowed');
    expect(await mk('kube-node-lease', 'n2')).toBe(
      '403 leases.coordination.k8s.io "n2" is forbidden: can only access node lease with the same name as the requesting node',
    );
    expect(await mk('kube-system', 'n1')).toMatch(
      /can only access leases in the "kube-node-lease" system namespace$/,
    );
  });

  it('leaves other users and other kinds alone', async () => {
    expect(await verdict(attrs({ operation: 'CREATE', rt: pods, user: admin, obj: pod('n2') }))).toBe(
      'allowed',
    );
    const notNode = { name: 'system:node:n1', groups: ['system:authenticated'] };
    expect(await verdict(attrs({ operation: 'CREATE', rt: pods, user: notNode, obj: pod('n2') }))).toBe(
      'allowed',
    );
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } } as KubeObject;
    expect(await verdict(attrs({ operation: 'CREATE', rt: configmaps, obj: cm }))).toBe('allowed');
  });
});

describe('NodeRestriction: TokenRequest', () => {
  const pods: Record<string, KubeObject> = {
    'default/web': { ...pod('n1'), metadata: { name: 'web', namespace: 'default', uid: 'u-web' } },
    'default/other': { ...pod('n2'), metadata: { name: 'other', namespace: 'default', uid: 'u-other' } },
  };
  const ask = async (ref: Record<string, string> | undefined, user = n1) => {
    try {
      await admitNodeTokenRequest(user, 'default', 'default', ref, async (ns, n) => pods[`${ns}/${n}`]);
      return 'allowed';
    } catch (err) {
      return `${(err as StatusError).code} ${(err as StatusError).message}`;
    }
  };

  it('lets a node ask only for tokens bound, by uid, to a pod of its own', async () => {
    expect(await ask({ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'u-web' })).toBe('allowed');
    expect(await ask(undefined)).toBe(
      '403 serviceaccounts "default" is forbidden: node requested token not bound to a pod',
    );
    expect(await ask({ apiVersion: 'v1', kind: 'Pod', name: 'web' })).toMatch(/a pod binding without a uid$/);
    expect(await ask({ apiVersion: 'v1', kind: 'Pod', name: 'other', uid: 'u-other' })).toMatch(
      /node requested token bound to a pod scheduled on a different node$/,
    );
    expect(await ask({ apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'u-old' })).toMatch(
      /does not match the UID/,
    );
    expect(await ask({ apiVersion: 'v1', kind: 'Pod', name: 'gone', uid: 'x' })).toBe(
      '404 pods "gone" not found',
    );
    expect(await ask(undefined, admin)).toBe('allowed');
  });
});
