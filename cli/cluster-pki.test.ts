import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiserverKubeletClientCert, ensureCA, etcdPkiFiles, issueCert } from '../base/pki.js';
import { ensureCert, ensureClusterPki, ensureEtcdPki } from './cluster-pki.js';
import { clusterPki, type LaunchOptions } from './launcher.js';

// Each test runs openssl a dozen times or more: slow on a busy machine.
const slow = 30_000;

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'nk-cluster-pki-test-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Whether openssl verifies `cert` against `ca` alone. */
function verifies(ca: string, cert: string): boolean {
  try {
    execFileSync('openssl', ['verify', '-CAfile', ca, cert], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const options = (home: string, o: Partial<LaunchOptions> = {}): LaunchOptions => ({
  home,
  etcdPort: 2379,
  apiPort: 6443,
  controllerManagerPort: 10257,
  schedulerPort: 10259,
  nodeName: 'host',
  node: false,
  podCIDR: '10.244.1.0/24',
  nodes: 1,
  kubeletPort: 10250,
  kubeletHealthPort: 10248,
  proxyHealthPort: 10256,
  ...o,
});

/** Every certificate file under `dir`, recursively. */
function certsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => f.endsWith('.crt'));
}

describe('ensureEtcdPki', { timeout: slow }, () => {
  it('makes a CA of its own that signs etcd, its peers and the apiserver client, and nothing the cluster CA signs', async () => {
    const dir = join(root, 'etcd-only');
    const e = await ensureEtcdPki(dir, { name: 'm1', sans: ['IP:127.0.0.1', 'DNS:localhost'] });
    expect(e).toEqual(etcdPkiFiles(dir));
    expect(statSync(e.caDir).mode & 0o777).toBe(0o700);
    const ca = new X509Certificate(readFileSync(e.ca.cert));
    expect(ca.ca).toBe(true);
    expect(ca.subject).toBe('CN=etcd-ca');
    for (const c of [e.server, e.peer, e.client]) expect(verifies(e.ca.cert, c.cert), c.cert).toBe(true);
    const server = new X509Certificate(readFileSync(e.server.cert));
    expect(server.subjectAltName).toBe('IP Address:127.0.0.1, DNS:localhost');
    const client = new X509Certificate(readFileSync(e.client.cert));
    expect(client.subject).toBe('CN=kube-apiserver-etcd-client');
    expect(client.subjectAltName).toBeUndefined();
  });

  it('keeps what exists (a joining master brings the first one’s CA)', async () => {
    const dir = join(root, 'etcd-only');
    const before = readdirSync(dir, { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(crt|key)$/.test(f))
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]);
    await ensureEtcdPki(dir, { name: 'm1', sans: ['IP:127.0.0.1'] });
    for (const [f, text] of before) expect(readFileSync(join(dir, f), 'utf8'), f).toBe(text);
  });
});

describe("nkctl up's PKI", { timeout: slow }, () => {
  it("gives etcd its own CA: etcd's CA signs only etcd's and the apiserver's etcd certificates, and the cluster CA none of them", async () => {
    const o = options(join(root, 'up'), { node: true, nodes: 2 });
    const p = await ensureClusterPki(o);
    expect(p.etcd.ca.cert).toBe(join(p.dir, 'etcd', 'ca.crt'));
    expect(readFileSync(p.etcd.ca.cert, 'utf8')).not.toBe(readFileSync(p.ca.cert, 'utf8'));
    const byEtcdCA = certsUnder(p.dir)
      .filter((c) => !c.startsWith(`${p.etcd.caDir}/`) && verifies(p.etcd.ca.cert, c))
      .map((c) => c.slice(p.dir.length + 1))
      .sort();
    expect(byEtcdCA).toEqual(['apiserver-etcd-client.crt', 'etcd-peer.crt', 'etcd-server.crt']);
    for (const c of byEtcdCA) expect(verifies(p.ca.cert, join(p.dir, c)), c).toBe(false);
    // What the cluster CA signs (the admin's, a node's) does not pass for etcd's.
    for (const c of [p.admin.cert, p.node('host').kubelet.cert])
      expect(verifies(p.etcd.ca.cert, c)).toBe(false);
  });

  it("gives the nodes' folders (mounted into node containers) nothing of etcd's", () => {
    const p = clusterPki(options(join(root, 'up'), { node: true, nodes: 2 }));
    for (const node of ['host', 'host-2']) {
      const files = readdirSync(p.node(node).dir);
      expect(
        files.filter((f) => /etcd/.test(f)),
        node,
      ).toEqual([]);
      for (const f of files.filter((f) => f.endsWith('.crt')))
        expect(verifies(p.etcd.ca.cert, join(p.node(node).dir, f))).toBe(false);
    }
  });

  it('adds the etcd PKI to a home folder an older nkctl up made, keeping the cluster CA', async () => {
    const o = options(join(root, 'older'));
    const p = await ensureClusterPki(o);
    // As an older `up` left it: no etcd CA, no etcd certificates.
    rmSync(p.etcd.caDir, { recursive: true });
    for (const c of [p.etcd.server, p.etcd.peer, p.etcd.client]) {
      rmSync(c.cert);
      rmSync(c.key);
    }
    const ca = readFileSync(p.ca.cert, 'utf8');
    const admin = readFileSync(p.admin.cert, 'utf8');
    await ensureClusterPki(o);
    expect(readFileSync(p.ca.cert, 'utf8')).toBe(ca);
    expect(readFileSync(p.admin.cert, 'utf8')).toBe(admin);
    expect(existsSync(p.etcd.ca.key)).toBe(true);
    expect(verifies(p.etcd.ca.cert, p.etcd.client.cert)).toBe(true);
  });
});

describe('ensureCert', () => {
  it(
    "remakes a certificate whose subject is not the one asked for (an older release's kubelet client in system:masters)",
    async () => {
      const dir = join(root, 'remake');
      await ensureCA(dir, 'remake-ca');
      const old = await issueCert(dir, { ...apiserverKubeletClientCert, organizations: ['system:masters'] });
      expect(new X509Certificate(readFileSync(old.cert)).subject).toContain('O=system:masters');
      const now = await ensureCert(dir, apiserverKubeletClientCert);
      const subject = new X509Certificate(readFileSync(now.cert)).subject;
      expect(subject).toBe('CN=kube-apiserver-kubelet-client');
      const again = readFileSync(now.cert, 'utf8');
      await ensureCert(dir, apiserverKubeletClientCert);
      expect(readFileSync(now.cert, 'utf8')).toBe(again);
    },
    slow,
  );
});
