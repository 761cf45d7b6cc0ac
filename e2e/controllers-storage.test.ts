// The persistentvolume-binder against a real etcd, apiserver and
// controller-manager: the default StorageClass `standard`, a claim getting a
// provisioned local-path volume, binding to a fitting pre-created volume and
// not a too small one, and reclaiming (Delete removes the volume and its
// directory, Retain keeps it Released).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  kubectl,
  makeTempDir,
  startApiserver,
  startControllerManager,
  startEtcd,
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

let client: Api;
let root: string;
let kubeconfig: string;
const ns = 'default';

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  root = makeTempDir('nanokube-local-path-');
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  await startControllerManager({
    apiserverUrl: apiserver.url,
    controllers: ['persistentvolume-binder'],
    extraArgs: ['--local-path-root', root],
  });
});

afterAll(async () => {
  await cleanup();
});

const claimPath = (name = '') => `/api/v1/namespaces/${ns}/persistentvolumeclaims${name ? `/${name}` : ''}`;
const volumePath = (name = '') => `/api/v1/persistentvolumes${name ? `/${name}` : ''}`;

function claim(name: string, storage: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage } }, ...spec },
  };
}

function volume(name: string, storage: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name },
    spec: {
      capacity: { storage },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: path.join(root, 'manual', name) },
      storageClassName: 'manual',
      ...spec,
    },
  };
}

async function created(p: string, body: unknown) {
  const res = await client.post(p, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

const boundClaim = (name: string) =>
  waitFor(
    async () => {
      const c = (await client.get(claimPath(name))).body;
      return c.status?.phase === 'Bound' && c;
    },
    { what: `claim ${name} Bound`, timeoutMs: 15_000 },
  );

describe('persistentvolume-binder', () => {
  it('makes the default class standard, shown by kubectl with (default)', async () => {
    await waitFor(
      async () => (await client.get('/apis/storage.k8s.io/v1/storageclasses/standard')).status === 200,
      {
        what: 'StorageClass standard',
      },
    );
    const out = await kubectl(['get', 'storageclass'], { kubeconfig });
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(
      /^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/,
    );
    expect(out.stdout).toMatch(
      /standard \(default\)\s+nanokube\.io\/local-path\s+Delete\s+Immediate\s+false/,
    );
  });

  it('provisions a volume for a claim without a class; both are Bound', async () => {
    await created(claimPath(), claim('auto', '1Gi'));
    const pvc = await boundClaim('auto');
    expect(pvc.spec.storageClassName).toBe('standard');
    expect(pvc.status.capacity.storage).toBe('1Gi');
    const pv = (await client.get(volumePath(pvc.spec.volumeName))).body;
    expect(pv.status.phase).toBe('Bound');
    expect(pv.spec.claimRef).toMatchObject({ namespace: ns, name: 'auto', uid: pvc.metadata.uid });
    expect(pv.metadata.annotations['pv.kubernetes.io/provisioned-by']).toBe('nanokube.io/local-path');
    expect(pv.spec.hostPath.path).toBe(path.join(root, pv.metadata.name));
    expect(existsSync(pv.spec.hostPath.path)).toBe(true);
  });

  it('binds a claim to the fitting pre-created volume, not to a too small one', async () => {
    await created(volumePath(), volume('tiny', '100Mi'));
    await created(volumePath(), volume('roomy', '5Gi'));
    await created(claimPath(), claim('wants-2g', '2Gi', { storageClassName: 'manual' }));
    const pvc = await boundClaim('wants-2g');
    expect(pvc.spec.volumeName).toBe('roomy');
    expect(pvc.status.capacity.storage).toBe('5Gi');
    const tiny = await waitFor(
      async () => {
        const v = (await client.get(volumePath('tiny'))).body;
        return v.status?.phase === 'Available' && v;
      },
      { what: 'tiny Available' },
    );
    expect(tiny.spec.claimRef).toBeUndefined();
  });

  it('deleting the claim of a Delete volume removes the volume and its directory', async () => {
    await created(claimPath(), claim('short-lived', '1Gi'));
    const pvc = await boundClaim('short-lived');
    const pv = (await client.get(volumePath(pvc.spec.volumeName))).body;
    expect(existsSync(pv.spec.hostPath.path)).toBe(true);
    expect((await client.request('DELETE', claimPath('short-lived'))).status).toBe(200);
    await waitFor(async () => (await client.get(volumePath(pv.metadata.name))).status === 404, {
      what: `volume ${pv.metadata.name} deleted`,
      timeoutMs: 15_000,
    });
    expect(existsSync(pv.spec.hostPath.path)).toBe(false);
  });

  it('deleting the claim of a Retain volume leaves it Released', async () => {
    await created(volumePath(), volume('kept', '1Gi', { persistentVolumeReclaimPolicy: 'Retain' }));
    await created(claimPath(), claim('keeper', '1Gi', { storageClassName: 'manual', volumeName: 'kept' }));
    await boundClaim('keeper');
    expect((await client.request('DELETE', claimPath('keeper'))).status).toBe(200);
    const pv = await waitFor(
      async () => {
        const v = (await client.get(volumePath('kept'))).body;
        return v.status?.phase === 'Released' && v;
      },
      { what: 'kept Released', timeoutMs: 15_000 },
    );
    expect(pv.spec.claimRef.name).toBe('keeper');
    // Still there a while later: Retain never deletes.
    await new Promise((r) => setTimeout(r, 1000));
    expect((await client.get(volumePath('kept'))).body.status.phase).toBe('Released');
  });
});
