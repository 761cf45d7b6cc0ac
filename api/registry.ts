/**
 * The resource registry: for every kind we serve, its group, version, names,
 * scope, subresources, schema, defaulting, validation, selectable fields and
 * Table columns. The apiserver builds its routes, discovery and OpenAPI from
 * this table; the client builds its paths from it.
 */
import type { TSchema } from '@sinclair/typebox';
import type { KubeObject } from './meta.js';
import type { FieldError } from './status.js';
import type { NameValidator } from './validation.js';

export interface TableColumn {
  name: string;
  /** OpenAPI type of the cell: string, integer, number, boolean, date. */
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 shows in `kubectl get`; 1 only in `-o wide`. */
  priority: number;
  cell: (obj: KubeObject, now: Date) => string | number | boolean;
}

export interface ResourceType {
  group: string; // '' for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Subresources served besides the object itself: status, scale, binding, eviction, log... */
  subresources: string[];
  /** Schema of the whole object, TypeMeta and ObjectMeta included. */
  schema: TSchema;
  /**
   * The status a new object is served with: the fields Kubernetes' JSON
   * encoding of the kind's Go status always writes (the struct itself, and
   * fields without omitempty at zero). Clients read them as the API's shape:
   * the Python client's models refuse a ReplicaSet status without replicas.
   */
  zeroStatus?: Record<string, unknown>;
  /** Fills defaults in place, as the apiserver does before validation. */
  defaults?: (obj: KubeObject) => void;
  /**
   * Semantic checks beyond the schema; `old` is set on update, and
   * `subresource` names the path an update came through (status, approval)
   * for the kinds whose rules differ by it. Names and metadata are checked generically.
   */
  validate?: (obj: KubeObject, old?: KubeObject, subresource?: string) => FieldError[];
  /**
   * With the scale subresource: the Scale's status.selector, the label
   * selector of the pods as a string; by default from spec.selector as a
   * LabelSelector (ReplicationController's is a plain map of labels).
   */
  scaleSelector?: (obj: KubeObject) => string;
  /** Field values for fieldSelector, besides metadata.name and metadata.namespace. */
  fieldLabels?: (obj: KubeObject) => Record<string, string>;
  /** Table columns. Name comes first and Age after the priority-0 columns, unless the kind lists a Name column itself, in which case these are the whole table. */
  columns: TableColumn[];
  /**
   * A delete that removes the object answers with the object itself, as
   * Kubernetes' stores with ReturnDeletedObject (pods, services, namespaces...);
   * for every other kind it answers with a Success Status naming it.
   */
  returnDeletedObject?: boolean;
  /**
   * The etcd key prefix of its objects, ending in `/`: `/registry/{plural}/`
   * unless set (custom resources: `/registry/{group}/{plural}/`, as
   * Kubernetes keys them; every version of one kind shares it).
   */
  storagePrefix?: string;
  /**
   * Drops, in place, the fields the kind's schema does not know and returns
   * their paths (`spec.foo`), for kinds whose schema is not `schema`
   * (custom resources); the request's fieldValidation then refuses, warns
   * about or ignores them, as for unknown fields of `schema`.
   */
  prune?: (obj: KubeObject) => string[];
  /**
   * With the scale subresource: where its fields live, as simple JSON paths
   * (`.spec.replicas`); unset: spec.replicas and status.replicas (custom
   * resources name their own).
   */
  scalePaths?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  /** What /openapi/v3 and /openapi/v2 publish for the kind, when it is not derived from `schema`. */
  openapi?: { v3: Record<string, unknown>; v2: Record<string, unknown> };
  /** List items carry apiVersion and kind, as Kubernetes' lists of custom resources (unstructured) do. */
  typedListItems?: boolean;
  /** Strategic merge patch is refused (415), as for custom resources: they have no patch strategies. */
  noStrategicMerge?: boolean;
  /** Whether object names must be a DNS-1123 label (63 chars) rather than a subdomain. */
  nameIsLabel?: boolean;
  /** The kind's own name rule, when it is neither a DNS subdomain nor a label (RBAC names). */
  validateName?: NameValidator;
}

