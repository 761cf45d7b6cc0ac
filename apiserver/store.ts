/**
 * The generic store: every verb on every kind, over etcd, with the per-kind
 * strategy plugged in. Compare-and-swap failures become Kubernetes Status
 * errors here, at the storage boundary.
 */

import { randomUUID } from 'node:crypto';
import type { KubeObject } from '../api/meta.js';
import { own } from '../api/plain.js';
import { apiVersionOf, type ResourceType, storagePrefixOf } from '../api/registry.js';
import {
  type GroupResource,
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newNotFound,
  newResourceExpired,
  optimisticLockMessage,
  StatusError,
} from '../api/status.js';
import { metaTime } from '../api/time.js';
import {
  type Admission,
  type AdmissionAttributes,
  applyDefaults,
  checkSchema,
  checkTypeMeta,
  type FieldValidation,
  type MutatingAdmission,
  runMutatingAdmission,
  runValidatingAdmission,
  type ValidatingAdmission,
  validate,
} from './admission.js';
import type { UserInfo } from './authn.js';
import { CompactedError, type ObjectStorage, type StoredObject } from './etcd.js';
import { compileFilter, type ObjectFilter } from './filter.js';
import type { Strategy, SubresourceUpdate } from './strategy.js';
import type { CacheEntry, WatchCache } from './watch-cache.js';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Warnings for the response's Warning headers are pushed here. */
  warnings?: string[];
  /**
   * Records field ownership (managedFields) once the object is final:
   * after defaults and validation, before the write. `old` is undefined on create.
   */
  manage?: (obj: KubeObject, old: KubeObject | undefined) => void;
  /** Keep managedFields a create sent (server-side apply sets them itself). */
  keepManagedFields?: boolean;
  /** Who sent the write, as Kubernetes' request context carries it: a CSR's requestor on create. */
  user?: UserInfo;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  entries: CacheEntry[];
  rv: number;
  continue?: string;
  remaining?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** Who asked (runs the validating admission chain); unset for the apiserver's own deletes. */
  user?: UserInfo;
  /** `eviction` when the delete comes through pods/{name}/eviction. */
  subresource?: string;
}

export interface DeleteResult {
  obj: KubeObject;
  /** False when the object is still there, waiting for finalizers or graceful termination. */
  deleted: boolean;
}

/**
 * Checks that a namespace exists and accepts new objects; `gr` and `name`
 * are the object being created, which a Forbidden error names.
 */
export type NamespaceGuard = (namespace: string, gr: GroupResource, name: string) => Promise<void>;

export interface ResourceStoreOptions {
  rt: ResourceType;
  etcd: ObjectStorage;
  cache: WatchCache;
  strategy: Strategy;
  namespaceGuard: NamespaceGuard;
  now?: () => Date;
  /** The kind's own admission steps (kinds/), bound to what they read. */
  admission?: Admission;
  /** The validating admission chain every write by a user passes (RBAC escalation, NodeRestriction...). */
  validators?: readonly ValidatingAdmission[];
  /** The mutating admission chain every create and update by a user passes (the mutating webhooks). */
  mutators?: readonly MutatingAdmission[];
}

/** RFC 3339 with second precision, as metav1.Time marshals. */
const nameChars = 'bcdfghjklmnpqrstvwxz2456789';
/** Five characters as Kubernetes' utilrand.String(5): for generateName and generated volume names. */
export function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += nameChars[Math.floor(Math.random() * nameChars.length)];
  return s;
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string')
      throw new Error('bad');
    return t;
  } catch {
    throw newBadRequest(
      'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
    );
  }
}

const maxUpdateAttempts = 16;

export class ResourceStore {
  readonly rt: ResourceType;
  readonly gr: GroupResource;
  readonly cache: WatchCache;
  private readonly etcd: ObjectStorage;
  private readonly strategy: Strategy;
  private readonly namespaceGuard: NamespaceGuard;
  private readonly admission: Admission;
  private readonly validators: readonly ValidatingAdmission[];
  private readonly mutators: readonly MutatingAdmission[];
  private readonly now: () => Date;

