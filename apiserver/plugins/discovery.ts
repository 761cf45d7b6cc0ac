/** Discovery (/version, /api, /apis...) and the OpenAPI documents, v3 and v2, all built from the registry. */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from '../../api/registry.js';
import { registerDiscovery } from '../discovery.js';
import { registerOpenAPI } from '../openapi.js';
import { registerOpenAPIV2 } from '../openapi-v2.js';
import { reviewResources } from '../reviews.js';

export interface DiscoveryPluginOptions {
  registry: Registry;
}

export const discoveryPlugin: FastifyPluginAsync<DiscoveryPluginOptions> = async (app, { registry }) => {
  registerDiscovery(app, registry, reviewResources);
  registerOpenAPI(app, registry);
  registerOpenAPIV2(app, registry);
};
