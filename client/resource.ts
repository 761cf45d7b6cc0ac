/**
 * Typed access to one resource (optionally in one namespace) over the REST
 * client: the verbs, watch, and the subresources components need.
 */
import type { KubeList, KubeObject } from '../api/meta.js';
import { apiVersionOf, groupVersionPath, type ResourceType } from '../api/registry.js';
import { StatusError } from '../api/status.js';
import type { Query, RestClient } from './rest.js';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WatchOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  signal?: AbortSignal;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  signal?: AbortSignal;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const patchContentTypes: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

/** The parts of a resource the client needs; a registry ResourceType has them all. */
export type ResourceRef = Pick<ResourceType, 'group' | 'version' | 'plural' | 'namespaced' | 'kind'>;

function writeQuery(o: WriteOptions | undefined): Query {
  return {
    dryRun: o?.dryRun ? 'All' : undefined,
    fieldManager: o?.fieldManager,
    fieldValidation: o?.fieldValidation,
  };
}

export class ResourceClient<T extends KubeObject = KubeObject> {
  constructor(
    readonly rest: RestClient,
    readonly rt: ResourceRef,
    /** Namespace for namespaced kinds; undefined means all namespaces (list, watch). */
    readonly namespace?: string,
  ) {}

  /** The same resource in another namespace. */
  in(namespace: string | undefined): ResourceClient<T> {
    return new ResourceClient<T>(this.rest, this.rt, namespace);
  }

  collectionPath(namespace = this.namespace): string {
    const base = groupVersionPath(this.rt);
    return this.rt.namespaced && namespace
      ? `${base}/namespaces/${encodeURIComponent(namespace)}/${this.rt.plural}`
      : `${base}/${this.rt.plural}`;
  }

