import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from './clock.js';
import { inClusterConfig, inClusterServer, restConfigFromFlags } from './connect.js';
import { kubeconfigYaml } from './kubeconfig.js';
import { FileTokenSource, RestClient } from './rest.js';

describe('restConfigFromFlags', () => {
  it('takes several --master URLs', () => {
    expect(restConfigFromFlags({ master: 'http://127.0.0.1:1, http://127.0.0.1:2' }, 'ua').servers).toEqual([
      'http://127.0.0.1:1',
      'http://127.0.0.1:2',
    ]);
  });

  it('reads a kubeconfig, extra servers included', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nk-connect-'));
    const file = join(dir, 'kc');
    writeFileSync(
      file,
      kubeconfigYaml({
        server: 'http://127.0.0.1:1',
        servers: ['http://127.0.0.1:1', 'http://127.0.0.1:2'],
        token: 't',
      }),
    );
    const cfg = restConfigFromFlags({ kubeconfig: file }, 'ua');
    expect(cfg.servers).toEqual(['http://127.0.0.1:1', 'http://127.0.0.1:2']);
    expect(cfg.token).toBe('t');
    expect(cfg.userAgent).toBe('ua');
  });

  it.each([
    { name: 'neither', flags: {}, err: /one of --kubeconfig or --master/ },
    { name: 'both', flags: { master: 'http://a', kubeconfig: '/x' }, err: /either --master or --kubeconfig/ },
  ])('refuses $name', ({ flags, err }) => {
    expect(() => restConfigFromFlags(flags, 'ua', { env: {} })).toThrow(err);
  });
});

const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('in-cluster config', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nk-sa-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('uses https, the mounted CA and the token file when the pod has a service account token', () => {
    writeFileSync(join(dir, 'token'), 'tok-1\n');
    writeFileSync(join(dir, 'ca.crt'), ca);
    const cfg = restConfigFromFlags({}, 'ua', { env: inPod, dir });
    expect(cfg).toEqual({
      servers: ['https://10.96.0.1:443'],
      token: 'tok-1',
      tokenFile: join(dir, 'token'),
      ca: Buffer.from(ca),
      userAgent: 'ua',
    });
  });

  it.each([
    {
      name: 'no token: plain HTTP, no credentials',
      files: { 'ca.crt': ca },
      env: inPod,
      want: { servers: ['http://10.96.0.1:443'] },
    },
    {
      name: 'no ca.crt: the system CAs',
      files: { token: 'tok' },
      env: inPod,
      want: { servers: ['https://10.96.0.1:443'], token: 'tok', tokenFile: 'token', ca: undefined },
    },
    {
      name: 'an empty token file: https, the token to come',
      files: { token: '' },
      env: inPod,
      want: { servers: ['https://10.96.0.1:443'], token: undefined, tokenFile: 'token', ca: undefined },
    },
    {
      name: 'an IPv6 service address',
      files: {},
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      want: { servers: ['http://[fd00::1]:443'] },
    },
    { name: 'outside a pod', files: { token: 'tok' }, env: {}, want: undefined },
    {
      name: 'no port',
      files: { token: 'tok' },
      env: { KUBERNETES_SERVICE_HOST: '10.96.0.1' },
      want: undefined,
    },
  ])('$name', ({ files, env, want }) => {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const expected = want?.tokenFile ? { ...want, tokenFile: join(dir, want.tokenFile) } : want;
    expect(inClusterConfig({ env, dir })).toEqual(expected);
    expect(inClusterServer(env, dir)).toBe(want?.servers[0]);
  });

  it('gives way to --master and --kubeconfig', () => {
    writeFileSync(join(dir, 'token'), 'tok');
    expect(restConfigFromFlags({ master: 'http://m:1' }, 'ua', { env: inPod, dir })).toEqual({
      servers: ['http://m:1'],
      userAgent: 'ua',
    });
  });
});

describe('a token file', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nk-token-'));
    file = join(dir, 'token');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is read again after a minute, so a rotated token is used', async () => {
    writeFileSync(file, 'tok-1');
    const seen: (string | undefined)[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const clock = new FakeClock(0);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const rest = new RestClient({ servers: [url], token: 'stale', tokenFile: file }, undefined, clock);
    try {
      await rest.request({ method: 'GET', path: '/api' });
      writeFileSync(file, 'tok-2\n');
      clock.step(59_999);
      await rest.request({ method: 'GET', path: '/api' });
      clock.step(1);
      await rest.request({ method: 'GET', path: '/api' });
    } finally {
      rest.close();
      await new Promise((r) => server.close(r));
    }
    expect(seen).toEqual(['Bearer tok-1', 'Bearer tok-1', 'Bearer tok-2']);
  });

  it('keeps its last token while the file cannot be read', () => {
    writeFileSync(file, 'tok-1');
    const clock = new FakeClock(0);
    const source = new FileTokenSource(file, { clock, periodMs: 1000 });
    expect(source.token()).toBe('tok-1');
    rmSync(file);
    clock.step(1000);
    expect(source.token()).toBe('tok-1');
    writeFileSync(file, 'tok-2');
    clock.step(1000);
    expect(source.token()).toBe('tok-2');
  });

  it('falls back to the configured token until the file is readable', () => {
    const clock = new FakeClock(0);
    const rest = new RestClient(
      { servers: ['https://h:1'], token: 'initial', tokenFile: file },
      undefined,
      clock,
    );
    expect(rest.identityHeaders().authorization).toBe('Bearer initial');
    writeFileSync(file, 'from-file');
    clock.step(60_000);
    expect(rest.identityHeaders().authorization).toBe('Bearer from-file');
    rest.close();
  });
});
