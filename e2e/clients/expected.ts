/**
 * What every client must observe in each scenario, written once: kubectl,
 * @kubernetes/client-node and the Python client each run the scenarios their
 * own way (e2e/clients-*.test.ts, e2e/clients/scenarios.py) and report
 * observations of exactly these shapes, which the tests compare with
 * `toEqual`. The values are what Kubernetes' apiserver answers.
 */
import { fixtures } from './cluster.js';

/** An event as a client saw it: its type and the object's name. */
export type Seen = [type: string, name: string];

/** A failed request as a client's error carries it: the HTTP code and the Status body. */
export interface ErrorSeen {
  code: number;
  reason: string;
  /** Status.code in the body. */
  statusCode: number;
  name: string | null;
  kind: string | null;
  /** [reason, field] of each cause. */
  causes: [string, string][];
}

/** What a delete answers: the Status, or for these kinds the object itself (ReturnDeletedObject). */
const deletedAs: Record<string, string> = {
  ConfigMap: 'Status',
  Secret: 'Status',
  Service: 'Service',
  Pod: 'Pod',
  Deployment: 'Status',
  Namespace: 'Namespace',
  ClusterRole: 'Status',
};

/** The status a new object has as Kubernetes' defaulters leave it (null: the kind has none). */
const statusOnCreate: Record<string, unknown> = {
  ConfigMap: null,
  Secret: null,
  Service: { loadBalancer: {} },
  Pod: { phase: 'Pending', qosClass: 'BestEffort' },
  Deployment: {},
  Namespace: { phase: 'Active' },
  ClusterRole: null,
};

export interface CrudSeen {
  created: [apiVersion: string, kind: string];
  status: unknown;
  read: [apiVersion: string, kind: string];
  /** After a replace that set the label `updated: "yes"`. */
  updated: [apiVersion: string, kind: string, label: string];
  /** The kind of the delete's answer. */
  deleted: string;
  /** A read after the delete: its HTTP code, or the phase of a namespace still terminating. */
  after: number | string;
}

export const crudVariants = ['typed', 'bare'] as const;

/** `${kind}/${variant}`: typed bodies carry apiVersion and kind, bare ones do not. */
export const crud: Record<string, CrudSeen> = Object.fromEntries(
  fixtures.kinds.flatMap((k) =>
    crudVariants.map((v) => [
      `${k.kind}/${v}`,
      {
        created: [k.apiVersion, k.kind],
        status: statusOnCreate[k.kind],
        read: [k.apiVersion, k.kind],
        updated: [k.apiVersion, k.kind, 'yes'],
        deleted: deletedAs[k.kind],
        after: k.kind === 'Namespace' ? 'Terminating' : 404,
      },
    ]),
  ),
);

/** The name of the object of kind `kind` a CRUD variant works on. */
export const crudName = (kind: string, variant: string) => `${kind.toLowerCase()}-${variant}`;

const notFoundDetails = { name: 'missing', kind: 'configmaps', causes: [] };

