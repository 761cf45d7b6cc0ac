// The REST client's failover and retry rules, against tiny node:http servers
// on 127.0.0.1 whose answers each test chooses.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlreadyExists, isConflict, isGone, isNotFound, StatusError } from '../api/status.js';
import { buildQuery, type RequestOptions, RestClient } from './rest.js';

interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TestServer {
  url: string;
  hits: Hit[];
  close(): Promise<void>;
}

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

/** A server on 127.0.0.1 that records each request and answers with `handler`. */
async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse, hit: Hit) => void) {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      hits.push(hit);
      handler(req, res, hit);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const t: TestServer = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  opened.push(t);
  return t;
}

/** A URL on which nothing listens: connections are refused. */
async function deadUrl(): Promise<string> {
  const s = await serve(() => {});
  await s.close();
  return s.url;
}

function client(servers: string[], extra: Partial<ConstructorParameters<typeof RestClient>[0]> = {}) {
  const c = new RestClient({ servers, maxRetries: 3, ...extra });
  opened.push(c);
  return c;
}

const json = (
  res: http.ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

const ok = (_req: http.IncomingMessage, res: http.ServerResponse, hit: Hit) =>
  json(res, 200, { method: hit.method, body: hit.body });

const status = (code: number, reason: string, message = reason) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  code,
  reason,
  message,
});

/** The error `p` fails with; the test fails if it succeeds. */
async function failure(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (err) {
    return err as StatusError;
  }
  throw new Error('expected the request to fail');
}

const verbs: RequestOptions['method'][] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

describe('RestClient failover', () => {
  it.each(verbs)('a refused connection moves %s on to the next server', async (method) => {
    const dead = await deadUrl();
    const live = await serve(ok);
    const c = client([dead, live.url]);
    const body = method === 'GET' ? undefined : { n: 1 };
    const res = await c.request<{ method: string; body: string }>({ method, path: '/x', body });
    expect(res.method).toBe(method);
    expect(live.hits).toHaveLength(1);
    // The client stays on the server that answered.
    expect(c.server).toBe(live.url);
    await c.request({ method: 'GET', path: '/y' });
    expect(live.hits).toHaveLength(2);
  });

  it('gives up with 503 when no server can be reached', async () => {
    const c = client([await deadUrl(), await deadUrl()], { maxRetries: 2 });
    const err = await failure(c.request({ method: 'POST', path: '/x', body: {} }));
    expect(err).toBeInstanceOf(StatusError);
    expect(err.code).toBe(503);
    expect(err.message).toMatch(/no apiserver answered.*ECONNREFUSED/);
  });
});

