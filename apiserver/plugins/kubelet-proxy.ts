/**
 * pods/{name}/exec, attach and portforward: websocket upgrades joined to
 * the pod's kubelet (kubelet-proxy.ts). Upgrades never reach fastify's
 * routes or hooks, so the gate and the audit record are called here.
 */
import type http from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import type { Access } from '../access.js';
import type { AdmissionAttributes } from '../admission.js';
import type { AuditLog } from '../audit.js';
import { type KubeletClient, registerKubeletUpgradeProxy } from '../kubelet-proxy.js';
import type { Storage } from '../storage.js';

export interface KubeletProxyPluginOptions {
  kubelet: KubeletClient;
  store: Storage['store'];
  logger: Logger;
  /** Authenticates and authorizes each upgrade, and starts its audit record. */
  access: Access;
  /** Where audit records go, if anywhere. */
  audit: AuditLog | undefined;
  /** The plain loopback server, if any: every request there is the admin, neither gated nor audited. */
  insecure?: http.Server;
  /** Admission of a CONNECT by a user (storage.ts's admitConnect). */
  admitConnect?: (a: AdmissionAttributes) => Promise<void>;
}

export const kubeletProxyPlugin: FastifyPluginAsync<KubeletProxyPluginOptions> = async (app, o) => {
  const pods = o.store('', 'v1', 'pods')!;
  const nodes = o.store('', 'v1', 'nodes');
  const { kubelet, logger, access, audit } = o;
  const admitConnect = o.admitConnect;
  const admit: Parameters<typeof registerKubeletUpgradeProxy>[1]['admit'] = admitConnect
    ? (req, c) =>
        admitConnect({
          operation: 'CONNECT',
          rt: pods.rt,
          namespace: c.namespace,
          name: c.name,
          subresource: c.subresource,
          obj: c.options,
          user: access.userOf({ raw: req } as Parameters<Access['userOf']>[0]),
          dryRun: false,
        })
    : undefined;
  registerKubeletUpgradeProxy(app.server, {
    pods,
    nodes,
    kubelet,
    logger,
    gate: (req) => access.gate(req),
    // Upgrades never reach fastify's onResponse: the proxy reports how each one ended.
    audited: (req, code) => {
      const rec = access.auditRecord(req);
      if (audit && rec) audit.record(req, rec, code);
    },
    admit,
  });
  if (o.insecure) registerKubeletUpgradeProxy(o.insecure, { pods, nodes, kubelet, logger, admit });
};
