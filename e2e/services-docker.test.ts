/**
 * Services end to end with real Docker and iptables: etcd, apiserver, every
 * controller, the scheduler, a kubelet, kube-proxy, and cluster DNS running
 * as a workload from the project's own image (deploy/manifests/dns.yaml).
 * The node's address is its pod bridge's gateway (a network this test
 * creates), so pods reach the apiserver through the kubernetes Service and
 * the NodePort is tried on the node's own address; all traffic stays on
 * addresses this test made (pod IPs, service IPs routed locally, the bridge).
 *
 * A Deployment of 3 behind `web`, plus a pod with the same labels that is
 * never ready: 300 requests from the host and 300 from another pod reach
 * all three and never the unready one; scaling to 1 and back, a rolling
 * update and deleting a pod each run under a loop of requests whose
 * failures are counted and reported; NodePort; hairpin; DNS names.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCluster, startDockerCluster } from '../testing/docker-cluster.js';
import { type Api, kubectl, sleep, waitFor } from '../testing/harness.js';
import { busybox, ready, running } from './kubelet-cluster.js';

let cluster: DockerCluster;
let client: Api;
let kubeconfig: string;
let nodeIP: string;
const ns = 'default';
const report: Record<string, { requests: number; failures: number }> = {};

const live = (p: any) => !p.metadata.deletionTimestamp;
const podsOf = async (selector: string) =>
  ((await client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`)).body
    .items ?? []) as any[];

function get(host: string, port: number, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body.trim()) : reject(new Error(`HTTP ${res.statusCode}`)),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Requests `host:port` until `stop` resolves, counting answers and failures. */
async function underLoad(name: string, host: string, port: number, during: () => Promise<void>) {
  let stopped = false;
  const counts = { requests: 0, failures: 0 };
  const loop = (async () => {
    while (!stopped) {
      counts.requests++;
      await get(host, port, 1000).catch(() => {
        counts.failures++;
      });
      await sleep(20);
    }
  })();
  try {
    await during();
  } finally {
    stopped = true;
    await loop;
  }
  report[name] = counts;
  console.log(`${name}: ${counts.failures} failed of ${counts.requests} requests`);
  return counts;
}

const template = (version: string) => ({
  metadata: { labels: { app: 'web' } },
  spec: {
    terminationGracePeriodSeconds: 2,
    containers: [
      {
        name: 'web',
        image: busybox,
        env: [{ name: 'VERSION', value: version }],
        // Answers with its pod name; the pod name is its hostname.
        command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
      },
    ],
  },
});

