/** Nodes: a kubelet registers with its status; nodes/{name}/proxy/{path} reaches the kubelet. */
import { StatusError } from '../../api/status.js';
import { proxyNode } from '../kubelet-proxy.js';
import { requestInfo } from '../request.js';
import type { Kind } from './kind.js';

export const nodes: Kind = {
  keepsStatusOnCreate: true,
  subresources: {
    proxy: {
      passthrough: {
        '*': async ({ req, reply, t, name, kubelet }) => {
          const method = req.method;
          if (method !== 'GET') throw new StatusError(405, 'MethodNotAllowed', `${method} is not supported`);
          const info = requestInfo(req.raw);
          const search = info.url.slice(info.path.length);
          return proxyNode(
            req,
            reply,
            kubelet,
            await t.store.get(undefined, name),
            `/${t.path.proxyPath ?? ''}${search}`,
          );
        },
      },
    },
  },
};
