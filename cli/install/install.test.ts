import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCA, ensureFrontProxyPki } from '../../base/pki.js';
import { adoptLegacyEtcdCA, checkFlags, parseMemberList } from '../commands/install.js';
import { snapshotFileName, snapshotsToPrune } from '../commands/snapshot.js';
import { caCertHash, openFiles, parseClusterInfo, randomCertificateKey, sealFiles } from './discovery.js';
import {
  apiserverArgs,
  controllerManagerArgs,
  defaultLayout,
  envFile,
  etcdArgs,
  etcdctlEnv,
  type Installed,
  joinCommand,
  kubeletArgs,
  kubeProxyArgs,
  optionalSharedMasterFiles,
  pkiFiles,
  sharedMasterFiles,
  unitsOf,
} from './layout.js';

let dir: string;
let caPem: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nk-install-test-'));
  caPem = readFileSync((await ensureCA(dir)).cert, 'utf8');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const master: Installed = {
  role: 'master',
  nodeName: 'vm1',
  nodeIP: '10.0.0.11',
  servers: ['https://10.0.0.11:6443'],
  snapshotsKept: 24,
};

describe('the CA hash', () => {
  it("is openssl's sha256 of the CA's public key, as kubeadm computes it", () => {
    const der = execFileSync('openssl', ['x509', '-pubkey', '-noout'], { input: caPem });
    const fromOpenssl = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: der });
    const hex = execFileSync('openssl', ['dgst', '-sha256', '-hex'], { input: fromOpenssl })
      .toString()
      .split('= ')[1]
      .trim();
    expect(caCertHash(caPem)).toBe(`sha256:${hex}`);
  });
});

describe('sealed master files', () => {
  it('open with the key they were sealed with, and not with another', () => {
    const key = randomCertificateKey();
    const sealed = sealFiles({ 'ca.key': Buffer.from('secret key'), 'sa.key': Buffer.from([0, 1, 2]) }, key);
    expect(sealed).not.toContain('secret key');
    const files = openFiles(sealed, key);
    expect(files['ca.key'].toString()).toBe('secret key');
    expect([...files['sa.key']]).toEqual([0, 1, 2]);
    expect(() => openFiles(sealed, randomCertificateKey())).toThrow(/does not open/);
    expect(() => openFiles(sealed, 'short')).toThrow(/64 hex digits/);
  });

  it('refuse data that was changed', () => {
    const key = randomCertificateKey();
    const raw = Buffer.from(sealFiles({ a: Buffer.from('x') }, key), 'base64');
    raw[raw.length - 1] ^= 1;
    expect(() => openFiles(raw.toString('base64'), key)).toThrow(/does not open/);
  });
});

