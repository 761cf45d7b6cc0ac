import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { IngressProxy, type RoutingState } from './proxy.js';

const backends: http.Server[] = [];
let proxy: IngressProxy;
let port: number;
let closedPort: number;

async function backend(name: string): Promise<number> {
  const s = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        name,
        url: req.url,
        xff: req.headers['x-forwarded-for'],
        proto: req.headers['x-forwarded-proto'],
        host: req.headers['x-forwarded-host'],
      }),
    );
  });
  const wss = new WebSocketServer({ server: s });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`${name}:${m}`)));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  backends.push(s);
  return (s.address() as AddressInfo).port;
}

function state(a: number[], b: number[]): RoutingState {
  const svc = (name: string) => ({
    metadata: { name, namespace: 'default' },
    spec: { ports: [{ name: 'http', port: 80 }] },
  });
  const slices = (name: string, ports: number[]) =>
    ports.map((p, i) => ({
      metadata: { name: `${name}-${i}`, namespace: 'default' },
      ports: [{ name: 'http', port: p, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    }));
  return {
    ingresses: [
      {
        metadata: { name: 'ing', namespace: 'default' },
        spec: {
          rules: [
            {
              host: 'a.test',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'a', port: { number: 80 } } },
                  },
                ],
              },
            },
            {
              host: 'b.test',
              http: {
                paths: [
                  {
                    path: '/api',
                    pathType: 'Prefix',
                    backend: { service: { name: 'b', port: { name: 'http' } } },
                  },
                ],
              },
            },
            {
              host: 'gone.test',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'gone', port: { number: 80 } } },
                  },
                ],
              },
            },
            {
              host: 'empty.test',
              http: {
                paths: [
                  {
                    path: '/',
                    pathType: 'Prefix',
                    backend: { service: { name: 'empty', port: { number: 80 } } },
                  },
                ],
              },
            },
          ],
        },
      },
    ],
    services: new Map([
      ['default/a', svc('a')],
      ['default/b', svc('b')],
      ['default/empty', svc('empty')],
    ]),
    slicesByService: new Map([
      ['default/a', slices('a', a)],
      ['default/b', slices('b', b)],
    ]),
    certs: new Map(),
  };
}

function get(host: string, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

beforeAll(async () => {
  const a1 = await backend('a1');
  const a2 = await backend('a2');
  const b1 = await backend('b1');
  const spare = http.createServer();
  await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r));
  closedPort = (spare.address() as AddressInfo).port;
  await new Promise<void>((r) => spare.close(() => r()));
  proxy = new IngressProxy({ logger: pino({ level: 'silent' }) });
  proxy.update(state([a1, a2], [b1]));
  port = (await proxy.listen({ host: '127.0.0.1', httpPort: 0 })).http;
});

afterAll(async () => {
  await proxy.close();
  for (const s of backends) s.close();
});

describe('IngressProxy', () => {
  it('routes by host and path, round robin over ready endpoints, with X-Forwarded headers', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const r = await get('a.test', '/hello?x=1');
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body);
      seen.add(body.name);
      expect(body).toMatchObject({ url: '/hello?x=1', xff: '127.0.0.1', proto: 'http', host: 'a.test' });
    }
    expect([...seen].sort()).toEqual(['a1', 'a2']);
    expect(JSON.parse((await get('b.test', '/api/x')).body).name).toBe('b1');
  });

  it('answers 404 when no rule matches and 503 for an unknown service or one without endpoints', async () => {
    expect(await get('b.test', '/other')).toMatchObject({ status: 404 });
    expect(await get('nobody.test')).toMatchObject({ status: 404 });
    expect(await get('gone.test')).toMatchObject({ status: 503, body: 'service default/gone not found\n' });
    expect(await get('empty.test')).toMatchObject({
      status: 503,
      body: 'no ready endpoints for default/empty\n',
    });
  });

  it('tries the next endpoint when connecting fails', async () => {
    const a1 = (backends[0].address() as AddressInfo).port;
    proxy.update(state([closedPort, a1], [closedPort]));
    for (let i = 0; i < 4; i++) expect(JSON.parse((await get('a.test')).body).name).toBe('a1');
    // with nothing to fall back on, a bad gateway
    expect((await get('b.test', '/api')).status).toBe(502);
    proxy.update(state([a1], [(backends[2].address() as AddressInfo).port]));
  });

  it('passes WebSocket upgrades through', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws`, { headers: { Host: 'b.test' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('hi'));
      ws.on('message', (m) => resolve(String(m)));
      ws.on('error', reject);
    });
    ws.close();
    expect(reply).toBe('b1:hi');
  });
});
