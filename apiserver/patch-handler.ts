/**
 * The PATCH verb for every kind: JSON patch, JSON merge patch, strategic
 * merge patch and server-side apply, on the object and on its status and
 * scale subresources; and the field manager every write is recorded under.
 */

import type { TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type ResourceType } from '../api/registry.js';
import { type FieldError, newBadRequest, newInvalid, StatusError } from '../api/status.js';
import { metaTime } from '../api/time.js';
import { checkSchema, checkTypeMeta } from './admission.js';
import { firstValue, setValue } from './crd/jsonpath.js';
import { jsonPatch, mergePatch } from './json-patch.js';
import { recordUpdate, serverSideApply, type Writer } from './managedfields.js';
import { decodeBody, mediaType, patchTypeOf, queryBool } from './request.js';
import type { ResourceStore, WriteOptions } from './store.js';
import { strategicMergePatch } from './strategic-merge.js';

type Query = Record<string, string | undefined>;

export interface Target {
  rt: ResourceType;
  store: ResourceStore;
}

/**
 * The autoscaling/v1 Scale of an object of `rt`: spec.replicas, status.replicas
 * and the selector, or where the kind's scalePaths put them (custom resources).
 */
export function scaleOf(obj: KubeObject, rt: ResourceType) {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: { matchLabels?: Record<string, string> } };
  const status = (obj.status ?? {}) as { replicas?: number };
  const paths = rt.scalePaths;
  const number = (v: unknown) => (typeof v === 'number' ? v : 0);
  const selector = paths
    ? String(paths.labelSelectorPath ? (firstValue(paths.labelSelectorPath, obj) ?? '') : '')
    : (rt.scaleSelector?.(obj) ??
      Object.entries(spec.selector?.matchLabels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(','));
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: {
      replicas: paths ? number(firstValue(paths.specReplicasPath, obj)) : (spec.replicas ?? 0),
    },
    status: {
      replicas: paths ? number(firstValue(paths.statusReplicasPath, obj)) : (status.replicas ?? 0),
      selector,
    },
  };
}

/** Sets the replicas a Scale asks for on the object, in place: spec.replicas or the kind's specReplicasPath. */
export function setScaleReplicas(obj: KubeObject, rt: ResourceType, replicas: number | undefined): void {
  if (rt.scalePaths) setValue(rt.scalePaths.specReplicasPath, obj, replicas);
  else obj.spec = { ...(obj.spec as object), replicas };
}

/**
 * The manager a write is recorded under: `?fieldManager=`, else the
 * User-Agent up to its first slash (`kubectl/v1.32.0 ...` → `kubectl`), as
 * Kubernetes defaults it.
 */
export function fieldManagerOf(req: FastifyRequest, query: Query): string {
  const explicit = query.fieldManager;
  if (explicit !== undefined && explicit !== '') {
    const errs = fieldManagerErrors(explicit);
    if (errs.length) throw newInvalid(writeOptionsKind(req.method), 'meta.k8s.io', '', errs);
    return explicit;
  }
  const ua = req.headers['user-agent'] ?? '';
  return ua.split('/')[0].slice(0, 128) || 'unknown';
}

/** The options kind Kubernetes names in a write's option errors: CreateOptions, UpdateOptions, PatchOptions. */
export function writeOptionsKind(method: string): string {
  return method === 'POST' ? 'CreateOptions' : method === 'PUT' ? 'UpdateOptions' : 'PatchOptions';
}

/** Kubernetes' ValidateFieldManager: at most 128 bytes, every character printable (Go's unicode.IsPrint). */
function fieldManagerErrors(manager: string): FieldError[] {
  const errs: FieldError[] = [];
  const field = 'fieldManager';
  if (Buffer.byteLength(manager) > 128)
    errs.push({ type: 'FieldValueTooLong', field, detail: 'may not be more than 128 bytes' });
  let at = 0;
  for (const ch of manager) {
    if (!/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(ch)) {
      const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      errs.push({
        type: 'FieldValueInvalid',
        field,
        value: manager,
        detail: `invalid character U+${code} (at position ${at})`,
      });
    }
    at += Buffer.byteLength(ch);
  }
  return errs;
}

export function writerFor(rt: ResourceType, manager: string, subresource: string | undefined): Writer {
  return {
    manager,
    apiVersion: apiVersionOf(rt),
    subresource,
    resetsStatus: rt.subresources.includes('status'),
    now: metaTime(),
  };
}