export const expected = {
  crud,
  /** The server's version, the core versions, the groups, and the configmaps entry of /api/v1. */
  discovery: {
    major: '1',
    core: ['v1'],
    apps: true,
    configmaps: {
      singularName: 'configmap',
      namespaced: true,
      kind: 'ConfigMap',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['cm'],
    },
  },
  /**
   * List `watched=yes`, then create `w-hidden` (no label), `w-1` and `w-skip` (labelled),
   * change and delete `w-1`; then watch from the list's resourceVersion with that label
   * selector and the field selector `metadata.name!=w-skip`, until the DELETED event.
   */
  watch: {
    events: [
      ['ADDED', 'w-1'],
      ['MODIFIED', 'w-1'],
      ['DELETED', 'w-1'],
    ] as Seen[],
  },
  /**
   * Watch configmaps from resourceVersion 1, older than the watch cache holds (etcd was
   * written to before the apiserver started, so its caches begin later): the
   * client surfaces 410 Expired its own way. Then resume as Kubernetes' clients do: list,
   * create `w-after`, watch from the list's resourceVersion.
   */
  gone: { code: 410, reason: 'Expired', resumed: [['ADDED', 'w-after']] as Seen[] },
  /**
   * ConfigMap `p-1` {a: 1}: a JSON patch adds b, a merge patch removes a and adds c, an
   * apply patch (manager `patcher`) adds d; Deployment `p-web`: a strategic merge patch adds
   * the container `side`, merged by name with `web`, and put first, as Kubernetes'
   * normalizeElementOrder puts the patch's new items before the items only the server had.
   */
  patch: {
    json: { a: '1', b: '2' },
    merge: { b: '2', c: '3' },
    strategic: ['side', 'web'],
    apply: { b: '2', c: '3', d: '4' },
  },
  /**
   * dc-1..3 labelled group=dc and dc-keep; delete the collection `group=dc`: the answer is
   * the list that was deleted, with its resourceVersion, as Kubernetes' DeleteCollection.
   */
  deleteCollection: { kind: 'ConfigMapList', resourceVersion: true, remaining: ['dc-keep'] },
  /** Deployment `s-web` (1 replica, no controller): read the scale, patch it to 3, replace it with 2. */
  scale: {
    read: { apiVersion: 'autoscaling/v1', kind: 'Scale', spec: 1, status: 0, selector: 'app=scaled' },
    patched: 3,
    replaced: 2,
    deployment: 2,
  },
  /**
   * ConfigMap `ssa-1` applied by `mgr-a` with {a: 1}; `mgr-b` applies {a: 2} and conflicts,
   * then applies again with force and takes the field.
   */
  apply: {
    first: { a: '1' },
    conflict: {
      code: 409,
      reason: 'Conflict',
      statusCode: 409,
      // Kubernetes' NewApplyConflict names no object, only the conflicting fields.
      name: null,
      kind: null,
      causes: [['FieldManagerConflict', '.data.a']],
    } as ErrorSeen,
    forced: { a: '2' },
    managers: [['mgr-b', 'Apply']],
  },
  /**
   * dryRun=All: create `dry-1` (not stored); update `dry-2` {a: 1} to {a: 2} (not stored);
   * delete `dry-2` (still there).
   */
  dryRun: {
    created: { name: 'dry-1', resourceVersion: null, uid: true },
    afterCreate: 404,
    updated: '2',
    afterUpdate: '1',
    deleted: 'Status',
    afterDelete: 200,
  },
  /**
   * ConfigMap `l-1` listed (fieldSelector metadata.name=l-1): the list names its kind and
   * apiVersion, and its item, as the client hands it over, carries neither: Kubernetes'
   * apiserver writes a built-in kind's list items without them.
   */
  list: { kind: 'ConfigMapList', apiVersion: 'v1', items: [['l-1', null, null]] },
  /** pg-1..pg-5 alone in their namespace, listed with limit=2 and continue: [names, remainingItemCount, continue given]. */
  pagination: {
    pages: [
      [['pg-1', 'pg-2'], 3, true],
      [['pg-3', 'pg-4'], 1, true],
      [['pg-5'], null, false],
    ],
  },
  errors: {
    notFound: { code: 404, reason: 'NotFound', statusCode: 404, ...notFoundDetails },
    alreadyExists: {
      code: 409,
      reason: 'AlreadyExists',
      statusCode: 409,
      name: 'e-dup',
      kind: 'configmaps',
      causes: [],
    },
    conflict: {
      code: 409,
      reason: 'Conflict',
      statusCode: 409,
      name: 'e-dup',
      kind: 'configmaps',
      causes: [],
    },
    invalid: {
      code: 422,
      reason: 'Invalid',
      statusCode: 422,
      name: 'Not_A_Name',
      kind: 'ConfigMap',
      causes: [['FieldValueInvalid', 'metadata.name']],
    },
    forbidden: {
      code: 403,
      reason: 'Forbidden',
      statusCode: 403,
      name: null,
      kind: 'configmaps',
      causes: [],
    },
  } as Record<string, ErrorSeen>,
};

export type Expected = typeof expected;
export const scenarioNames = Object.keys(expected).filter((n) => n !== 'crud') as Exclude<
  keyof Expected,
  'crud'
>[];

/** The ErrorSeen of a Status body and the HTTP code it came with. */
export function errorSeen(code: number, status: any): ErrorSeen {
  return {
    code,
    reason: status?.reason ?? null,
    statusCode: status?.code ?? null,
    name: status?.details?.name ?? null,
    kind: status?.details?.kind ?? null,
    causes: (status?.details?.causes ?? []).map((c: any) => [c.reason, c.field]),
  };
}
