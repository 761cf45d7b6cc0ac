/**
 * Subresources: the route that serves `{kind}/{name}/{subresource}` with
 * the handler the kind's entry declares (kinds/), else the generic one
 * (status, scale; subresources.ts); and serviceaccounts/{name}/token, which
 * has a route of its own (serviceaccount-token.ts).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { own } from '../../api/plain.js';
import { isNotFound, newMethodNotSupported } from '../../api/status.js';
import type { UserInfo } from '../authn.js';
import { kindOf } from '../kinds/index.js';
import type { KubeletClient } from '../kubelet-proxy.js';
import { admitNodeTokenRequest } from '../node-restriction.js';
import { fieldManagerOf, managed } from '../patch-handler.js';
import { negotiate } from '../request.js';
import { type Query, type Target, writeOptions } from '../rest.js';
import { registerTokenRequest, type TokenIssuerConfig } from '../serviceaccount-token.js';
import type { Storage } from '../storage.js';
import { genericSubresources, type Subresource, type SubresourceRequest } from '../subresources.js';

/** Serves one request to a subresource the resources route resolved. */
export type SubresourceRoute = (
  req: FastifyRequest,
  reply: FastifyReply,
  t: Target,
  ns: string | undefined,
  query: Query,
) => Promise<unknown>;

export interface SubresourceRouteOptions {
  kubelet: KubeletClient;
  store: Storage['store'];
  userOf: (req: FastifyRequest) => UserInfo;
}

/** The subresource handlers of `t`'s kind, by method: the kind's own, else the generic ones. */
function subresourceOf(t: Target, sub: string): Subresource | undefined {
  return own<Subresource>(kindOf(t.rt).subresources ?? {}, sub) ?? own<Subresource>(genericSubresources, sub);
}

export function subresourceRoute(o: SubresourceRouteOptions): SubresourceRoute {
  return async (req, reply, t, ns, query) => {
    const { rt } = t;
    const sub = t.path.subresource!;
    const method = req.method;
    const handlers = subresourceOf(t, sub);
    const call: SubresourceRequest = {
      req,
      reply,
      t,
      ns,
      name: t.path.name!,
      query,
      kubelet: o.kubelet,
      store: o.store,
    };
    type Passthrough = NonNullable<Subresource['passthrough']>[string];
    const passthrough =
      handlers?.passthrough &&
      (own<Passthrough>(handlers.passthrough, method) ?? own<Passthrough>(handlers.passthrough, '*'));
    if (passthrough) return passthrough(call);
    // Read before the method is checked: a bad dryRun or fieldManager is refused first.
    const w = managed(writeOptions(query, o.userOf(req), method), rt, fieldManagerOf(req, query), sub);
    const rep = negotiate(req.headers.accept);
    const handler =
      handlers?.methods && own<NonNullable<Subresource['methods']>[string]>(handlers.methods, method);
    if (handler) return handler({ ...call, w, rep });
    throw newMethodNotSupported({ group: rt.group, resource: `${rt.plural}/${sub}` }, method.toLowerCase());
  };
}

export interface TokenRequestPluginOptions {
  /** Signs service account tokens; unset: TokenRequest answers 503. */
  issuer: TokenIssuerConfig | undefined;
  store: Storage['store'];
  userOf: (req: FastifyRequest) => UserInfo;
}

/** POST serviceaccounts/{name}/token, NodeRestriction first. */
export const tokenRequestPlugin: FastifyPluginAsync<TokenRequestPluginOptions> = async (app, o) => {
  const saStore = o.store('', 'v1', 'serviceaccounts')!;
  const podStore = o.store('', 'v1', 'pods')!;
  /** A pod, or undefined when there is none (admission reads these, as Kubernetes' listers). */
  const pod = (ns: string, name: string) =>
    podStore.get(ns, name).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  registerTokenRequest(app, o.issuer, {
    serviceAccount: (ns, name) => saStore.get(ns, name),
    pod: (ns, name) => podStore.get(ns, name),
    admit: (req, ns, name, ref) => admitNodeTokenRequest(o.userOf(req), ns, name, ref, pod),
  });
};
