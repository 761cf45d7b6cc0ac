/**
 * The storage half of the apiserver: one etcd client, one watch cache and
 * one store per resource, each store wired to its kind's strategy and
 * admission (kinds/) and to the validating admission chain every write by a
 * user passes; and what keeps etcd tidy (default namespaces, compaction).
 */
import type { Logger } from 'pino';
import type { Counter, Registry as MetricsRegistry } from 'prom-client';
import { type Registry, type ResourceType, storagePrefixOf } from '../api/registry.js';
import { type GroupResource, isAlreadyExists, isNotFound, newForbidden, newNotFound } from '../api/status.js';
import { realClock } from '../client/clock.js';
import type { Admission, AdmissionAttributes, ValidatingAdmission } from './admission.js';
import type { Authorizer, RbacAuthorizer } from './authz.js';
import { codecFor, type parseEncryptionConfig } from './encryption.js';
import { EtcdStore, type EtcdTLS, type ObjectStorage } from './etcd.js';
import { kindOf, strategyFor } from './kinds/index.js';
import type { AdmissionContext } from './kinds/kind.js';
import { defaultNamespaces } from './kinds/namespaces.js';
import { nodeRestriction } from './node-restriction.js';
import { rbacEscalation } from './rbac-escalation.js';
import { ServiceAllocator } from './service-alloc.js';
import { type NamespaceGuard, ResourceStore } from './store.js';
import { WatchCache } from './watch-cache.js';
import { type WebhookConfiguration, WebhookDispatcher } from './webhooks/dispatcher.js';

export interface StorageOptions {
  etcdServers: string[];
  etcdTLS?: EtcdTLS;
  encryption?: ReturnType<typeof parseEncryptionConfig>;
  watchCacheSize: number;
  serviceClusterIPRange: string;
  serviceNodePortRange: string;
  /** Issues service account tokens: pods get the token volume. */
  mountServiceAccountToken: boolean;
  /** NodeRestriction goes with the Node authorizer, as Kubernetes pairs them. */
  nodeRestriction: boolean;
  registry: Registry;
  logger: Logger;
  /** Counts stored values a list or watch leaves out because they cannot be decoded. */
  decodeErrors: Counter<'resource'>;
  /** Where the admission webhooks' metrics go (/metrics); unset: not counted. */
  metrics?: MetricsRegistry;
  /** The authorizers, built from the stores after them; called at request time only. */
  authorization: () => { authorizer: Authorizer; rbac?: RbacAuthorizer };
}

export interface Storage {
  etcd: EtcdStore;
  caches: WatchCache[];
  stores: Map<ResourceType, ResourceStore>;
  /** The store of a kind this server serves. */
  store(group: string, version: string, plural: string): ResourceStore | undefined;
  serviceAllocator: ServiceAllocator;
  /** Admission of a CONNECT (pods/exec, attach, portforward): the mutating, then the validating webhooks. */
  admitConnect(a: AdmissionAttributes): Promise<void>;
  /**
   * A new watch cache and store for `rt`, wired as every store is; the
   * caller adds them to `caches` and `stores` and runs the cache (custom
   * resources, served while their definition is).
   */
  build(rt: ResourceType, opts?: BuildOptions): { cache: WatchCache; store: ResourceStore };
}

export interface BuildOptions {
  /** Reads and writes through this instead of etcd itself (a custom resource's version conversion). */
  etcd?: ObjectStorage;
  /** Instead of the kind's own admission steps. */
  admission?: Admission;
}

