/**
 * The kubelet's Docker runtime against the real engine: a pod network with
 * the node's subnet, a pause sandbox with an IP on it, app containers that
 * share its localhost, resource limits, logs, exec, stop grace, images.
 * Needs Docker and the images of deploy/images/build.sh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstHost } from '../base/docker.js';
import { DockerRuntime } from '../kubelet/runtime/docker.js';
import { Labels, NotFoundError } from '../kubelet/runtime/runtime.js';
import { docker, freePodCIDR, removeNodeContainers, testNodeName } from '../testing/kubelet-helpers.js';

const rt = new DockerRuntime();
const node = testNodeName('rt');
const network = `nanokube-${node}`;
const busybox = 'nanokube/busybox:1';
let cidr: string;
let sandboxId: string;
let sandboxIp: string;

const labels = (container: string, extra: Record<string, string> = {}) => ({
  [Labels.node]: node,
  [Labels.podName]: 'p1',
  [Labels.podNamespace]: 'default',
  [Labels.podUID]: 'uid-1',
  [Labels.containerName]: container,
  ...extra,
});

async function runApp(
  name: string,
  args: string[],
  extra: Partial<Parameters<typeof rt.createContainer>[0]> = {},
) {
  const id = await rt.createContainer({
    name: `${node}-${name}`,
    image: busybox,
    labels: labels(name),
    sandboxId,
    command: ['sh', '-c'],
    args,
    env: ['GREETING=hi'],
    mounts: [],
    ...extra,
  });
  await rt.startContainer(id);
  return id;
}

async function waitExited(id: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await rt.inspectContainer(id);
    if (info.state === 'exited') return info;
    if (Date.now() > deadline) throw new Error(`container ${id} still ${info.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readAll(s: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  cidr = await freePodCIDR();
  await rt.ensureNetwork(network, cidr, { [Labels.node]: node });
  const sb = await rt.runSandbox({
    name: `${node}-sandbox`,
    image: 'nanokube/pause:1',
    labels: labels('POD'),
    hostname: 'p1',
    network,
    dns: { servers: ['10.96.0.10'], searches: ['default.svc.cluster.local'], options: ['ndots:5'] },
  });
  sandboxId = sb.id;
  sandboxIp = sb.ip;
});

afterAll(async () => {
  await removeNodeContainers(node);
});

describe('DockerRuntime', () => {
  it('makes the network idempotently and refuses another subnet under the same name', async () => {
    await rt.ensureNetwork(network, cidr, { [Labels.node]: node });
    const net = await docker.getNetwork(network).inspect();
    expect(net.IPAM!.Config![0].Subnet).toBe(cidr);
    expect(net.IPAM!.Config![0].Gateway).toBe(firstHost(cidr));
    await expect(rt.ensureNetwork(network, '10.244.99.0/24', {})).rejects.toThrow(/subnet/);
  });

  it('gives the sandbox an IP in the pod CIDR, and its hostname and DNS to the app containers', async () => {
    const prefix = cidr.split('.').slice(0, 3).join('.');
    expect(sandboxIp.startsWith(`${prefix}.`)).toBe(true);
    const id = await runApp('host', ['hostname; cat /etc/resolv.conf; echo $GREETING']);
    await waitExited(id);
    const out = await readAll(await rt.logs(id, {}));
    expect(out).toContain('p1\n');
    expect(out).toContain('search default.svc.cluster.local');
    expect(out).toContain('ndots:5');
    expect(out).toContain('hi\n');
  });

  it('lets two containers of one sandbox talk over localhost', async () => {
    await runApp('server', ['echo pong-from-server | nc -l -p 8080']);
    const client = await runApp('client', [
      'for i in $(seq 1 50); do out=$(nc 127.0.0.1 8080 </dev/null) && [ -n "$out" ] && echo "$out" && exit 0; sleep 0.1; done; exit 1',
    ]);
    const info = await waitExited(client);
    expect(info.exitCode).toBe(0);
    expect(await readAll(await rt.logs(client, {}))).toContain('pong-from-server');
  });

  it('lists containers by label, running or exited', async () => {
    const all = await rt.listContainers({ [Labels.node]: node, [Labels.podUID]: 'uid-1' });
    const names = all.map((c) => c.labels[Labels.containerName]).sort();
    expect(names).toEqual(expect.arrayContaining(['POD', 'client', 'host', 'server']));
    expect(all.find((c) => c.labels[Labels.containerName] === 'host')?.state).toBe('exited');
    expect(all.find((c) => c.labels[Labels.containerName] === 'POD')?.state).toBe('running');
    expect(await rt.listContainers({ [Labels.node]: `${node}-other` })).toEqual([]);
  });

  it('enforces a memory limit: the container is OOMKilled', async () => {
    const id = await runApp('hog', ['x=a; while true; do x="$x$x"; done'], { memoryBytes: 16 * 1024 * 1024 });
    const info = await waitExited(id, 30_000);
    expect(info.oomKilled).toBe(true);
    expect(info.exitCode).toBe(137);
  });

  it('applies CPU quota and shares', async () => {
    const id = await runApp('cpu', ['sleep 30'], { cpuLimitMilli: 500, cpuRequestMilli: 250 });
    const i = await docker.getContainer(id).inspect();
    expect(i.HostConfig.CpuQuota).toBe(50_000);
    expect(i.HostConfig.CpuPeriod).toBe(100_000);
    expect(i.HostConfig.CpuShares).toBe(256);
    await rt.removeContainer(id);
  });

  it('returns logs with tail and timestamps, and follows them', async () => {
    const id = await runApp('logger', [
      'for i in 1 2 3 4 5; do echo line$i; echo err$i >&2; done; sleep 1; echo late',
    ]);
    await waitExited(id);
    const tail = await readAll(await rt.logs(id, { tailLines: 2 }));
    expect(tail.trim().split('\n')).toHaveLength(2);
    expect(tail).toContain('late');
    const stamped = await readAll(await rt.logs(id, { timestamps: true, tailLines: 1 }));
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z late\n$/);
    const all = await readAll(await rt.logs(id, {}));
    expect(all).toContain('err3');

    const live = await runApp('follower', ['echo first; sleep 1; echo second']);
    const followed = await readAll(await rt.logs(live, { follow: true }));
    expect(followed).toBe('first\nsecond\n');
  });

  it('execs a command with its exit code and output, and reports a timeout', async () => {
    const id = await runApp('execme', ['sleep 60']);
    const ok = await rt.exec(id, ['sh', '-c', 'echo out; echo err >&2; exit 3'], { timeoutMs: 5000 });
    expect(ok).toMatchObject({ exitCode: 3, timedOut: false });
    expect(ok.output).toContain('out');
    expect(ok.output).toContain('err');
    const slow = await rt.exec(id, ['sleep', '5'], { timeoutMs: 300 });
    expect(slow.timedOut).toBe(true);
  });

  it('stops with SIGTERM and the grace period, then SIGKILL', async () => {
    const polite = await runApp('polite', ['trap "exit 0" TERM; while true; do sleep 0.1; done']);
    await rt.stopContainer(polite, 10);
    expect((await rt.inspectContainer(polite)).exitCode).toBe(0);

    const stubborn = await runApp('stubborn', ['trap "" TERM; while true; do sleep 0.1; done']);
    const started = Date.now();
    await rt.stopContainer(stubborn, 1);
    const took = Date.now() - started;
    expect((await rt.inspectContainer(stubborn)).exitCode).toBe(137);
    expect(took).toBeGreaterThanOrEqual(900);
    // Stopping and removing what is already gone is fine.
    await rt.removeContainer(stubborn);
    await rt.stopContainer(stubborn, 1);
    await rt.removeContainer(stubborn);
    await expect(rt.inspectContainer(stubborn)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('tells whether an image is present, and fails to pull one that cannot be had', async () => {
    expect((await rt.imagePresent(busybox))?.id).toMatch(/^sha256:/);
    expect(await rt.imagePresent('nanokube/none:1')).toBeUndefined();
    // A registry on a closed loopback port: the pull fails without leaving the host.
    await expect(rt.pullImage('127.0.0.1:9/nanokube/missing:1')).rejects.toThrow(/connection refused/);
  });

  it('reports CPU and memory stats of a running container', async () => {
    const id = await runApp('busy', ['x=0; while true; do x=$((x+1)); done']);
    await new Promise((r) => setTimeout(r, 500));
    const s = await rt.stats(id);
    expect(s.cpuUsageNanos).toBeGreaterThan(0);
    expect(s.memoryWorkingSetBytes).toBeGreaterThan(0);
    await rt.removeContainer(id);
  });
});
