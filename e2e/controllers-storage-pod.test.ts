// A provisioned volume used by real pods: etcd, apiserver, the
// persistentvolume-binder in a controller-manager and a kubelet on Docker.
// A claim gets a local-path volume; one pod writes a file into it, a second
// pod (after the first is gone) reads the same file back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, startControllerManager, waitFor } from '../testing/harness.js';
import { busybox, KubeletCluster } from './kubelet-cluster.js';

let k: KubeletCluster;
let root: string;

beforeAll(async () => {
  k = await KubeletCluster.start('kpvc');
  root = makeTempDir('nanokube-local-path-');
  await startControllerManager({
    apiserverUrl: '',
    kubeconfig: k.kubeconfig,
    controllers: ['persistentvolume-binder'],
    extraArgs: ['--local-path-root', root],
  });
}, 60_000);

afterAll(() => k.stop(), 60_000);

const claimPath = '/api/v1/namespaces/default/persistentvolumeclaims';

const podUsing = (script: string) => ({
  restartPolicy: 'Never',
  containers: [
    {
      name: 'c',
      image: busybox,
      command: ['sh', '-c', script],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
    },
  ],
  volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
});

describe('a provisioned volume in pods', () => {
  it('keeps what one pod wrote for the next pod', async () => {
    const res = await k.client.post(claimPath, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const claim = await waitFor(
      async () => {
        const c = (await k.client.get(`${claimPath}/data`)).body;
        return c.status?.phase === 'Bound' && c;
      },
      { what: 'claim data Bound', timeoutMs: 15_000 },
    );

    await k.createPod('writer', podUsing('echo kept > /data/file'));
    await k.waitPod('writer', (p) => p.status?.phase === 'Succeeded', 'Succeeded');
    expect(readFileSync(path.join(root, claim.spec.volumeName, 'file'), 'utf8')).toBe('kept\n');
    await k.deletePod('writer');

    await k.createPod('reader', podUsing('test "$(cat /data/file)" = kept'));
    await k.waitPod('reader', (p) => p.status?.phase === 'Succeeded', 'Succeeded (it read the file back)');
  }, 90_000);
});