  constructor(opts: ResourceStoreOptions) {
    this.rt = opts.rt;
    this.gr = { group: opts.rt.group, resource: opts.rt.plural };
    this.etcd = opts.etcd;
    this.cache = opts.cache;
    this.strategy = opts.strategy;
    this.namespaceGuard = opts.namespaceGuard;
    this.admission = opts.admission ?? {};
    this.validators = opts.validators ?? [];
    this.mutators = opts.mutators ?? [];
    this.now = opts.now ?? (() => new Date());
  }

  /** `/registry/{plural}/` or `/registry/{plural}/{ns}/` (a custom resource's under its group). */
  prefix(namespace?: string): string {
    const root = storagePrefixOf(this.rt);
    return namespace && this.rt.namespaced ? `${root}${namespace}/` : root;
  }

  key(namespace: string | undefined, name: string): string {
    const root = storagePrefixOf(this.rt);
    return this.rt.namespaced ? `${root}${namespace}/${name}` : `${root}${name}`;
  }

  filter(
    namespace: string | undefined,
    opts: { labelSelector?: string; fieldSelector?: string },
  ): ObjectFilter {
    return compileFilter(this.rt, namespace, opts.labelSelector, opts.fieldSelector);
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const s = await this.etcd.get(this.key(namespace, name));
    if (!s) throw newNotFound(this.gr, name);
    return s.obj;
  }

  async list(namespace: string | undefined, opts: ListOptions): Promise<ListResult> {
    const filter = this.filter(namespace, opts);
    if (opts.continue || (opts.limit && opts.limit > 0) || opts.resourceVersionMatch === 'Exact') {
      return this.listFromEtcd(namespace, filter, opts);
    }
    // rv "0": any state is fine; otherwise the cache must provably equal etcd now.
    let rv: number | undefined;
    if (opts.resourceVersion === '0') rv = this.cache.rv;
    else if (opts.resourceVersion) {
      const want = Number(opts.resourceVersion);
      if (!Number.isInteger(want) || want < 0)
        throw newBadRequest(`invalid resourceVersion "${opts.resourceVersion}"`);
      rv = (await this.cache.waitUntilFresh(want, 3000)) ? this.cache.rv : undefined;
      if (rv === undefined)
        throw new StatusError(
          504,
          'Timeout',
          `Too large resource version: ${want}, current: ${this.cache.rv}`,
        );
    } else {
      rv = await this.cache.syncToLatest();
    }
    if (rv === undefined) return this.listFromEtcd(namespace, filter, opts);
    const prefix = this.prefix(namespace);
    const entries: CacheEntry[] = [];
    for (const e of this.cache.items.values()) {
      if (e.key.startsWith(prefix) && filter.matches(e.obj)) entries.push(e);
    }
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { entries, rv };
  }

  private async listFromEtcd(
    namespace: string | undefined,
    filter: ObjectFilter,
    opts: ListOptions,
  ): Promise<ListResult> {
    const prefix = this.prefix(namespace);
    let revision = 0;
    let start = prefix;
    if (opts.continue) {
      const t = decodeContinue(opts.continue);
      revision = t.rv;
      start = prefix + t.start;
    } else if (opts.resourceVersionMatch === 'Exact' && opts.resourceVersion) {
      revision = Number(opts.resourceVersion);
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const entries: CacheEntry[] = [];
    try {
      for (;;) {
        const page = await this.etcd.list(prefix, {
          revision,
          startKey: start,
          limit: limit ? limit - entries.length : 0,
        });
        revision = page.revision && !revision ? page.revision : revision || page.revision;
        for (const s of page.items) if (filter.matches(s.obj)) entries.push(s);
        if (!page.more || !page.lastKey) return { entries, rv: revision };
        start = `${page.lastKey}\u0000`;
        if (entries.length >= limit) {
          return {
            entries,
            rv: revision,
            continue: encodeContinue(revision, start.slice(prefix.length)),
            remaining: filter.empty ? page.remaining : undefined,
          };
        }
      }
    } catch (err) {
      if (err instanceof CompactedError) {
        throw newResourceExpired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        );
      }
      throw err;
    }
  }