/** The etcd client, caches and stores; nothing runs until the caches' loops start. */
export function buildStorage(o: StorageOptions): Storage {
  const { registry, logger } = o;
  const etcd = newEtcd(o);
  const stores = new Map<ResourceType, ResourceStore>();
  const store = (group: string, version: string, plural: string) => {
    const rt = registry.get(group, version, plural);
    return rt && stores.get(rt);
  };
  const serviceAllocator = new ServiceAllocator(
    etcd,
    { clusterIPRange: o.serviceClusterIPRange, nodePortRange: o.serviceNodePortRange },
    logger,
  );
  const ctx: AdmissionContext = {
    store,
    serviceAllocator,
    authorizer: () => o.authorization().authorizer,
    mountServiceAccountToken: o.mountServiceAccountToken,
  };
  const webhooks = admissionWebhooks(o, store);
  const validators = [...validatingChain(o, store), webhooks.validate];
  const mutators = [webhooks.mutate];
  const namespaceGuard = namespaceLifecycle(store);
  const build = (rt: ResourceType, extra: BuildOptions = {}) => {
    const cache = new WatchCache({
      etcd: extra.etcd ?? etcd,
      prefix: storagePrefixOf(rt),
      capacity: o.watchCacheSize,
      logger,
    });
    const admission = extra.admission ?? kindOf(rt).admission?.(ctx);
    const s = new ResourceStore({
      rt,
      etcd: extra.etcd ?? etcd,
      cache,
      strategy: strategyFor(rt),
      namespaceGuard,
      admission,
      validators,
      mutators,
    });
    return { cache, store: s };
  };
  const caches: WatchCache[] = [];
  for (const rt of registry.all) {
    const built = build(rt);
    caches.push(built.cache);
    stores.set(rt, built.store);
  }
  const admitConnect = async (a: AdmissionAttributes) => {
    await webhooks.mutate(a);
    await webhooks.validate(a);
  };
  return { etcd, caches, stores, store, serviceAllocator, build, admitConnect };
}

/**
 * The group and resource a key belongs to: `/registry/{plural}/...` for the
 * built-in kinds, as DESIGN.md keys them, and `/registry/{group}/{plural}/...`
 * for custom resources, whose group always has a dot (no plural has one).
 */
export function resourceOfKey(key: string, groupOf: (plural: string) => string): GroupResource {
  const [, , first = '', second = ''] = key.split('/');
  return first.includes('.')
    ? { group: first, resource: second }
    : { group: groupOf(first), resource: first };
}

function newEtcd(o: StorageOptions): EtcdStore {
  const groupOf = new Map(o.registry.all.map((rt) => [rt.plural, rt.group]));
  const builtinGroup = (plural: string) => groupOf.get(plural) ?? '';
  const codecs = new Map<string, ReturnType<typeof codecFor>>();
  const encryption = o.encryption;
  return new EtcdStore({
    endpoints: o.etcdServers,
    tls: o.etcdTLS,
    logger: o.logger,
    onUndecodable: (key) => o.decodeErrors.inc({ resource: resourceOfKey(key, builtinGroup).resource }),
    codecFor: encryption
      ? (key) => {
          const { group, resource } = resourceOfKey(key, builtinGroup);
          const id = `${resource}.${group}`;
          let codec = codecs.get(id);
          if (!codec) {
            codec = codecFor(encryption, resource, group);
            codecs.set(id, codec);
          }
          return codec;
        }
      : undefined,
  });
}

/** The validating admission chain, in order; each plugin picks the kinds it handles. */
function validatingChain(o: StorageOptions, store: Storage['store']): ValidatingAdmission[] {
  const validators: ValidatingAdmission[] = [];
  validators.push(
    rbacEscalation({ rbac: () => o.authorization().rbac, authorizer: () => o.authorization().authorizer }),
  );
  /** A core object, or undefined when there is none (admission reads these, as Kubernetes' listers). */
  const lookup = (plural: string, ns: string | undefined, name: string) =>
    store('', 'v1', plural)!
      .get(ns, name)
      .catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  if (o.nodeRestriction) validators.push(nodeRestriction({ node: (n) => lookup('nodes', undefined, n) }));
  return validators;
}

