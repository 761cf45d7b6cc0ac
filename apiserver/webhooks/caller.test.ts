import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCA, issueCert } from '../../base/pki.js';
import { postReview, resolveTarget, type ServiceLookup, type WebhookTarget } from './caller.js';
import { WebhookCallError } from './review.js';

let dir: string;
let server: https.Server;
let port: number;
let ca: string;
let otherCA: string;
const open = new Set<import('node:http').ServerResponse>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nk-webhook-caller-'));
  const caPaths = await ensureCA(join(dir, 'ca'));
  const other = await ensureCA(join(dir, 'other'));
  ca = readFileSync(caPaths.cert, 'utf8');
  otherCA = readFileSync(other.cert, 'utf8');
  const cert = await issueCert(join(dir, 'ca'), {
    name: 'hook',
    commonName: 'hook.default.svc',
    sans: ['DNS:hook.default.svc', 'IP:127.0.0.1'],
  });
  server = https.createServer({ cert: readFileSync(cert.cert), key: readFileSync(cert.key) }, (req, res) => {
    req.resume();
    if (req.url?.startsWith('/hang')) {
      open.add(res);
      return;
    }
    if (req.url?.startsWith('/big')) {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const write = () => {
        while (sent < 100 * 1024 * 1024 && res.write(chunk)) sent += chunk.length;
        if (sent < 100 * 1024 * 1024) res.once('drain', write);
        else res.end();
      };
      res.on('error', () => {});
      write();
      return;
    }
    if (req.url?.startsWith('/500')) {
      res.writeHead(500).end('boom');
      return;
    }
    req.on('end', () => res.end(JSON.stringify({ path: req.url, host: req.headers.host })));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
}, 30_000);

afterAll(async () => {
  for (const r of open) r.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const target = (path: string, o: Partial<WebhookTarget> = {}): WebhookTarget => ({
  url: `https://hook.default.svc:${port}${path}`,
  host: '127.0.0.1',
  port,
  path,
  servername: 'hook.default.svc',
  ca,
  ...o,
});

async function failure(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WebhookCallError);
  return (err as Error).message;
}

describe('a webhook call', () => {
  it('posts to the endpoint with the service name checked and sent as Host', async () => {
    const body = await postReview(target('/ok?timeout=10s'), Buffer.from('{}'), 5000);
    expect(JSON.parse(body.toString())).toEqual({
      path: '/ok?timeout=10s',
      host: `hook.default.svc:${port}`,
    });
  });

  it('refuses a certificate another CA signed', async () => {
    expect(await failure(postReview(target('/ok', { ca: otherCA }), Buffer.from('{}'), 5000))).toMatch(
      /^failed to call webhook: Post "https:\/\/hook.default.svc:\d+\/ok": .*certificate/,
    );
  });

  it('refuses a certificate for another name', async () => {
    expect(
      await failure(postReview(target('/ok', { servername: 'other.default.svc' }), Buffer.from('{}'), 5000)),
    ).toMatch(/other.default.svc/);
  });

  it('aborts at the deadline', async () => {
    expect(await failure(postReview(target('/hang'), Buffer.from('{}'), 300))).toMatch(
      /context deadline exceeded$/,
    );
  });

  it('stops reading an answer over the bound', async () => {
    expect(await failure(postReview(target('/big'), Buffer.from('{}'), 20_000, 1024 * 1024))).toMatch(
      /response body larger than 1048576 bytes/,
    );
  });

  it('fails on a status other than 200', async () => {
    expect(await failure(postReview(target('/500'), Buffer.from('{}'), 5000))).toMatch(
      /the server responded with HTTP 500: boom/,
    );
  });

  it('says connection refused as Go does', async () => {
    const closed = https.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const p = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await failure(postReview(target('/', { port: p }), Buffer.from('{}'), 5000))).toMatch(
      `dial tcp 127.0.0.1:${p}: connect: connection refused`,
    );
  });
});

describe('where a webhook is', () => {
  const lookup = (o: { type?: string; addresses?: string[] } = {}): ServiceLookup => ({
    service: (ns, name) =>
      ns === 'default' && name === 'hook'
        ? {
            metadata: { name },
            spec: {
              type: o.type,
              ports: [
                { name: 'metrics', port: 9090 },
                { name: 'https', port: 443 },
              ],
            },
          }
        : undefined,
    endpoints: () => ({
      metadata: { name: 'hook' },
      subsets: [
        {
          addresses: (o.addresses ?? ['10.244.1.5']).map((ip) => ({ ip })),
          ports: [
            { name: 'metrics', port: 9100 },
            { name: 'https', port: 8443 },
          ],
        },
      ],
    }),
  });
  const svc = { service: { namespace: 'default', name: 'hook', path: '/validate', port: 443 } };

  it('is a ready endpoint of the service, on the target port of the named service port', () => {
    expect(resolveTarget(svc, 7, lookup())).toEqual({
      url: 'https://hook.default.svc:443/validate?timeout=7s',
      host: '10.244.1.5',
      port: 8443,
      path: '/validate?timeout=7s',
      servername: 'hook.default.svc',
      ca: undefined,
    });
  });

  it.each([
    {
      name: 'no such service',
      cc: { service: { ...svc.service, name: 'nope' } },
      l: lookup(),
      want: 'service "nope" not found',
    },
    {
      name: 'no such port',
      cc: { service: { ...svc.service, port: 444 } },
      l: lookup(),
      want: 'no service port 444 found',
    },
    {
      name: 'no endpoints',
      cc: svc,
      l: lookup({ addresses: [] }),
      want: 'no endpoints available for service "hook"',
    },
    {
      name: 'ExternalName',
      cc: svc,
      l: lookup({ type: 'ExternalName' }),
      want: 'unsupported service type "ExternalName"',
    },
  ])('fails with $name', ({ cc, l, want }) => {
    expect(() => resolveTarget(cc, 10, l)).toThrow(want);
  });

  it('is the URL host for a url, with the CA decoded', () => {
    const t = resolveTarget(
      { url: 'https://hooks.example.com:9443/check', caBundle: Buffer.from('PEM').toString('base64') },
      10,
      lookup(),
    );
    expect(t).toEqual({
      url: 'https://hooks.example.com:9443/check?timeout=10s',
      host: 'hooks.example.com',
      port: 9443,
      path: '/check?timeout=10s',
      servername: 'hooks.example.com',
      ca: 'PEM',
    });
  });
});