  objectPath(name: string, subresource?: string, namespace = this.namespace): string {
    if (this.rt.namespaced && !namespace)
      throw new Error(`${this.rt.plural} "${name}": a namespace is required`);
    return `${this.collectionPath(namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
  }

  /** The namespace a write of `obj` goes to; namespaced kinds must have one. */
  private nsOf(obj: KubeObject): string | undefined {
    if (!this.rt.namespaced) return undefined;
    const ns = obj.metadata.namespace ?? this.namespace;
    if (!ns)
      throw new Error(
        `${this.rt.plural} "${obj.metadata.name ?? obj.metadata.generateName ?? ''}": a namespace is required`,
      );
    return ns;
  }

  get(name: string, opts: { resourceVersion?: string; signal?: AbortSignal } = {}): Promise<T> {
    return this.rest.request<T>({
      method: 'GET',
      path: this.objectPath(name),
      query: { resourceVersion: opts.resourceVersion },
      signal: opts.signal,
    });
  }

  /** One page of the collection; its items get apiVersion and kind back, which the server leaves off. */
  async list(opts: ListOptions = {}): Promise<KubeList<T>> {
    const { signal, ...query } = opts;
    return this.withItemTypes(
      await this.rest.request<KubeList<T>>({
        method: 'GET',
        path: this.collectionPath(),
        query: query as Query,
        signal,
      }),
    );
  }

  create(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: 'POST',
      path: this.collectionPath(this.nsOf(obj)),
      query: writeQuery(opts),
      body: this.typed(obj),
      signal: opts?.signal,
    });
  }

  update(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: 'PUT',
      path: this.objectPath(obj.metadata.name!, undefined, this.nsOf(obj)),
      query: writeQuery(opts),
      body: this.typed(obj),
      signal: opts?.signal,
    });
  }

  updateStatus(obj: T, opts?: WriteOptions): Promise<T> {
    return this.rest.request<T>({
      method: 'PUT',
      path: this.objectPath(obj.metadata.name!, 'status', this.nsOf(obj)),
      query: writeQuery(opts),
      body: this.typed(obj),
      signal: opts?.signal,
    });
  }

  patch(
    name: string,
    type: PatchType,
    patch: unknown,
    opts: WriteOptions & { subresource?: string; force?: boolean } = {},
  ): Promise<T> {
    return this.rest.request<T>({
      method: 'PATCH',
      path: this.objectPath(name, opts.subresource),
      query: { ...writeQuery(opts), force: opts.force ? 'true' : undefined },
      body: typeof patch === 'string' ? patch : JSON.stringify(patch),
      contentType: patchContentTypes[type],
      signal: opts.signal,
    });
  }

  delete(name: string, opts: DeleteOptions = {}): Promise<T> {
    const { signal, dryRun, ...rest } = opts;
    return this.rest.request<T>({
      method: 'DELETE',
      path: this.objectPath(name),
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...rest, ...(dryRun ? { dryRun: ['All'] } : {}) },
      signal,
    });
  }

  async deleteCollection(
    list: Pick<ListOptions, 'labelSelector' | 'fieldSelector'>,
    opts: DeleteOptions = {},
  ): Promise<KubeList<T>> {
    const { signal, dryRun, ...rest } = opts;
    const deleted = await this.rest.request<KubeList<T>>({
      method: 'DELETE',
      path: this.collectionPath(),
      query: list as Query,
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...rest, ...(dryRun ? { dryRun: ['All'] } : {}) },
      signal,
    });
    return this.withItemTypes(deleted);
  }

  /**
   * One watch request, as an async stream of events. An ERROR event (such as
   * 410 Gone) is thrown as a StatusError; the stream ends when the server
   * closes it (timeout) or `signal` aborts. With `timeoutSeconds`, a watch
   * that has sent nothing for 30 s longer than that throws StatusError 503.
   * Resuming is the caller's job (see Reflector).
   */
  async *watch(opts: WatchOptions = {}): AsyncGenerator<WatchEvent<T>> {
    const { signal, ...q } = opts;
    const query: Query = {
      ...q,
      watch: 'true',
      allowWatchBookmarks: q.allowWatchBookmarks ? 'true' : undefined,
    };
    // The server ends the watch at timeoutSeconds; one still silent well after that is gone.
    const idleTimeoutMs = q.timeoutSeconds ? (q.timeoutSeconds + 30) * 1000 : undefined;
    const lines = this.rest.streamLines({ path: this.collectionPath(), query, signal, idleTimeoutMs });
    for await (const line of lines) {
      let ev: { type: string; object: unknown };
      try {
        ev = JSON.parse(line);
      } catch {
        throw new StatusError(
          500,
          'InternalError',
          `watch of ${this.rt.plural} sent a line that is not JSON`,
        );
      }
      if (ev.type === 'ERROR') throw StatusError.fromStatus(ev.object as never);
      yield ev as WatchEvent<T>;
    }
  }

  // ---- subresources ----

  bind(name: string, nodeName: string, opts: WriteOptions = {}): Promise<unknown> {
    return this.rest.request({
      method: 'POST',
      path: this.objectPath(name, 'binding'),
      query: writeQuery(opts),
      body: {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace: this.namespace },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      },
      signal: opts.signal,
    });
  }

  getScale(name: string): Promise<Scale> {
    return this.rest.request<Scale>({ method: 'GET', path: this.objectPath(name, 'scale') });
  }

  scale(name: string, replicas: number, opts: WriteOptions = {}): Promise<Scale> {
    return this.rest.request<Scale>({
      method: 'PATCH',
      path: this.objectPath(name, 'scale'),
      query: writeQuery(opts),
      body: JSON.stringify({ spec: { replicas } }),
      contentType: patchContentTypes.merge,
    });
  }

  evict(name: string, deleteOptions: Omit<DeleteOptions, 'signal'> = {}): Promise<unknown> {
    return this.rest.request({
      method: 'POST',
      path: this.objectPath(name, 'eviction'),
      body: {
        apiVersion: 'policy/v1',
        kind: 'Eviction',
        metadata: { name, namespace: this.namespace },
        deleteOptions,
      },
    });
  }

  /** Pod logs, whole; `logStream` streams them. */
  log(name: string, opts: LogOptions = {}): Promise<string> {
    return this.rest.request<string>({
      method: 'GET',
      path: this.objectPath(name, 'log'),
      query: logQuery(opts),
      accept: 'text/plain',
    });
  }

  /** Pod logs as their bytes arrive; with `follow`, until the container stops or `signal` aborts. */
  logStream(
    name: string,
    opts: LogOptions & { follow?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<Buffer> {
    return this.rest.streamChunks({
      path: this.objectPath(name, 'log'),
      query: { ...logQuery(opts), follow: opts.follow ? 'true' : undefined },
      accept: 'text/plain',
      signal: opts.signal,
    });
  }

  /**
   * A list's items as typed objects: Kubernetes writes a built-in kind's list
   * items without apiVersion and kind, and clients fill them back in (kubectl
   * does for `get -o yaml`), so code that reads an item's kind keeps working.
   */
  private withItemTypes(list: KubeList<T>): KubeList<T> {
    for (const it of list.items ?? []) {
      it.apiVersion ??= apiVersionOf(this.rt);
      it.kind ??= this.rt.kind;
    }
    return list;
  }

  private typed(obj: T): T {
    if (obj.apiVersion && obj.kind) return obj;
    return { ...obj, apiVersion: apiVersionOf(this.rt), kind: this.rt.kind };
  }
}

export interface LogOptions {
  container?: string;
  previous?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps?: boolean;
}

function logQuery(o: LogOptions): Query {
  return {
    container: o.container,
    previous: o.previous ? 'true' : undefined,
    tailLines: o.tailLines,
    sinceSeconds: o.sinceSeconds,
    timestamps: o.timestamps ? 'true' : undefined,
  };
}

export interface Scale {
  apiVersion: string;
  kind: 'Scale';
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: { replicas: number };
  status: { replicas: number; selector?: string };
}
