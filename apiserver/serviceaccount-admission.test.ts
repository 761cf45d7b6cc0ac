import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { newNotFound } from '../api/status.js';
import { type Pod, type PodSpec, podType } from '../api/types/pod.js';
import type { ServiceAccount } from '../api/types/secret.js';
import { applyDefaults, checkSchema, validate } from './admission.js';
import {
  type ServiceAccountAdmissionOptions,
  serviceAccountAdmission,
  serviceAccountLookup,
  tokenMountPath,
} from './serviceaccount-admission.js';
import type { ResourceStore } from './store.js';

const mount = { name: 'kube-api-access-abcde', readOnly: true, mountPath: tokenMountPath };

/** The volume Kubernetes adds, spelled out rather than built by the code under test. */
const kubernetesVolume = {
  name: 'kube-api-access-abcde',
  projected: {
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
  },
};

function pod(spec: Partial<PodSpec> = {}, annotations?: Record<string, string>): Pod & KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'team', annotations },
    spec: { containers: [{ name: 'app', image: 'nginx:1.25' }], ...spec },
  };
}

/** Admission with the given accounts in namespace `team`; it records the lookups. */
function plugin(
  accounts: Record<string, ServiceAccount> = {},
  opts: Partial<ServiceAccountAdmissionOptions> = {},
) {
  const lookups: string[] = [];
  const admit = serviceAccountAdmission({
    serviceAccount: async (ns, name) => {
      lookups.push(`${ns}/${name}`);
      return ns === 'team' ? accounts[name] : undefined;
    },
    mountServiceAccountToken: true,
    volumeSuffix: () => 'abcde',
    ...opts,
  });
  return { admit, lookups };
}

