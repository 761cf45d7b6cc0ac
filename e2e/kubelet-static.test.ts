/**
 * Static pods on a real kubelet and Docker: a manifest in the kubelet's
 * --pod-manifest-path runs, and its mirror pod in the API shows it and its
 * status; deleting the mirror brings it back without touching the
 * container; editing the file replaces the pod; removing the file stops it
 * and deletes the mirror.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, makeTempDir, waitFor } from '../testing/harness.js';
import { nodeContainers } from '../testing/kubelet-helpers.js';
import { busybox, KubeletCluster, ready, running } from './kubelet-cluster.js';

let k: KubeletCluster;
const manifests = makeTempDir('nanokube-static-');

const manifest = (message: string) => `apiVersion: v1
kind: Pod
metadata:
  name: greeter
  namespace: kube-system
  labels: { app: greeter }
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: ${busybox}
    command: [sh, -c, 'echo ${message}; exec sleep 600']
`;

beforeAll(async () => {
  k = await KubeletCluster.start('kstatic', ['--pod-manifest-path', manifests]);
}, 60_000);

afterAll(async () => {
  rmSync(path.join(manifests, 'greeter.yaml'), { force: true });
  await k?.stop();
}, 60_000);

const mirrorPath = () => `/api/v1/namespaces/kube-system/pods/greeter-${k.node}`;

async function mirror(check: (p: any) => boolean, what: string): Promise<any> {
  return waitFor(
    async () => {
      const r = await k.client.get(mirrorPath());
      return r.status === 200 && check(r.body) ? r.body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, what },
  );
}

describe('static pods', () => {
  it('runs a manifest from the folder and shows it as a mirror pod with its status', async () => {
    writeFileSync(path.join(manifests, 'greeter.yaml'), manifest('hello'));
    const m = await mirror((p) => running(p) && ready(p), 'mirror pod Running and Ready');
    expect(m.metadata.annotations['kubernetes.io/config.source']).toBe('file');
    expect(m.metadata.annotations['kubernetes.io/config.mirror']).toMatch(/^[0-9a-f]{32}$/);
    expect(m.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Node', name: k.node, controller: true }),
    ]);
    expect(m.spec.nodeName).toBe(k.node);
    expect(m.status.podIP).toBeTruthy();
    const logs = await kubectl(['logs', '-n', 'kube-system', `greeter-${k.node}`], {
      kubeconfig: k.kubeconfig,
    });
    expect(logs.stdout).toBe('hello\n');
  });

  it('puts a deleted mirror back and leaves the container alone', async () => {
    const before = await mirror((p) => running(p), 'mirror Running');
    const containerID = before.status.containerStatuses[0].containerID;
    const del = await kubectl(['delete', 'pod', '-n', 'kube-system', `greeter-${k.node}`], {
      kubeconfig: k.kubeconfig,
    });
    expect(del.code, del.stderr).toBe(0);
    const after = await mirror(
      (p) => p.metadata.uid !== before.metadata.uid && running(p),
      'a new mirror pod, Running',
    );
    expect(after.status.containerStatuses[0]).toMatchObject({ containerID, restartCount: 0 });
  });

  it('replaces the pod when the file changes, and stops it when the file goes', async () => {
    const before = await mirror((p) => running(p), 'mirror Running');
    writeFileSync(path.join(manifests, 'greeter.yaml'), manifest('changed'));
    await mirror(
      (p) =>
        p.metadata.annotations['kubernetes.io/config.mirror'] !==
          before.metadata.annotations['kubernetes.io/config.mirror'] && running(p),
      'the mirror of the edited pod, Running',
    );
    await waitFor(
      async () =>
        (await kubectl(['logs', '-n', 'kube-system', `greeter-${k.node}`], { kubeconfig: k.kubeconfig }))
          .stdout === 'changed\n',
      { timeoutMs: 15_000, what: 'the new container’s output' },
    );
    // the old container is gone: one app container is left
    await waitFor(
      async () =>
        (await nodeContainers(k.node, `greeter-${k.node}`)).filter(
          (c) => c.Labels['io.kubernetes.container.name'] === 'app',
        ).length === 1,
      { timeoutMs: 15_000, what: 'the old container removed' },
    );
    rmSync(path.join(manifests, 'greeter.yaml'));
    await waitFor(async () => (await k.client.get(mirrorPath())).status === 404, {
      timeoutMs: 30_000,
      what: 'the mirror pod deleted',
    });
    await waitFor(async () => (await nodeContainers(k.node, `greeter-${k.node}`)).length === 0, {
      timeoutMs: 30_000,
      what: 'the static pod’s containers removed',
    });
  });
});
