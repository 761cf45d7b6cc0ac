import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { testCluster } from '../testing/cluster-fakes.js';
import { localPathProvisionerName, type PV, type PVC, provisionedByAnnotation } from './localpath.js';
import { PersistentVolumeBinder } from './pvbinder.js';
import { findBestVolume } from './pvmatch.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'nk-local-path-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function claim(name: string, storage: string, spec: Record<string, unknown> = {}): PVC {
  return {
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage } },
      volumeMode: 'Filesystem',
      ...spec,
    },
    status: { phase: 'Pending' },
  };
}

function volume(
  name: string,
  storage: string,
  spec: Record<string, unknown> = {},
  labels?: Record<string, string>,
): PV {
  return {
    metadata: { name, labels },
    spec: {
      capacity: { storage },
      accessModes: ['ReadWriteOnce'],
      hostPath: { path: `/tmp/${name}` },
      persistentVolumeReclaimPolicy: 'Retain',
      volumeMode: 'Filesystem',
      ...spec,
    },
    status: { phase: 'Available' },
  };
}

const localClass = (name: string, extra: Record<string, unknown> = {}) =>
  ({
    metadata: { name },
    provisioner: localPathProvisionerName,
    reclaimPolicy: 'Delete',
    ...extra,
  }) as KubeObject;

function setup() {
  const c = testCluster({ localPathRoot: root });
  const ctrl = new PersistentVolumeBinder(c.ctx);
  return { c, ctrl };
}

describe('findBestVolume', () => {
  const want = claim('c', '5Gi', { storageClassName: 'fast' });
  it('takes the smallest volume that fits and skips a too small one', () => {
    const vols = [
      volume('big', '100Gi', { storageClassName: 'fast' }),
      volume('small', '1Gi', { storageClassName: 'fast' }),
      volume('right', '5Gi', { storageClassName: 'fast' }),
    ];
    expect(findBestVolume(vols, want)?.metadata.name).toBe('right');
  });

  it('needs the same class, the access modes, the volume mode and matching labels', () => {
    const vols = [
      volume('other-class', '5Gi', { storageClassName: 'slow' }),
      volume('rox', '5Gi', { storageClassName: 'fast', accessModes: ['ReadOnlyMany'] }),
      volume('block', '5Gi', { storageClassName: 'fast', volumeMode: 'Block' }),
      volume('bound', '5Gi', {
        storageClassName: 'fast',
        claimRef: { namespace: 'ns', name: 'x', uid: 'u' },
      }),
    ];
    expect(findBestVolume(vols, want)).toBeUndefined();
    const sel = claim('c', '1Gi', { selector: { matchLabels: { tier: 'gold' } } });
    const labelled = [volume('plain', '1Gi'), volume('gold', '2Gi', {}, { tier: 'gold' })];
    expect(findBestVolume(labelled, sel)?.metadata.name).toBe('gold');
  });

  it('prefers a volume pre-bound to the claim', () => {
    const vols = [
      volume('exact', '5Gi', { storageClassName: 'fast' }),
      volume('mine', '50Gi', { storageClassName: 'fast', claimRef: { namespace: 'ns', name: 'c' } }),
    ];
    expect(findBestVolume(vols, want)?.metadata.name).toBe('mine');
  });
});

