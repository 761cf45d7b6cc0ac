/**
 * Subresource handlers: what serves `{kind}/{name}/{subresource}` for one
 * method. The generic ones (status, scale) serve every kind that lists the
 * subresource; a kind's own (binding, eviction, log, proxy, approval,
 * finalize, ephemeralcontainers) sit in its entry under kinds/. The route
 * that picks one is plugins/subresources.ts.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import type { KubeletClient } from './kubelet-proxy.js';
import { patchResource, scaleOf, setScaleReplicas } from './patch-handler.js';
import { decodeBody, type Representation } from './request.js';
import { type Query, sendObject, sendWarnings, type Target } from './rest.js';
import type { ResourceStore, WriteOptions } from './store.js';

/** One request to a subresource, as the route resolved it. */
export interface SubresourceRequest {
  req: FastifyRequest;
  reply: FastifyReply;
  t: Target;
  /** The namespace, for a namespaced kind. */
  ns: string | undefined;
  name: string;
  query: Query;
  /** How logs and node proxy requests reach kubelets. */
  kubelet: KubeletClient;
  /** The store of another kind this server serves (nodes, for a pod's log). */
  store(group: string, version: string, plural: string): ResourceStore | undefined;
}

/** A request that writes (or reads) the object: its write options and representation are read. */
export interface SubresourceWrite extends SubresourceRequest {
  w: WriteOptions;
  rep: Representation;
}

/**
 * The handlers of one subresource, by HTTP method. A method with neither
 * handler is 405 MethodNotSupported, once the write options are read (so a
 * bad dryRun is refused first, as before the method).
 */
export interface Subresource {
  /** Streams and proxies, by method (`*`: any): they take the request as it is and read no write options. */
  passthrough?: Readonly<Record<string, (c: SubresourceRequest) => Promise<unknown>>>;
  /** Handlers by method, called with the write options and representation read. */
  methods?: Readonly<Record<string, (c: SubresourceWrite) => Promise<unknown>>>;
}

const getObject = async (c: SubresourceWrite) =>
  sendObject(c.reply, c.t.rt, await c.t.store.get(c.ns, c.name), c.rep, c.query);

const putObject = async (c: SubresourceWrite) => {
  const out = await c.t.store.update(
    c.ns,
    c.name,
    decodeBody(c.req.body as Buffer, c.req.headers['content-type']),
    c.t.path.subresource,
    c.w,
  );
  sendWarnings(c.reply, c.w.warnings!);
  return sendObject(c.reply, c.t.rt, out, c.rep, c.query);
};

const patchObject = async (c: SubresourceWrite) => {
  const res = await patchResource(c.req, c.t, c.ns, c.name, c.t.path.subresource, c.w, c.query);
  sendWarnings(c.reply, c.w.warnings!);
  return sendObject(c.reply, c.t.rt, res.obj, c.rep, c.query);
};

/**
 * A subresource whose body is the whole object (status, approval,
 * ephemeralcontainers): the strategy's update for it picks what may change.
 */
export const wholeObject: Subresource = { methods: { GET: getObject, PUT: putObject, PATCH: patchObject } };

/** A whole-object subresource that is only ever replaced (a namespace's finalize). */
export const replaceOnly: Subresource = { methods: { PUT: putObject } };

/** autoscaling/v1 Scale over spec.replicas, for every kind that lists `scale`. */
export const scale: Subresource = {
  methods: {
    GET: async (c) => c.reply.send(scaleOf(await c.t.store.get(c.ns, c.name), c.t.rt)),
    PATCH: async (c) =>
      c.reply.send(
        scaleOf((await patchResource(c.req, c.t, c.ns, c.name, 'scale', c.w, c.query)).obj, c.t.rt),
      ),
    PUT: async (c) => {
      const body = decodeBody(c.req.body as Buffer, c.req.headers['content-type']) as {
        spec?: { replicas?: number };
        metadata?: { resourceVersion?: string };
      };
      const replicas = body?.spec?.replicas;
      if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
        throw new StatusError(
          422,
          'Invalid',
          `Scale.autoscaling "${c.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        );
      }
      const expected = body.metadata?.resourceVersion ? Number(body.metadata.resourceVersion) : undefined;
      const out = await c.t.store.guaranteedUpdate(
        c.ns,
        c.name,
        undefined,
        c.w,
        expected,
        (cur: KubeObject) => {
          setScaleReplicas(cur, c.t.rt, replicas);
          return cur;
        },
      );
      return c.reply.send(scaleOf(out, c.t.rt));
    },
  },
};

/** The subresources every kind that lists them gets. */
export const genericSubresources: Readonly<Record<string, Subresource>> = { status: wholeObject, scale };
