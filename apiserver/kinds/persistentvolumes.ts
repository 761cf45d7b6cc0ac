/** PersistentVolumes: their phase's lastPhaseTransitionTime (api/types/storage.ts). */
import { metaTime } from '../../api/time.js';
import {
  type PersistentVolume,
  preparePersistentVolumeForCreate,
  preparePersistentVolumeForStatusUpdate,
} from '../../api/types/storage.js';
import type { Kind } from './kind.js';

export const persistentVolumes: Kind = {
  strategy: (base, now) => {
    const status = base.subresourceUpdates.status;
    return {
      ...base,
      prepareForCreate(obj, user) {
        base.prepareForCreate(obj, user);
        preparePersistentVolumeForCreate(obj as PersistentVolume, metaTime(now().getTime()));
      },
      subresourceUpdates: {
        ...base.subresourceUpdates,
        status: {
          prepare(obj, old) {
            status.prepare(obj, old);
            preparePersistentVolumeForStatusUpdate(
              obj as PersistentVolume,
              old as PersistentVolume,
              metaTime(now().getTime()),
            );
          },
        },
      },
    };
  },
};
