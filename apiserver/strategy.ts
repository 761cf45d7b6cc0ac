/**
 * Per-kind behaviour of the generic store, as Kubernetes' registry
 * strategies: what create and update may change, when generation moves, and
 * how delete is graceful. Defaulting and validation live with the types in
 * api/; this is the part that depends on the old object or on the verb.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import type { CertificateSigningRequest as CSR } from '../api/types/certificates.js';
import {
  prepareCSRForApprovalUpdate,
  prepareCSRForCreate,
  prepareCSRForStatusUpdate,
  prepareCSRForUpdate,
} from '../api/types/certificates-strategy.js';
import { dropNonEphemeralContainerUpdates, type Pod } from '../api/types/pod.js';
import {
  type PersistentVolume,
  preparePersistentVolumeForCreate,
  preparePersistentVolumeForStatusUpdate,
} from '../api/types/storage.js';
import type { UserInfo } from './authn.js';
import { timestamp } from './store.js';

export interface Strategy {
  /**
   * Called on create before defaults: clears what a client may not set.
   * `user` is who sent the request, for kinds that record it (the requestor of a CSR).
   */
  prepareForCreate(obj: KubeObject, user?: UserInfo): void;
  /** Called on update of the main resource: keeps what only subresources may change. */
  prepareForUpdate(obj: KubeObject, old: KubeObject): void;
  /** Called on update through /status: only status (and metadata) may change. */
  prepareForStatusUpdate(obj: KubeObject, old: KubeObject): void;
  /** Called on update through /approval (CertificateSigningRequests): only the approval conditions may change. */
  prepareForApprovalUpdate(obj: KubeObject, old: KubeObject): void;
  /** Called on update through /ephemeralcontainers (Pods): only spec.ephemeralContainers may change. */
  prepareForEphemeralContainersUpdate(obj: KubeObject, old: KubeObject): void;
  /** Seconds of graceful deletion for this object, or 0 to delete now. */
  gracePeriod(obj: KubeObject, requested: number | undefined): number;
}

/** Fields that are neither metadata nor status: their change bumps generation. */
function specOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

function hasSpec(rt: ResourceType): boolean {
  const props = (rt.schema as { properties?: Record<string, unknown> }).properties ?? {};
  return 'spec' in props;
}

/** Kinds whose status a client may set on create (the rest start with an empty status). */
const statusKeptOnCreate = new Set(['Node', 'Event', 'Lease', 'Namespace']);

/** The store's strategy for `rt`; `now` stamps the conditions a strategy fills in. */
export function strategyFor(rt: ResourceType, now: () => Date = () => new Date()): Strategy {
  const base = genericStrategy(rt);
  if (rt.group === 'certificates.k8s.io' && rt.kind === 'CertificateSigningRequest')
    return csrStrategy(base, now);
  if (rt.group === '' && rt.kind === 'Pod') return podStrategy(base);
  if (rt.group === '' && rt.kind === 'PersistentVolume') return persistentVolumeStrategy(base, now);
  return base;
}

/** A Pod: the generic rules, and its ephemeralcontainers subresource (api/types/pod-ephemeral.ts). */
function podStrategy(base: Strategy): Strategy {
  return {
    ...base,
    prepareForEphemeralContainersUpdate(obj, old) {
      dropNonEphemeralContainerUpdates(obj as Pod, old as Pod);
      // A new ephemeral container is a change of spec, as through the main resource.
      const gen = old.metadata.generation ?? 1;
      obj.metadata.generation = specOf(obj) === specOf(old) ? gen : gen + 1;
    },
  };
}

/** A CertificateSigningRequest: the generic rules, then csrStrategy's (api/types/certificates-strategy.ts). */
function csrStrategy(base: Strategy, now: () => Date): Strategy {
  return {
    ...base,
    prepareForCreate(obj, user) {
      base.prepareForCreate(obj, user);
      prepareCSRForCreate(obj as CSR, user);
    },
    prepareForUpdate(obj, old) {
      prepareCSRForUpdate(obj as CSR, old as CSR);
      base.prepareForUpdate(obj, old);
    },
    prepareForStatusUpdate(obj, old) {
      base.prepareForStatusUpdate(obj, old);
      prepareCSRForStatusUpdate(obj as CSR, old as CSR, timestamp(now()));
    },
    prepareForApprovalUpdate(obj, old) {
      // Metadata as through /status; then only the conditions come from the body.
      base.prepareForStatusUpdate(obj, old);
      prepareCSRForApprovalUpdate(obj as CSR, old as CSR, timestamp(now()));
    },
  };
}

/** A PersistentVolume: the generic rules, and its phase's lastPhaseTransitionTime (api/types/storage.ts). */
function persistentVolumeStrategy(base: Strategy, now: () => Date): Strategy {
  return {
    ...base,
    prepareForCreate(obj, user) {
      base.prepareForCreate(obj, user);
      preparePersistentVolumeForCreate(obj as PersistentVolume, timestamp(now()));
    },
    prepareForStatusUpdate(obj, old) {
      base.prepareForStatusUpdate(obj, old);
      preparePersistentVolumeForStatusUpdate(
        obj as PersistentVolume,
        old as PersistentVolume,
        timestamp(now()),
      );
    },
  };
}

function genericStrategy(rt: ResourceType): Strategy {
  const withStatus = rt.subresources.includes('status');
  const tracksGeneration = hasSpec(rt);
  return {
    prepareForCreate(obj) {
      if (withStatus && !statusKeptOnCreate.has(rt.kind)) delete obj.status;
      if (tracksGeneration) obj.metadata.generation = 1;
      else delete obj.metadata.generation;
    },
    prepareForUpdate(obj, old) {
      if (withStatus) {
        if (old.status === undefined) delete obj.status;
        else obj.status = structuredClone(old.status);
      }
      if (tracksGeneration) {
        const gen = old.metadata.generation ?? 1;
        obj.metadata.generation = specOf(obj) === specOf(old) ? gen : gen + 1;
      } else {
        delete obj.metadata.generation;
      }
    },
    prepareForStatusUpdate(obj, old) {
      for (const k of Object.keys(obj)) {
        if (k !== 'metadata' && k !== 'status' && k !== 'apiVersion' && k !== 'kind') delete obj[k];
      }
      for (const [k, v] of Object.entries(old)) {
        if (k !== 'metadata' && k !== 'status') obj[k] = structuredClone(v);
      }
      obj.metadata.generation = old.metadata.generation;
      if (obj.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) {
        obj.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      }
    },
    prepareForApprovalUpdate() {
      throw new Error(`${rt.kind} has no approval subresource`);
    },
    prepareForEphemeralContainersUpdate() {
      throw new Error(`${rt.kind} has no ephemeralcontainers subresource`);
    },
    gracePeriod(obj, requested) {
      if (rt.kind !== 'Pod') return 0;
      const pod = obj as {
        spec?: { nodeName?: string; terminationGracePeriodSeconds?: number };
        status?: { phase?: string };
      };
      // A pod that never ran, or has finished, has nothing to stop: it goes at once.
      if (!pod.spec?.nodeName) return 0;
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return 0;
      const grace = requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      return Math.max(0, grace);
    },
  };
}