export function apiVersionOf(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `${rt.group}/${rt.version}` : rt.version;
}

/** Where objects of `rt` live in etcd, ending in `/`. */
export function storagePrefixOf(rt: Pick<ResourceType, 'plural' | 'storagePrefix'>): string {
  return rt.storagePrefix ?? `/registry/${rt.plural}/`;
}

export function groupVersionPath(rt: Pick<ResourceType, 'group' | 'version'>): string {
  return rt.group ? `/apis/${rt.group}/${rt.version}` : `/api/${rt.version}`;
}

/**
 * The resource types a server serves, by group-version-resource and kind.
 * Built-in kinds are there from the start; custom resources come and go at
 * run time (`add`, `remove`), each change moving `generation`. Readers
 * that derive something from the whole set (discovery, OpenAPI) rebuild it
 * per generation (`derived`).
 */
export class Registry {
  private types: readonly ResourceType[];
  private readonly byGvr = new Map<string, ResourceType>();
  private readonly byGk = new Map<string, ResourceType>();
  /** Moves on every add or remove. */
  generation = 0;

  constructor(types: ResourceType[]) {
    this.types = [];
    this.index(types);
    this.types = [...types];
  }

  /** Every type served now; a new array after each change, never mutated. */
  get all(): readonly ResourceType[] {
    return this.types;
  }

  private index(types: readonly ResourceType[]): void {
    for (const rt of types) {
      const gvr = `${rt.group}/${rt.version}/${rt.plural}`;
      if (this.byGvr.has(gvr)) throw new Error(`resource ${gvr} registered twice`);
      this.byGvr.set(gvr, rt);
      this.byGk.set(`${rt.group}/${rt.kind}`, rt);
    }
  }

  /** Serves `types` too; throws (and changes nothing) if one of them is served already. */
  add(types: readonly ResourceType[]): void {
    const seen = new Set<string>();
    for (const rt of types) {
      const gvr = `${rt.group}/${rt.version}/${rt.plural}`;
      if (this.byGvr.has(gvr) || seen.has(gvr)) throw new Error(`resource ${gvr} registered twice`);
      seen.add(gvr);
    }
    this.index(types);
    this.types = [...this.types, ...types];
    this.changed();
  }

  /** Stops serving `types` (those not served are ignored). */
  remove(types: readonly ResourceType[]): void {
    const gone = new Set(types);
    const left = this.types.filter((rt) => !gone.has(rt));
    if (left.length === this.types.length) return;
    this.types = left;
    this.byGvr.clear();
    this.byGk.clear();
    this.index(left);
    this.changed();
  }

  /** A value built from the registry, built again only after a change. */
  derived<T>(build: (registry: Registry) => T): () => T {
    let at = -1;
    let value: T;
    return () => {
      if (at !== this.generation) {
        value = build(this);
        at = this.generation;
      }
      return value;
    };
  }

  private changed(): void {
    this.generation++;
  }

  get(group: string, version: string, plural: string): ResourceType | undefined {
    return this.byGvr.get(`${group}/${version}/${plural}`);
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.byGk.get(`${group}/${kind}`);
  }

  /** Finds a type by plural, singular, short name or kind, as kubectl resolves `get po`. */
  resolve(name: string): ResourceType | undefined {
    const n = name.toLowerCase();
    const [base, ...groupParts] = n.split('.');
    const group = groupParts.join('.');
    return this.all.find(
      (rt) =>
        (group === '' || rt.group === group) &&
        (rt.plural === base ||
          rt.singular === base ||
          rt.kind.toLowerCase() === base ||
          rt.shortNames.includes(base)),
    );
  }

  groupVersions(): { group: string; version: string }[] {
    const seen = new Map<string, { group: string; version: string }>();
    for (const rt of this.all)
      seen.set(`${rt.group}/${rt.version}`, { group: rt.group, version: rt.version });
    return [...seen.values()];
  }
}
