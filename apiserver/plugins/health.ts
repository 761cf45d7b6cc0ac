/**
 * `/livez`, `/healthz` and `/readyz`, answered as every component answers
 * them (client/health.ts): `ok`, or each check with `?verbose` or a failure.
 * Live is the process; healthy adds etcd; ready adds the watch caches'
 * first sync.
 */
import type { FastifyPluginAsync } from 'fastify';
import { type HealthCheck, healthResponse } from '../../client/health.js';

export interface HealthPluginOptions {
  etcd: HealthCheck;
  /** True once every watch cache has listed. */
  informerSync: HealthCheck;
}

export const healthPlugin: FastifyPluginAsync<HealthPluginOptions> = async (app, o) => {
  const ping = () => true;
  const endpoints: Record<string, Record<string, HealthCheck>> = {
    livez: { ping },
    healthz: { ping, etcd: o.etcd },
    readyz: { ping, etcd: o.etcd, 'informer-sync': o.informerSync },
  };
  for (const [name, checks] of Object.entries(endpoints)) {
    app.get(`/${name}`, async (req, reply) => {
      const verbose = (req.query as Record<string, unknown>).verbose !== undefined;
      const { code, body } = await healthResponse(checks, name, verbose);
      reply.code(code);
      reply.header('content-type', 'text/plain; charset=utf-8');
      return body;
    });
  }
};
