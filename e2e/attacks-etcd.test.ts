// etcd under `nkctl up`, from the attacker's side: a local process, or anyone
// holding a certificate the cluster CA signed (an admin's, or a node's that
// the CSR signer issues), tries to read etcd directly, past RBAC and
// encryption. etcd has a CA of its own, as kubeadm gives it, and trusts only
// the apiserver's client certificate. The home folder starts as an older
// `nkctl up` left it (a plain-HTTP etcd data folder, no etcd PKI) and comes up
// with its data. Control plane only (NANOKUBE_NODE=0): no Docker needed.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCSR } from '../base/pki.js';
import { cleanup, kubectl, kubectlPath, makeTempDir, run, waitFor } from '../testing/harness.js';
import { nkctlEnv } from '../testing/kubelet-helpers.js';

const nkctlJs = path.resolve('dist/cli/main.js');
let env: NodeJS.ProcessEnv;
let home: string;
let kubeconfig: string;
let etcdPort: number;

const nkctl = (args: string[]) => run(process.execPath, [nkctlJs, ...args], { env, timeoutMs: 180_000 });
const k = (args: string[], input?: string) => kubectl(args, { kubeconfig, input });
const pki = (f: string) => path.join(home, 'pki', f);
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** What an older `nkctl up` left: etcd's data folder, made by a plain-HTTP etcd, with a key in it. */
async function oldDataFolder(): Promise<void> {
  const client = `http://127.0.0.1:${etcdPort}`;
  const peer = `http://127.0.0.1:${etcdPort + 1}`;
  mkdirSync(home, { recursive: true });
  const etcd = spawn(
    'etcd',
    [
      ...['--name', 'nanokube', '--data-dir', path.join(home, 'etcd')],
      ...['--listen-client-urls', client, '--advertise-client-urls', client],
      ...['--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer],
      ...['--initial-cluster', `nanokube=${peer}`],
    ],
    { stdio: 'ignore' },
  );
  try {
    await waitFor(
      async () =>
        (
          await run('etcdctl', ['--endpoints', client, 'put', '/nanokube-test/from-before', 'kept'], {
            env: { ETCDCTL_API: '3' },
          })
        ).code === 0,
      { timeoutMs: 20_000, what: 'the old-style etcd to take a write' },
    );
  } finally {
    etcd.kill('SIGTERM');
    await new Promise((r) => etcd.once('exit', r));
  }
}

type Client = { cert: string; key: string } | undefined;

/**
 * A range read of every key under /registry through etcd's JSON gateway over
 * TLS (etcd's serving certificate checked against `ca`), as `client`: the
 * status and body, or the error that ended the connection.
 */
function readRegistry(ca: string, client: Client): Promise<{ code: number; body: string } | Error> {
  return new Promise((resolve) => {
    const req = https.request(
      `https://127.0.0.1:${etcdPort}/v3/kv/range`,
      {
        method: 'POST',
        ca: readFileSync(ca),
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
        res.on('error', resolve);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', resolve);
    req.end(JSON.stringify({ key: b64('/registry/'), range_end: b64('/registry0'), keys_only: true }));
  });
}

const apiserverClient = () => ({
  cert: pki('apiserver-etcd-client.crt'),
  key: pki('apiserver-etcd-client.key'),
});
const etcdCA = () => pki('etcd/ca.crt');

/** A read that etcd refused: the TLS handshake failed, or no keys came back. */
function expectRefused(r: { code: number; body: string } | Error): void {
  if (r instanceof Error) return;
  expect(r.code, r.body).not.toBe(200);
  expect(r.body).not.toContain('"kvs"');
}

beforeAll(async () => {
  let ports: Record<string, number>;
  ({ env, home, kubeconfig, ports } = await nkctlEnv({ prefix: 'attacks-etcd-' }));
  env.NANOKUBE_NODE = '0';
  etcdPort = ports.etcd;
  await oldDataFolder();
  const up = await nkctl(['up']);
  if (up.code !== 0) throw new Error(`nkctl up failed:\n${up.stderr}`);
}, 240_000);

afterAll(async () => {
  await nkctl(['down', '--purge']);
  await cleanup();
});

describe('etcd under nkctl up trusts only the apiserver', () => {
  it('serves the apiserver: an object created through it reads back, and the apiserver reaches etcd with its own certificate', async () => {
    const made = await k(['create', 'configmap', 'attack-probe', '--from-literal=a=b']);
    expect(made.code, made.stderr).toBe(0);
    const got = await k(['get', 'configmap', 'attack-probe', '-o', 'jsonpath={.data.a}']);
    expect(got.stdout).toBe('b');
    const r = await readRegistry(etcdCA(), apiserverClient());
    expect(r).not.toBeInstanceOf(Error);
    expect((r as { body: string }).body).toContain(b64('/registry/configmaps/default/attack-probe'));
  });

  it('refuses plain HTTP', async () => {
    const plain = await fetch(`http://127.0.0.1:${etcdPort}/v3/kv/range`, {
      method: 'POST',
      body: JSON.stringify({ key: b64('/registry/'), range_end: b64('/registry0') }),
      signal: AbortSignal.timeout(5000),
    }).then(
      async (res) => ({ code: res.status, body: await res.text() }),
      (err: Error) => err,
    );
    expectRefused(plain);
    const ctl = await run(
      'etcdctl',
      [
        '--endpoints',
        `http://127.0.0.1:${etcdPort}`,
        '--dial-timeout',
        '3s',
        'get',
        '/registry',
        '--prefix',
        '--keys-only',
      ],
      { env: { ETCDCTL_API: '3' }, timeoutMs: 20_000 },
    );
    expect(ctl.code).not.toBe(0);
  });

  it('refuses TLS without a client certificate', async () => {
    expectRefused(await readRegistry(etcdCA(), undefined));
  });

  it("refuses the cluster CA's certificates: the admin's (system:masters) and one the CSR signer issues a node", async () => {
    expectRefused(await readRegistry(etcdCA(), { cert: pki('admin.crt'), key: pki('admin.key') }));
    // What a join token gets: a node client certificate from the cluster's signer.
    const dir = makeTempDir('attacks-etcd-node-');
    const key = path.join(dir, 'node.key');
    const csr = await makeCSR(key, { commonName: 'system:node:intruder', organizations: ['system:nodes'] });
    const manifest = JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: 'intruder' },
      spec: {
        request: b64(csr),
        signerName: 'kubernetes.io/kube-apiserver-client-kubelet',
        usages: ['digital signature', 'client auth'],
      },
    });
    expect((await k(['create', '-f', '-'], manifest)).code).toBe(0);
    expect((await k(['certificate', 'approve', 'intruder'])).code).toBe(0);
    const issued = await waitFor(
      async () => {
        const r = await k(['get', 'csr', 'intruder', '-o', 'jsonpath={.status.certificate}']);
        return r.stdout.trim() ? Buffer.from(r.stdout.trim(), 'base64').toString() : undefined;
      },
      { timeoutMs: 30_000, what: 'the signer to issue the node certificate' },
    );
    const cert = path.join(dir, 'node.crt');
    writeFileSync(cert, issued);
    // It is a real cluster certificate: the apiserver takes it.
    const who = await run(
      kubectlPath(),
      [
        ...[
          '--server',
          `https://127.0.0.1:${env.NANOKUBE_API_PORT}`,
          '--certificate-authority',
          pki('ca.crt'),
        ],
        ...[
          '--client-certificate',
          cert,
          '--client-key',
          key,
          'auth',
          'whoami',
          '-o',
          'jsonpath={.status.userInfo.username}',
        ],
      ],
      { env: { KUBECONFIG: '/dev/null' } },
    );
    expect(who.stdout).toBe('system:node:intruder');
    expectRefused(await readRegistry(etcdCA(), { cert, key }));
    // Nor does trusting the cluster CA for the server help the attacker.
    expectRefused(await readRegistry(pki('ca.crt'), { cert: pki('admin.crt'), key: pki('admin.key') }));
  });

  it('kept the data of the older plain-HTTP etcd, now over TLS', async () => {
    const r = await run(
      'etcdctl',
      [
        ...['--endpoints', `https://127.0.0.1:${etcdPort}`, '--cacert', etcdCA()],
        ...['--cert', pki('apiserver-etcd-client.crt'), '--key', pki('apiserver-etcd-client.key')],
        ...['get', '/nanokube-test/from-before', '--print-value-only'],
      ],
      { env: { ETCDCTL_API: '3' }, timeoutMs: 20_000 },
    );
    expect(r.stdout.trim(), r.stderr).toBe('kept');
  });

  it('nkctl status and snapshot save reach etcd with their certificate', async () => {
    const status = await nkctl(['status']);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const file = path.join(makeTempDir('attacks-etcd-snap-'), 'snap.db');
    const saved = await nkctl(['snapshot', 'save', file]);
    expect(saved.code, saved.stderr).toBe(0);
  });
});
