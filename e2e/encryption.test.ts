// Secrets encrypted at rest: a real apiserver with --encryption-provider-config
// over a real etcd, read back through the real kubectl and straight from etcd.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptionConfigYaml } from '../base/encryption-config.js';
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
  waitFor,
  writeKubeconfig,
} from '../testing/harness.js';

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

  it('treats a stored value no key reads as that object’s problem: lists and watches leave it out, a get names it', async () => {
    for (const name of ['good-1', 'good-2']) {
      const r = await kubectl(['create', 'secret', 'generic', name, '--from-literal=a=b'], { kubeconfig });
      expect(r.code, r.stderr).toBe(0);
    }
    const watch = await fetch(`${apiserver.url}/api/v1/namespaces/default/secrets?watch=1`, {
      signal: AbortSignal.timeout(30_000),
    });
    const events: string[] = [];
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      for await (const chunk of watch.body!) {
        buf += decoder.decode(chunk, { stream: true });
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          const ev = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          events.push(`${ev.type} ${ev.object.metadata.name}`);
        }
      }
    })().catch(() => undefined);
    // As if written by a master with another key, or before a key was dropped too early.
    const unreadable = 'k8s:enc:aesgcm:v1:gone:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    for (const key of ['/registry/secrets/default/lost', '/registry/secrets/default/good-2']) {
      const put = await etcdctl(['put', key, unreadable], { endpoints: etcd.endpoints });
      expect(put.code, put.stderr).toBe(0);
    }
    await waitFor(() => events.includes('DELETED good-2'), {
      timeoutMs: 10_000,
      what: 'good-2 leaving the watch',
    });

    const names = async (extra: string[] = []) => {
      const r = await kubectl(['get', 'secrets', '-o', 'name', ...extra], { kubeconfig });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n');
    };
    expect(await names()).toEqual(['secret/db', 'secret/good-1']);
    expect(await names(['--chunk-size=1'])).toEqual(['secret/db', 'secret/good-1']);
    const get = await kubectl(['get', 'secret', 'lost'], { kubeconfig });
    expect(get.code).toBe(1);
    expect(get.stderr).toMatch(
      /Internal error occurred: .*\/registry\/secrets\/default\/lost cannot be decoded/,
    );
    expect((await fetch(`${apiserver.url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${apiserver.url}/metrics`)).text();
    expect(metrics).toMatch(/^apiserver_storage_decode_errors_total\{resource="secrets"\} [1-9]/m);
    // Other objects of the kind still change and are seen changing.
    const more = await kubectl(['create', 'secret', 'generic', 'good-3', '--from-literal=a=b'], {
      kubeconfig,
    });
    expect(more.code, more.stderr).toBe(0);
    await waitFor(() => events.includes('ADDED good-3'), { timeoutMs: 10_000, what: 'good-3 in the watch' });

    // A restart lists past it and becomes ready.
    await restartApiserver();
    expect(await names()).toEqual(['secret/db', 'secret/good-1', 'secret/good-3']);
    for (const key of ['/registry/secrets/default/lost', '/registry/secrets/default/good-2'])
      await etcdctl(['del', key], { endpoints: etcd.endpoints });
    await reading;
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