beforeAll(async () => {
  cluster = await startDockerCluster('ksvc', ['dns.yaml']);
  ({ client, kubeconfig, nodeIP } = cluster);
  await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: template('1'),
    },
  });
  // Same labels, never ready: no request may reach it.
  await client.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'never-ready', labels: { app: 'web' } },
    spec: {
      ...template('x').spec,
      containers: [
        {
          ...template('x').spec.containers[0],
          readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 },
        },
      ],
    },
  });
  await client.post(`/api/v1/namespaces/${ns}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: {
      type: 'NodePort',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 8080 }],
    },
  });
  // A client pod, for requests from inside the cluster.
  await client.post(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'client' },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'c', image: busybox, command: ['sleep', '3600'] }],
    },
  });
  for (const [what, selector, n] of [
    ['web', 'app=web', 3],
    ['dns', 'k8s-app=kube-dns', 1],
  ] as const) {
    await waitFor(
      async () => {
        const sel =
          what === 'dns'
            ? `/api/v1/namespaces/kube-system/pods?labelSelector=${encodeURIComponent(selector)}`
            : '';
        const pods = sel ? (await client.get(sel)).body.items : await podsOf(selector);
        return pods.filter((p: any) => ready(p)).length >= n;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `${what} pods Ready` },
    ).catch(async (err) => {
      const pods = (await client.get('/api/v1/pods')).body.items.map(
        (p: any) =>
          `${p.metadata.namespace}/${p.metadata.name}: ${JSON.stringify(p.status.containerStatuses)}`,
      );
      const logs = await kubectl(['logs', '-n', 'kube-system', 'deployment/nk-dns', '--tail=20'], {
        kubeconfig,
      });
      throw new Error(`${err.message}\n${pods.join('\n')}\n${logs.stdout}${logs.stderr}`);
    });
  }
  await waitFor(async () => ready((await client.get(`/api/v1/namespaces/${ns}/pods/client`)).body), {
    timeoutMs: 60_000,
    what: 'client pod Ready',
  });
}, 180_000);

afterAll(async () => {
  if (process.env.NK_E2E_REPORT) console.log(JSON.stringify(report));
  await cluster?.stop();
}, 90_000);

async function serviceIP(): Promise<{ ip: string; nodePort: number }> {
  const svc = (await client.get(`/api/v1/namespaces/${ns}/services/web`)).body;
  return { ip: svc.spec.clusterIP, nodePort: svc.spec.ports[0].nodePort };
}

/** Runs a shell script in the client pod through kubectl exec; its stdout. */
async function inPod(pod: string, script: string, timeoutMs = 60_000): Promise<string> {
  const r = await kubectl(['exec', pod, '--', 'sh', '-c', script], { kubeconfig, timeoutMs });
  expect(r.code, `${script}: ${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

/** `nc`-based GET from a pod (busybox wget crashes in these containers); one answer per line. */
const podRequests = (ip: string, port: number, n: number) =>
  `i=0; while [ $i -lt ${n} ]; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port} | tail -n 1; i=$((i+1)); done`;

describe('a ClusterIP Service over real pods', () => {
  it('300 requests from the host reach all three ready pods and never the unready one', async () => {
    const { ip } = await serviceIP();
    const pods = (await podsOf('app=web')).filter((p) => ready(p)).map((p) => p.metadata.name);
    expect(pods).toHaveLength(3);
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const who = await get(ip, 80);
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(pods.sort());
    expect(seen.has('never-ready')).toBe(false);
  });

  it('300 requests from another pod do the same', async () => {
    const { ip } = await serviceIP();
    const pods = (await podsOf('app=web')).filter((p) => ready(p)).map((p) => p.metadata.name);
    const out = await inPod('client', podRequests(ip, 80, 300), 120_000);
    const answers = out.split('\n').filter(Boolean);
    expect(answers).toHaveLength(300);
    expect([...new Set(answers)].sort()).toEqual(pods.sort());
  });

  it('answers on the NodePort at the node address', async () => {
    const { nodePort } = await serviceIP();
    const pods = (await podsOf('app=web')).filter((p) => ready(p)).map((p) => p.metadata.name);
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(await get(nodeIP, nodePort));
    expect([...seen].every((w) => pods.includes(w))).toBe(true);
    expect(seen.size).toBeGreaterThan(1);
  });

  it('hairpin: a pod reaches itself through its own Service', async () => {
    const { ip } = await serviceIP();
    const [one] = (await podsOf('app=web')).filter((p) => ready(p) && p.metadata.name !== 'never-ready');
    const out = await inPod(one.metadata.name, podRequests(ip, 80, 30));
    // With three endpoints, some of 30 answers come from the pod itself.
    expect(out.split('\n')).toContain(one.metadata.name);
  });
});

describe('changes under a loop of requests (failures are counted and reported)', () => {
  it('scaling to 1 and back to 3', async () => {
    const { ip } = await serviceIP();
    const counts = await underLoad('scale 3→1→3', ip, 80, async () => {
      expect((await kubectl(['scale', 'deployment/web', '--replicas=1'], { kubeconfig })).code).toBe(0);
      await waitFor(async () => (await podsOf('app=web')).filter(live).length === 2, {
        timeoutMs: 60_000,
        what: 'one web pod (and the unready one) left',
      });
      await sleep(1_000);
      expect((await kubectl(['scale', 'deployment/web', '--replicas=3'], { kubeconfig })).code).toBe(0);
      const r = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=90s'], {
        kubeconfig,
        timeoutMs: 100_000,
      });
      expect(r.code, r.stderr).toBe(0);
      await sleep(1_000);
    });
    expect(counts.requests).toBeGreaterThan(20);
    expect(counts.failures).toBeLessThan(counts.requests * 0.1);
  }, 180_000);

  it('a rolling update', async () => {
    const { ip } = await serviceIP();
    const counts = await underLoad('rolling update', ip, 80, async () => {
      const set = await kubectl(['set', 'env', 'deployment/web', 'VERSION=2'], { kubeconfig });
      expect(set.code, set.stderr).toBe(0);
      const r = await kubectl(['rollout', 'status', 'deployment/web', '--timeout=120s'], {
        kubeconfig,
        timeoutMs: 130_000,
      });
      expect(r.code, r.stderr).toBe(0);
      await sleep(1_000);
    });
    expect(counts.requests).toBeGreaterThan(20);
    expect(counts.failures).toBeLessThan(counts.requests * 0.1);
  }, 180_000);

  it('deleting a pod', async () => {
    const { ip } = await serviceIP();
    const counts = await underLoad('pod delete', ip, 80, async () => {
      const [victim] = (await podsOf('app=web')).filter((p) => ready(p) && p.metadata.name !== 'never-ready');
      expect((await kubectl(['delete', 'pod', victim.metadata.name], { kubeconfig })).code).toBe(0);
      await waitFor(async () => (await podsOf('app=web')).filter((p) => live(p) && ready(p)).length === 3, {
        timeoutMs: 60_000,
        what: 'three ready web pods again',
      });
      await sleep(1_000);
    });
    expect(counts.requests).toBeGreaterThan(20);
    expect(counts.failures).toBeLessThan(counts.requests * 0.1);
  }, 120_000);
});