  async create(namespace: string | undefined, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    checkTypeMeta(this.rt, body, { fromPath: true });
    const obj = body;
    this.placeInNamespace(obj, namespace);
    opts.warnings?.push(...checkSchema(this.rt, obj, opts.fieldValidation ?? 'Warn'));
    const meta = obj.metadata;
    const generated = !meta.name && !!meta.generateName;
    if (generated) meta.name = meta.generateName + randomSuffix();
    meta.uid = randomUUID();
    meta.creationTimestamp = metaTime(this.now().getTime());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    const sentManagedFields = meta.managedFields;
    delete meta.managedFields;
    this.strategy.prepareForCreate(obj, opts.user);
    applyDefaults(this.rt, obj);
    await this.admission.mutateOnCreate?.(obj);
    const admitted = this.attributes('CREATE', meta.namespace, meta.name!, undefined, obj, undefined, opts);
    if (admitted) await runMutatingAdmission(this.mutators, admitted);
    validate(this.rt, obj);
    if (sentManagedFields !== undefined && opts.keepManagedFields) meta.managedFields = sentManagedFields;
    opts.manage?.(obj, undefined);
    if (this.rt.namespaced) await this.namespaceGuard(meta.namespace!, this.gr, meta.name!);
    if (admitted) await runValidatingAdmission(this.validators, admitted);
    if (opts.dryRun) return obj;
    const claims = await this.admission.admit?.(obj, undefined);
    for (let attempt = 0; ; attempt++) {
      const res = await this.etcd.create(this.key(meta.namespace, meta.name!), obj).catch(async (err) => {
        await claims?.rollback();
        throw err;
      });
      if (res.ok) return res.stored.obj;
      if (!generated || attempt >= 8) {
        await claims?.rollback();
        throw newAlreadyExists(this.gr, meta.name!);
      }
      meta.name = meta.generateName + randomSuffix();
    }
  }

  private placeInNamespace(obj: KubeObject, namespace: string | undefined): void {
    if (!this.rt.namespaced) {
      delete obj.metadata.namespace;
      return;
    }
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw newBadRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = namespace;
  }

