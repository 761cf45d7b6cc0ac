/**
 * pods/{name}/exec, attach and portforward: websocket upgrades joined to
 * the pod's kubelet (kubelet-proxy.ts). Upgrades never reach fastify's
 * routes or hooks, so the gate and the audit record are called here.
 */
import type http from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import { type KubeletClient, registerKubeletUpgradeProxy } from '../kubelet-proxy.js';
import type { Storage } from '../storage.js';

export interface KubeletProxyPluginOptions {
  kubelet: KubeletClient;
  store: Storage['store'];
  logger: Logger;
  /** Authenticates and authorizes an upgrade; throws a StatusError to refuse it. */
  gate: (req: http.IncomingMessage) => void;
  /** Called once per upgrade with the code it got: upgrades never reach fastify's onResponse. */
  audited: (req: http.IncomingMessage, code: number) => void;
  /** The plain loopback server, if any: every request there is the admin, neither gated nor audited. */
  insecure?: http.Server;
}

export const kubeletProxyPlugin: FastifyPluginAsync<KubeletProxyPluginOptions> = async (app, o) => {
  const pods = o.store('', 'v1', 'pods')!;
  const nodes = o.store('', 'v1', 'nodes');
  const { kubelet, logger } = o;
  registerKubeletUpgradeProxy(app.server, { pods, nodes, kubelet, logger, gate: o.gate, audited: o.audited });
  if (o.insecure) registerKubeletUpgradeProxy(o.insecure, { pods, nodes, kubelet, logger });
};
