/**
 * `/livez`, `/healthz` and `/readyz`, answered as every component answers
 * them (client/health.ts): `ok`, or each check with `?verbose` or a failure.
 */
import type { FastifyPluginAsync } from 'fastify';
import { type HealthCheck, healthResponse } from '../../client/health.js';

export interface HealthPluginOptions {
  /** Checks by endpoint name (livez, healthz, readyz), in the order they are listed. */
  checks: Record<string, Record<string, HealthCheck>>;
}

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app, { checks }) => {
  for (const [name, endpoint] of Object.entries(checks)) {
    app.get(`/${name}`, async (req, reply) => {
      const verbose = (req.query as Record<string, unknown>).verbose !== undefined;
      const { code, body } = await healthResponse(endpoint, name, verbose);
      reply.code(code);
      reply.header('content-type', 'text/plain; charset=utf-8');
      return body;
    });
  }
};
