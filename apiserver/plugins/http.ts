/**
 * What every answer shares: bodies are read as raw bytes (each handler
 * decodes by content type), any thrown error is rendered as a Kubernetes
 * Status, `?pretty` indents JSON, and an unknown path is a 404 Status.
 */
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  newInternalError,
  newRequestEntityTooLarge,
  newUnsupportedMediaType,
  StatusError,
} from '../../api/status.js';
import { isPrettyPrint, requestInfo } from '../request.js';
import { appWide } from './app-wide.js';

export const maxBodyBytes = 3 * 1024 * 1024;

/**
 * Reads and drops what is left of a request body before an early answer (a
 * 401, 403 or 413 sent before the body was read), as Go's server does: the
 * connection then closes after the answer, and closing it while the client
 * still writes would reset it before the client reads the answer. Bounded
 * in bytes and time; past either the connection just closes.
 */
function drainUnread(req: IncomingMessage, maxBytes = 4 * maxBodyBytes, ms = 5_000): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  if (Number(req.headers['content-length']) > maxBytes) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, ms);
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.resume();
  });
}

function statusOf(err: FastifyError | StatusError | Error): StatusError {
  if (err instanceof StatusError) return err;
  const e = err as FastifyError;
  if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return newRequestEntityTooLarge(`limit is ${maxBodyBytes}`);
  if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return newUnsupportedMediaType(String(e.message));
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
    return new StatusError(e.statusCode, 'BadRequest', e.message);
  return newInternalError(err);
}

/** The HTTPS options of the apiserver's port; `clientCA` checks client certificates. */
export interface ServingTLS {
  cert: Buffer;
  key: Buffer;
  clientCA?: Buffer;
}

/** The fastify instance: its logger, body limit, the one parse of every request target, TLS. */
export function newFastify(logger: Logger, tls: ServingTLS | undefined): FastifyInstance {
  return Fastify({
    loggerInstance: logger,
    disableRequestLogging: true,
    bodyLimit: maxBodyBytes,
    // Every request target is parsed once, before routing (request.ts): the router sees the
    // canonical form that authorization, audit and metrics read too. A target that cannot be
    // parsed routes nowhere and is refused with its 400 in the first onRequest hook.
    rewriteUrl: (req: IncomingMessage) => {
      try {
        return requestInfo(req).url;
      } catch {
        return '/';
      }
    },
    // A URL fastify cannot even decode (`/apis/%00`, `%ZZ`) is answered as a Kubernetes Status too.
    frameworkErrors: (err: FastifyError, _req: unknown, reply: { code(n: number): any }) => {
      const se = new StatusError(400, 'BadRequest', `the request could not be read: ${err.message}`);
      reply.code(400).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
    },
    ...(tls
      ? {
          https: {
            cert: tls.cert,
            key: tls.key,
            ...(tls.clientCA ? { ca: tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}),
          },
        }
      : {}),
  } as object) as unknown as FastifyInstance;
}

export const httpPlugin = appWide('http', async (app) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const se = statusOf(err);
    if (se.code >= 500) req.log.error({ err }, 'request failed');
    await drainUnread(req.raw);
    // As Kubernetes' ErrorNegotiated: a Status that says when to retry says it in Retry-After too.
    if (se.details?.retryAfterSeconds) reply.header('retry-after', String(se.details.retryAfterSeconds));
    reply.code(se.code).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
  });
  // `?pretty` and people's user agents get JSON indented by two spaces, errors included, as
  // Kubernetes' writers; watch streams are hijacked and keep one event a line.
  app.addHook('onSend', async (req, reply, payload) => {
    if (typeof payload !== 'string') return payload;
    // The request's one parse (a target that did not parse was answered with its 400 as is).
    let query: URLSearchParams;
    try {
      query = requestInfo(req.raw).query;
    } catch {
      return payload;
    }
    if (!isPrettyPrint(query, req.headers['user-agent'])) return payload;
    if (!String(reply.getHeader('content-type') ?? '').startsWith('application/json')) return payload;
    try {
      return JSON.stringify(JSON.parse(payload), null, 2);
    } catch {
      return payload;
    }
  });
  app.setNotFoundHandler((_req, reply) => {
    const se = new StatusError(404, 'NotFound', 'the server could not find the requested resource');
    reply.code(404).header('content-type', 'application/json').send(JSON.stringify(se.toStatus()));
  });
});
