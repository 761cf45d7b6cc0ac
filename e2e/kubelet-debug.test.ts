/**
 * Ephemeral containers on a real kubelet and Docker, driven by the real
 * kubectl: `kubectl debug` adds one through pods/{name}/ephemeralcontainers;
 * the kubelet runs it in the pod's network (with --target, in the target's
 * PID namespace), reports it in status.ephemeralContainerStatuses and never
 * restarts it; exec, attach and logs reach it by name; and the subresource
 * refuses to remove or change one (422) while the pod itself refuses to add one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../testing/harness.js';
import { busybox, KubeletCluster, ready } from './kubelet-cluster.js';

let k: KubeletCluster;
const podPath = '/api/v1/namespaces/default/pods/web';
const subPath = `${podPath}/ephemeralcontainers`;
const strategic = { 'content-type': 'application/strategic-merge-patch+json' };

const ephemeralStatus = (pod: any, name: string) =>
  pod.status?.ephemeralContainerStatuses?.find((s: any) => s.name === name);
const ephemeralRunning = (name: string) => (pod: any) => !!ephemeralStatus(pod, name)?.state?.running;
const run = (args: string[], input?: string) => kubectl(args, { kubeconfig: k.kubeconfig, input });

beforeAll(async () => {
  k = await KubeletCluster.start('kdbg');
  await k.startWebPod();
}, 90_000);

afterAll(async () => {
  await k?.stop();
}, 60_000);

describe('kubectl debug', () => {
  it('adds an ephemeral container that the kubelet runs in the pod’s network and reports', async () => {
    const res = await run([
      'debug',
      'web',
      `--image=${busybox}`,
      '--container=debugger',
      '--',
      'sleep',
      '3600',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const pod = await k.waitPod('web', ephemeralRunning('debugger'), 'debugger running');
    expect(pod.spec.ephemeralContainers).toEqual([
      expect.objectContaining({ name: 'debugger', image: busybox, command: ['sleep', '3600'] }),
    ]);
    expect(ephemeralStatus(pod, 'debugger')).toMatchObject({
      name: 'debugger',
      image: busybox,
      imageID: expect.stringMatching(/^docker:\/\/sha256:/),
      containerID: expect.stringMatching(/^docker:\/\/[0-9a-f]{64}$/),
      ready: false,
      restartCount: 0,
      state: { running: { startedAt: expect.any(String) } },
    });
    // The pod itself is as it was: same phase, readiness and app container.
    expect(pod.status.phase).toBe('Running');
    expect(ready(pod)).toBe(true);
    expect(pod.status.containerStatuses).toEqual([
      expect.objectContaining({ name: 'httpd', restartCount: 0, ready: true }),
    ]);

    // Without --target it has a PID namespace of its own, whose first process is its command...
    const cmdline = await run(['exec', 'web', '-c', 'debugger', '--', 'cat', '/proc/1/cmdline']);
    expect(cmdline.code, cmdline.stderr).toBe(0);
    expect(cmdline.stdout.split('\0').filter(Boolean)).toEqual(['sleep', '3600']);
    // ...and the pod's network: the app container's port on localhost.
    const page = await run(['exec', 'web', '-c', 'debugger', '--', 'wget', '-qO-', 'http://127.0.0.1:8080/']);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stdout).toBe('hello-from-pod\n');
  });

  it('--target joins the target container’s PID namespace', async () => {
    const res = await run([
      'debug',
      'web',
      `--image=${busybox}`,
      '--container=peek',
      '--target=httpd',
      '--',
      'sleep',
      '3600',
    ]);
    expect(res.code, res.stderr).toBe(0);
    const pod = await k.waitPod('web', ephemeralRunning('peek'), 'peek running');
    expect(pod.spec.ephemeralContainers.find((c: any) => c.name === 'peek').targetContainerName).toBe(
      'httpd',
    );
    const cmdline = await run(['exec', 'web', '-c', 'peek', '--', 'cat', '/proc/1/cmdline']);
    expect(cmdline.code, cmdline.stderr).toBe(0);
    expect(cmdline.stdout.split('\0')[0]).toBe('httpd');
    const ps = await run(['exec', 'web', '-c', 'peek', '--', 'ps']);
    expect(ps.stdout).toMatch(/httpd -f -p 8080/);
    expect(ps.stdout).toMatch(/sleep 3600/);
  });

  it('-i attaches to what it runs; once it ends it is terminated, never restarted, and its log stays', async () => {
    const res = await kubectl(
      [
        'debug',
        'web',
        '-i',
        `--image=${busybox}`,
        '--container=reader',
        '--',
        'sh',
        '-c',
        'read line; echo got:$line',
      ],
      { kubeconfig: k.kubeconfig, input: 'hello\n', timeoutMs: 60_000 },
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('got:hello');
    const done = await k.waitPod(
      'web',
      (p) => !!ephemeralStatus(p, 'reader')?.state?.terminated,
      'reader ended',
    );
    expect(ephemeralStatus(done, 'reader').state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
    });
    const logs = await run(['logs', 'web', '-c', 'reader']);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('got:hello\n');
    // The pod resyncs often (probes); the container stays ended.
    await new Promise((r) => setTimeout(r, 3000));
    const later = await k.getPod('web');
    expect(ephemeralStatus(later, 'reader')).toMatchObject({
      restartCount: 0,
      state: { terminated: { exitCode: 0 } },
    });
    expect(later.status.phase).toBe('Running');
  });
});

describe('the ephemeralcontainers subresource', () => {
  it('is discovered with get, patch and update, and GET returns the Pod', async () => {
    const list = (await k.client.get('/api/v1')).body;
    expect(list.resources).toContainEqual(
      expect.objectContaining({
        name: 'pods/ephemeralcontainers',
        kind: 'Pod',
        verbs: ['get', 'patch', 'update'],
      }),
    );
    const got = await k.client.get(subPath);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ kind: 'Pod', metadata: { name: 'web' } });
  });

  it('adds one by strategic merge patch, as kubectl does, and kubectl attach -i reaches it', async () => {
    const res = await k.client.patch(
      subPath,
      {
        spec: {
          ephemeralContainers: [
            {
              name: 'talker',
              image: busybox,
              stdin: true,
              command: ['sh', '-c', 'read line; echo got:$line'],
              resources: {},
              terminationMessagePolicy: 'File',
            },
          ],
        },
      },
      strategic,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.spec.ephemeralContainers.map((c: any) => c.name)).toContain('talker');
    expect(res.body.spec.ephemeralContainers.length).toBeGreaterThan(1);
    await k.waitPod('web', ephemeralRunning('talker'), 'talker running');
    const attach = await run(['attach', '-i', 'web', '-c', 'talker'], 'hi\n');
    expect(attach.stdout + attach.stderr).toContain('got:hi');
    await k.waitPod('web', (p) => !!ephemeralStatus(p, 'talker')?.state?.terminated, 'talker ended');
  });

  it('refuses to remove or change an ephemeral container (422)', async () => {
    const pod = await k.getPod('web');
    delete pod.metadata.resourceVersion;
    const removed = structuredClone(pod);
    removed.spec.ephemeralContainers = removed.spec.ephemeralContainers.filter(
      (c: any) => c.name !== 'debugger',
    );
    const put = await k.client.put(subPath, removed);
    // A strategic merge patch without $setElementOrder puts what it adds first, as Kubernetes' does.
    const at = pod.spec.ephemeralContainers.findIndex((c: any) => c.name === 'debugger');
    expect(put.status).toBe(422);
    expect(put.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'Invalid', code: 422 });
    expect(put.body.message).toContain('existing ephemeral containers "debugger" may not be removed');

    const changed = await k.client.patch(
      subPath,
      [{ op: 'replace', path: `/spec/ephemeralContainers/${at}/image`, value: 'nanokube/busybox:2' }],
      { 'content-type': 'application/json-patch+json' },
    );
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain('existing ephemeral containers "debugger" may not be changed');

    const ports = await k.client.patch(
      subPath,
      { spec: { ephemeralContainers: [{ name: 'porty', image: busybox, ports: [{ containerPort: 80 }] }] } },
      strategic,
    );
    expect(ports.status).toBe(422);
    expect(ports.body.details.causes).toContainEqual(
      expect.objectContaining({ reason: 'FieldValueForbidden', field: expect.stringMatching(/\.ports$/) }),
    );

    const target = await k.client.patch(
      subPath,
      { spec: { ephemeralContainers: [{ name: 'lost', image: busybox, targetContainerName: 'nope' }] } },
      strategic,
    );
    expect(target.status).toBe(422);
    expect(target.body.message).toMatch(/targetContainerName: Not found: "nope"/);

    // The pod itself may not add one.
    const main = await k.client.patch(
      podPath,
      { spec: { ephemeralContainers: [{ name: 'sneaky', image: busybox }] } },
      strategic,
    );
    expect(main.status).toBe(422);
    const after = await k.getPod('web');
    expect(after.spec.ephemeralContainers.map((c: any) => c.name)).not.toContain('sneaky');
    expect(after.spec.ephemeralContainers.map((c: any) => c.name)).not.toContain('porty');
  });

  it('keeps everything but spec.ephemeralContainers of a PUT as stored', async () => {
    const pod = await k.getPod('web');
    delete pod.metadata.resourceVersion;
    pod.metadata.labels = { sneaky: 'label' };
    pod.spec.containers[0].image = 'nanokube/busybox:2';
    pod.spec.ephemeralContainers.push({ name: 'quiet', image: busybox, command: ['sleep', '3600'] });
    const res = await k.client.put(subPath, pod);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata.labels).toBeUndefined();
    expect(res.body.spec.containers[0].image).toBe(busybox);
    expect(res.body.spec.ephemeralContainers.map((c: any) => c.name)).toContain('quiet');
    await k.waitPod('web', ephemeralRunning('quiet'), 'quiet running');
  });
});
