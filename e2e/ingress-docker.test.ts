/**
 * The ingress controller as a workload (deploy/manifests/ingress.yaml) on a
 * real one-node cluster with Docker and iptables: two Deployments and
 * Services behind one Ingress (`a.example.test/`, `b.example.test/api`)
 * with TLS from a self-signed certificate made here; `curl --resolve` to
 * the node address reaches the right pods over HTTP and HTTPS; an edit of
 * the Ingress moves traffic within two seconds; a rolling update of a
 * backend under a loop of requests counts failures; 404 and 503.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockerCluster, startDockerCluster } from '../testing/docker-cluster.js';
import { kubectl, makeTempDir, run, sleep, waitFor } from '../testing/harness.js';
import { busybox, ready } from './kubelet-cluster.js';

let c: DockerCluster;
let certFile: string;
const ns = 'default';

const site = (app: string) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: app },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app } },
    strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app } },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [
          {
            name: 'web',
            image: busybox,
            env: [{ name: 'VERSION', value: '1' }],
            command: [
              'sh',
              '-c',
              'mkdir -p /www/api && hostname > /www/index.html && hostname > /www/api/index.html && exec httpd -f -p 8080 -h /www',
            ],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
  },
});

const service = (app: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: app },
  spec: { selector: { app }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
});

const ingress = (aService: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'sites' },
  spec: {
    tls: [{ hosts: ['a.example.test', 'b.example.test'], secretName: 'sites-tls' }],
    rules: [
      {
        host: 'a.example.test',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: aService, port: { number: 80 } } } },
          ],
        },
      },
      {
        host: 'b.example.test',
        http: {
          paths: [
            { path: '/api', pathType: 'Prefix', backend: { service: { name: 'b', port: { name: 'http' } } } },
          ],
        },
      },
      {
        host: 'c.example.test',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'c', port: { number: 80 } } } },
          ],
        },
      },
    ],
  },
});

/** curl with the name pinned to the node address, as the issue asks; the body, or `HTTP <code>`. */
async function curl(url: string, timeoutMs = 5000): Promise<string> {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const r = await run(
    'curl',
    [
      '-sS',
      '--max-time',
      String(timeoutMs / 1000),
      '--resolve',
      `${u.hostname}:${port}:${c.nodeIP}`,
      '--cacert',
      certFile,
      '-w',
      '\n%{http_code}',
      url,
    ],
    { timeoutMs: timeoutMs + 2000 },
  );
  if (r.code !== 0) throw new Error(`curl ${url}: ${r.stderr.trim()}`);
  const lines = r.stdout.trimEnd().split('\n');
  const code = lines.pop();
  return code === '200' ? lines.join('\n').trim() : `HTTP ${code}`;
}

async function podNames(app: string): Promise<string[]> {
  const pods = (await c.client.get(`/api/v1/namespaces/${ns}/pods?labelSelector=app%3D${app}`)).body.items;
  return pods.filter((p: any) => ready(p) && !p.metadata.deletionTimestamp).map((p: any) => p.metadata.name);
}