describe('ServiceAccount admission', () => {
  it('runs the pod as default, keeps serviceAccount in step, and mounts the token volume', async () => {
    const { admit, lookups } = plugin();
    const p = pod({ initContainers: [{ name: 'init', image: 'busybox:1.36' }] });
    await admit(p);
    expect(lookups).toEqual(['team/default']);
    expect(p.spec).toEqual({
      serviceAccountName: 'default',
      serviceAccount: 'default',
      initContainers: [{ name: 'init', image: 'busybox:1.36', volumeMounts: [mount] }],
      containers: [{ name: 'app', image: 'nginx:1.25', volumeMounts: [mount] }],
      volumes: [kubernetesVolume],
    });
  });

  it('keeps the account a pod names, and the deprecated field follows it', async () => {
    const { admit, lookups } = plugin({ builder: { metadata: { name: 'builder' } } });
    const p = pod({ serviceAccountName: 'builder' });
    await admit(p);
    expect(lookups).toEqual(['team/builder']);
    expect(p.spec).toMatchObject({ serviceAccountName: 'builder', serviceAccount: 'builder' });
  });

  it.each([
    { name: 'neither says: mounted', pod: undefined, account: undefined, mounted: true },
    { name: 'the pod says false', pod: false, account: undefined, mounted: false },
    { name: 'the account says false', pod: undefined, account: false, mounted: false },
    { name: 'the pod says true over the account', pod: true, account: false, mounted: true },
    { name: 'the pod says false over the account', pod: false, account: true, mounted: false },
  ])('automountServiceAccountToken: $name', async ({ pod: onPod, account, mounted }) => {
    const { admit } = plugin({
      default: { metadata: { name: 'default' }, automountServiceAccountToken: account },
    });
    const p = pod({ automountServiceAccountToken: onPod });
    await admit(p);
    expect(p.spec?.volumes?.length ?? 0).toBe(mounted ? 1 : 0);
    expect(p.spec?.containers?.[0].volumeMounts?.length ?? 0).toBe(mounted ? 1 : 0);
  });

  it('admits a pod whose account does not exist yet, and mounts its token', async () => {
    const { admit } = plugin({});
    const p = pod({ serviceAccountName: 'later' });
    await expect(admit(p)).resolves.toBeUndefined();
    expect(p.spec?.volumes).toEqual([kubernetesVolume]);
  });

  it('adds no volume when the apiserver cannot issue tokens, but still names the account', async () => {
    const { admit, lookups } = plugin({}, { mountServiceAccountToken: false });
    const p = pod();
    await admit(p);
    expect(lookups).toEqual([]);
    expect(p.spec).toEqual({
      serviceAccountName: 'default',
      serviceAccount: 'default',
      containers: [{ name: 'app', image: 'nginx:1.25' }],
    });
  });

  it('leaves a mirror pod alone', async () => {
    const { admit, lookups } = plugin();
    const p = pod({}, { 'kubernetes.io/config.mirror': 'abc' });
    const before = structuredClone(p);
    await admit(p);
    expect(lookups).toEqual([]);
    expect(p).toEqual(before);
  });

  it('skips a container that mounts something of its own at the token path', async () => {
    const { admit } = plugin();
    const own = { name: 'mine', mountPath: tokenMountPath };
    const p = pod({
      containers: [
        { name: 'own', image: 'x:1', volumeMounts: [own] },
        { name: 'plain', image: 'x:1' },
      ],
      volumes: [{ name: 'mine', secret: { secretName: 's' } }],
    });
    await admit(p);
    expect(p.spec?.containers?.map((c) => c.volumeMounts)).toEqual([[own], [mount]]);
    expect(p.spec?.volumes?.map((v) => v.name)).toEqual(['mine', 'kube-api-access-abcde']);
  });

  it('adds no volume when every container mounts its own at the token path', async () => {
    const { admit } = plugin();
    const own = { name: 'mine', mountPath: tokenMountPath };
    const p = pod({
      containers: [{ name: 'own', image: 'x:1', volumeMounts: [own] }],
      volumes: [{ name: 'mine', emptyDir: {} }],
    });
    await admit(p);
    expect(p.spec?.volumes).toEqual([{ name: 'mine', emptyDir: {} }]);
  });

  it('reuses a kube-api-access volume a copied spec already has', async () => {
    const { admit } = plugin();
    const copied = { ...kubernetesVolume, name: 'kube-api-access-zzzzz' };
    const p = pod({
      containers: [
        { name: 'a', image: 'x:1', volumeMounts: [{ ...mount, name: 'kube-api-access-zzzzz' }] },
        { name: 'b', image: 'x:1' },
      ],
      volumes: [copied],
    });
    await admit(p);
    expect(p.spec?.volumes).toEqual([copied]);
    expect(p.spec?.containers?.[1].volumeMounts).toEqual([{ ...mount, name: 'kube-api-access-zzzzz' }]);
  });

  it('names the volume kube-api-access- and five random characters by default', async () => {
    const admit = serviceAccountAdmission({
      serviceAccount: async () => undefined,
      mountServiceAccountToken: true,
    });
    const p = pod();
    await admit(p);
    expect(p.spec?.volumes?.[0].name).toMatch(/^kube-api-access-[a-z0-9]{5}$/);
  });

  it('makes a pod that fits the schema and passes validation after defaults', async () => {
    const { admit } = plugin();
    const p = pod({ initContainers: [{ name: 'init', image: 'busybox:1.36' }] });
    applyDefaults(podType, p);
    await admit(p);
    expect(checkSchema(podType, p, 'Strict')).toEqual([]);
    expect(() => validate(podType, p)).not.toThrow();
    expect(p.spec?.volumes).toEqual([kubernetesVolume]);
  });
});

describe('serviceAccountLookup', () => {
  const account = { metadata: { name: 'robot', namespace: 'team' } };
  /** A ResourceStore with only what the lookup reads: the cache and get. */
  function store(cached: KubeObject[], inEtcd: KubeObject[]) {
    const key = (ns: string | undefined, name: string) => `/registry/serviceaccounts/${ns}/${name}`;
    const gets: string[] = [];
    const s = {
      key,
      cache: { items: new Map(cached.map((o) => [key(o.metadata.namespace, o.metadata.name!), { obj: o }])) },
      get: async (ns: string, name: string) => {
        gets.push(`${ns}/${name}`);
        const o = inEtcd.find((x) => x.metadata.namespace === ns && x.metadata.name === name);
        if (!o) throw newNotFound({ group: '', resource: 'serviceaccounts' }, name);
        return o;
      },
    };
    return { store: s as unknown as ResourceStore, gets };
  }

  it.each([
    { name: 'in the cache: no etcd read', cached: [account], inEtcd: [], found: true, reads: 0 },
    { name: 'not yet in the cache: read from etcd', cached: [], inEtcd: [account], found: true, reads: 1 },
    { name: 'nowhere: undefined', cached: [], inEtcd: [], found: false, reads: 1 },
  ])('$name', async ({ cached, inEtcd, found, reads }) => {
    const s = store(cached, inEtcd);
    const got = await serviceAccountLookup(s.store)('team', 'robot');
    expect(got?.metadata?.name).toBe(found ? 'robot' : undefined);
    expect(s.gets).toHaveLength(reads);
  });
});
