/**
 * Test fakes for the cluster controllers (nodeipam, namespace, garbage
 * collector, endpoints, node lifecycle, pod GC, storage): an in-memory API
 * behind a RestClient-shaped object that records every write, and a
 * ControllerContext whose informers are never started, so a test seeds their
 * stores directly and calls `sync(key)`.
 */
import pino from 'pino';
import { Registry as MetricsRegistry } from 'prom-client';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceType } from '../api/registry.js';
import { newAlreadyExists, newNotFound, StatusError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import { mergePatch } from '../apiserver/json-patch.js';
import { FakeClock } from '../client/clock.js';
import type { EventRecorder } from '../client/events.js';
import { keyOf } from '../client/indexer.js';
import { InformerFactory, type SharedInformer } from '../client/informer.js';
import type { RequestOptions, RestClient } from '../client/rest.js';
import type { ControllerContext, ControllerManagerConfig } from '../controller-manager/controller.js';

interface Target {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Parses an API path into its resource, namespace, name and subresource. */
function parsePath(path: string): Target {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [group, version, rest] =
    parts[0] === 'api' ? ['', parts[1], parts.slice(2)] : [parts[1], parts[2], parts.slice(3)];
  let namespace: string | undefined;
  let i = 0;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    i = 2;
  }
  const rt = builtinRegistry.get(group, version, rest[i]);
  if (!rt) {
    // /api/v1/namespaces/{name}[/sub] is the namespace object itself.
    if (namespace && rest[0] === 'namespaces')
      return { rt: builtinRegistry.get('', 'v1', 'namespaces')!, name: rest[1], subresource: rest[2] };
    throw new Error(`fake API: unknown path ${path}`);
  }
  return { rt, namespace, name: rest[i + 1], subresource: rest[i + 2] };
}

/** One call the fake API answered: `create pods ns/name`, `patch nodes n1`, `update namespaces/finalize ns`. */
export interface Action {
  verb: 'get' | 'list' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  resource: string;
  key: string;
  body?: any;
  query?: Record<string, unknown>;
}

/** An in-memory API server for one test: objects by resource and key. */
export class FakeApi {
  readonly objects = new Map<string, KubeObject>();
  readonly actions: Action[] = [];
  /** Errors to throw, once each, for the first action matching `verb resource[/sub] key`. */
  readonly failures = new Map<string, StatusError>();
  private rv = 1000;
  private uid = 0;

  /** The RestClient the controllers use. */
  get rest(): RestClient {
    return {
      request: (o: RequestOptions) => this.request(o),
      streamLines: () => {
        throw new Error('fake API: no watches in unit tests');
      },
    } as unknown as RestClient;
  }

  private id(rt: ResourceType, key: string): string {
    return `${rt.plural}|${key}`;
  }

  /** Stores an object as if it had been created; fills uid and resourceVersion. */
  put<T extends KubeObject>(plural: string, obj: T): T {
    const rt = builtinRegistry.resolve(plural)!;
    obj.apiVersion ??= apiVersionOf(rt);
    obj.kind ??= rt.kind;
    obj.metadata.uid ??= `uid-${++this.uid}`;
    obj.metadata.resourceVersion = String(++this.rv);
    obj.metadata.creationTimestamp ??= '2024-01-01T00:00:00Z';
    this.objects.set(this.id(rt, keyOf(obj)), obj);
    return obj;
  }

  get(plural: string, key: string): KubeObject | undefined {
    return this.objects.get(this.id(builtinRegistry.resolve(plural)!, key));
  }

  list(plural: string): KubeObject[] {
    const rt = builtinRegistry.resolve(plural)!;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${rt.plural}|`)).map(([, o]) => o);
  }

  /** Writes, as `verb resource key`, e.g. `delete pods ns/p1`. */
  writes(): string[] {
    return this.actions
      .filter((a) => a.verb !== 'get' && a.verb !== 'list')
      .map((a) => `${a.verb} ${a.resource} ${a.key}`);
  }

  /** Deletes as the apiserver does: objects with finalizers (or asking for some) are only marked. */
  private remove(id: string, cur: KubeObject, policy?: string): KubeObject {
    const fin = new Set(cur.metadata.finalizers ?? []);
    if (!cur.metadata.deletionTimestamp && policy === 'Foreground') fin.add('foregroundDeletion');
    if (!cur.metadata.deletionTimestamp && policy === 'Orphan') fin.add('orphan');
    if (fin.size === 0) {
      this.objects.delete(id);
      return cur;
    }
    const next = structuredClone(cur);
    next.metadata.finalizers = [...fin];
    next.metadata.deletionTimestamp ??= '2024-01-01T00:00:00Z';
    next.metadata.resourceVersion = String(++this.rv);
    this.objects.set(id, next);
    return next;
  }

  private async request(o: RequestOptions): Promise<any> {
    // Aggregated discovery: nothing beyond the built-in kinds.
    if (o.path === '/apis' && o.method === 'GET') return { items: [] };
    const t = parsePath(o.path);
    const body = typeof o.body === 'string' ? JSON.parse(o.body) : o.body;
    const verb = verbOf(o.method, t.name);
    const name =
      verb === 'create' ? (body?.metadata?.name ?? body?.metadata?.generateName ?? '') : (t.name ?? '');
    const key = t.namespace ? `${t.namespace}/${name}` : name;
    const resource = t.subresource ? `${t.rt.plural}/${t.subresource}` : t.rt.plural;
    const action: Action = { verb, resource, key, body, query: o.query };
    this.actions.push(action);
    const fkey = `${verb} ${resource} ${key}`;
    const failure = this.failures.get(fkey);
    if (failure) {
      this.failures.delete(fkey);
      throw failure;
    }
    const gr = { group: t.rt.group, resource: t.rt.plural };
    const id = this.id(t.rt, key);
    switch (verb) {
      case 'get': {
        const obj = this.objects.get(id);
        if (!obj) throw newNotFound(gr, t.name!);
        return structuredClone(obj);
      }
      case 'list': {
        const prefix = `${t.rt.plural}|${t.namespace ? `${t.namespace}/` : ''}`;
        const items = [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
        return {
          apiVersion: 'v1',
          kind: `${t.rt.kind}List`,
          metadata: { resourceVersion: String(this.rv) },
          items,
        };
      }
      case 'create': {
        const obj = structuredClone(body) as KubeObject;
        if (t.namespace) obj.metadata.namespace = t.namespace;
        if (!obj.metadata.name && obj.metadata.generateName)
          obj.metadata.name = `${obj.metadata.generateName}${++this.uid}`;
        if (this.objects.has(this.id(t.rt, keyOf(obj)))) throw newAlreadyExists(gr, obj.metadata.name!);
        delete obj.metadata.uid;
        return structuredClone(this.put(t.rt.plural, obj));
      }
      case 'update': {
        if (!this.objects.has(id)) throw newNotFound(gr, t.name!);
        const obj = structuredClone(body) as KubeObject;
        obj.metadata.uid = this.objects.get(id)!.metadata.uid;
        return structuredClone(this.put(t.rt.plural, obj));
      }
      case 'patch': {
        const cur = this.objects.get(id);
        if (!cur) throw newNotFound(gr, t.name!);
        const want = body?.metadata?.resourceVersion;
        if (want && want !== cur.metadata.resourceVersion)
          throw new StatusError(409, 'Conflict', `stale resourceVersion for ${key}`);
        const obj = mergePatch(structuredClone(cur), body) as KubeObject;
        return structuredClone(this.put(t.rt.plural, obj));
      }
      case 'delete': {
        const cur = this.objects.get(id);
        if (!cur) throw newNotFound(gr, t.name!);
        return structuredClone(this.remove(id, cur, body?.propagationPolicy));
      }
      case 'deletecollection': {
        const prefix = `${t.rt.plural}|${t.namespace ? `${t.namespace}/` : ''}`;
        const gone = [...this.objects.entries()].filter(([k]) => k.startsWith(prefix));
        for (const [k, obj] of gone) this.remove(k, obj, body?.propagationPolicy);
        return { apiVersion: 'v1', kind: `${t.rt.kind}List`, metadata: {}, items: [] };
      }
    }
  }
}

function verbOf(method: string, name: string | undefined): Action['verb'] {
  switch (method) {
    case 'GET':
      return name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    default:
      return name ? 'delete' : 'deletecollection';
  }
}

/** Events a controller recorded: `Type Reason key: message`. */
export class FakeRecorder {
  readonly events: string[] = [];
  event(obj: KubeObject, type: string, reason: string, message: string): void {
    this.events.push(`${type} ${reason} ${keyOf(obj)}: ${message}`);
  }
  eventf(obj: KubeObject, type: string, reason: string, fmt: string, ...args: unknown[]): void {
    this.event(obj, type, reason, [fmt, ...args].join(' '));
  }
  async flush(): Promise<void> {}
}

export const testConfig: ControllerManagerConfig = {
  clusterCIDR: '10.244.0.0/16',
  nodeCIDRMaskSize: 24,
  allocateNodeCIDRs: true,
  nodeMonitorGracePeriodMs: 40_000,
  concurrentSyncs: 1,
  terminatedPodGCThreshold: 12_500,
};

export interface TestCluster {
  api: FakeApi;
  ctx: ControllerContext;
  clock: FakeClock;
  recorder: FakeRecorder;
  /** The informer a controller made for `plural` (its store is what `sync` reads). */
  informer<T extends KubeObject = KubeObject>(plural: string): SharedInformer<T>;
  /** Puts objects in the fake API and in the informer store of their kind. */
  seed(plural: string, ...objs: KubeObject[]): void;
}

export function testCluster(
  config: Partial<ControllerManagerConfig> = {},
  startMs = Date.UTC(2024, 0, 1),
): TestCluster {
  const api = new FakeApi();
  const clock = new FakeClock(startMs);
  const recorder = new FakeRecorder();
  const logger = pino({ level: 'silent' });
  const informers = new InformerFactory({ rest: api.rest, registry: builtinRegistry, logger, clock });
  const ctx: ControllerContext = {
    rest: api.rest,
    informers,
    registry: builtinRegistry,
    logger,
    clock,
    recorder: () => recorder as unknown as EventRecorder,
    metrics: new MetricsRegistry(),
    config: { ...testConfig, ...config },
  };
  const informer = <T extends KubeObject>(plural: string) => informers.forResource<T>(plural);
  return {
    api,
    ctx,
    clock,
    recorder,
    informer,
    seed(plural, ...objs) {
      for (const o of objs) informer(plural).store.upsert(api.put(plural, o));
    },
  };
}
