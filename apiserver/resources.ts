/**
 * The generic REST handlers: one set of routes serves every kind in the
 * registry (get, list, watch, create, update, patch, delete,
 * deletecollection, and the status, scale, binding, eviction, finalize,
 * approval and ephemeralcontainers subresources). Per-kind behaviour comes
 * from the store and its strategy.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { apiVersionOf, type Registry, type ResourceType } from '../api/registry.js';
import {
  type FieldError,
  newConflict,
  newInvalid,
  newMethodNotSupported,
  newNotFound,
  StatusError,
} from '../api/status.js';
import { parseFieldValidation } from './admission.js';
import { loopbackUser, type UserInfo } from './authn.js';
import { servedSubresources } from './discovery.js';
import { type KubeletClient, proxyNode, proxyPodLog } from './kubelet-proxy.js';
import {
  fieldManagerOf,
  managed,
  type Target as PatchTarget,
  patchResource,
  scaleOf,
  writeOptionsKind,
} from './patch-handler.js';
import {
  decodeBody,
  negotiate,
  queryBool,
  queryInt,
  queryOf,
  type Representation,
  type RequestInfo,
  type ResourcePath,
  requestInfo,
} from './request.js';
import { type DeleteOptions, type ResourceStore, timestamp, type WriteOptions } from './store.js';
import { parseIncludeObject, partialMetadata, toTable } from './table.js';
import { serveWatch, type WatchLimits } from './watch.js';
import { itemJson } from './watch-cache.js';

type Query = Record<string, string | undefined>;

export interface ResourceRoutesOptions {
  registry: Registry;
  stores: Map<ResourceType, ResourceStore>;
  logger: Logger;
  bookmarkIntervalMs: number;
  /** Caps on concurrent watches and the count of watchers cut off; unset: none. */
  watchLimits?: WatchLimits;
  /** How logs and node proxy requests reach kubelets. */
  kubelet: KubeletClient;
  /** Who sent a request (authenticated, impersonation applied); the loopback admin when unset. */
  userOf?: (req: FastifyRequest) => UserInfo;
}

interface Target extends PatchTarget {
  path: ResourcePath;
}

function sendObject(
  reply: FastifyReply,
  rt: ResourceType,
  obj: KubeObject,
  rep: Representation,
  query: Query,
  code = 200,
) {
  reply.code(code);
  if (rep.as === 'Table') {
    return reply.send(
      toTable(rt, [obj], {
        include: parseIncludeObject(query.includeObject),
        version: rep.version,
        resourceVersion: obj.metadata.resourceVersion,
      }),
    );
  }
  if (rep.as === 'PartialObjectMetadata') return reply.send(partialMetadata(obj, rep.version));
  if (rep.yaml) return reply.header('content-type', 'application/yaml').send(toYaml(obj));
  return reply.header('content-type', 'application/json').send(JSON.stringify(obj));
}

