/**
 * The kubelet with real etcd, apiserver and Docker, part 1: node
 * registration and lease; pods whose containers share localhost; env and
 * volumes from ConfigMaps and Secrets (and a mounted file that follows an
 * edit); emptyDir; init containers; image pull failures; memory limits;
 * `kubectl logs` and `kubectl exec` through the apiserver. No scheduler:
 * pods are created with spec.nodeName set. The pod tests are independent
 * pods on one shared cluster, so they run concurrently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl, kubectlPath, run, waitFor } from '../testing/harness.js';
import { hairpinModeOf, nodeContainers } from '../testing/kubelet-helpers.js';
import { busybox, containerStatus, KubeletCluster, ready, running } from './kubelet-cluster.js';

let k: KubeletCluster;

beforeAll(async () => {
  k = await KubeletCluster.start('klp');
}, 60_000);

afterAll(() => k.stop(), 60_000);

describe('kubelet node', () => {
  it('registers its Node with capacity, addresses, nodeInfo and conditions, and renews its Lease', async () => {
    const n = (await k.client.get(`/api/v1/nodes/${k.node}`)).body;
    expect(n.spec.podCIDR).toBe(k.podCIDR);
    expect(n.status.capacity).toMatchObject({ pods: '110' });
    expect(Number(n.status.capacity.cpu)).toBeGreaterThan(0);
    expect(n.status.capacity.memory).toMatch(/^\d+Ki$/);
    expect(n.status.allocatable).toEqual(n.status.capacity);
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^docker:\/\/\d+/);
    expect(n.status.daemonEndpoints.kubeletEndpoint.Port).toBe(Number(new URL(k.kubelet.url).port));
    const types = n.status.conditions.map((c: any) => `${c.type}=${c.status}`).sort();
    expect(types).toEqual(['DiskPressure=False', 'MemoryPressure=False', 'PIDPressure=False', 'Ready=True']);
    const lease = await waitFor(async () => {
      const r = await k.client.get(
        `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${k.node}`,
      );
      return r.status === 200 ? r.body : undefined;
    });
    expect(lease.spec.holderIdentity).toBe(k.node);
    const got = await kubectl(['get', 'node', k.node, '--no-headers'], { kubeconfig: k.kubeconfig });
    expect(got.stdout).toMatch(new RegExp(`^${k.node}\\s+Ready`));
  });
});

describe.concurrent('kubelet pods', () => {
  it('runs a two-container pod whose containers talk over localhost, with a pod IP in the node range', async () => {
    await k.createPod('duo', {
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
    const pod = await k.waitPod('duo', (p) => running(p) && ready(p), 'Running and Ready');
    const prefix = k.podCIDR.split('.').slice(0, 3).join('.');
    expect(pod.status.podIP.startsWith(`${prefix}.`)).toBe(true);
    expect(pod.status.hostIP).toBe('127.0.0.1');
    expect(pod.status.qosClass).toBe('BestEffort');
    expect(pod.status.startTime).toBeTruthy();
    expect(containerStatus(pod, 'server').state.running.startedAt).toBeTruthy();
    expect(containerStatus(pod, 'client').containerID).toMatch(/^docker:\/\/[0-9a-f]{64}$/);
    // Hairpin mode on the sandbox's bridge port, so the pod can reach itself through a Service.
    const [sandbox] = (await nodeContainers(k.node, 'duo')).filter(
      (c) => c.Labels['io.kubernetes.container.name'] === 'POD',
    );
    expect(await hairpinModeOf(sandbox.Id)).toBe('1');
    await waitFor(
      async () =>
        (await kubectl(['logs', 'duo', '-c', 'client'], { kubeconfig: k.kubeconfig })).stdout.includes(
          'pong',
        ),
      {
        timeoutMs: 15_000,
        what: 'client logs showing pong',
      },
    );
    await k.deletePod('duo');
    await waitFor(async () => (await nodeContainers(k.node, 'duo')).length === 0, {
      what: 'duo containers removed',
    });
  });

  it('gives env from a ConfigMap, a Secret and the pod itself, and a configMap volume that follows edits', async () => {
    await k.createObject('configmaps', 'ConfigMap', {
      metadata: { name: 'app-config' },
      data: { MODE: 'fast', greeting: 'hello-1' },
    });
    await k.createObject('secrets', 'Secret', {
      metadata: { name: 'app-secret' },
      stringData: { PASSWORD: 's3cret' },
    });
    await k.createPod('envy', {
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
    const pod = await k.waitPod('envy', running, 'Running');
    const logs = async () => (await kubectl(['logs', 'envy'], { kubeconfig: k.kubeconfig })).stdout;
    const first = await waitFor(async () => ((await logs()).includes('file=hello-1') ? logs() : undefined), {
      timeoutMs: 15_000,
    });
    expect(first).toContain('MODE=fast');
    expect(first).toContain('PASSWORD=s3cret');
    expect(first).toContain('MY_POD=envy');
    expect(first).toContain(`MY_IP=${pod.status.podIP}`);
    expect(first).toContain('COMBINED=fast-envy');
    await k.client.patch('/api/v1/namespaces/default/configmaps/app-config', {
      data: { greeting: 'hello-2' },
    });
    await waitFor(
      async () =>
        (await kubectl(['logs', 'envy', '--tail=1'], { kubeconfig: k.kubeconfig })).stdout.includes(
          'file=hello-2',
        ),
      { timeoutMs: 30_000, what: 'the mounted file to show the edited ConfigMap' },
    );
    await k.deletePod('envy');
  });

  it('reports CreateContainerConfigError for a missing ConfigMap and starts once it exists', async () => {
    await k.createPod('needs-config', {
      containers: [
        {
          name: 'app',
          image: busybox,
          command: ['sh', '-c', 'echo "late=$LATE"; sleep 600'],
          env: [{ name: 'LATE', valueFrom: { configMapKeyRef: { name: 'late-config', key: 'v' } } }],
        },
      ],
    });
    const waiting = await k.waitPod(
      'needs-config',
      (p) => containerStatus(p, 'app')?.state?.waiting?.reason === 'CreateContainerConfigError',
      'CreateContainerConfigError',
    );
    expect(containerStatus(waiting, 'app').state.waiting.message).toContain('late-config');
    await k.createObject('configmaps', 'ConfigMap', { metadata: { name: 'late-config' }, data: { v: '7' } });
    await k.waitPod('needs-config', running, 'Running once the ConfigMap exists');
    expect((await kubectl(['logs', 'needs-config'], { kubeconfig: k.kubeconfig })).stdout).toBe('late=7\n');
    await k.deletePod('needs-config');
  });

  it('shares an emptyDir (and a memory-backed one) between two containers', async () => {
    await k.createPod('shared', {
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
    await k.waitPod('shared', running, 'Running');
    const out = await waitFor(
      async () => {
        const r = await kubectl(['logs', 'shared', '-c', 'reader'], { kubeconfig: k.kubeconfig });
        return r.stdout.includes('tmpfs') ? r.stdout : undefined;
      },
      { timeoutMs: 15_000, what: 'reader output' },
    );
    expect(out).toContain('from-writer');
    expect(out).toMatch(/tmpfs on \/mem type tmpfs/);
    await k.deletePod('shared');
  });

  it('runs init containers in order before the app, and a finished pod Succeeds with its termination message', async () => {
    await k.createPod('ordered', {
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
    const pod = await k.waitPod('ordered', (p) => p.status?.phase === 'Succeeded', 'Succeeded');
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
    expect((await kubectl(['logs', 'ordered'], { kubeconfig: k.kubeconfig })).stdout).toBe('one\ntwo\n');
    await k.deletePod('ordered');
  });

  it('reports ErrImagePull and then ImagePullBackOff for an image that cannot be had', async () => {
    await k.createPod('nowhere', {
      // A registry on a closed loopback port: the pull fails without leaving the host.
      containers: [{ name: 'app', image: '127.0.0.1:9/nanokube/missing:1' }],
    });
    await waitFor(
      async () =>
        containerStatus(await k.getPod('nowhere'), 'app')?.state?.waiting?.reason === 'ImagePullBackOff',
      { timeoutMs: 30_000, intervalMs: 100, what: 'ImagePullBackOff' },
    );
    const events = (await k.client.get('/api/v1/namespaces/default/events')).body.items;
    const messages = events
      .filter((e: any) => e.involvedObject.name === 'nowhere')
      .map((e: any) => e.message);
    expect(messages).toContain('Error: ErrImagePull');
    expect(messages).toContain('Error: ImagePullBackOff');
    expect((await k.getPod('nowhere')).status.phase).toBe('Pending');
    await k.deletePod('nowhere');
  });

  it('enforces a memory limit: the container is OOMKilled and the pod fails', async () => {
    await k.createPod('hog', {
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
    const pod = await k.waitPod('hog', (p) => p.status?.phase === 'Failed', 'Failed', 40_000);
    expect(pod.status.qosClass).toBe('Guaranteed');
    expect(containerStatus(pod, 'app').state.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
    });
    await k.deletePod('hog');
  });

  it('follows logs with `kubectl logs -f` until the container ends', async () => {
    await k.createPod('talker', {
      restartPolicy: 'Never',
      containers: [
        { name: 'app', image: busybox, command: ['sh', '-c', 'echo first; sleep 3; echo second'] },
      ],
    });
    await k.waitPod('talker', running, 'Running');
    const followed = await kubectl(['logs', '-f', 'talker'], { kubeconfig: k.kubeconfig });
    expect(followed.stdout).toBe('first\nsecond\n');
    const stamped = await kubectl(['logs', 'talker', '--timestamps', '--tail=1'], {
      kubeconfig: k.kubeconfig,
    });
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z second\n$/);
    await k.deletePod('talker');
  });

  it('runs `kubectl exec` through the apiserver: output, exit code, stdin, and a TTY', async () => {
    await k.createPod('shell', { containers: [{ name: 'app', image: busybox, command: ['sleep', '600'] }] });
    await k.waitPod('shell', running, 'Running');
    const plain = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3'], {
      kubeconfig: k.kubeconfig,
    });
    expect(plain.code).toBe(3);
    expect(plain.stdout).toBe('out\n');
    expect(plain.stderr).toContain('err\n');
    const piped = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo done'], {
      kubeconfig: k.kubeconfig,
      input: 'from-stdin\n',
    });
    expect(piped).toMatchObject({ code: 0, stdout: 'from-stdin\ndone\n' });
    // `script` gives kubectl a terminal, so -it asks for a TTY in the container.
    const cmd = `${kubectlPath()} --kubeconfig ${k.kubeconfig} exec -it shell -- sh -c 'tty; stty size'`;
    const tty = await run('script', ['-qec', cmd, '/dev/null'], { input: '' });
    expect(tty.code, tty.stderr).toBe(0);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    await k.deletePod('shell');
  });
});
