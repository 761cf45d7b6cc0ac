/**
 * The generic half of Kubernetes' registry strategies: what create and
 * update may change, when generation moves, what a subresource's update
 * keeps, and how delete is graceful. A kind with rules of its own composes
 * them over this one in its entry under kinds/. Defaulting and validation
 * live with the types in api/; this is the part that depends on the old
 * object or on the verb.
 */
import type { KubeObject } from '../api/meta.js';
import type { ResourceType } from '../api/registry.js';
import type { UserInfo } from './authn.js';

/** How an update through one subresource is prepared. */
export interface SubresourceUpdate {
  /** Keeps what this subresource may not change, taking it from `old`. */
  prepare(obj: KubeObject, old: KubeObject): void;
  /** The handler built the object from the stored one (binding): it is not validated again. */
  skipValidation?: boolean;
}

export interface Strategy {
  /**
   * Called on create before defaults: clears what a client may not set.
   * `user` is who sent the request, for kinds that record it (the requestor of a CSR).
   */
  prepareForCreate(obj: KubeObject, user?: UserInfo): void;
  /** Called on update of the main resource (and of subresources without an entry below). */
  prepareForUpdate(obj: KubeObject, old: KubeObject): void;
  /** Updates through a subresource, by its name: status for every kind, and the kind's own. */
  subresourceUpdates: Readonly<Record<string, SubresourceUpdate>>;
  /** Seconds of graceful deletion for this object, or 0 to delete now. */
  gracePeriod(obj: KubeObject, requested: number | undefined): number;
  /** Finalizers that hold an object whose deletion has begun. */
  pendingFinalizers(obj: KubeObject): number;
  /** Called when a delete marks the object instead of removing it (a namespace starts Terminating). */
  prepareForGracefulDelete(obj: KubeObject): void;
}

/**
 * Fields that are neither metadata nor status: their change bumps generation.
 * Without a status subresource, status counts too (Kubernetes' custom
 * resource strategy: status is then written like any other field).
 */
export function specOf(obj: KubeObject, withStatus = true): string {
  const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(withStatus ? rest : { ...rest, status });
}

function hasSpec(rt: ResourceType): boolean {
  const props = (rt.schema as { properties?: Record<string, unknown> }).properties ?? {};
  return 'spec' in props;
}

export interface GenericStrategyOptions {
  /** A client may set status on create (Node, Namespace); other kinds with status start without one. */
  keepsStatusOnCreate?: boolean;
}

/** The strategy of a kind with no rules of its own. */
export function genericStrategy(rt: ResourceType, opts: GenericStrategyOptions = {}): Strategy {
  const withStatus = rt.subresources.includes('status');
  const tracksGeneration = hasSpec(rt);
  return {
    prepareForCreate(obj) {
      if (withStatus && !opts.keepsStatusOnCreate) delete obj.status;
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
        obj.metadata.generation = specOf(obj, withStatus) === specOf(old, withStatus) ? gen : gen + 1;
      } else {
        delete obj.metadata.generation;
      }
    },
    subresourceUpdates: { status: { prepare: prepareForStatusUpdate } },
    gracePeriod: () => 0,
    pendingFinalizers: (obj) => obj.metadata.finalizers?.length ?? 0,
    prepareForGracefulDelete() {},
  };
}

/** Through /status: only status (and metadata) may change. */
export function prepareForStatusUpdate(obj: KubeObject, old: KubeObject): void {
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
}
