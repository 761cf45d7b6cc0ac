import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { APIService } from '../../api/objects.js';
import { ensureCA, ensureFrontProxyPki, issueCert } from '../../base/pki.js';
import { makeTempDir } from '../../testing/harness.js';
import { BackendClient } from './backend.js';

let server: https.Server;
let target: { url: URL; serverName: string };
let caBundle: string;
let otherCA: string;
let client: BackendClient;
/** What the server saw of the last request: the client certificate's CN. */
let lastCN: string | undefined;

beforeAll(async () => {
  const dir = makeTempDir('nanokube-backend-test-');
  const ca = await ensureCA(dir, 'backend-ca');
  const serving = await issueCert(dir, { name: 'serving', commonName: 'api', sans: ['DNS:api.ext.svc'] });
  const other = await ensureCA(makeTempDir('nanokube-backend-other-'), 'other-ca');
  const fp = await ensureFrontProxyPki(dir);
  caBundle = readFileSync(ca.cert).toString('base64');
  otherCA = readFileSync(other.cert).toString('base64');
  client = new BackendClient({ cert: readFileSync(fp.client.cert), key: readFileSync(fp.client.key) });
  server = https.createServer(
    {
      cert: readFileSync(serving.cert),
      key: readFileSync(serving.key),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      lastCN = String((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN);
      if (req.url === '/hang') return; // never answers
      if (req.url === '/huge') {
        res.writeHead(200);
        const chunk = Buffer.alloc(64 * 1024, 'x');
        for (let i = 0; i < 40; i++) res.write(chunk);
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  target = { url: new URL(`https://127.0.0.1:${port}`), serverName: 'api.ext.svc' };
});

afterAll(() => {
  client.close();
  server.closeAllConnections();
  server.close();
});

const apiService = (spec: APIService['spec']): APIService => ({ metadata: { name: 'v1.ext' }, spec });

describe('BackendClient', () => {
  it("checks the backend's certificate against the caBundle for <svc>.<ns>.svc, and shows the front-proxy certificate", async () => {
    const r = await client.get(apiService({ caBundle }), target, '/apis/ext/v1', {
      maxBytes: 1024,
      timeoutMs: 5000,
    });
    expect(r).toEqual({ code: 200, body: Buffer.from('{"ok":true}') });
    expect(lastCN).toBe('front-proxy-client');
  });

  it('refuses a backend whose certificate another CA signed, or that names another service', async () => {
    await expect(
      client.get(apiService({ caBundle: otherCA }), target, '/', { maxBytes: 1024, timeoutMs: 5000 }),
    ).rejects.toThrow(/certificate/);
    await expect(
      client.get(apiService({ caBundle }), { ...target, serverName: 'other.ext.svc' }, '/', {
        maxBytes: 1024,
        timeoutMs: 5000,
      }),
    ).rejects.toThrow(/other\.ext\.svc/);
  });

  it('goes without checking only with insecureSkipTLSVerify', async () => {
    const r = await client.get(apiService({ insecureSkipTLSVerify: true }), target, '/', {
      maxBytes: 1024,
      timeoutMs: 5000,
    });
    expect(r.code).toBe(200);
  });

  it('gives up on a backend that never answers, and on one that answers too much', async () => {
    const spec = { caBundle };
    await expect(
      client.get(apiService(spec), target, '/hang', { maxBytes: 1024, timeoutMs: 300 }),
    ).rejects.toThrow(/timed out/);
    await expect(
      client.get(apiService(spec), target, '/huge', { maxBytes: 1024 * 1024, timeoutMs: 5000 }),
    ).rejects.toThrow(/larger than/);
  });
});