describe('cluster-info', () => {
  it('gives the CA and every apiserver of its kubeconfig', () => {
    const text = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: nanokube',
      '  cluster:',
      '    server: https://10.0.0.11:6443',
      `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
      '    extensions:',
      '    - name: nanokube.io/servers',
      '      extension:',
      '        servers: [https://10.0.0.11:6443, https://10.0.0.12:6443]',
    ].join('\n');
    const info = parseClusterInfo(text);
    expect(info.caPem).toBe(caPem);
    expect(info.servers).toEqual(['https://10.0.0.11:6443', 'https://10.0.0.12:6443']);
    expect(() => parseClusterInfo('clusters: []')).toThrow(/no server or CA/);
  });
});

describe('install flags', () => {
  const join = {
    role: 'worker',
    join: 'https://10.0.0.11:6443',
    token: 'abcdef.0123456789abcdef',
    caCertHash: `sha256:${'a'.repeat(64)}`,
    snapshotsKept: '24',
  };
  it('take one of init, join, upgrade or uninstall', () => {
    expect(checkFlags({ role: 'master', init: true, snapshotsKept: '24' })).toBe('master');
    expect(checkFlags(join)).toBe('worker');
    expect(checkFlags({ upgrade: true, snapshotsKept: '24' })).toBeUndefined();
    expect(() => checkFlags({ snapshotsKept: '24' })).toThrow(/one of --init/);
    expect(() => checkFlags({ ...join, init: true })).toThrow(/one of --init/);
  });
  it('say what is wrong with a join command', () => {
    expect(() => checkFlags({ role: 'worker', init: true, snapshotsKept: '24' })).toThrow(/--role master/);
    expect(() => checkFlags({ ...join, join: 'http://x' })).toThrow(/not an apiserver URL/);
    expect(() => checkFlags({ ...join, token: 'nope' })).toThrow(/--token/);
    expect(() => checkFlags({ ...join, caCertHash: 'md5:1' })).toThrow(/--ca-cert-hash/);
    expect(() => checkFlags({ ...join, role: 'master' })).toThrow(/--certificate-key/);
    expect(() => checkFlags({ ...join, role: 'boss' })).toThrow(/master or worker/);
    expect(() => checkFlags({ ...join, snapshotsKept: '0' })).toThrow(/--snapshots-kept/);
  });
});

describe('units', () => {
  it('start etcd first on a master; a worker runs only the node units', () => {
    expect(unitsOf('master')[0]).toBe('etcd');
    expect(unitsOf('worker')).toEqual(['kubelet', 'kube-proxy']);
  });
  it("write flags into NK_ARGS, refusing values the unit's $NK_ARGS would split", () => {
    expect(envFile(['--a', '1', '--b'], { X: 'y' })).toContain('NK_ARGS="--a 1 --b"\nX=y\n');
    expect(() => envFile(['--a', 'two words'])).toThrow(/space/);
  });
  it('give etcd TLS both ways and the initial cluster', () => {
    const args = etcdArgs(defaultLayout, master, {
      members: [
        { name: 'vm1', peerURL: 'https://10.0.0.11:2380' },
        { name: 'vm2', peerURL: 'https://10.0.0.12:2380' },
      ],
      state: 'existing',
    });
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(flag('--initial-cluster')).toBe('vm1=https://10.0.0.11:2380,vm2=https://10.0.0.12:2380');
    expect(flag('--initial-cluster-state')).toBe('existing');
    expect(args).toContain('--client-cert-auth');
    expect(args).toContain('--peer-client-cert-auth');
  });
  it("trust etcd's own CA, not the cluster CA, for etcd's clients and peers; the apiserver and etcdctl show the apiserver's etcd client certificate", () => {
    const p = pkiFiles(defaultLayout);
    expect(p.etcdCA.cert).toBe('/etc/nanokube/pki/etcd/ca.crt');
    const args = etcdArgs(defaultLayout, master, { members: [], state: 'new' });
    const flag = (a: string[], f: string) => a[a.indexOf(f) + 1];
    expect(flag(args, '--trusted-ca-file')).toBe(p.etcdCA.cert);
    expect(flag(args, '--peer-trusted-ca-file')).toBe(p.etcdCA.cert);
    expect(args).not.toContain(p.ca.cert);
    const api = apiserverArgs(defaultLayout, master);
    expect(flag(api, '--etcd-cafile')).toBe(p.etcdCA.cert);
    expect(flag(api, '--etcd-certfile')).toBe(p.etcdClient.cert);
    expect(etcdctlEnv(defaultLayout)).toMatchObject({
      ETCDCTL_CACERT: p.etcdCA.cert,
      ETCDCTL_CERT: p.etcdClient.cert,
    });
    // The signer of nodes' CSRs is the cluster CA, never etcd's.
    expect(flag(controllerManagerArgs(defaultLayout), '--cluster-signing-key-file')).toBe(p.ca.key);
  });
  it("share etcd's CA among masters only: a worker's units name nothing of etcd's", () => {
    expect(sharedMasterFiles).toEqual(expect.arrayContaining(['etcd/ca.crt', 'etcd/ca.key']));
    const worker = { ...master, role: 'worker' as const };
    for (const a of [kubeletArgs(defaultLayout, worker), kubeProxyArgs(defaultLayout, worker)])
      expect(a.join(' ')).not.toMatch(/etcd/);
  });
  it("make a master installed before etcd had its own CA keep trusting the cluster CA's (copies), once", () => {
    const l = { ...defaultLayout, pki: join(dir, 'legacy-pki') };
    const p = pkiFiles(l);
    mkdirSync(l.pki, { recursive: true });
    expect(adoptLegacyEtcdCA(l)).toBe(false); // nothing installed here yet
    for (const f of ['ca.crt', 'ca.key']) copyFileSync(join(dir, f), join(l.pki, f));
    expect(adoptLegacyEtcdCA(l)).toBe(false); // a fresh master: no etcd certificates yet
    copyFileSync(join(dir, 'ca.crt'), p.etcdClient.cert);
    expect(adoptLegacyEtcdCA(l)).toBe(true);
    expect(readFileSync(p.etcdCA.cert, 'utf8')).toBe(caPem);
    expect(readFileSync(p.etcdCA.key)).toEqual(readFileSync(p.ca.key));
    expect(adoptLegacyEtcdCA(l)).toBe(false);
    expect(existsSync(p.etcdCA.key)).toBe(true);
  });
  it("give the apiserver the front-proxy flags once the front-proxy certificates are there, and share the CA's files among masters", async () => {
    const l = { ...defaultLayout, pki: join(dir, 'front-proxy-pki') };
    const p = pkiFiles(l);
    mkdirSync(l.pki, { recursive: true });
    // A master of a cluster installed before aggregation: no front-proxy flags.
    expect(apiserverArgs(l, master)).not.toContain('--proxy-client-cert-file');
    await ensureFrontProxyPki(l.pki);
    const api = apiserverArgs(l, master);
    const flag = (f: string) => api[api.indexOf(f) + 1];
    expect(flag('--proxy-client-cert-file')).toBe(p.frontProxy.client.cert);
    expect(flag('--proxy-client-key-file')).toBe(p.frontProxy.client.key);
    expect(flag('--requestheader-client-ca-file')).toBe(p.frontProxy.ca.cert);
    expect(flag('--requestheader-allowed-names')).toBe('front-proxy-client');
    for (const f of optionalSharedMasterFiles) expect(existsSync(join(l.pki, f))).toBe(true);
  });
  it("give a worker's kubelet the bootstrap kubeconfig, a master's its own certificate", () => {
    expect(kubeletArgs(defaultLayout, { ...master, role: 'worker' })).toContain('--bootstrap-kubeconfig');
    expect(kubeletArgs(defaultLayout, master)).toContain('--tls-cert-file');
  });
});

describe('join commands', () => {
  it('carry the certificate key only for a master', () => {
    const o = { server: 'https://10.0.0.11:6443', token: 'abcdef.0123456789abcdef', caCertHash: 'sha256:ab' };
    expect(joinCommand({ ...o, role: 'worker', certificateKey: 'k' })).toBe(
      'bash nanokube/install.sh --role worker --join https://10.0.0.11:6443 --token abcdef.0123456789abcdef --ca-cert-hash sha256:ab',
    );
    expect(joinCommand({ ...o, role: 'master', certificateKey: 'k' })).toMatch(
      /--role master .* --certificate-key k$/,
    );
  });
});

describe('etcd members and snapshots', () => {
  it("read etcdctl's member list, IDs as it prints them", () => {
    const text = [
      '8e9e05c52164694d, started, vm1, https://10.0.0.11:2380, https://10.0.0.11:2379, false',
      'fd422379fda50e48, unstarted, , https://10.0.0.12:2380, , false',
    ].join('\n');
    expect(parseMemberList(text)).toEqual([
      { id: '8e9e05c52164694d', name: 'vm1', peerURLs: ['https://10.0.0.11:2380'] },
      { id: 'fd422379fda50e48', name: '', peerURLs: ['https://10.0.0.12:2380'] },
    ]);
  });
  it('name snapshots by time and prune the oldest beyond the count kept', () => {
    expect(snapshotFileName(new Date('2026-11-24T10:15:00.123Z'))).toBe('snapshot-20261124T101500Z.db');
    const names = [
      'snapshot-20261124T100000Z.db',
      'other.db',
      'snapshot-20261124T110000Z.db',
      'snapshot-20261124T090000Z.db',
    ];
    expect(snapshotsToPrune(names, 2)).toEqual(['snapshot-20261124T090000Z.db']);
    expect(snapshotsToPrune(names, 5)).toEqual([]);
  });
});
