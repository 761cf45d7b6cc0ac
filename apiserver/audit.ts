/**
 * The audit log: one line per write (create, update, patch, delete,
 * deletecollection) and per refused request, in Kubernetes' audit Event
 * shape (audit.k8s.io/v1, level Metadata, stage ResponseComplete): who,
 * what, when and the answer's code. Written through pino to a file, or to
 * standard output for `-`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import pino, { type Logger } from 'pino';
import type { UserInfo } from './authn.js';
import type { Attributes } from './authz.js';

const writeVerbs = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface AuditRecord {
  user?: UserInfo;
  attrs?: Attributes;
  received: Date;
  /** The canonical request target (request.ts's RequestInfo). */
  requestURI?: string;
}

export class AuditLog {
  private readonly out: Logger;

  constructor(path: string) {
    const dest =
      path === '-' ? pino.destination(1) : pino.destination({ dest: path, mkdir: true, sync: false });
    // No pino fields of its own: each line is the audit Event alone.
    this.out = pino({ base: undefined, timestamp: false, messageKey: '_unused' }, dest);
  }

  /** Logs the request if it wrote, or if it was refused (401, 403). */
  record(req: IncomingMessage, rec: AuditRecord, code: number): void {
    const a = rec.attrs;
    const refused = code === 401 || code === 403;
    if (!refused && !(a && writeVerbs.has(a.verb))) return;
    const event: Record<string, unknown> = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: randomUUID(),
      stage: 'ResponseComplete',
      requestURI: rec.requestURI ?? req.url,
      verb: a?.verb ?? req.method?.toLowerCase(),
      user: rec.user ? { username: rec.user.name, groups: rec.user.groups } : {},
      sourceIPs: [req.socket.remoteAddress ?? ''],
      userAgent: req.headers['user-agent'],
      responseStatus: { metadata: {}, code },
      requestReceivedTimestamp: rec.received.toISOString(),
      stageTimestamp: new Date().toISOString(),
    };
    if (a?.resourceRequest)
      event.objectRef = {
        resource: a.resource,
        ...(a.namespace ? { namespace: a.namespace } : {}),
        ...(a.name ? { name: a.name } : {}),
        ...(a.apiGroup ? { apiGroup: a.apiGroup } : {}),
        apiVersion: a.apiVersion,
        ...(a.subresource ? { subresource: a.subresource } : {}),
      };
    this.out.info(event);
  }

  flush(): void {
    this.out.flush();
  }
}