describe('RestClient retry rules', () => {
  it.each(verbs)('retries %s after 429 with Retry-After', async (method) => {
    const s = await serve((req, res, hit) => {
      if (s.hits.length === 1) json(res, 429, status(429, 'TooManyRequests'), { 'retry-after': '0' });
      else ok(req, res, hit);
    });
    const res = await client([s.url]).request<{ method: string }>({ method, path: '/x', body: { a: 1 } });
    expect(res.method).toBe(method);
    expect(s.hits).toHaveLength(2);
    expect(s.hits[1].body).toBe('{"a":1}');
  });

  it('retries a POST after 503 with Retry-After (the server did not act)', async () => {
    const s = await serve((req, res, hit) => {
      if (s.hits.length === 1) json(res, 503, status(503, 'ServiceUnavailable'), { 'retry-after': '0' });
      else ok(req, res, hit);
    });
    await client([s.url]).request({ method: 'POST', path: '/x', body: {} });
    expect(s.hits).toHaveLength(2);
  });

  it('retries a GET after a bare 500, but not a POST', async () => {
    const flaky = () =>
      serve((req, res, hit) => {
        if (hit.body !== 'again' && flakyHits.push(1) === 1)
          json(res, 500, status(500, 'InternalError', 'oops'));
        else ok(req, res, hit);
      });
    let flakyHits: number[] = [];
    const s = await flaky();
    await client([s.url]).request({ method: 'GET', path: '/x' });
    expect(s.hits).toHaveLength(2);

    flakyHits = [];
    const p = await flaky();
    const err = await failure(client([p.url]).request({ method: 'POST', path: '/x', body: {} }));
    expect(err).toMatchObject({ code: 500, reason: 'InternalError', message: 'oops' });
    expect(p.hits).toHaveLength(1);
  });

  it('does not retry a POST whose connection was reset, on any server', async () => {
    const reset = await serve((req) => req.socket.destroy());
    const spare = await serve(ok);
    const c = client([reset.url, spare.url]);
    const err = await failure(c.request({ method: 'POST', path: '/x', body: { once: true } }));
    expect(err).toBeInstanceOf(StatusError);
    expect(err.code).toBe(503);
    expect(err.message).toMatch(/was not retried/);
    expect(reset.hits).toHaveLength(1);
    expect(spare.hits).toHaveLength(0);
  });

  it('retries a GET whose connection was reset, on the next server', async () => {
    const reset = await serve((req) => req.socket.destroy());
    const spare = await serve(ok);
    const res = await client([reset.url, spare.url]).request<{ method: string }>({
      method: 'GET',
      path: '/x',
    });
    expect(res.method).toBe('GET');
    expect([reset.hits.length, spare.hits.length]).toEqual([1, 1]);
  });

  it('times a hung request out and retries it only if it is a GET', async () => {
    const hung = await serve(() => {});
    const c = client([hung.url], { timeoutMs: 100, maxRetries: 1 });
    const get = await failure(c.request({ method: 'GET', path: '/x' }));
    expect(get.code).toBe(503);
    expect(hung.hits).toHaveLength(2);
    const put = await failure(c.request({ method: 'PUT', path: '/x', body: {} }));
    expect(put.message).toMatch(/timed out.*|was not retried/);
    expect(hung.hits).toHaveLength(3);
  });

  it('an aborted request fails at once without moving to another server', async () => {
    const hung = await serve(() => {});
    const other = await serve(ok);
    const c = client([hung.url, other.url]);
    const ac = new AbortController();
    const pending = failure(c.request({ method: 'GET', path: '/x', signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 50));
    ac.abort();
    const err = await pending;
    expect(err).toMatchObject({ code: 499 });
    expect(c.server).toBe(hung.url);
    expect(other.hits).toHaveLength(0);
  });
});

describe('RestClient errors', () => {
  it.each([
    { name: 'NotFound', code: 404, body: status(404, 'NotFound'), check: isNotFound },
    { name: 'Conflict', code: 409, body: status(409, 'Conflict'), check: isConflict },
    { name: 'AlreadyExists', code: 409, body: status(409, 'AlreadyExists'), check: isAlreadyExists },
    { name: 'Expired', code: 410, body: status(410, 'Expired'), check: isGone },
  ])('a $name Status becomes a StatusError that says so', async ({ code, body, check }) => {
    const s = await serve((_req, res) => json(res, code, body));
    const err = await failure(client([s.url]).request({ method: 'PUT', path: '/x', body: {} }));
    expect(err).toBeInstanceOf(StatusError);
    expect(err.code).toBe(code);
    expect(err.message).toBe(body.message);
    expect(check(err)).toBe(true);
    expect(isNotFound(err) && isConflict(err)).toBe(false);
  });

  it('keeps the details of a Status', async () => {
    const body = { ...status(422, 'Invalid'), details: { name: 'x', causes: [{ field: 'spec.replicas' }] } };
    const s = await serve((_req, res) => json(res, 422, body));
    const err = await failure(client([s.url]).request({ method: 'POST', path: '/x', body: {} }));
    expect(err.details).toEqual(body.details);
  });

  it('makes a StatusError of an answer that is not a Status', async () => {
    const s = await serve((req, res) => {
      res.writeHead(req.url === '/missing' ? 404 : 400, { 'content-type': 'text/plain' });
      res.end(req.url === '/missing' ? '' : 'bad thing');
    });
    const c = client([s.url]);
    const missing = await failure(c.request({ method: 'GET', path: '/missing' }));
    expect(isNotFound(missing)).toBe(true);
    const bad = await failure(c.request({ method: 'GET', path: '/bad' }));
    expect(bad).toMatchObject({ code: 400, message: 'bad thing' });
  });
});

describe('RestClient requests', () => {
  it('sends the query, JSON body, content type and credentials', async () => {
    const s = await serve(ok);
    await client([s.url], { token: 't0k', userAgent: 'test/1' }).request({
      method: 'PATCH',
      path: '/api/v1/x',
      query: { a: 'b c', n: 2, off: undefined, empty: '' },
      body: { z: 1 },
      contentType: 'application/merge-patch+json',
    });
    const hit = s.hits[0];
    expect(hit.url).toBe('/api/v1/x?a=b%20c&n=2');
    expect(hit.headers).toMatchObject({
      authorization: 'Bearer t0k',
      'content-type': 'application/merge-patch+json',
      'user-agent': 'test/1',
    });
    expect(hit.body).toBe('{"z":1}');

    await client([s.url], { username: 'alice', password: 'pw' }).request({ method: 'GET', path: '/' });
    expect(s.hits[1].headers.authorization).toBe(`Basic ${Buffer.from('alice:pw').toString('base64')}`);
  });

  it('returns text bodies as strings and empty bodies as undefined', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(req.url === '/text' ? 'hello\n' : '');
    });
    const c = client([s.url]);
    expect(await c.request({ method: 'GET', path: '/text' })).toBe('hello\n');
    expect(await c.request({ method: 'GET', path: '/empty' })).toBeUndefined();
  });

  it('refuses a config without servers or with one that is not a URL', () => {
    expect(() => new RestClient({ servers: [] })).toThrow(/at least one server/);
    expect(() => new RestClient({ servers: ['127.0.0.1:6443'] })).toThrow(/not an http/);
    const c = client(['http://127.0.0.1:1//']);
    expect(c.server).toBe('http://127.0.0.1:1');
  });

  it('buildQuery leaves out unset values', () => {
    expect(buildQuery(undefined)).toBe('');
    expect(buildQuery({ a: undefined })).toBe('');
    expect(buildQuery({ watch: true, labelSelector: 'a=b,c!=d' })).toBe(
      '?watch=true&labelSelector=a%3Db%2Cc!%3Dd',
    );
  });
});