  /**
   * Replaces the object (PUT). With a resourceVersion in the body the write
   * is conditional (409 if stale); without one it applies to the latest.
   */
  async update(
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: string | undefined,
    opts: WriteOptions = {},
  ): Promise<KubeObject> {
    checkTypeMeta(this.rt, body, { fromPath: true });
    const obj = body;
    if (obj.metadata.name && obj.metadata.name !== name) {
      throw newBadRequest(
        `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
      );
    }
    obj.metadata.name = name;
    this.placeInNamespace(obj, namespace);
    opts.warnings?.push(...checkSchema(this.rt, obj, opts.fieldValidation ?? 'Warn'));
    const expected = obj.metadata.resourceVersion ? Number(obj.metadata.resourceVersion) : undefined;
    return this.guaranteedUpdate(namespace, name, subresource, opts, expected, () => structuredClone(obj));
  }

  /**
   * Read-modify-write with compare-and-swap: `mutate` gets the current object
   * and returns the desired one. Retried on a lost race unless the caller
   * pinned a resourceVersion, in which case a lost race is 409 Conflict.
   */
  async guaranteedUpdate(
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    opts: WriteOptions,
    expectedRv: number | undefined,
    mutate: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    const key = this.key(namespace, name);
    for (let attempt = 0; attempt < maxUpdateAttempts; attempt++) {
      const cur = await this.etcd.get(key);
      if (!cur) throw newNotFound(this.gr, name);
      if (expectedRv !== undefined && expectedRv !== cur.rv)
        throw newConflict(this.gr, name, optimisticLockMessage);
      const obj = mutate(structuredClone(cur.obj));
      // A resourceVersion that the caller (or its patch) set pins the write to that version.
      const bodyRv = obj.metadata.resourceVersion ? Number(obj.metadata.resourceVersion) : undefined;
      const pinned = expectedRv ?? (bodyRv !== undefined && bodyRv !== cur.rv ? bodyRv : undefined);
      if (pinned !== undefined && pinned !== cur.rv) throw newConflict(this.gr, name, optimisticLockMessage);
      const admitted = this.attributes('UPDATE', namespace, name, subresource, obj, cur.obj, opts);
      await this.prepareUpdate(obj, cur.obj, subresource, admitted);
      if (admitted) {
        this.admission.admitUpdate?.(obj, cur.obj, subresource, admitted.user);
        await runValidatingAdmission(this.validators, admitted);
      }
      const claims =
        subresource === undefined && !opts.dryRun ? await this.admission.admit?.(obj, cur.obj) : undefined;
      opts.manage?.(obj, cur.obj);
      if (sameObject(obj, cur.obj)) return cur.obj;
      if (opts.dryRun) return obj;
      if (
        obj.metadata.deletionTimestamp &&
        this.strategy.pendingFinalizers(obj) === 0 &&
        !this.waitsForGrace(obj)
      ) {
        const res = await this.etcd.delete(key, cur.rv);
        if (res.ok) return res.stored.obj;
      } else {
        const res = await this.etcd.update(key, obj, cur.rv).catch(async (err) => {
          await claims?.rollback();
          throw err;
        });
        if (res.ok) return res.stored.obj;
        await claims?.rollback();
        if (!res.current) throw newNotFound(this.gr, name);
      }
      if (expectedRv !== undefined) throw newConflict(this.gr, name, optimisticLockMessage);
    }
    throw newConflict(this.gr, name, 'too many concurrent writers; please retry');
  }

  private async prepareUpdate(
    obj: KubeObject,
    old: KubeObject,
    subresource: string | undefined,
    admitted: (AdmissionAttributes & { obj: KubeObject }) | undefined,
  ): Promise<void> {
    const m = obj.metadata;
    const o = old.metadata;
    m.uid = o.uid;
    m.creationTimestamp = o.creationTimestamp;
    m.namespace = o.namespace;
    m.name = o.name;
    if (o.deletionTimestamp) m.deletionTimestamp = o.deletionTimestamp;
    else delete m.deletionTimestamp;
    if (o.deletionGracePeriodSeconds !== undefined)
      m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
    else delete m.deletionGracePeriodSeconds;
    delete m.selfLink;
    // A subresource without an update of its own (scale, applied to) updates the main resource.
    const through =
      subresource === undefined
        ? undefined
        : own<SubresourceUpdate>(this.strategy.subresourceUpdates, subresource);
    if (through) through.prepare(obj, old);
    else this.strategy.prepareForUpdate(obj, old);
    applyDefaults(this.rt, obj);
    if (admitted) await runMutatingAdmission(this.mutators, admitted);
    if (!through?.skipValidation) validate(this.rt, obj, old, subresource);
    // A finalizer may be removed while deleting, never added.
    if (o.deletionTimestamp) {
      const before = new Set(o.finalizers ?? []);
      const added = (m.finalizers ?? []).filter((f) => !before.has(f));
      if (added.length > 0) {
        throw newInvalid422(
          this.rt,
          m.name ?? '',
          `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
        );
      }
    }
  }

  /** What the admission chains see of a create or update by a user; undefined for the apiserver's own writes. */
  private attributes(
    operation: 'CREATE' | 'UPDATE',
    namespace: string | undefined,
    name: string,
    subresource: string | undefined,
    obj: KubeObject,
    old: KubeObject | undefined,
    opts: WriteOptions,
  ): (AdmissionAttributes & { obj: KubeObject }) | undefined {
    if (!opts.user) return undefined;
    return {
      operation,
      rt: this.rt,
      namespace: namespace ?? '',
      name,
      subresource: subresource ?? '',
      obj,
      old,
      user: opts.user,
      dryRun: !!opts.dryRun,
      warnings: opts.warnings,
    };
  }

  private waitsForGrace(obj: KubeObject): boolean {
    return (obj.metadata.deletionGracePeriodSeconds ?? 0) > 0;
  }

  async delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    this.admission.admitDelete?.(name, this.gr);
    const key = this.key(namespace, name);
    for (let attempt = 0; attempt < maxUpdateAttempts; attempt++) {
      const cur = await this.etcd.get(key);
      if (!cur) throw newNotFound(this.gr, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.obj.metadata.uid) {
        throw newConflict(
          this.gr,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion && Number(pre.resourceVersion) !== cur.rv) {
        throw newConflict(
          this.gr,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rv}`,
        );
      }
      if (opts.user) {
        const admitted: AdmissionAttributes = {
          operation: 'DELETE',
          rt: this.rt,
          namespace: namespace ?? '',
          name,
          subresource: opts.subresource ?? '',
          old: cur.obj,
          user: opts.user,
          dryRun: !!opts.dryRun,
        };
        await runMutatingAdmission(this.mutators, admitted);
        await runValidatingAdmission(this.validators, admitted);
      }
      const obj = structuredClone(cur.obj);
      const policy = opts.propagationPolicy ?? (opts.orphanDependents ? 'Orphan' : undefined);
      const fin = new Set(obj.metadata.finalizers ?? []);
      if (policy === 'Foreground' && !obj.metadata.deletionTimestamp) fin.add('foregroundDeletion');
      if (policy === 'Orphan' && !obj.metadata.deletionTimestamp) fin.add('orphan');
      if (fin.size > 0) obj.metadata.finalizers = [...fin];
      const grace = this.strategy.gracePeriod(obj, opts.gracePeriodSeconds);
      if (this.strategy.pendingFinalizers(obj) > 0 || grace > 0) {
        // Graceful: mark the object; its owner (kubelet, controllers) finishes the job.
        const now = this.now();
        const prevGrace = obj.metadata.deletionGracePeriodSeconds;
        if (!obj.metadata.deletionTimestamp || (prevGrace !== undefined && grace < prevGrace)) {
          obj.metadata.deletionTimestamp = metaTime(now.getTime() + grace * 1000);
          obj.metadata.deletionGracePeriodSeconds = grace;
        }
        this.strategy.prepareForGracefulDelete(obj);
        if (sameObject(obj, cur.obj)) return { obj: cur.obj, deleted: false };
        if (opts.dryRun) return { obj, deleted: false };
        if (this.strategy.pendingFinalizers(obj) === 0 && grace === 0) {
          const res = await this.etcd.delete(key, cur.rv);
          if (res.ok) return { obj: res.stored.obj, deleted: true };
          continue;
        }
        const res = await this.etcd.update(key, obj, cur.rv);
        if (res.ok) return { obj: res.stored.obj, deleted: false };
        continue;
      }
      if (opts.dryRun) return { obj, deleted: true };
      const res = await this.etcd.delete(key, cur.rv);
      if (res.ok) return { obj: res.stored.obj, deleted: true };
    }
    throw newConflict(this.gr, name, 'too many concurrent writers; please retry');
  }

  /**
   * Deletes every object a list selects and answers, as Kubernetes' DeleteCollection,
   * with that list: the objects as listed and the list's resourceVersion.
   */
  async deleteCollection(
    namespace: string | undefined,
    listOpts: ListOptions,
    opts: DeleteOptions,
  ): Promise<{ items: KubeObject[]; rv: number }> {
    const { entries, rv } = await this.list(namespace, {
      labelSelector: listOpts.labelSelector,
      fieldSelector: listOpts.fieldSelector,
    });
    const queue = [...entries];
    const worker = async () => {
      for (let e = queue.shift(); e; e = queue.shift()) {
        try {
          await this.delete(e.obj.metadata.namespace, e.obj.metadata.name!, opts);
        } catch (err) {
          if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
    return { items: entries.map((e) => e.obj), rv };
  }

  /** The object with apiVersion and kind filled, as served. */
  typed(obj: KubeObject): KubeObject {
    if (obj.apiVersion && obj.kind) return obj;
    return { apiVersion: apiVersionOf(this.rt), kind: this.rt.kind, ...obj };
  }
}

function sameObject(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) =>
    JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined } });
  return strip(a) === strip(b);
}

function newInvalid422(rt: ResourceType, name: string, detail: string): StatusError {
  return new StatusError(
    422,
    'Invalid',
    `${rt.kind} "${name}" is invalid: metadata.finalizers: Forbidden: ${detail}`,
    {
      name,
      kind: rt.plural,
      causes: [
        { reason: 'FieldValueForbidden', field: 'metadata.finalizers', message: `Forbidden: ${detail}` },
      ],
    },
  );
}

export type { StoredObject };
