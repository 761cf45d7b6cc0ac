/**
 * Small object builders for the workload controllers' unit tests.
 */

import type { OwnerReference } from '../api/meta.js';
import type { Pod } from '../api/objects.js';
import { metaTime } from '../api/time.js';
import { newUid, testEpoch } from './workload-fakes.js';

export const iso = metaTime;

export interface PodOptions {
  ns?: string;
  labels?: Record<string, string>;
  owner?: OwnerReference;
  phase?: string;
  ready?: boolean;
  /** When Ready turned true (ms). */
  readySince?: number;
  created?: number;
  nodeName?: string;
  deleting?: boolean;
  annotations?: Record<string, string>;
}

export function pod(name: string, o: PodOptions = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: newUid(),
      resourceVersion: '1',
      labels: o.labels ?? { app: 'web' },
      annotations: o.annotations,
      creationTimestamp: iso(o.created ?? testEpoch),
      ownerReferences: o.owner ? [o.owner] : undefined,
      deletionTimestamp: o.deleting ? iso(testEpoch) : undefined,
    },
    spec: { containers: [{ name: 'c', image: 'busybox' }], nodeName: o.nodeName },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready === false ? 'False' : 'True',
          lastTransitionTime: iso(o.readySince ?? testEpoch),
        },
      ],
    },
  };
}

export function ownerRef(kind: string, obj: { metadata: { name?: string; uid?: string } }): OwnerReference {
  return {
    apiVersion: kind === 'Job' ? 'batch/v1' : 'apps/v1',
    kind,
    name: obj.metadata.name!,
    uid: obj.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export const template = (labels: Record<string, string> = { app: 'web' }, image = 'busybox') => ({
  metadata: { labels },
  spec: { containers: [{ name: 'c', image }] },
});
