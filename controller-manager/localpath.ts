/**
 * The built-in provisioner `nanokube.io/local-path`: a claim of a class
 * naming it gets a directory under `--local-path-root` on the host and a
 * hostPath PersistentVolume for it, pre-bound to the claim; deleting such a
 * volume (reclaim policy Delete) removes the directory. The controller
 * manager runs on the host in one-host mode, so it owns these directories.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { KubeObject } from '../api/meta.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types/storage.js';
import type { StorageClass } from '../api/types/storageclass.js';
import { claimReference } from './pvmatch.js';

export const localPathProvisionerName = 'nanokube.io/local-path';
export const defaultLocalPathRoot = '/var/lib/nanokube/local-path';
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';

export type PV = PersistentVolume & KubeObject;
export type PVC = PersistentVolumeClaim & KubeObject;
export type Class = StorageClass & KubeObject;

/** A provisioner the binder can call: makes the storage of a new volume, and removes it. */
export interface Provisioner {
  readonly name: string;
  /** Makes the storage and returns the volume to create, pre-bound to `claim`. */
  provision(claim: PVC, cls: Class, pvName: string): Promise<PV>;
  /** Removes the storage of a volume it provisioned. */
  delete(pv: PV): Promise<void>;
}

export class LocalPathProvisioner implements Provisioner {
  readonly name = localPathProvisionerName;

  constructor(readonly root: string) {}

  async provision(claim: PVC, cls: Class, pvName: string): Promise<PV> {
    const dir = path.join(this.root, pvName);
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777); // the umask trims mkdir's mode; pods may run as any user
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { [provisionedByAnnotation]: this.name } },
      spec: {
        hostPath: { path: dir, type: 'DirectoryOrCreate' },
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '0' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: cls.reclaimPolicy || 'Delete',
        storageClassName: cls.metadata.name,
        mountOptions: cls.mountOptions,
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        claimRef: claimReference(claim),
      },
    };
  }

  /** Removes the volume's directory, only when it lies inside the root. */
  async delete(pv: PV): Promise<void> {
    const dir = pv.spec?.hostPath?.path ?? pv.spec?.local?.path ?? '';
    const rel = path.relative(this.root, dir);
    if (!dir || !rel || rel.startsWith('..') || path.isAbsolute(rel))
      throw new Error(`volume path "${dir}" is not inside ${this.root}`);
    await rm(dir, { recursive: true, force: true });
  }
}