/** Write options that record the write in managedFields as an Update by `manager`. */
export function managed(
  w: WriteOptions,
  rt: ResourceType,
  manager: string,
  subresource?: string,
): WriteOptions {
  const writer = writerFor(rt, manager, subresource);
  return { ...w, manage: (obj, old) => recordUpdate(rt.schema, old, obj, writer) };
}

export interface PatchResult {
  obj: KubeObject;
  /** True when an apply created the object. */
  created: boolean;
}

/** Applies a PATCH request to the object (or its status or scale). */
export async function patchResource(
  req: FastifyRequest,
  t: Target,
  ns: string | undefined,
  name: string,
  subresource: string | undefined,
  w: WriteOptions,
  query: Query,
): Promise<PatchResult> {
  const contentType = req.headers['content-type'];
  const type = patchTypeOf(contentType);
  if (type === 'strategic' && t.rt.noStrategicMerge && subresource !== 'scale')
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
    );
  if (type === 'apply') return apply(req, t, ns, name, subresource, w, query);
  const body = decodeBody(req.body as Buffer, contentType);
  const patch = (doc: unknown, schema: TSchema | undefined) => {
    if (type === 'json') return jsonPatch(doc, body);
    if (type === 'strategic') return strategicMergePatch(doc, body, schema);
    return mergePatch(doc, body);
  };
  const opts = managed(w, t.rt, fieldManagerOf(req, query), subresource);
  if (subresource === 'scale') {
    const obj = await t.store.guaranteedUpdate(ns, name, undefined, opts, undefined, (cur) => {
      const scaled = patch(scaleOf(cur, t.rt), undefined) as ReturnType<typeof scaleOf>;
      setScaleReplicas(cur, t.rt, scaled.spec?.replicas);
      return cur;
    });
    return { obj, created: false };
  }
  const obj = await t.store.guaranteedUpdate(ns, name, subresource, opts, undefined, (cur) => {
    const patched = patch(cur, t.rt.schema);
    checkTypeMeta(t.rt, patched);
    if (patched.metadata.name !== name)
      throw newBadRequest('the name of the object cannot be changed by a patch');
    w.warnings!.push(...checkSchema(t.rt, patched, w.fieldValidation ?? 'Warn', true));
    return patched;
  });
  return { obj, created: false };
}

/** Server-side apply: updates the object, or creates it when there is none. */
async function apply(
  req: FastifyRequest,
  t: Target,
  ns: string | undefined,
  name: string,
  subresource: string | undefined,
  w: WriteOptions,
  query: Query,
): Promise<PatchResult> {
  const contentType = req.headers['content-type'];
  if (mediaType(contentType) === 'application/apply-patch+cbor') {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      'the CBOR apply patch is not supported; send YAML or JSON',
    );
  }
  if (!query.fieldManager) {
    throw new StatusError(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        causes: [
          {
            reason: 'FieldValueRequired',
            field: 'fieldManager',
            message: 'Required value: is required for apply patch',
          },
        ],
      },
    );
  }
  const applied = decodeBody(req.body as Buffer, contentType);
  checkTypeMeta(t.rt, applied);
  const meta = applied.metadata;
  if (meta.name !== undefined && meta.name !== name) {
    throw newBadRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
  }
  if (meta.namespace && ns !== undefined && meta.namespace !== ns) {
    throw newBadRequest(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  meta.name = name;
  // An applied configuration is the manager's whole intent: an unknown field in it is always an error.
  checkSchema(t.rt, applied, 'Strict', true);
  const writer = writerFor(t.rt, fieldManagerOf(req, query), subresource);
  const force = queryBool(query.force ?? 'false');
  const run = (live: KubeObject | undefined) =>
    serverSideApply({ schema: t.rt.schema, live, applied: structuredClone(applied), writer, force });
  const opts: WriteOptions = { ...w, manage: undefined };
  try {
    const obj = await t.store.guaranteedUpdate(ns, name, subresource, opts, undefined, run);
    return { obj, created: false };
  } catch (err) {
    if (!(err instanceof StatusError && err.reason === 'NotFound') || subresource) throw err;
  }
  const obj = run(undefined);
  obj.apiVersion = apiVersionOf(t.rt);
  obj.kind = t.rt.kind;
  return { obj: await t.store.create(ns, obj, { ...opts, keepManagedFields: true }), created: true };
}