function sendWarnings(reply: FastifyReply, warnings: string[]) {
  if (warnings.length > 0) {
    reply.header(
      'warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
}

function writeOptions(query: Query, user: UserInfo, method: string): WriteOptions {
  const dryRun = query.dryRun;
  // As Kubernetes' ValidateDryRun, in the options kind of the verb.
  if (dryRun !== undefined && dryRun !== 'All')
    throw newInvalid(writeOptionsKind(method), 'meta.k8s.io', '', [
      { type: 'FieldValueNotSupported', field: 'dryRun', value: [dryRun], detail: 'supported values: "All"' },
    ]);
  return {
    dryRun: dryRun === 'All',
    fieldValidation: parseFieldValidation(query.fieldValidation),
    warnings: [],
    user,
  };
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

function successStatus(rt: ResourceType, name: string, uid?: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: rt.group || undefined, kind: rt.plural, uid },
    code: 201,
  };
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

export function registerResourceRoutes(app: FastifyInstance, opts: ResourceRoutesOptions): void {
  const { registry, stores } = opts;
  const userOf = opts.userOf ?? (() => loopbackUser);

  const notFound = () => new StatusError(404, 'NotFound', 'the server could not find the requested resource');
  /** The store a request's one RequestInfo names, or a 404. */
  const resolve = (info: RequestInfo): Target => {
    const path = info.resourcePath;
    const rt = path && registry.get(info.apiGroup, info.apiVersion, path.plural);
    if (!path || !rt) throw notFound();
    // A namespace on a cluster-scoped kind, or a namespaced object named without one.
    if (path.namespace !== undefined && !rt.namespaced && path.plural !== 'namespaces') throw notFound();
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
    if (path.subresource) return handleSubresource(req, reply, t, ns, query);
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

  const handleSubresource = async (
    req: FastifyRequest,
    reply: FastifyReply,
    t: Target,
    ns: string | undefined,
    query: Query,
  ) => {
    const { store, rt } = t;
    const name = t.path.name!;
    const sub = t.path.subresource!;
    const method = req.method;
    if (sub === 'proxy' && rt.plural === 'nodes') {
      if (method !== 'GET') throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported`);
      const info = requestInfo(req.raw);
      const search = info.url.slice(info.path.length);
      return proxyNode(
        req,
        reply,
        opts.kubelet,
        await store.get(undefined, name),
        `/${t.path.proxyPath ?? ''}${search}`,
      );
    }
    if (sub === 'log' && method === 'GET') {
      const nodes = stores.get(registry.get('', 'v1', 'nodes')!);
      return proxyPodLog(req, reply, {
        pods: store,
        nodes,
        kubelet: opts.kubelet,
        namespace: ns ?? '',
        name,
        query,
      });
    }
    const w = managed(writeOptions(query, userOf(req), method), rt, fieldManagerOf(req, query), sub);
    const rep = negotiate(req.headers.accept);
    // Subresources whose body is the whole object; the strategy picks what each may change.
    if (sub === 'status' || sub === 'finalize' || sub === 'approval' || sub === 'ephemeralcontainers') {
      if (method === 'GET' && sub !== 'finalize')
        return sendObject(reply, rt, await store.get(ns, name), rep, query);
      if (method === 'PUT') {
        const out = await store.update(
          ns,
          name,
          decodeBody(req.body as Buffer, req.headers['content-type']),
          sub,
          w,
        );
        sendWarnings(reply, w.warnings!);
        return sendObject(reply, rt, out, rep, query);
      }
      if (method === 'PATCH' && sub !== 'finalize') {
        const res = await patchResource(req, t, ns, name, sub, w, query);
        sendWarnings(reply, w.warnings!);
        return sendObject(reply, rt, res.obj, rep, query);
      }
    }
    if (sub === 'scale') {
      if (method === 'GET') return reply.send(scaleOf(await store.get(ns, name), rt));
      if (method === 'PATCH')
        return reply.send(scaleOf((await patchResource(req, t, ns, name, 'scale', w, query)).obj, rt));
      if (method === 'PUT') {
        const body = decodeBody(req.body as Buffer, req.headers['content-type']) as {
          spec?: { replicas?: number };
          metadata?: { resourceVersion?: string };
        };
        const replicas = body?.spec?.replicas;
        if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
          throw new StatusError(
            422,
            'Invalid',
            `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          );
        }
        const expected = body.metadata?.resourceVersion ? Number(body.metadata.resourceVersion) : undefined;
        const out = await store.guaranteedUpdate(ns, name, undefined, w, expected, (cur) => {
          cur.spec = { ...(cur.spec as object), replicas };
          return cur;
        });
        return reply.send(scaleOf(out, rt));
      }
    }
    if (sub === 'binding' && method === 'POST') {
      const body = decodeBody(req.body as Buffer, req.headers['content-type']) as {
        target?: { name?: string; kind?: string };
        metadata?: { name?: string };
      };
      const node = body?.target?.name;
      if (!node)
        throw new StatusError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`);
      const out = await store.guaranteedUpdate(ns, name, 'binding', w, undefined, (cur) => {
        const spec = cur.spec as { nodeName?: string };
        if (cur.metadata.deletionTimestamp)
          throw newConflict(store.gr, name, 'pod is being deleted, cannot be assigned to a host');
        if (spec.nodeName)
          throw newConflict(store.gr, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
        spec.nodeName = node;
        // One write, as Kubernetes does: the node and the PodScheduled condition together.
        const status = (cur.status ?? {}) as {
          conditions?: {
            type: string;
            status: string;
            lastTransitionTime?: string | null;
            lastProbeTime?: null;
          }[];
        };
        const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
        conds.push({
          type: 'PodScheduled',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: timestamp(new Date()),
        });
        cur.status = { ...status, conditions: conds };
        return cur;
      });
      return reply.code(201).send(successStatus(rt, name, out.metadata.uid));
    }
    if (sub === 'eviction' && method === 'POST') {
      const body = decodeBody(req.body as Buffer, req.headers['content-type']) as {
        deleteOptions?: DeleteOptions;
      };
      const res = await store.delete(ns, name, {
        ...(body?.deleteOptions ?? {}),
        dryRun: w.dryRun,
        user: w.user,
        subresource: 'eviction',
      });
      return reply.code(201).send(successStatus(rt, name, res.obj.metadata.uid));
    }
    throw newMethodNotSupported({ group: rt.group, resource: `${rt.plural}/${sub}` }, method.toLowerCase());
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
}

export { newNotFound };