describe('cluster DNS as a workload', () => {
  it('a pod resolves web, web.default and web.default.svc.cluster.local to the ClusterIP', async () => {
    const { ip } = await serviceIP();
    // The project's image has glibc, whose resolver follows resolv.conf (search, ndots) as
    // applications do; busybox's nslookup does not apply search domains to dotted names.
    expect(
      (
        await client.post(`/api/v1/namespaces/${ns}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'resolver' },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [
              { name: 'node', image: 'nanokube/nanokube:1', args: ['-e', 'setInterval(() => {}, 1 << 30)'] },
            ],
          },
        })
      ).status,
    ).toBe(201);
    await waitFor(async () => running((await client.get(`/api/v1/namespaces/${ns}/pods/resolver`)).body), {
      timeoutMs: 60_000,
      what: 'resolver running',
    });
    const lookup = `for (const n of process.argv.slice(1)) require('dns').lookup(n, 4, (e, a) => console.log(n, e ? e.code : a))`;
    const names = ['web', 'web.default', 'web.default.svc.cluster.local'];
    const r = await kubectl(['exec', 'resolver', '--', 'node', '-e', lookup, ...names], { kubeconfig });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(names.map((n) => `${n} ${ip}`).sort());
    const resolv = await inPod('client', 'cat /etc/resolv.conf');
    expect(resolv).toBe(
      'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
    );
  });

  it('a StatefulSet pod resolves its own name through its headless Service', async () => {
    await client.post(`/api/v1/namespaces/${ns}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'db' },
      spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 8080 }] },
    });
    await client.post(`/apis/apps/v1/namespaces/${ns}/statefulsets`, {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: {
        replicas: 1,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'db', image: busybox, command: ['sleep', '3600'] }],
          },
        },
      },
    });
    const pod = await waitFor(
      async () => {
        const p = (await client.get(`/api/v1/namespaces/${ns}/pods/db-0`)).body;
        return running(p) && p.status.podIP && p;
      },
      { timeoutMs: 60_000, what: 'db-0 running' },
    );
    const out = await waitFor(
      async () => {
        const r = await kubectl(['exec', 'db-0', '--', 'nslookup', 'db-0.db.default.svc.cluster.local'], {
          kubeconfig,
        });
        return r.code === 0 && r.stdout.includes(pod.status.podIP) && r.stdout;
      },
      { timeoutMs: 20_000, what: 'db-0 resolving its own name' },
    );
    expect(out).toContain(pod.status.podIP);
    await client.del(`/apis/apps/v1/namespaces/${ns}/statefulsets/db`);
  });
});
