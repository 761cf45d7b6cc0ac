/**
 * API aggregation (aggregator/): requests to a group-version an APIService
 * hands to a service go there, in an onRequest hook that runs after
 * authentication and authorization (registered after them, before the
 * plugins with routes), so the request body is still unread and streams
 * through. Every other request goes on to its route.
 */

import type { Access } from '../access.js';
import type { AggregationProxy } from '../aggregator/proxy.js';
import { requestInfo } from '../request.js';
import { appWide } from './app-wide.js';

export interface AggregatorPluginOptions {
  proxy: AggregationProxy;
  access: Access;
}

export const aggregatorPlugin = appWide<AggregatorPluginOptions>(
  'aggregation',
  async (app, { proxy, access }) => {
    app.addHook('onRequest', async (req, reply) => {
      const info = requestInfo(req.raw);
      const a = proxy.claims(info);
      if (!a) return;
      await proxy.proxy(req, reply, a, info, access.userOf(req));
    });
  },
);
