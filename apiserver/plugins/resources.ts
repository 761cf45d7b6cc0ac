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
import { itemJson } from '../watch-cache.js';
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

export const resourcesPlugin: FastifyPluginAsync<ResourcesPluginOptions> = async (app, opts) => {
  const { registry, stores, userOf } = opts;

  const notFound = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  /** The store a request's one RequestInfo names, or a 404. */
  const resolve = (info: RequestInfo): Target => {
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
  };

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const info = requestInfo(req.raw);
    const t = resolve(info);
    const query = queryOf(info);
    const method = req.method;
    const { path, rt, store } = t;
    const ns = rt.namespaced ? path.namespace : undefined;
    if (info.verb === 'watch') {
      if (method !== 'GET') throw newMethodNotSupported(store.gr, method.toLowerCase());
      if (path.name)
        query.fieldSelector = [query.fieldSelector, `metadata.name=${path.name}`].filter(Boolean).join(',');
      return serveWatch(
        req,
        reply,
        store,
        {
          namespace: ns,
          filter: store.filter(ns, query),
          resourceVersion: query.resourceVersion,
          sendInitialEvents: watchListOptions(query),
          timeoutSeconds: queryInt('timeoutSeconds', query.timeoutSeconds),
          allowBookmarks: queryBool(query.allowWatchBookmarks ?? 'false'),
          representation: negotiate(req.headers.accept),
          bookmarkIntervalMs: opts.bookmarkIntervalMs,
          user: userOf(req),
        },
        opts.logger,
        opts.watchLimits,
      );
    }
    if (path.subresource) return opts.subresource(req, reply, t, ns, query);
    if (!path.name) {
      if (method === 'GET') return list(req, reply, t, ns, query);
      if (method === 'POST') {
        const w = managed(writeOptions(query, userOf(req), method), rt, fieldManagerOf(req, query));
        const created = await store.create(
          ns,
          decodeBody(req.body as Buffer, req.headers['content-type']),
          w,
        );
        sendWarnings(reply, w.warnings!);
        return sendObject(reply, rt, created, negotiate(req.headers.accept), query, 201);
      }
      if (method === 'DELETE') {
        const del = { ...deleteOptions(req, query), user: userOf(req) };
        const { items, rv } = await store.deleteCollection(
          ns,
          { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector },
          del,
        );
        const metadata = { resourceVersion: String(rv) };
        // The list of what was deleted, its items without apiVersion and kind as any list's.
        const bare = items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
        return reply.send({ kind: `${rt.kind}List`, apiVersion: apiVersionOf(rt), metadata, items: bare });
      }
      throw newMethodNotSupported(store.gr, method.toLowerCase());
    }
    const name = path.name;
    switch (method) {
      case 'GET':
        return sendObject(reply, rt, await store.get(ns, name), negotiate(req.headers.accept), query);
      case 'PUT': {
        const w = managed(writeOptions(query, userOf(req), method), rt, fieldManagerOf(req, query));
        const updated = await store.update(
          ns,
          name,
          decodeBody(req.body as Buffer, req.headers['content-type']),
          undefined,
          w,
        );
        sendWarnings(reply, w.warnings!);
        return sendObject(reply, rt, updated, negotiate(req.headers.accept), query);
      }
      case 'PATCH': {
        const w = writeOptions(query, userOf(req), method);
        const res = await patchResource(req, t, ns, name, undefined, w, query);
        sendWarnings(reply, w.warnings!);
        return sendObject(reply, rt, res.obj, negotiate(req.headers.accept), query, res.created ? 201 : 200);
      }
      case 'DELETE': {
        const del = { ...deleteOptions(req, query), user: userOf(req) };
        const res = await store.delete(ns, name, del);
        // As Kubernetes: 202 only when the object stays and the caller set orphanDependents=false.
        const code = !res.deleted && del.orphanDependents === false ? 202 : 200;
        if (res.deleted && !rt.returnDeletedObject) return reply.code(code).send(deletedStatus(rt, res.obj));
        return sendObject(reply, rt, res.obj, { as: 'object', yaml: false }, query, code);
      }
      default:
        throw newMethodNotSupported(store.gr, method.toLowerCase());
    }
  };

  const list = async (
    req: FastifyRequest,
    reply: FastifyReply,
    t: Target,
    ns: string | undefined,
    query: Query,
  ) => {
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
    // The items without apiVersion and kind, as Kubernetes' lists of built-in kinds.
    const head = `{"kind":"${t.rt.kind}List","apiVersion":"${apiVersionOf(t.rt)}","metadata":${JSON.stringify(meta)},"items":[`;
    const json = `${head}${res.entries.map(itemJson).join(',')}]}`;
    if (rep.yaml) return reply.header('content-type', 'application/yaml').send(toYaml(JSON.parse(json)));
    return reply.header('content-type', 'application/json').send(json);
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

  // Routing only picks these handlers; what a request names comes from its RequestInfo.
  app.all('/api/v1/*', handle);
  app.all('/apis/:group/:version/*', handle);
};
