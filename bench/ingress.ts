/**
 * Ingress throughput and latency: the same requests (autocannon, keep-alive,
 * 32 connections, 10 s each) through the nanokube ingress controller on the
 * node's port 80 and straight to a backend pod's IP, in one run, on a real
 * one-node cluster on Docker. The backends are two pods of a small Node
 * HTTP server from the project's image (keep-alive, a dozen bytes a
 * response), so the difference is what the ingress adds.
 */
import http from 'node:http';
import autocannon from 'autocannon';
import { type DockerCluster, startDockerCluster } from '../testing/docker-cluster.js';
import { waitFor } from '../testing/harness.js';
import { table } from './table.js';

export interface IngressBenchResult {
  connections: number;
  durationS: number;
  ingress: { rps: number; p50Ms: number; p99Ms: number; errors: number };
  direct: { rps: number; p50Ms: number; p99Ms: number; errors: number };
}

const connections = 32;
const durationS = 10;

async function load(url: string, host: string): Promise<IngressBenchResult['ingress']> {
  const r = await autocannon({ url, connections, duration: durationS, headers: { host } });
  return {
    rps: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.timeouts + (r.non2xx ?? 0),
  };
}

export async function runIngressBench(): Promise<IngressBenchResult> {
  let c: DockerCluster | undefined;
  try {
    c = await startDockerCluster('bing', ['ingress.yaml']);
    const server = "require('http').createServer((q, s) => s.end(require('os').hostname())).listen(8080)";
    await c.client.post('/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'echo' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'echo' } },
        template: {
          metadata: { labels: { app: 'echo' } },
          spec: {
            containers: [
              {
                name: 'echo',
                image: 'nanokube/nanokube:1',
                args: ['-e', server],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    });
    await c.client.post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'echo' },
      spec: { selector: { app: 'echo' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    await c.client.post('/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'echo' },
      spec: {
        rules: [
          {
            host: 'bench.test',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'echo', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    const cluster = c;
    const podIP = await waitFor(
      async () => {
        const pods = (await cluster.client.get('/api/v1/namespaces/default/pods?labelSelector=app%3Decho'))
          .body.items;
        const ready = pods.filter((p: any) =>
          p.status?.conditions?.some((x: any) => x.type === 'Ready' && x.status === 'True'),
        );
        return ready.length === 2 && ready[0].status.podIP;
      },
      { timeoutMs: 90_000, what: 'echo pods Ready' },
    );
    await waitFor(
      async () => {
        // fetch() may not set Host; http.get may.
        const status = await new Promise<number>((resolve) =>
          http
            .get({ host: cluster.nodeIP, port: 80, path: '/', headers: { host: 'bench.test' } }, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            })
            .on('error', () => resolve(0)),
        );
        return status === 200;
      },
      { timeoutMs: 90_000, what: 'the ingress answering' },
    );
    // Warm both paths, then measure each in turn.
    await load(`http://${c.nodeIP}/`, 'bench.test');
    const ingress = await load(`http://${c.nodeIP}/`, 'bench.test');
    const direct = await load(`http://${podIP}:8080/`, 'bench.test');
    return { connections, durationS, ingress, direct };
  } finally {
    await c?.stop();
  }
}

export function report(r: IngressBenchResult): string {
  const rows = [
    ['path', 'requests/s', 'p50', 'p99', 'errors'],
    [
      'through the ingress (node port 80)',
      String(r.ingress.rps),
      `${r.ingress.p50Ms} ms`,
      `${r.ingress.p99Ms} ms`,
      String(r.ingress.errors),
    ],
    [
      'straight to a pod IP',
      String(r.direct.rps),
      `${r.direct.p50Ms} ms`,
      `${r.direct.p99Ms} ms`,
      String(r.direct.errors),
    ],
    ['ratio (ingress / direct)', (r.ingress.rps / Math.max(1, r.direct.rps)).toFixed(2), '', '', ''],
  ];
  return `${table(rows)}\n(autocannon, ${r.connections} keep-alive connections, ${r.durationS} s each)\n${JSON.stringify({ bench: 'ingress', ...r })}`;
}
