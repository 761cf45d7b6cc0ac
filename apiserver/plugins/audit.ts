/** The audit log (audit.ts): each request the gate recorded is written once it is answered. */
import type { Access } from '../access.js';
import type { AuditLog } from '../audit.js';
import { appWide } from './app-wide.js';

export interface AuditPluginOptions {
  log: AuditLog;
  access: Access;
}

export const auditPlugin = appWide<AuditPluginOptions>('audit', async (app, { log, access }) => {
  app.addHook('onResponse', (req, reply, done) => {
    const rec = access.auditRecord(req.raw);
    if (rec) log.record(req.raw, rec, reply.statusCode);
    done();
  });
});
