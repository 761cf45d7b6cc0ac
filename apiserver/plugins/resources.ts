/**
 * The generic REST handlers: one set of routes serves every kind in the
 * registry (get, list, watch, create, update, patch, delete,
 * deletecollection); a path to a subresource goes to the subresource route
 * (subresources.ts). Per-kind behaviour comes from the store and its
 * kind's entry (kinds/).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../../api/meta.js';
import { own } from '../../api/plain.js';
import { apiVersionOf, type Registry, type ResourceType } from '../../api/registry.js';
import { type FieldError, newInvalid, newMethodNotSupported, StatusError } from '../../api/status.js';
import type { UserInfo } from '../authn.js';
import { servedSubresources } from '../discovery.js';
import { kindOf } from '../kinds/index.js';
import { fieldManagerOf, managed, patchResource } from '../patch-handler.js';
import {
  decodeBody,
  negotiate,
  queryBool,
  queryInt,
  queryOf,
  type RequestInfo,
  requestInfo,
} from '../request.js';
import { type Query, sendObject, sendWarnings, type Target, writeOptions } from '../rest.js';
import type { DeleteOptions, ResourceStore } from '../store.js';
import { parseIncludeObject, partialMetadata, toTable } from '../table.js';
import { serveWatch, type WatchLimits } from '../watch.js';
import { entryJson, itemJson } from '../watch-cache.js';
import type { SubresourceRoute } from './subresources.js';

export interface ResourcesPluginOptions {
  registry: Registry;
  stores: ReadonlyMap<ResourceType, ResourceStore>;
  logger: Logger;
  bookmarkIntervalMs: number;
  /** Caps on concurrent watches and the count of watchers cut off; unset: none. */
  watchLimits?: WatchLimits;
  /** Who sent a request (authenticated, impersonation applied). */
  userOf: (req: FastifyRequest) => UserInfo;
  /** Serves a path to a subresource. */
  subresource: SubresourceRoute;
}

/**
 * A watch's sendInitialEvents (undefined when absent), after Kubernetes'
 * validateWatchOptions: it needs resourceVersionMatch=NotOlderThan, which
 * means nothing to a watch without it. (The WatchList gate is on here.)
 */
function watchListOptions(query: Query): boolean | undefined {
  const send = query.sendInitialEvents === undefined ? undefined : queryBool(query.sendInitialEvents);
  const match = query.resourceVersionMatch ?? '';
  const errs: FieldError[] = [];
  const field = 'resourceVersionMatch';
  if (send !== undefined && match !== 'NotOlderThan')
    errs.push({
      type: 'FieldValueForbidden',
      field,
      detail: 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    });
  if (match) {
    if (send === undefined)
      errs.push({
        type: 'FieldValueForbidden',
        field,
        detail: 'resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided',
      });
    if (match !== 'NotOlderThan')
      errs.push({
        type: 'FieldValueNotSupported',
        field,
        detail: 'supported values: "NotOlderThan"',
        value: match,
      });
    if (query.continue)
      errs.push({
        type: 'FieldValueForbidden',
        field,
        detail: 'resourceVersionMatch is forbidden when continue is provided',
      });
  }
  if (errs.length) throw newInvalid('ListOptions', 'meta.k8s.io', '', errs);
  return send;
}

/**
 * What a delete that removed the object answers for kinds without
 * returnDeletedObject, as Kubernetes' finalizeDelete: a Success Status
 * naming it (kind is the resource, as Kubernetes fills it), no code.
 */
function deletedStatus(rt: ResourceType, obj: KubeObject) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: {
      name: obj.metadata.name,
      group: rt.group || undefined,
      kind: rt.plural,
      uid: obj.metadata.uid,
    },
  };
}

/** One request to an object or a collection, as the route resolved it. */
interface Call {
  req: FastifyRequest;
  reply: FastifyReply;
  t: Target;
  /** The namespace, for a namespaced kind. */
  ns: string | undefined;
  query: Query;
  user: UserInfo;
}

const notFound = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource');

