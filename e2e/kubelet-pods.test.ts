/**
 * The kubelet with real etcd, apiserver and Docker: node registration and
 * lease, pods whose containers share localhost, env and volumes from
 * ConfigMaps and Secrets, restarts, probes, graceful deletion, adoption
 * after a kubelet restart, image pull failures, memory limits, logs.
 * No scheduler: pods are created with spec.nodeName set. The tests are
 * independent pods on one shared cluster, so they run concurrently.
 */
import { copyFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type Kubelet,
  kubectl,
  makeTempDir,
  sleep,
  startApiserver,
  startEtcd,
  startKubelet,
  waitFor,
  writeKubeconfig,
} from './harness.js';
import {
  dockerExec,
  dockerKill,
  freePodCIDR,
  nodeContainers,
  removeNodeContainers,
  testNodeName,
} from './kubelet-helpers.js';

const node = testNodeName('kl');
const busybox = 'nanokube/busybox:1';
let client: Api;
let kubelet: Kubelet;
let kubeconfig: string;
let podCIDR: string;

const podsPath = '/api/v1/namespaces/default/pods';

async function createPod(
  name: string,
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
) {
  const res = await client.post(podsPath, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...metadata },
    spec: { nodeName: node, terminationGracePeriodSeconds: 2, ...spec },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function createObject(plural: string, kind: string, obj: Record<string, unknown>) {
  const res = await client.post(`/api/v1/namespaces/default/${plural}`, { apiVersion: 'v1', kind, ...obj });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const getPod = async (name: string) => (await client.get(`${podsPath}/${name}`)).body;

function containerStatus(pod: any, name: string): any {
  return pod.status?.containerStatuses?.find((s: any) => s.name === name);
}

async function waitPod(name: string, check: (pod: any) => boolean, what: string, timeoutMs = 30_000) {
  let last: any;
  try {
    return await waitFor(
      async () => {
        last = await getPod(name);
        return check(last) ? last : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `pod ${name}: ${what}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status)}`);
  }
}

const running = (pod: any) => pod.status?.phase === 'Running';
const ready = (pod: any) => pod.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True';

async function deletePod(name: string) {
  await client.del(`${podsPath}/${name}`);
  await waitFor(async () => (await client.get(`${podsPath}/${name}`)).status === 404, {
    timeoutMs: 30_000,
    what: `pod ${name} gone`,
  });
}

beforeAll(async () => {
  podCIDR = await freePodCIDR();
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  kubeconfig = await writeKubeconfig(makeTempDir(), apiserver.url);
  kubelet = await startKubelet({ apiserverUrl: apiserver.url, nodeName: node, podCIDR });
}, 60_000);

afterAll(async () => {
  const left = (await client.get(podsPath)).body.items ?? [];
  await Promise.all(
    left.map((p: any) => client.del(`${podsPath}/${p.metadata.name}`, { gracePeriodSeconds: 0 })),
  );
  await waitFor(async () => (await nodeContainers(node)).length === 0 || undefined, {
    timeoutMs: 20_000,
    what: 'the kubelet removing every container',
  }).catch(() => undefined);
  // NK_E2E_KEEP_LOGS=<dir> keeps the kubelet's log for a look after the run.
  if (process.env.NK_E2E_KEEP_LOGS)
    copyFileSync(kubelet.logPath, `${process.env.NK_E2E_KEEP_LOGS}/${node}.log`);
  await cleanup();
  await removeNodeContainers(node);
}, 60_000);

describe('kubelet node', () => {
  it('registers its Node with capacity, addresses, nodeInfo and conditions, and renews its Lease', async () => {
    const n = (await client.get(`/api/v1/nodes/${node}`)).body;
    expect(n.spec.podCIDR).toBe(podCIDR);
    expect(n.status.capacity).toMatchObject({ pods: '110' });
    expect(Number(n.status.capacity.cpu)).toBeGreaterThan(0);
    expect(n.status.capacity.memory).toMatch(/^\d+Ki$/);
    expect(n.status.allocatable).toEqual(n.status.capacity);
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\/\d+/);
    expect(n.status.daemonEndpoints.kubeletEndpoint.Port).toBe(Number(new URL(kubelet.url).port));
    const types = n.status.conditions.map((c: any) => `${c.type}=${c.status}`).sort();
    expect(types).toEqual(['DiskPressure=False', 'MemoryPressure=False', 'PIDPressure=False', 'Ready=True']);
    const lease = await waitFor(async () => {
      const r = await client.get(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`);
      return r.status === 200 ? r.body : undefined;
    });
    expect(lease.spec.holderIdentity).toBe(node);
    const got = await kubectl(['get', 'node', node, '--no-headers'], { kubeconfig });
    expect(got.stdout).toMatch(new RegExp(`^${node}\\s+Ready`));
  });
});

describe.concurrent('kubelet pods', () => {
  it('runs a two-container pod whose containers talk over localhost, with a pod IP in the node range', async () => {
    await createPod('duo', {
      containers: [
        {
          name: 'server',
          image: busybox,
          command: ['sh', '-c', 'while true; do echo pong | nc -l -p 8080; done'],
        },
        {
          name: 'client',
          image: busybox,
          command: ['sh', '-c', 'while true; do nc 127.0.0.1 8080 </dev/null; sleep 0.5; done'],
        },
      ],
    });
    const pod = await waitPod('duo', (p) => running(p) && ready(p), 'Running and Ready');
    const prefix = podCIDR.split('.').slice(0, 3).join('.');
    expect(pod.status.podIP.startsWith(`${prefix}.`)).toBe(true);
    expect(pod.status.hostIP).toBe('127.0.0.1');
    expect(pod.status.qosClass).toBe('BestEffort');
    expect(pod.status.startTime).toBeTruthy();
    expect(containerStatus(pod, 'server').state.running.startedAt).toBeTruthy();
    expect(containerStatus(pod, 'client').containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
    await waitFor(
      async () => (await kubectl(['logs', 'duo', '-c', 'client'], { kubeconfig })).stdout.includes('pong'),
      {
        timeoutMs: 15_000,
        what: 'client logs showing pong',
      },
    );
    await deletePod('duo');
    await waitFor(async () => (await nodeContainers(node, 'duo')).length === 0, {
      what: 'duo containers removed',
    });
  });

  it('gives env from a ConfigMap, a Secret and the pod itself, and a configMap volume that follows edits', async () => {
    await createObject('configmaps', 'ConfigMap', {
      metadata: { name: 'app-config' },
      data: { MODE: 'fast', greeting: 'hello-1' },
    });
    await createObject('secrets', 'Secret', {
      metadata: { name: 'app-secret' },
      stringData: { PASSWORD: 's3cret' },
    });
    await createPod('envy', {
      containers: [
        {
          name: 'app',
          image: busybox,
          command: [
            'sh',
            '-c',
            'env | sort; while true; do echo "file=$(cat /cfg/greeting)"; sleep 0.5; done',
          ],
          envFrom: [{ configMapRef: { name: 'app-config' } }],
          env: [
            { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'PASSWORD' } } },
            { name: 'MY_POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            { name: 'MY_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            { name: 'COMBINED', value: '$(MODE)-$(MY_POD)' },
          ],
          volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }],
        },
      ],
      volumes: [
        { name: 'cfg', configMap: { name: 'app-config', items: [{ key: 'greeting', path: 'greeting' }] } },
      ],
    });
    const pod = await waitPod('envy', running, 'Running');
    const logs = async () => (await kubectl(['logs', 'envy'], { kubeconfig })).stdout;
    const first = await waitFor(async () => ((await logs()).includes('file=hello-1') ? logs() : undefined), {
      timeoutMs: 15_000,
    });
    expect(first).toContain('MODE=fast');
    expect(first).toContain('PASSWORD=s3cret');
    expect(first).toContain('MY_POD=envy');
    expect(first).toContain(`MY_IP=${pod.status.podIP}`);
    expect(first).toContain('COMBINED=fast-envy');
    await client.patch('/api/v1/namespaces/default/configmaps/app-config', { data: { greeting: 'hello-2' } });
    await waitFor(
      async () =>
        (await kubectl(['logs', 'envy', '--tail=1'], { kubeconfig })).stdout.includes('file=hello-2'),
      { timeoutMs: 30_000, what: 'the mounted file to show the edited ConfigMap' },
    );
    await deletePod('envy');
  });

  it('reports CreateContainerConfigError for a missing ConfigMap and starts once it exists', async () => {
    await createPod('needs-config', {
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'echo "late=$LATE"; sleep 600'],
          env: [{ name: 'LATE', valueFrom: { configMapKeyRef: { name: 'late-config', key: 'v' } } }],
        },
      ],
    });
    const waiting = await waitPod(
      'needs-config',
      (p) => containerStatus(p, 'app')?.state?.waiting?.reason === 'CreateContainerConfigError',
      'CreateContainerConfigError',
    );
    expect(containerStatus(waiting, 'app').state.waiting.message).toContain('late-config');
    await createObject('configmaps', 'ConfigMap', { metadata: { name: 'late-config' }, data: { v: '7' } });
    await waitPod('needs-config', running, 'Running once the ConfigMap exists');
    expect((await kubectl(['logs', 'needs-config'], { kubeconfig })).stdout).toBe('late=7\n');
    await deletePod('needs-config');
  });

  it('shares an emptyDir (and a memory-backed one) between two containers', async () => {
    await createPod('shared', {
      containers: [
        {
          name: 'writer',
          image: busybox,
          command: ['sh', '-c', 'echo from-writer > /data/msg; echo mem > /mem/msg; sleep 600'],
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'mem', mountPath: '/mem' },
          ],
        },
        {
          name: 'reader',
          image: busybox,
          command: [
            'sh',
            '-c',
            'while ! [ -f /data/msg ]; do sleep 0.2; done; cat /data/msg; mount | grep " /mem "; sleep 600',
          ],
          volumeMounts: [
            { name: 'data', mountPath: '/data', readOnly: true },
            { name: 'mem', mountPath: '/mem' },
          ],
        },
      ],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'mem', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
      ],
    });
    await waitPod('shared', running, 'Running');
    const out = await waitFor(
      async () => {
        const r = await kubectl(['logs', 'shared', '-c', 'reader'], { kubeconfig });
        return r.stdout.includes('tmpfs') ? r.stdout : undefined;
      },
      { timeoutMs: 15_000, what: 'reader output' },
    );
    expect(out).toContain('from-writer');
    expect(out).toMatch(/tmpfs on \/mem type tmpfs/);
    await deletePod('shared');
  });

  it('restarts a container killed with -9, restartCount grows, and `kubectl logs -p` shows the previous one', async () => {
    await createPod('phoenix', {
      containers: [
        { name: 'app', image: busybox, command: ['sh', '-c', 'echo "boot-$RANDOM$RANDOM"; sleep 600'] },
      ],
    });
    let pod = await waitPod('phoenix', running, 'Running');
    const firstID = containerStatus(pod, 'app').containerID;
    await dockerKill(firstID);
    pod = await waitPod(
      'phoenix',
      (p) => containerStatus(p, 'app')?.restartCount === 1 && !!containerStatus(p, 'app')?.state?.running,
      'restarted once',
    );
    const st = containerStatus(pod, 'app');
    expect(st.containerID).not.toBe(firstID);
    expect(st.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'Error', containerID: firstID });
    const current = (await kubectl(['logs', 'phoenix'], { kubeconfig })).stdout.trim();
    const previous = (await kubectl(['logs', 'phoenix', '-p'], { kubeconfig })).stdout.trim();
    expect(current).toMatch(/^boot-\d+$/);
    expect(previous).toMatch(/^boot-\d+$/);
    expect(previous).not.toBe(current);
    await dockerKill(st.containerID);
    await waitPod('phoenix', (p) => containerStatus(p, 'app')?.restartCount === 2, 'restarted twice', 40_000);
    await deletePod('phoenix');
  }, 90_000);

  it('shows CrashLoopBackOff for a crashing container, with growing delays between restarts', async () => {
    await createPod('crasher', {
      containers: [{ name: 'app', image: busybox, command: ['sh', '-c', 'echo crashing; exit 3'] }],
    });
    const seen = new Map<number, number>();
    let backoff: any;
    const started = Date.now();
    await waitFor(
      async () => {
        const p = await getPod('crasher');
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
    const pod = await getPod('crasher');
    expect(pod.status.phase).toBe('Running');
    await deletePod('crasher');
  }, 100_000);

  it('restarts a container whose liveness probe fails', async () => {
    await createPod('sickly', {
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
    await waitPod(
      'sickly',
      (p) => containerStatus(p, 'app')?.restartCount >= 1,
      'restarted by liveness',
      40_000,
    );
    const events = (await client.get('/api/v1/namespaces/default/events')).body.items;
    const unhealthy = events.find((e: any) => e.involvedObject.name === 'sickly' && e.reason === 'Unhealthy');
    expect(unhealthy?.message).toContain('Liveness probe failed');
    await deletePod('sickly');
  });

  it('keeps a pod not Ready while its readiness probe fails, and Ready once it passes', async () => {
    await createPod('shy', {
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
    const pod = await waitPod('shy', running, 'Running');
    await sleep(3_000);
    const still = await getPod('shy');
    expect(ready(still)).toBe(false);
    expect(containerStatus(still, 'web').ready).toBe(false);
    expect(still.status.conditions.find((c: any) => c.type === 'ContainersReady').reason).toBe(
      'ContainersNotReady',
    );
    expect(
      await dockerExec(containerStatus(pod, 'web').containerID, ['sh', '-c', 'echo yes > /www/ready']),
    ).toBe(0);
    await waitPod('shy', ready, 'Ready', 15_000);
    expect(containerStatus(await getPod('shy'), 'web').restartCount).toBe(0);
    await deletePod('shy');
  });

  it('runs init containers in order before the app, and a finished pod Succeeds with its termination message', async () => {
    await createPod('ordered', {
      restartPolicy: 'Never',
      initContainers: [
        {
          name: 'one',
          image: busybox,
          command: ['sh', '-c', 'echo one >> /work/order'],
          volumeMounts: [{ name: 'w', mountPath: '/work' }],
        },
        {
          name: 'two',
          image: busybox,
          command: ['sh', '-c', 'echo two >> /work/order'],
          volumeMounts: [{ name: 'w', mountPath: '/work' }],
        },
      ],
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'cat /work/order; echo all-done > /dev/termination-log'],
          volumeMounts: [{ name: 'w', mountPath: '/work' }],
        },
      ],
      volumes: [{ name: 'w', emptyDir: {} }],
    });
    const pod = await waitPod('ordered', (p) => p.status?.phase === 'Succeeded', 'Succeeded');
    expect(pod.status.initContainerStatuses.map((s: any) => s.state.terminated?.reason)).toEqual([
      'Completed',
      'Completed',
    ]);
    expect(containerStatus(pod, 'app').state.terminated).toMatchObject({
      exitCode: 0,
      reason: 'Completed',
      message: 'all-done\n',
    });
    expect(pod.status.conditions.find((c: any) => c.type === 'Initialized').status).toBe('True');
    expect((await kubectl(['logs', 'ordered'], { kubeconfig })).stdout).toBe('one\ntwo\n');
    await deletePod('ordered');
  });

  it('reports ErrImagePull and then ImagePullBackOff for an image that cannot be had', async () => {
    await createPod('nowhere', {
      // A registry on a closed loopback port: the pull fails without leaving the host.
      containers: [{ name: 'app', image: '127.0.0.1:9/nanokube/missing:1' }],
    });
    await waitFor(
      async () =>
        containerStatus(await getPod('nowhere'), 'app')?.state?.waiting?.reason === 'ImagePullBackOff',
      { timeoutMs: 30_000, intervalMs: 100, what: 'ImagePullBackOff' },
    );
    const events = (await client.get('/api/v1/namespaces/default/events')).body.items;
    const messages = events
      .filter((e: any) => e.involvedObject.name === 'nowhere')
      .map((e: any) => e.message);
    expect(messages).toContain('Error: ErrImagePull');
    expect(messages).toContain('Error: ImagePullBackOff');
    expect((await getPod('nowhere')).status.phase).toBe('Pending');
    await deletePod('nowhere');
  });

  it('enforces a memory limit: the container is OOMKilled and the pod fails', async () => {
    await createPod('hog', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'x=a; while true; do x="$x$x"; done'],
          resources: { limits: { memory: '16Mi', cpu: '500m' } },
        },
      ],
    });
    const pod = await waitPod('hog', (p) => p.status?.phase === 'Failed', 'Failed', 40_000);
    expect(pod.status.qosClass).toBe('Guaranteed');
    expect(containerStatus(pod, 'app').state.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    await deletePod('hog');
  });

  it('follows logs with `kubectl logs -f` until the container ends', async () => {
    await createPod('talker', {
      restartPolicy: 'Never',
      containers: [
        { name: 'app', image: busybox, command: ['sh', '-c', 'echo first; sleep 3; echo second'] },
      ],
    });
    await waitPod('talker', running, 'Running');
    const followed = await kubectl(['logs', '-f', 'talker'], { kubeconfig });
    expect(followed.stdout).toBe('first\nsecond\n');
    const stamped = await kubectl(['logs', 'talker', '--timestamps', '--tail=1'], { kubeconfig });
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z second\n$/);
    await deletePod('talker');
  });

  it('deletes gracefully: preStop runs, SIGTERM, and SIGKILL only after the grace period', async () => {
    const dir = makeTempDir('nanokube-kubelet-grace-');
    await createPod('graceful', {
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
    await waitPod('graceful', running, 'Running');
    const began = Date.now();
    const del = await client.del(`${podsPath}/graceful`);
    expect(del.body.metadata.deletionTimestamp).toBeTruthy();
    await waitFor(async () => (await client.get(`${podsPath}/graceful`)).status === 404, {
      timeoutMs: 30_000,
      what: 'graceful gone',
    });
    const took = Date.now() - began;
    // The shell ignores TERM (it only logs it), so it takes the whole grace period and a SIGKILL.
    expect(took).toBeGreaterThan(3_500);
    expect(took).toBeLessThan(15_000);
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(`${dir}/log`, 'utf8')).toBe('prestop\ngot-TERM\n');
  });
});

describe('kubelet restarts', () => {
  it('adopts running containers after a restart or a crash and starts nothing twice', async () => {
    await createPod('steady', {
      containers: [
        { name: 'a', image: busybox, command: ['sleep', '600'] },
        { name: 'b', image: busybox, command: ['sleep', '600'] },
      ],
    });
    await waitPod('steady', (p) => running(p) && ready(p), 'Running');
    const before = (await nodeContainers(node, 'steady')).map((c) => c.Id).sort();
    expect(before).toHaveLength(3);
    await kubelet.stop();
    await kubelet.start();
    await sleep(3_000);
    await kubelet.kill();
    await kubelet.start();
    await sleep(3_000);
    const pod = await waitPod('steady', (p) => running(p) && ready(p), 'Running and Ready after restarts');
    expect((await nodeContainers(node, 'steady')).map((c) => c.Id).sort()).toEqual(before);
    expect(containerStatus(pod, 'a').restartCount).toBe(0);
    expect(containerStatus(pod, 'b').restartCount).toBe(0);
    await deletePod('steady');
  }, 90_000);

  it('removes the containers of a pod deleted while the kubelet was down', async () => {
    await createPod('orphan', { containers: [{ name: 'a', image: busybox, command: ['sleep', '600'] }] });
    await waitPod('orphan', running, 'Running');
    await kubelet.stop();
    await client.del(`${podsPath}/orphan`, { gracePeriodSeconds: 0 });
    expect((await nodeContainers(node, 'orphan')).length).toBe(2);
    await kubelet.start();
    await waitFor(async () => (await nodeContainers(node, 'orphan')).length === 0, {
      timeoutMs: 20_000,
      what: 'orphan containers removed',
    });
  }, 60_000);
});
