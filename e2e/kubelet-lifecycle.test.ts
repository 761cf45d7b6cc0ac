/**
 * The kubelet with real etcd, apiserver and Docker, part 2: restarts and
 * lifecycle. A container killed with -9 comes back and restartCount grows
 * (`kubectl logs -p` shows the previous one); a crashing container shows
 * CrashLoopBackOff with growing delays; liveness and readiness probes;
 * graceful deletion with preStop and the grace period; a restarted (or
 * crashed) kubelet adopts what runs and starts nothing twice; containers of
 * a pod deleted while the kubelet was down are removed.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, makeTempDir, sleep, waitFor } from '../testing/harness.js';
import { dockerExec, dockerKill, nodeContainers } from '../testing/kubelet-helpers.js';
import { busybox, containerStatus, KubeletCluster, ready, running } from './kubelet-cluster.js';

const podsPath = '/api/v1/namespaces/default/pods';
let k: KubeletCluster;

beforeAll(async () => {
  k = await KubeletCluster.start('kll');
}, 60_000);

afterAll(() => k.stop(), 60_000);

describe.concurrent('kubelet restarts and lifecycle', () => {
  it('restarts a container killed with -9, restartCount grows, and `kubectl logs -p` shows the previous one', async () => {
    await k.createPod('phoenix', {
      containers: [
        { name: 'app', image: busybox, command: ['sh', '-c', 'echo "boot-$RANDOM$RANDOM"; sleep 600'] },
      ],
    });
    let pod = await k.waitPod('phoenix', running, 'Running');
    const firstID = containerStatus(pod, 'app').containerID;
    await dockerKill(firstID);
    pod = await k.waitPod(
      'phoenix',
      (p) => containerStatus(p, 'app')?.restartCount === 1 && !!containerStatus(p, 'app')?.state?.running,
      'restarted once',
    );
    const st = containerStatus(pod, 'app');
    expect(st.containerID).not.toBe(firstID);
    expect(st.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error', containerID: firstID });
    const current = (await kubectl(['logs', 'phoenix'], { kubeconfig: k.kubeconfig })).stdout.trim();
    const previous = (await kubectl(['logs', 'phoenix', '-p'], { kubeconfig: k.kubeconfig })).stdout.trim();
    expect(current).toMatch(/^boot-\d+$/);
    expect(previous).toMatch(/^boot-\d+$/);
    expect(previous).not.toBe(current);
    await dockerKill(st.containerID);
    await k.waitPod(
      'phoenix',
      (p) => containerStatus(p, 'app')?.restartCount === 2,
      'restarted twice',
      40_000,
    );
    await k.deletePod('phoenix');
  }, 90_000);

  it('shows CrashLoopBackOff for a crashing container, with growing delays between restarts', async () => {
    await k.createPod('crasher', {
      containers: [{ name: 'app', image: busybox, command: ['sh', '-c', 'echo crashing; exit 3'] }],
    });
    const seen = new Map<number, number>();
    let backoff: any;
    const started = Date.now();
    await waitFor(
      async () => {
        const p = await k.getPod('crasher');
        const st = containerStatus(p, 'app');
        if (st && !seen.has(st.restartCount)) seen.set(st.restartCount, Date.now());
        if (st?.state?.waiting?.reason === 'CrashLoopBackOff') backoff = st;
        return seen.has(3);
      },
      { timeoutMs: 80_000, intervalMs: 200, what: 'three restarts' },
    );
    expect(backoff.lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(backoff.state.waiting.message).toMatch(/back-off \d+s restarting failed container=app/);
    const gap1 = seen.get(2)! - seen.get(1)!;
    const gap2 = seen.get(3)! - seen.get(2)!;
    // 10 s, then 20 s, with generous margins for a busy machine.
    expect(gap1).toBeGreaterThan(8_000);
    expect(gap2).toBeGreaterThan(gap1 + 5_000);
    expect(Date.now() - started).toBeLessThan(80_000);
    const pod = await k.getPod('crasher');
    expect(pod.status.phase).toBe('Running');
    await k.deletePod('crasher');
  }, 100_000);

  it('restarts a container whose liveness probe fails', async () => {
    await k.createPod('sickly', {
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 600'],
          livenessProbe: {
            exec: { command: ['cat', '/tmp/healthy'] },
            periodSeconds: 1,
            failureThreshold: 2,
          },
        },
      ],
    });
    await k.waitPod(
      'sickly',
      (p) => containerStatus(p, 'app')?.restartCount >= 1,
      'restarted by liveness',
      40_000,
    );
    const events = (await k.client.get('/api/v1/namespaces/default/events')).body.items;
    const unhealthy = events.find((e: any) => e.involvedObject.name === 'sickly' && e.reason === 'Unhealthy');
    expect(unhealthy?.message).toContain('Liveness probe failed');
    await k.deletePod('sickly');
  });

  it('keeps a pod not Ready while its readiness probe fails, and Ready once it passes', async () => {
    await k.createPod('shy', {
      containers: [
        {
          name: 'web',
          image: busybox,
          command: ['sh', '-c', 'mkdir -p /www; echo ok > /www/index.html; httpd -f -p 8080 -h /www'],
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
          livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
        },
      ],
    });
    const pod = await k.waitPod('shy', running, 'Running');
    await sleep(3_000);
    const still = await k.getPod('shy');
    expect(ready(still)).toBe(false);
    expect(containerStatus(still, 'web').ready).toBe(false);
    expect(still.status.conditions.find((c: any) => c.type === 'ContainersReady').reason).toBe(
      'ContainersNotReady',
    );
    expect(
      await dockerExec(containerStatus(pod, 'web').containerID, ['sh', '-c', 'echo yes > /www/ready']),
    ).toBe(0);
    await k.waitPod('shy', ready, 'Ready', 15_000);
    expect(containerStatus(await k.getPod('shy'), 'web').restartCount).toBe(0);
    await k.deletePod('shy');
  });

  it('deletes gracefully: preStop runs, SIGTERM, and SIGKILL only after the grace period', async () => {
    const dir = makeTempDir('nanokube-kubelet-grace-');
    await k.createPod('graceful', {
      terminationGracePeriodSeconds: 4,
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'trap "echo got-TERM >> /host/log" TERM; while true; do sleep 0.2; done'],
          lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop >> /host/log'] } } },
          volumeMounts: [{ name: 'host', mountPath: '/host' }],
        },
      ],
      volumes: [{ name: 'host', hostPath: { path: dir, type: 'Directory' } }],
    });
    await k.waitPod('graceful', running, 'Running');
    const began = Date.now();
    const del = await k.client.del(`${podsPath}/graceful`);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    await waitFor(async () => (await k.client.get(`${podsPath}/graceful`)).status === 404, {
      timeoutMs: 30_000,
      what: 'graceful gone',
    });
    const took = Date.now() - began;
    // The shell ignores TERM (it only logs it), so it takes the whole grace period and a SIGKILL.
    expect(took).toBeGreaterThan(3_500);
    expect(took).toBeLessThan(15_000);
    expect(readFileSync(`${dir}/log`, 'utf8')).toBe('prestop\ngot-TERM\n');
  });
});

describe('kubelet restarts', () => {
  it('adopts running containers after a restart or a crash and starts nothing twice', async () => {
    await k.createPod('steady', {
      containers: [
        { name: 'a', image: busybox, command: ['sleep', '600'] },
        { name: 'b', image: busybox, command: ['sleep', '600'] },
      ],
    });
    await k.waitPod('steady', (p) => running(p) && ready(p), 'Running');
    const before = (await nodeContainers(k.node, 'steady')).map((c) => c.Id).sort();
    expect(before).toHaveLength(3);
    await k.kubelet.stop();
    await k.kubelet.start();
    await sleep(3_000);
    await k.kubelet.kill();
    await k.kubelet.start();
    await sleep(3_000);
    const pod = await k.waitPod('steady', (p) => running(p) && ready(p), 'Running and Ready after restarts');
    expect((await nodeContainers(k.node, 'steady')).map((c) => c.Id).sort()).toEqual(before);
    expect(containerStatus(pod, 'a').restartCount).toBe(0);
    expect(containerStatus(pod, 'b').restartCount).toBe(0);
    await k.deletePod('steady');
  }, 90_000);

  it('removes the containers of a pod deleted while the kubelet was down', async () => {
    await k.createPod('orphan', { containers: [{ name: 'a', image: busybox, command: ['sleep', '600'] }] });
    await k.waitPod('orphan', running, 'Running');
    await k.kubelet.stop();
    await k.client.del(`${podsPath}/orphan`, { gracePeriodSeconds: 0 });
    expect((await nodeContainers(k.node, 'orphan')).length).toBe(2);
    await k.kubelet.start();
    await waitFor(async () => (await nodeContainers(k.node, 'orphan')).length === 0, {
      timeoutMs: 20_000,
      what: 'orphan containers removed',
    });
  }, 60_000);
});