/** The store a request's one RequestInfo names, or a 404. */
function resolve(
  registry: Registry,
  stores: ReadonlyMap<ResourceType, ResourceStore>,
  info: RequestInfo,
): Target {
  const path = info.resourcePath;
  const rt = path && registry.get(info.apiGroup, info.apiVersion, path.plural);
  if (!path || !rt) throw notFound();
  // A namespace on a cluster-scoped kind, or a namespaced object named without one.
  if (path.namespace !== undefined && !rt.namespaced && !kindOf(rt).servedUnderNamespace) throw notFound();
  if (path.namespace === undefined && rt.namespaced && path.name !== undefined) throw notFound();
  if (
    path.subresource &&
    !(rt.subresources.includes(path.subresource) && path.subresource in servedSubresources)
  )
    throw notFound();
  return { rt, store: stores.get(rt)!, path };
}

/** GET on a collection: the list, as a Table, metadata only, YAML or JSON. */
async function list({ req, reply, t, ns, query }: Call) {
  const rep = negotiate(req.headers.accept);
  const res = await t.store.list(ns, {
    labelSelector: query.labelSelector,
    fieldSelector: query.fieldSelector,
    limit: queryInt('limit', query.limit),
    continue: query.continue,
    resourceVersion: query.resourceVersion,
    resourceVersionMatch: query.resourceVersionMatch,
  });
  const rv = String(res.rv);
  if (rep.as === 'Table') {
    return reply.send(
      toTable(
        t.rt,
        res.entries.map((e) => e.obj),
        {
          include: parseIncludeObject(query.includeObject),
          version: rep.version,
          resourceVersion: rv,
          continue: res.continue,
          remaining: res.remaining,
        },
      ),
    );
  }
  const meta: Record<string, unknown> = { resourceVersion: rv };
  if (res.continue) meta.continue = res.continue;
  if (res.remaining !== undefined && res.continue) meta.remainingItemCount = res.remaining;
  if (rep.as === 'PartialObjectMetadata') {
    return reply.send({
      kind: 'PartialObjectMetadataList',
      apiVersion: `meta.k8s.io/${rep.version}`,
      metadata: meta,
      items: res.entries.map((e) => partialMetadata(e.obj, rep.version)),
    });
  }
  // The items without apiVersion and kind, as Kubernetes' lists of built-in kinds (custom ones keep them).
  const head = `{"kind":"${t.rt.kind}List","apiVersion":"${apiVersionOf(t.rt)}","metadata":${JSON.stringify(meta)},"items":[`;
  const json = `${head}${res.entries.map(t.rt.typedListItems ? entryJson : itemJson).join(',')}]}`;
  if (rep.yaml) return reply.header('content-type', 'application/yaml').send(toYaml(JSON.parse(json)));
  return reply.header('content-type', 'application/json').send(json);
}

/** POST on a collection. */
async function create({ req, reply, t, ns, query, user }: Call) {
  const w = managed(writeOptions(query, user, req.method), t.rt, fieldManagerOf(req, query));
  const created = await t.store.create(ns, decodeBody(req.body as Buffer, req.headers['content-type']), w);
  sendWarnings(reply, w.warnings!);
  return sendObject(reply, t.rt, created, negotiate(req.headers.accept), query, 201);
}

/** DELETE on a collection: the list of what was deleted. */
async function deleteCollection({ req, reply, t, ns, query, user }: Call) {
  const del = { ...deleteOptions(req, query), user };
  const { items, rv } = await t.store.deleteCollection(
    ns,
    { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector },
    del,
  );
  const metadata = { resourceVersion: String(rv) };
  // The list of what was deleted, its items without apiVersion and kind as any list's.
  const bare = t.rt.typedListItems ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  return reply.send({ kind: `${t.rt.kind}List`, apiVersion: apiVersionOf(t.rt), metadata, items: bare });
}

async function get({ req, reply, t, ns, query }: Call) {
  return sendObject(reply, t.rt, await t.store.get(ns, t.path.name!), negotiate(req.headers.accept), query);
}

/** PUT on an object. */
async function replace({ req, reply, t, ns, query, user }: Call) {
  const w = managed(writeOptions(query, user, req.method), t.rt, fieldManagerOf(req, query));
  const body = decodeBody(req.body as Buffer, req.headers['content-type']);
  const updated = await t.store.update(ns, t.path.name!, body, undefined, w);
  sendWarnings(reply, w.warnings!);
  return sendObject(reply, t.rt, updated, negotiate(req.headers.accept), query);
}

