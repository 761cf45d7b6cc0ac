/** Discovery (/version, /api, /apis...) and the OpenAPI documents, v3 and v2, all built from the registry. */
import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from '../../api/registry.js';
import { type ExternalGroups, registerDiscovery } from '../discovery.js';
import { registerOpenAPI } from '../openapi.js';
import { registerOpenAPIV2 } from '../openapi-v2.js';
import { reviewResources } from '../reviews.js';

export interface DiscoveryPluginOptions {
  registry: Registry;
  /** Groups served elsewhere (aggregated APIServices). */
  external?: ExternalGroups;
}

export const discoveryPlugin: FastifyPluginAsync<DiscoveryPluginOptions> = async (
  app,
  { registry, external },
) => {
  registerDiscovery(app, registry, reviewResources, external);
  registerOpenAPI(app, registry);
  registerOpenAPIV2(app, registry);
};
