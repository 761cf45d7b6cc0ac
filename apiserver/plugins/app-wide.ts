/**
 * Fastify encapsulates a plugin: its hooks, error handler and parsers apply
 * to its own routes only. The cross-cutting plugins (errors, metrics,
 * authentication and authorization, audit) must apply to every route, so
 * they skip that, as the fastify-plugin package marks them: register them
 * before the plugins with routes, which inherit what they set.
 */
import type { FastifyPluginAsync, FastifyPluginOptions } from 'fastify';

export function appWide<O extends FastifyPluginOptions>(
  name: string,
  plugin: FastifyPluginAsync<O>,
): FastifyPluginAsync<O> {
  return Object.assign(plugin, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: name,
  });
}