describe('RestClient.streamLines', () => {
  it('yields whole lines however the chunks fall, multi-byte characters included', async () => {
    const text = '{"a":"héllo"}\n{"b":"日本"}\n\n{"c":"last, no newline"}';
    const bytes = Buffer.from(text);
    const s = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // One byte at a time splits every multi-byte character and every line.
      for (const b of bytes) {
        res.write(Buffer.from([b]));
        await new Promise((r) => setImmediate(r));
      }
      res.end();
    });
    const lines: string[] = [];
    for await (const l of client([s.url]).streamLines({ path: '/watch' })) lines.push(l);
    expect(lines).toEqual(['{"a":"héllo"}', '{"b":"日本"}', '{"c":"last, no newline"}']);
  });

  it('throws the Status of a failed answer before any line', async () => {
    const s = await serve((_req, res) => json(res, 410, status(410, 'Expired', 'too old')));
    const lines = client([s.url]).streamLines({ path: '/watch' });
    await expect(lines.next()).rejects.toMatchObject({ code: 410, message: 'too old' });
  });

  it('opens on the next server when the first refuses', async () => {
    const live = await serve((_req, res) => {
      res.writeHead(200);
      res.end('one\ntwo\n');
    });
    const c = client([await deadUrl(), live.url]);
    const lines: string[] = [];
    for await (const l of c.streamLines({ path: '/watch' })) lines.push(l);
    expect(lines).toEqual(['one', 'two']);
    expect(c.server).toBe(live.url);
  });

  it('moves on from a server that accepts but never answers', async () => {
    const hung = await serve(() => {});
    const live = await serve((_req, res) => {
      res.writeHead(200);
      res.end('ok\n');
    });
    const c = client([hung.url, live.url], { timeoutMs: 100 });
    const lines: string[] = [];
    for await (const l of c.streamLines({ path: '/watch' })) lines.push(l);
    expect(lines).toEqual(['ok']);
  });

  it('breaks off a stream that goes silent for longer than its idle timeout', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200);
      res.write('hello\n');
    });
    const seen: string[] = [];
    const started = Date.now();
    const err = await failure(
      (async () => {
        for await (const l of client([s.url]).streamLines({ path: '/quiet', idleTimeoutMs: 150 }))
          seen.push(l);
      })(),
    );
    expect(seen).toEqual(['hello']);
    expect(err).toMatchObject({ code: 503, message: expect.stringMatching(/broke/) });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('throws 503 when an open stream breaks, and ends quietly when aborted', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200);
      res.write('first\n');
      if (req.url === '/break') setTimeout(() => req.socket.destroy(), 20);
    });
    const c = client([s.url]);
    const seen: string[] = [];
    const broke = await (async () => {
      for await (const l of c.streamLines({ path: '/break' })) seen.push(l);
    })().then(
      () => undefined,
      (e: StatusError) => e,
    );
    expect(seen).toEqual(['first']);
    expect(broke).toMatchObject({ code: 503, message: expect.stringMatching(/broke/) });

    const ac = new AbortController();
    const got: string[] = [];
    for await (const l of c.streamLines({ path: '/hold', signal: ac.signal })) {
      got.push(l);
      ac.abort();
    }
    expect(got).toEqual(['first']);
  });
});
