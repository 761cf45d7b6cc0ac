/**
 * The deployment-scale benchmark: how long the Deployment and ReplicaSet
 * controllers take to bring a Deployment from 0 to 100 available replicas,
 * and then to 1,000, on hollow nodes (pods are reported Running and Ready
 * as soon as they are bound). Everything is started here on 127.0.0.1: etcd,
 * the apiserver, hollow nodes, nk-controller-manager, and nk-scheduler when
 * it is built (otherwise a round-robin binder stands in for it), and stopped
 * at the end, also on error. Every wait is bounded.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBinder } from '../testing/binder.js';
import {
  api,
  cleanup,
  sleep,
  startApiserver,
  startControllerManager,
  startEtcd,
  startHollowNodes,
  startScheduler,
} from '../testing/harness.js';

export interface DeploymentScaleOptions {
  steps: number[];
  nodes: number;
  podsPerNode: number;
  /** Longest wait for one step. */
  timeoutMs: number;
}

export const defaultOptions: DeploymentScaleOptions = {
  steps: [100, 1000],
  nodes: 12,
  podsPerNode: 110,
  timeoutMs: 300_000,
};

export interface DeploymentScaleResult {
  bench: 'deployment-scale';
  nodes: number;
  binder: 'nk-scheduler' | 'round-robin';
  steps: { from: number; to: number; availableMs: number; podsPerSec: number }[];
}

export async function runDeploymentScaleBench(
  o: DeploymentScaleOptions = defaultOptions,
): Promise<DeploymentScaleResult> {
  const ns = 'default';
  const binder: { stop(): Promise<void> }[] = [];
  try {
    const etcd = await startEtcd();
    const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
    const client = api(apiserver.url);
    const hollow = await startHollowNodes({
      apiserverUrl: apiserver.url,
      nodes: o.nodes,
      pods: o.podsPerNode,
      prefix: 'scale-node-',
    });
    const here = path.dirname(fileURLToPath(import.meta.url));
    const haveScheduler = existsSync(path.join(here, '../scheduler/main.js'));
    if (haveScheduler) await startScheduler({ apiserverUrl: apiserver.url });
    else binder.push(startBinder(apiserver.url, () => hollow.names));
    await startControllerManager({ apiserverUrl: apiserver.url, controllers: ['deployment', 'replicaset'] });
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'scale', namespace: ns },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'scale' } },
        template: {
          metadata: { labels: { app: 'scale' } },
          spec: { containers: [{ name: 'app', image: 'pause', resources: { requests: { cpu: '1m' } } }] },
        },
      },
    };
    const res = await client.post(`/apis/apps/v1/namespaces/${ns}/deployments`, d);
    if (res.status !== 201) throw new Error(`create deployment: ${res.status} ${JSON.stringify(res.body)}`);
    const steps: DeploymentScaleResult['steps'] = [];
    let from = 0;
    for (const to of o.steps) {
      const start = performance.now();
      const scaled = await client.patch(`/apis/apps/v1/namespaces/${ns}/deployments/scale/scale`, {
        spec: { replicas: to },
      });
      if (scaled.status !== 200) throw new Error(`scale to ${to}: ${scaled.status}`);
      for (;;) {
        const s = (await client.get(`/apis/apps/v1/namespaces/${ns}/deployments/scale`)).body.status ?? {};
        if (s.availableReplicas === to && s.updatedReplicas === to) break;
        if (performance.now() - start > o.timeoutMs)
          throw new Error(`not ${to} available after ${o.timeoutMs} ms: ${JSON.stringify(s)}`);
        await sleep(50);
      }
      const availableMs = Math.round(performance.now() - start);
      steps.push({ from, to, availableMs, podsPerSec: Math.round(((to - from) / availableMs) * 1000) });
      from = to;
    }
    return {
      bench: 'deployment-scale',
      nodes: o.nodes,
      binder: haveScheduler ? 'nk-scheduler' : 'round-robin',
      steps,
    };
  } finally {
    for (const b of binder) await b.stop();
    await cleanup();
  }
}

export function report(r: DeploymentScaleResult): string {
  const rows: [string, string][] = [
    ['measure', 'nanokube'],
    ...r.steps.map((s): [string, string] => [
      `scale ${s.from} → ${s.to} replicas until all available (${r.nodes} hollow nodes, ${r.binder})`,
      `${s.availableMs} ms (${s.podsPerSec} pods/s)`,
    ]),
  ];
  const width = Math.max(...rows.map(([m]) => m.length));
  const text = rows.map(([m, v]) => `${m.padEnd(width)}   ${v}`).join('\n');
  return `${text}\n${JSON.stringify(r)}`;
}
