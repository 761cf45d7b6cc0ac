#!/usr/bin/env node
/**
 * The benchmark dispatcher: `npm run bench -- <name>` runs one benchmark,
 * which prints a table for people and, as its last line, one JSON line with
 * every figure. An unknown or missing name prints the list and exits 2.
 */
import { report, runApiserverBench } from './apiserver.js';
import { report as deploymentScaleReport, runDeploymentScaleBench } from './deployment-scale.js';
import { report as informerReport, runInformerBench } from './informer.js';
import { report as ingressReport, runIngressBench } from './ingress.js';
import { report as kubeProxyReport, runKubeProxyBench } from './kube-proxy.js';
import { report as podStartupReport, runPodStartupBench } from './pod-startup.js';
import { runSchedulerBench, report as schedulerReport } from './scheduler.js';
import { runUpBench, report as upReport } from './up.js';

interface Bench {
  description: string;
  run(): Promise<string>;
}

const benches: Record<string, Bench> = {
  apiserver: {
    description: 'creates, lists and watch fan-out through the apiserver, beside raw etcd',
    run: async () => report(await runApiserverBench()),
  },
  'deployment-scale': {
    description: 'a Deployment scaled 0 → 100 → 1,000 replicas on hollow nodes: time until all are available',
    run: async () => deploymentScaleReport(await runDeploymentScaleBench()),
  },
  informer: {
    description: 'time and heap to a synced informer of 10,000 pods, and the event rate it sustains',
    run: async () => informerReport(await runInformerBench()),
  },
  ingress: {
    description:
      'requests/s and p99 through the ingress controller beside the same requests straight to a pod',
    run: async () => ingressReport(await runIngressBench()),
  },
  'kube-proxy': {
    description: 'one full iptables sync with 1,000 and 5,000 services, and endpoint change to live rule',
    run: async () => kubeProxyReport(await runKubeProxyBench()),
  },
  'pod-startup': {
    description:
      'create to Running for 1 and 30 pods on one kubelet, beside the same containers started through Docker',
    run: async () => podStartupReport(await runPodStartupBench()),
  },
  scheduler: {
    description: 'pods scheduled per second and create-to-bound latency with 1,000 and 5,000 hollow nodes',
    run: async () => schedulerReport(await runSchedulerBench()),
  },
  up: {
    description:
      'nkctl up to a Ready node, and nkctl apply of 3 replicas to all Ready, beside etcd alone and Docker alone',
    run: async () => upReport(await runUpBench()),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(benches).map((n) => n.length));
  const list = Object.entries(benches).map(([name, b]) => `  ${name.padEnd(width)}   ${b.description}`);
  return `usage: npm run bench -- <name>\n\nbenchmarks:\n${list.join('\n')}`;
}

const name = process.argv[2];
const bench = name === undefined ? undefined : benches[name];
if (!bench) {
  if (name !== undefined) console.error(`unknown benchmark "${name}"`);
  console.error(usage());
  process.exit(2);
}
try {
  console.log(await bench.run());
} catch (err) {
  console.error(`bench ${name} failed:`, err);
  process.exitCode = 1;
}