beforeAll(async () => {
  c = await startDockerCluster('king', ['ingress.yaml']);
  const dir = makeTempDir('nanokube-ingress-tls-');
  certFile = path.join(dir, 'tls.crt');
  const keyFile = path.join(dir, 'tls.key');
  const made = await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=example.test',
    '-addext',
    'subjectAltName=DNS:a.example.test,DNS:b.example.test',
    '-keyout',
    keyFile,
    '-out',
    certFile,
  ]);
  expect(made.code, made.stderr).toBe(0);
  const tls = await c.client.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'sites-tls' },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': readFileSync(certFile).toString('base64'),
      'tls.key': readFileSync(keyFile).toString('base64'),
    },
  });
  expect(tls.status, JSON.stringify(tls.body)).toBe(201);
  for (const app of ['a', 'b']) {
    expect((await c.client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, site(app))).status).toBe(201);
    expect((await c.client.post(`/api/v1/namespaces/${ns}/services`, service(app))).status).toBe(201);
  }
  expect((await c.client.post(`/api/v1/namespaces/${ns}/services`, service('c'))).status).toBe(201);
  expect(
    (await c.client.post(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`, ingress('a'))).status,
  ).toBe(201);
  await waitFor(async () => (await podNames('a')).length === 2 && (await podNames('b')).length === 2, {
    timeoutMs: 90_000,
    what: 'both sites Ready',
  });
  await waitFor(
    async () => {
      const pods = (
        await c.client.get(
          '/api/v1/namespaces/kube-system/pods?labelSelector=app.kubernetes.io%2Fname%3Dnk-ingress',
        )
      ).body.items;
      return pods.some((p: any) => ready(p));
    },
    { timeoutMs: 90_000, what: 'the ingress controller Ready' },
  );
}, 180_000);

afterAll(async () => {
  await c?.stop();
}, 90_000);

describe('Ingress on Docker', () => {
  it('routes by host and path over HTTP to the right pods, with 404 and 503', async () => {
    const a = await podNames('a');
    const b = await podNames('b');
    const seenA = new Set<string>();
    await waitFor(
      async () => {
        seenA.add(await curl('http://a.example.test/'));
        return seenA.size === 2;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'both a pods answering through the ingress' },
    );
    expect([...seenA].sort()).toEqual(a.sort());
    expect(b).toContain(await curl('http://b.example.test/api/'));
    expect(await curl('http://b.example.test/')).toBe('HTTP 404');
    expect(await curl('http://nobody.example.test/')).toBe('HTTP 404');
    expect(await curl('http://c.example.test/')).toBe('HTTP 503');
  });

  it('serves HTTPS with the certificate from the Secret, by SNI', async () => {
    const a = await podNames('a');
    expect(a).toContain(await curl('https://a.example.test/'));
    expect(await podNames('b')).toContain(await curl('https://b.example.test/api/'));
  });

  it('fills status.loadBalancer with the node address', async () => {
    const ing = await waitFor(async () => {
      const i = (await c.client.get(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/sites`)).body;
      return i.status?.loadBalancer?.ingress?.length && i;
    });
    expect(ing.status.loadBalancer.ingress).toEqual([{ ip: c.nodeIP }]);
    const shown = await kubectl(['get', 'ingress', 'sites', '--no-headers'], { kubeconfig: c.kubeconfig });
    expect(shown.stdout).toMatch(/^sites\s+nanokube\s+a\.example\.test,b\.example\.test,c\.example\.test\s+/);
  });

  it('moves traffic within two seconds of an edit', async () => {
    const b = await podNames('b');
    const cur = (await c.client.get(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/sites`)).body;
    const started = Date.now();
    const put = await c.client.put(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses/sites`, {
      ...ingress('b'),
      metadata: cur.metadata,
    });
    expect(put.status).toBe(200);
    await waitFor(async () => b.includes(await curl('http://a.example.test/api/')), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'a.example.test served by b',
    });
    const took = Date.now() - started;
    console.log(`ingress edit to traffic moved: ${took} ms`);
    expect(took).toBeLessThan(2_000);
  });

  it('a rolling update of a backend under a loop of requests (failures counted and reported)', async () => {
    let stop = false;
    const counts = { requests: 0, failures: 0 };
    const loop = (async () => {
      while (!stop) {
        counts.requests++;
        const body = await curl('http://b.example.test/api/', 3000).catch(() => 'error');
        if (!body.startsWith('b-')) counts.failures++;
        await sleep(20);
      }
    })();
    try {
      const set = await kubectl(['set', 'env', 'deployment/b', 'VERSION=2'], { kubeconfig: c.kubeconfig });
      expect(set.code, set.stderr).toBe(0);
      const done = await kubectl(['rollout', 'status', 'deployment/b', '--timeout=120s'], {
        kubeconfig: c.kubeconfig,
        timeoutMs: 130_000,
      });
      expect(done.code, done.stderr).toBe(0);
      await sleep(1_000);
    } finally {
      stop = true;
      await loop;
    }
    console.log(
      `rolling update behind the ingress: ${counts.failures} failed of ${counts.requests} requests`,
    );
    expect(counts.requests).toBeGreaterThan(20);
    expect(counts.failures).toBeLessThan(counts.requests * 0.1);
  }, 180_000);
});
