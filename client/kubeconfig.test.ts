import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  configFromKubeconfig,
  kubeconfigPaths,
  kubeconfigYaml,
  loadKubeconfig,
  resolveContext,
} from './kubeconfig.js';

const dir = mkdtempSync(path.join(tmpdir(), 'nk-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes `text` to a new file in the temp dir and returns its path. */
function file(text: string, name = `config-${++n}`): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

const first = file(`
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod-a:6443
    certificate-authority-data: ${b64('PROD CA')}
    extensions:
    - name: nanokube.io/servers
      extension:
        servers: [https://prod-a:6443, https://prod-b:6443, https://prod-c:6443]
- name: shared
  cluster:
    server: http://first:8080
users:
- name: admin
  user:
    token: abc123
- name: certs
  user:
    client-certificate-data: ${b64('CERT')}
    client-key-data: ${b64('KEY')}
contexts:
- name: prod-admin
  context: { cluster: prod, user: admin, namespace: kube-system }
- name: prod-certs
  context: { cluster: prod, user: certs }
current-context: prod-admin
`);

const second = file(`
apiVersion: v1
kind: Config
clusters:
- name: shared
  cluster:
    server: http://second:8080
- name: dev
  cluster:
    server: http://127.0.0.1:8080/
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: from-second-file
- name: basic
  user: { username: alice, password: secret }
contexts:
- name: dev
  context: { cluster: dev, user: basic }
- name: shared
  context: { cluster: shared }
current-context: dev
`);

describe('loadKubeconfig', () => {
  it('merges files with the first one winning per name and for current-context', () => {
    const cfg = loadKubeconfig([first, second]);
    expect(cfg.clusters.map((c) => c.name)).toEqual(['prod', 'shared', 'dev']);
    expect(cfg.users.map((u) => u.name)).toEqual(['admin', 'certs', 'basic']);
    expect(cfg['current-context']).toBe('prod-admin');
    expect(resolveContext(cfg, 'shared').rest.servers).toEqual(['http://first:8080']);
    expect(resolveContext(cfg).rest.token).toBe('abc123');
  });

  it('takes current-context from a later file when earlier ones leave it empty', () => {
    const empty = file('apiVersion: v1\nkind: Config\ncurrent-context: ""\n');
    expect(loadKubeconfig([empty, second])['current-context']).toBe('dev');
  });

  it('skips missing files among several, but not all of them', () => {
    const missing = path.join(dir, 'nope');
    expect(loadKubeconfig([missing, second]).clusters).toHaveLength(2);
    expect(() => loadKubeconfig([missing])).toThrow(/cannot read kubeconfig/);
    expect(() => loadKubeconfig([missing, path.join(dir, 'nope2')])).toThrow(/no kubeconfig found/);
  });

  it('reads $KUBECONFIG as a colon-separated list unless a path is given', () => {
    const saved = process.env.KUBECONFIG;
    try {
      process.env.KUBECONFIG = `${first}:${second}:`;
      expect(kubeconfigPaths()).toEqual([first, second]);
      expect(kubeconfigPaths('/explicit')).toEqual(['/explicit']);
      delete process.env.KUBECONFIG;
      expect(kubeconfigPaths()[0]).toMatch(/\.kube\/config$/);
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });
});

describe('resolveContext', () => {
  const cfg = loadKubeconfig([first, second]);

  it.each([
    {
      name: 'token user, CA data, extra servers from the extension',
      context: 'prod-admin',
      want: {
        servers: ['https://prod-a:6443', 'https://prod-b:6443', 'https://prod-c:6443'],
        token: 'abc123',
        namespace: 'kube-system',
      },
    },
    { name: 'client certificate data', context: 'prod-certs', want: { namespace: 'default' } },
    {
      name: 'basic auth and insecure TLS',
      context: 'dev',
      want: { servers: ['http://127.0.0.1:8080/'], username: 'alice', password: 'secret', insecure: true },
    },
  ])('$name', ({ context, want }) => {
    const r = resolveContext(cfg, context);
    expect(r.context).toBe(context);
    if (want.servers) expect(r.rest.servers).toEqual(want.servers);
    if (want.token) expect(r.rest.token).toBe(want.token);
    if (want.namespace) expect(r.namespace).toBe(want.namespace);
    if (want.username) expect([r.rest.username, r.rest.password]).toEqual([want.username, want.password]);
    if (want.insecure) expect(r.rest.insecureSkipTLSVerify).toBe(true);
  });

  it('decodes certificate data', () => {
    const prod = resolveContext(cfg, 'prod-certs').rest;
    expect(prod.ca?.toString()).toBe('PROD CA');
    expect(prod.cert?.toString()).toBe('CERT');
    expect(prod.key?.toString()).toBe('KEY');
    expect(prod.token).toBeUndefined();
  });

  it('reads tokens and certificates from files relative to the kubeconfig', () => {
    writeFileSync(path.join(dir, 'token.txt'), 'file-token\n');
    writeFileSync(path.join(dir, 'ca.pem'), 'CA FROM FILE');
    writeFileSync(path.join(dir, 'client.pem'), 'CLIENT CERT');
    writeFileSync(path.join(dir, 'client.key'), 'CLIENT KEY');
    const p = file(`
clusters:
- name: c
  cluster: { server: https://x:6443, certificate-authority: ca.pem }
users:
- name: t
  user: { tokenFile: token.txt }
- name: k
  user: { client-certificate: ${path.join(dir, 'client.pem')}, client-key: client.key }
contexts:
- name: t
  context: { cluster: c, user: t }
- name: k
  context: { cluster: c, user: k }
`);
    const c = loadKubeconfig([p]);
    const t = resolveContext(c, 't').rest;
    expect(t.token).toBe('file-token');
    expect(t.ca?.toString()).toBe('CA FROM FILE');
    const k = resolveContext(c, 'k').rest;
    expect([k.cert?.toString(), k.key?.toString()]).toEqual(['CLIENT CERT', 'CLIENT KEY']);
  });

  it.each([
    { name: 'no current context', yaml: 'clusters: []\n', context: undefined, error: /no current-context/ },
    {
      name: 'unknown context',
      yaml: 'current-context: x\n',
      context: undefined,
      error: /context "x" not found/,
    },
    {
      name: 'unknown cluster',
      yaml: 'contexts:\n- name: a\n  context: { cluster: gone }\n',
      context: 'a',
      error: /cluster "gone" of context "a" not found/,
    },
    {
      name: 'cluster without a server',
      yaml: 'clusters:\n- name: c\n  cluster: {}\ncontexts:\n- name: a\n  context: { cluster: c }\n',
      context: 'a',
      error: /has no server/,
    },
    {
      name: 'unknown user',
      yaml: 'clusters:\n- name: c\n  cluster: { server: http://x }\ncontexts:\n- name: a\n  context: { cluster: c, user: who }\n',
      context: 'a',
      error: /user "who" of context "a" not found/,
    },
    {
      name: 'missing certificate file',
      yaml: 'clusters:\n- name: c\n  cluster: { server: https://x, certificate-authority: /no/such/ca.pem }\ncontexts:\n- name: a\n  context: { cluster: c }\n',
      context: 'a',
      error: /ENOENT/,
    },
  ])('refuses: $name', ({ yaml, context, error }) => {
    expect(() => resolveContext(loadKubeconfig([file(yaml)]), context)).toThrow(error);
  });
});

describe('kubeconfigYaml', () => {
  it('writes a file that reads back to the same client config', () => {
    const p = file(
      kubeconfigYaml({
        server: 'http://127.0.0.1:6443',
        servers: ['http://127.0.0.1:6443', 'http://127.0.0.1:6444'],
        namespace: 'team',
        token: 'tok',
        caData: b64('CA'),
      }),
    );
    const r = configFromKubeconfig({ kubeconfig: p });
    expect(r.rest.servers).toEqual(['http://127.0.0.1:6443', 'http://127.0.0.1:6444']);
    expect(r.rest.token).toBe('tok');
    expect(r.rest.ca?.toString()).toBe('CA');
    expect(r.namespace).toBe('team');
    expect(r.context).toBe('nanokube');
  });

  it('writes an anonymous user when given no credentials', () => {
    const r = configFromKubeconfig({ kubeconfig: file(kubeconfigYaml({ server: 'http://127.0.0.1:1' })) });
    expect(r.rest).toMatchObject({ servers: ['http://127.0.0.1:1'], token: undefined, cert: undefined });
    expect(r.namespace).toBe('default');
  });
});