describe('PersistentVolumeBinder', () => {
  it('binds a pending claim to the fitting volume: claimRef and Bound on both, capacity in the claim status', async () => {
    const { c, ctrl } = setup();
    c.seed('persistentvolumes', volume('pv-small', '1Gi'), volume('pv-ok', '10Gi'));
    c.seed('persistentvolumeclaims', claim('data', '2Gi', { storageClassName: '' }));
    await ctrl.sync('claim/ns/data');
    expect(c.api.writes()).toEqual([
      'patch persistentvolumes pv-ok',
      'patch persistentvolumes/status pv-ok',
      'patch persistentvolumeclaims ns/data',
      'patch persistentvolumeclaims/status ns/data',
    ]);
    const pv = c.api.get('persistentvolumes', 'pv-ok') as PV;
    expect(pv.spec?.claimRef).toMatchObject({ namespace: 'ns', name: 'data', uid: 'uid-data' });
    expect(pv.status?.phase).toBe('Bound');
    const pvc = c.api.get('persistentvolumeclaims', 'ns/data') as PVC;
    expect(pvc.spec?.volumeName).toBe('pv-ok');
    expect(pvc.status).toMatchObject({
      phase: 'Bound',
      capacity: { storage: '10Gi' },
      accessModes: ['ReadWriteOnce'],
    });
    expect(c.api.get('persistentvolumes', 'pv-small')?.spec).not.toHaveProperty('claimRef');
  });

  it('gives a claim without a class the default class', async () => {
    const { c, ctrl } = setup();
    c.seed(
      'storageclasses',
      localClass('plain'),
      localClass('standard', {
        metadata: {
          name: 'standard',
          annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
        },
      }),
    );
    c.seed('persistentvolumeclaims', claim('data', '1Gi'));
    await ctrl.sync('claim/ns/data');
    expect(c.api.writes()).toEqual(['patch persistentvolumeclaims ns/data']);
    expect((c.api.get('persistentvolumeclaims', 'ns/data') as PVC).spec?.storageClassName).toBe('standard');
  });

  it('provisions a directory and a pre-bound hostPath volume for a claim of a local-path class', async () => {
    const { c, ctrl } = setup();
    c.seed('storageclasses', localClass('local'));
    c.seed('persistentvolumeclaims', claim('data', '3Gi', { storageClassName: 'local' }));
    await ctrl.sync('claim/ns/data');
    expect(c.api.writes()).toEqual(['create persistentvolumes pvc-uid-data']);
    const pv = c.api.get('persistentvolumes', 'pvc-uid-data') as PV;
    const dir = path.join(root, 'pvc-uid-data');
    expect(pv.spec).toMatchObject({
      hostPath: { path: dir },
      capacity: { storage: '3Gi' },
      storageClassName: 'local',
      persistentVolumeReclaimPolicy: 'Delete',
      claimRef: { namespace: 'ns', name: 'data', uid: 'uid-data' },
    });
    expect(pv.metadata.annotations?.[provisionedByAnnotation]).toBe(localPathProvisionerName);
    expect(statSync(dir).mode & 0o777).toBe(0o777);
    // Once the volume is in the cache, the claim binds to it.
    c.informer('persistentvolumes').store.upsert(pv);
    await ctrl.sync('claim/ns/data');
    expect((c.api.get('persistentvolumeclaims', 'ns/data') as PVC).spec?.volumeName).toBe('pvc-uid-data');
    expect((c.api.get('persistentvolumes', 'pvc-uid-data') as PV).status?.phase).toBe('Bound');
  });

  it('leaves a claim of a class with an unknown provisioner Pending', async () => {
    const { c, ctrl } = setup();
    c.seed('storageclasses', { metadata: { name: 'ext' }, provisioner: 'ebs.csi.aws.com' } as KubeObject);
    c.seed('persistentvolumeclaims', claim('data', '3Gi', { storageClassName: 'ext' }));
    await ctrl.sync('claim/ns/data');
    expect(c.api.writes()).toEqual([]);
    expect(c.recorder.events[0]).toContain('ExternalProvisioning');
  });

  it('releases the volume of a deleted claim, then deletes it and its directory (Delete)', async () => {
    const { c, ctrl } = setup();
    const dir = path.join(root, 'pvc-1');
    mkdirSync(dir);
    c.seed(
      'persistentvolumes',
      volume('pvc-1', '1Gi', {
        hostPath: { path: dir },
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { namespace: 'ns', name: 'gone', uid: 'uid-gone' },
      }),
    );
    c.api.objects.get('persistentvolumes|pvc-1')!.metadata.annotations = {
      [provisionedByAnnotation]: localPathProvisionerName,
    };
    c.informer('persistentvolumes').store.upsert(c.api.get('persistentvolumes', 'pvc-1')!);
    await ctrl.sync('volume/pvc-1');
    expect(c.api.writes()).toEqual([
      'patch persistentvolumes/status pvc-1',
      'delete persistentvolumes pvc-1',
    ]);
    expect(existsSync(dir)).toBe(false);
    expect(c.api.get('persistentvolumes', 'pvc-1')).toBeUndefined();
  });

  it('keeps a Retain volume Released, and does not release one whose claim the cache has not seen yet', async () => {
    const { c, ctrl } = setup();
    const ref = (name: string) => ({ namespace: 'ns', name, uid: `uid-${name}` });
    c.seed(
      'persistentvolumes',
      volume('kept', '1Gi', { claimRef: ref('gone') }),
      volume('fresh', '1Gi', { claimRef: ref('new') }),
    );
    c.api.put('persistentvolumeclaims', claim('new', '1Gi')); // in the API, not yet in the cache
    await ctrl.sync('volume/kept');
    await ctrl.sync('volume/fresh');
    expect(c.api.writes()).toEqual(['patch persistentvolumes/status kept']);
    expect((c.api.get('persistentvolumes', 'kept') as PV).status?.phase).toBe('Released');
    c.informer('persistentvolumes').store.upsert(c.api.get('persistentvolumes', 'kept')!);
    await ctrl.sync('volume/kept');
    expect(c.api.writes()).toHaveLength(1);
  });

  it('marks a Delete volume it did not provision Failed instead of deleting it', async () => {
    const { c, ctrl } = setup();
    c.seed(
      'persistentvolumes',
      volume('manual', '1Gi', {
        persistentVolumeReclaimPolicy: 'Delete',
        claimRef: { namespace: 'ns', name: 'gone', uid: 'u' },
      }),
    );
    await ctrl.sync('volume/manual');
    expect((c.api.get('persistentvolumes', 'manual') as PV).status?.phase).toBe('Failed');
    expect(c.api.writes()).not.toContain('delete persistentvolumes manual');
  });

  it('creates the default class standard when missing, and not when present', async () => {
    const { c, ctrl } = setup();
    await ctrl.sync('class/standard');
    expect(c.api.writes()).toEqual(['create storageclasses standard']);
    const sc = c.api.get('storageclasses', 'standard') as KubeObject & { provisioner?: string };
    expect(sc.provisioner).toBe(localPathProvisionerName);
    expect(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class']).toBe('true');
    c.informer('storageclasses').store.upsert(sc);
    await ctrl.sync('class/standard');
    expect(c.api.writes()).toHaveLength(1);
  });
});
