#!/usr/bin/env node
/**
 * The benchmark dispatcher: `npm run bench -- <name>` runs one benchmark,
 * which prints a table for people and, as its last line, one JSON line with
 * every figure. An unknown or missing name prints the list and exits 2.
 *
 * `npm run bench -- <name> --node PATH` runs it twice in one run: on this
 * Node.js, then on the one at PATH (a child process: the benchmark and every
 * component it starts run on that binary), and prints both tables, one table
 * of each figure side by side, and one JSON line with both results.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { report, runApiserverBench } from './apiserver.js';
import { report as crdReport, runCrdBench } from './crd.js';
import { report as deploymentScaleReport, runDeploymentScaleBench } from './deployment-scale.js';
import { report as informerReport, runInformerBench } from './informer.js';
import { report as ingressReport, runIngressBench } from './ingress.js';
import { report as kubeProxyReport, runKubeProxyBench } from './kube-proxy.js';
import { report as podStartupReport, runPodStartupBench } from './pod-startup.js';
import { runSchedulerBench, report as schedulerReport } from './scheduler.js';
import { compareTable } from './table.js';
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
  crd: {
    description: 'creates and lists of 5,000 custom objects with a schema, beside as many ConfigMaps',
    run: async () => crdReport(await runCrdBench()),
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
  return `usage: npm run bench -- <name> [--node PATH]\n\nbenchmarks:\n${list.join('\n')}`;
}

/** The version a Node.js binary reports (`v24.1.0`). */
function versionOf(node: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(node, ['--version'], { timeout: 10_000 }, (err, stdout) =>
      err ? reject(new Error(`${node} --version: ${err.message}`)) : resolve(stdout.trim()),
    ),
  );
}

/** Runs this benchmark on another Node.js; its output shows as it comes, its JSON line is returned. */
function runOn(node: string, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [fileURLToPath(import.meta.url), name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trimEnd().split('\n').at(-1) ?? '';
      if (code === 0 && last.startsWith('{')) resolve(last);
      else reject(new Error(`the run on ${node} exited with ${code}`));
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const bench = name === undefined ? undefined : benches[name];
  if (!bench) {
    if (name !== undefined) console.error(`unknown benchmark "${name}"`);
    console.error(usage());
    process.exit(2);
  }
  let other: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--node' && rest[i + 1]) other = rest[++i];
    else {
      console.error(`unknown argument "${rest[i]}"\n${usage()}`);
      process.exit(2);
    }
  }
  try {
    if (!other) {
      console.log(await bench.run());
      return;
    }
    const theirs = await versionOf(other);
    console.log(`== ${name} on Node.js ${process.version} (${process.execPath})`);
    const out = await bench.run();
    console.log(out);
    console.log(`\n== ${name} on Node.js ${theirs} (${other})`);
    const line = await runOn(other, name);
    const a = { node: process.version, result: JSON.parse(out.split('\n').at(-1) ?? '{}') };
    const b = { node: theirs, result: JSON.parse(line) };
    console.log(`\n== ${name}: Node.js ${a.node} beside ${b.node}`);
    console.log(compareTable(a, b));
    console.log(JSON.stringify({ bench: name, runtimes: [a, b] }));
  } catch (err) {
    console.error(`bench ${name} failed:`, err);
    process.exitCode = 1;
  }
}

await main(process.argv.slice(2));
