// Secrets encrypted at rest: a real apiserver with --encryption-provider-config
// over a real etcd, read back through the real kubectl and straight from etcd.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptionConfigYaml } from '../apiserver/encryption.js';
import {
  type Apiserver,
  cleanup,
  type EtcdCluster,
  etcdctl,
  freePort,
  kubectl,
  makeTempDir,
  run,
  startApiserver,
  startEtcd,
  writeKubeconfig,
} from './harness.js';

let dir: string;
let etcd: EtcdCluster;
let apiserver: Apiserver;
let port: number;
let kubeconfig: string;
const configFile = () => path.join(dir, 'encryption.yaml');

const keys = {
  key1: Buffer.alloc(32, 11).toString('base64'),
  key2: Buffer.alloc(32, 22).toString('base64'),
};

function writeConfig(names: (keyof typeof keys)[]) {
  writeFileSync(configFile(), encryptionConfigYaml(names.map((name) => ({ name, secret: keys[name] }))));
}

async function restartApiserver() {
  await apiserver?.stop();
  apiserver = await startApiserver({
    etcdServers: etcd.endpoints,
    port,
    extraArgs: ['--encryption-provider-config', configFile()],
  });
}

/** The raw bytes etcd holds for a key, as text. */
async function raw(key: string): Promise<string> {
  const r = await etcdctl(['get', key, '--print-value-only'], { endpoints: etcd.endpoints });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

const secretValue = async (name: string) => {
  const r = await kubectl(['get', 'secret', name, '-o', 'jsonpath={.data.password}'], { kubeconfig });
  expect(r.code, r.stderr).toBe(0);
  return Buffer.from(r.stdout, 'base64').toString();
};

beforeAll(async () => {
  dir = makeTempDir('nanokube-encryption-');
  etcd = await startEtcd();
  port = await freePort();
  writeConfig(['key1']);
  await restartApiserver();
  kubeconfig = await writeKubeconfig(dir, apiserver.url);
}, 60_000);

afterAll(async () => {
  await cleanup();
});

describe('encryption at rest', () => {
  it('stores a Secret encrypted (no clear text in etcd) and serves it decrypted', async () => {
    const r = await kubectl(
      ['create', 'secret', 'generic', 'db', '--from-literal=password=hunter2-very-secret'],
      {
        kubeconfig,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const stored = await raw('/registry/secrets/default/db');
    expect(stored.startsWith('k8s:enc:aesgcm:v1:key1:')).toBe(true);
    expect(stored).not.toContain('hunter2');
    expect(stored).not.toContain(Buffer.from('hunter2-very-secret').toString('base64'));
    expect(stored).not.toContain('"kind"');
    expect(await secretValue('db')).toBe('hunter2-very-secret');
    // Other kinds stay plain JSON.
    await kubectl(['create', 'configmap', 'plain', '--from-literal=a=visible'], { kubeconfig });
    expect(await raw('/registry/configmaps/default/plain')).toContain('visible');
  });

  it('rotates keys: a new first key, the old one still reads, a rewrite moves every Secret to the new key', async () => {
    writeConfig(['key2', 'key1']);
    await restartApiserver();
    expect(await secretValue('db')).toBe('hunter2-very-secret');
    expect((await raw('/registry/secrets/default/db')).startsWith('k8s:enc:aesgcm:v1:key1:')).toBe(true);
    // Kubernetes' documented rewrite: read every secret and replace it unchanged.
    const all = await kubectl(['get', 'secrets', '-A', '-o', 'json'], { kubeconfig });
    const rewrite = await kubectl(['replace', '-f', '-'], { kubeconfig, input: all.stdout });
    expect(rewrite.code, rewrite.stderr).toBe(0);
    expect((await raw('/registry/secrets/default/db')).startsWith('k8s:enc:aesgcm:v1:key2:')).toBe(true);
    writeConfig(['key2']);
    await restartApiserver();
    expect(await secretValue('db')).toBe('hunter2-very-secret');
  });

  it('refuses to start on a bad config, in one line', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'kind: EncryptionConfiguration\nresources:\n- resources: [secrets]\n  providers:\n  - kms: {}\n',
    );
    const r = await run(process.execPath, [
      path.join(process.cwd(), 'dist/apiserver/main.js'),
      '--etcd-servers',
      etcd.endpoints.join(','),
      '--port',
      '0',
      '--encryption-provider-config',
      bad,
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--encryption-provider-config');
    expect(r.stderr).toContain('"kms" is not supported');
  });
});