/** The admission webhooks, reading their configurations, namespaces, Services and Endpoints from the watch caches. */
function admissionWebhooks(o: StorageOptions, store: Storage['store']): WebhookDispatcher {
  const cached = (group: string, plural: string, ns: string | undefined, name: string) => {
    const s = store(group, 'v1', plural);
    return s?.cache.items.get(s.key(ns, name))?.obj;
  };
  const all = (plural: string) => () => {
    const s = store('admissionregistration.k8s.io', 'v1', plural);
    return s ? [...s.cache.items.values()].map((e) => e.obj as WebhookConfiguration) : [];
  };
  // The served versions of each group and resource, for matchPolicy Equivalent: built once per registry change.
  const versionsOf = o.registry.derived((r) => {
    const out = new Map<string, string[]>();
    for (const rt of r.all) {
      const key = `${rt.group}/${rt.plural}`;
      out.set(key, [...(out.get(key) ?? []), rt.version]);
    }
    return out;
  });
  return new WebhookDispatcher({
    logger: o.logger,
    metrics: o.metrics,
    source: {
      validatingConfigurations: all('validatingwebhookconfigurations'),
      mutatingConfigurations: all('mutatingwebhookconfigurations'),
      namespaceLabels: (ns) => {
        const obj = cached('', 'namespaces', undefined, ns);
        return obj ? (obj.metadata.labels ?? {}) : undefined;
      },
      versions: (group, plural) => versionsOf().get(`${group}/${plural}`) ?? [],
      services: {
        service: (ns, name) => cached('', 'services', ns, name),
        endpoints: (ns, name) => cached('', 'endpoints', ns, name),
      },
    },
  });
}

/** NamespaceLifecycle for new objects: their namespace exists and is not being terminated. */
function namespaceLifecycle(store: Storage['store']): NamespaceGuard {
  return async (ns: string, gr: GroupResource, name: string) => {
    const nsStore = store('', 'v1', 'namespaces')!;
    let obj = nsStore.cache.items.get(nsStore.key(undefined, ns))?.obj;
    if (!obj) {
      try {
        obj = await nsStore.get(undefined, ns);
      } catch (err) {
        if (isNotFound(err)) throw newNotFound({ group: '', resource: 'namespaces' }, ns);
        throw err;
      }
    }
    if (obj.metadata.deletionTimestamp) {
      throw newForbidden(
        gr,
        name,
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  };
}

export async function ensureNamespaces(store: ResourceStore, log: Logger): Promise<void> {
  for (const name of defaultNamespaces) {
    try {
      await store.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
      log.info({ namespace: name }, 'created default namespace');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}

/**
 * Compacts etcd every interval to the revision seen one interval earlier,
 * as Kubernetes does, and trims the watch caches to match so a watch from a
 * compacted revision gets 410 Gone.
 */
export async function runCompactor(
  etcd: EtcdStore,
  caches: WatchCache[],
  intervalMs: number,
  signal: AbortSignal,
  log: Logger,
): Promise<void> {
  if (intervalMs <= 0) return;
  let previous = 0;
  while (!signal.aborted) {
    await realClock.sleep(intervalMs, signal);
    if (signal.aborted) break;
    try {
      const current = await etcd.revision();
      if (previous > 0) {
        await etcd.compact(previous).catch((err: Error) => {
          if (!/compacted/.test(err.message)) throw err;
        });
        for (const c of caches) c.trimTo(previous);
        log.info({ revision: previous }, 'compacted etcd');
      }
      previous = current;
    } catch (err) {
      log.warn({ err }, 'etcd compaction failed; will retry');
    }
  }
}

/** etcd's health for /healthz and /readyz, asked at most once a second. */
export function etcdHealthCheck(etcd: EtcdStore): () => Promise<boolean> {
  let ok = false;
  let checkedAt = 0;
  return async () => {
    if (Date.now() - checkedAt > 1000) {
      ok = await etcd.healthy();
      checkedAt = Date.now();
    }
    return ok;
  };
}