async function patch({ req, reply, t, ns, query, user }: Call) {
  const w = writeOptions(query, user, req.method);
  const res = await patchResource(req, t, ns, t.path.name!, undefined, w, query);
  sendWarnings(reply, w.warnings!);
  return sendObject(reply, t.rt, res.obj, negotiate(req.headers.accept), query, res.created ? 201 : 200);
}

/** DELETE on an object: the object while it stays (finalizers, grace), else as the kind answers. */
async function remove({ req, reply, t, ns, query, user }: Call) {
  const del = { ...deleteOptions(req, query), user };
  const res = await t.store.delete(ns, t.path.name!, del);
  // As Kubernetes: 202 only when the object stays and the caller set orphanDependents=false.
  const code = !res.deleted && del.orphanDependents === false ? 202 : 200;
  if (res.deleted && !t.rt.returnDeletedObject) return reply.code(code).send(deletedStatus(t.rt, res.obj));
  return sendObject(reply, t.rt, res.obj, { as: 'object', yaml: false }, query, code);
}

/** The verbs by method, on a collection and on one object. */
const collectionVerbs: Readonly<Record<string, (c: Call) => Promise<unknown>>> = {
  GET: list,
  POST: create,
  DELETE: deleteCollection,
};
const objectVerbs: Readonly<Record<string, (c: Call) => Promise<unknown>>> = {
  GET: get,
  PUT: replace,
  PATCH: patch,
  DELETE: remove,
};

function deleteOptions(req: FastifyRequest, query: Query): DeleteOptions {
  let body: Record<string, any> = {};
  const raw = req.body as Buffer | undefined;
  if (raw && raw.length > 0) {
    const decoded = decodeBody(raw, req.headers['content-type'] || 'application/json');
    if (decoded && typeof decoded === 'object') body = decoded as Record<string, any>;
  }
  const grace = body.gracePeriodSeconds ?? queryInt('gracePeriodSeconds', query.gracePeriodSeconds);
  const policy = body.propagationPolicy ?? query.propagationPolicy;
  if (policy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(policy)) {
    throw new StatusError(
      422,
      'Invalid',
      `DeleteOptions is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  }
  const dryRun = (Array.isArray(body.dryRun) && body.dryRun.includes('All')) || query.dryRun === 'All';
  return {
    gracePeriodSeconds: grace,
    propagationPolicy: policy,
    orphanDependents:
      body.orphanDependents ??
      (query.orphanDependents !== undefined ? queryBool(query.orphanDependents) : undefined),
    preconditions: body.preconditions,
    dryRun,
  };
}

export const resourcesPlugin: FastifyPluginAsync<ResourcesPluginOptions> = async (app, opts) => {
  const { registry, stores, userOf } = opts;
  const watch = ({ req, reply, t, ns, query, user }: Call) => {
    const { path, store } = t;
    if (req.method !== 'GET') throw newMethodNotSupported(store.gr, req.method.toLowerCase());
    if (path.name)
      query.fieldSelector = [query.fieldSelector, `metadata.name=${path.name}`].filter(Boolean).join(',');
    const watchOptions = {
      namespace: ns,
      filter: store.filter(ns, query),
      resourceVersion: query.resourceVersion,
      sendInitialEvents: watchListOptions(query),
      timeoutSeconds: queryInt('timeoutSeconds', query.timeoutSeconds),
      allowBookmarks: queryBool(query.allowWatchBookmarks ?? 'false'),
      representation: negotiate(req.headers.accept),
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      user,
    };
    return serveWatch(req, reply, store, watchOptions, opts.logger, opts.watchLimits);
  };
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const info = requestInfo(req.raw);
    const t = resolve(registry, stores, info);
    const query = queryOf(info);
    const ns = t.rt.namespaced ? t.path.namespace : undefined;
    if (info.verb !== 'watch' && t.path.subresource) return opts.subresource(req, reply, t, ns, query);
    const call = { req, reply, t, ns, query, user: userOf(req) };
    if (info.verb === 'watch') return watch(call);
    const verb = own<(c: Call) => Promise<unknown>>(t.path.name ? objectVerbs : collectionVerbs, req.method);
    if (!verb) throw newMethodNotSupported(t.store.gr, req.method.toLowerCase());
    return verb(call);
  };
  // Routing only picks these handlers; what a request names comes from its RequestInfo.
  app.all('/api/v1/*', handle);
  app.all('/apis/:group/:version/*', handle);
};
