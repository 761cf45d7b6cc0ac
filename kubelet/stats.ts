/**
 * The kubelet's Summary API (GET /stats/summary), the shape metrics-server
 * and `kubectl top` read: the node's CPU and memory from /proc, and per pod
 * and per container CPU and memory from the engine's stats.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import type { ContainerSummaryStats, CpuStats, MemoryStats, PodStats, Summary } from '../api/stats.js';
import type { Pod } from '../api/types/pod.js';
import { Labels, type Runtime, sandboxContainerName } from './runtime/runtime.js';

/** Node CPU as cumulative busy time over all cores, and a rate against the previous reading. */
export class NodeCpu {
  private last?: { busyNs: number; at: number };

  read(now = Date.now()): CpuStats {
    const busyNs = os
      .cpus()
      .reduce((sum, c) => sum + (c.times.user + c.times.nice + c.times.sys + c.times.irq) * 1e6, 0);
    const prev = this.last;
    this.last = { busyNs, at: now };
    const elapsedNs = prev ? (now - prev.at) * 1e6 : 0;
    return {
      time: new Date(now).toISOString(),
      usageCoreNanoSeconds: Math.round(busyNs),
      usageNanoCores:
        prev && elapsedNs > 0
          ? Math.max(0, Math.round(((busyNs - prev.busyNs) / elapsedNs) * 1e9))
          : undefined,
    };
  }
}

/** Working set of the node: total less what the kernel reports available. */
export async function nodeMemory(now = Date.now()): Promise<MemoryStats> {
  const total = os.totalmem();
  let available = os.freemem();
  try {
    const m = /^MemAvailable:\s+(\d+) kB$/m.exec(await readFile('/proc/meminfo', 'utf8'));
    if (m) available = Number(m[1]) * 1024;
  } catch {
    // not Linux: free memory is the best guess
  }
  return {
    time: new Date(now).toISOString(),
    workingSetBytes: total - available,
    usageBytes: total - os.freemem(),
    availableBytes: available,
  };
}

const sum = (xs: (number | undefined)[]) =>
  xs.some((x) => x === undefined) ? undefined : xs.reduce<number>((a, b) => a + (b ?? 0), 0);

/** Builds the Summary for the pods this kubelet runs, from their running containers. */
export async function summarize(o: {
  node: string;
  startTime: string;
  runtime: Runtime;
  pods: Iterable<Pod>;
  nodeCpu: NodeCpu;
}): Promise<Summary> {
  const now = new Date().toISOString();
  const running = (await o.runtime.listContainers({ [Labels.node]: o.node })).filter(
    (c) => c.state === 'running' && c.labels[Labels.containerName] !== sandboxContainerName,
  );
  // The engine samples each container for about a second: ask for all at once.
  const stats = new Map(
    await Promise.all(
      running.map(async (c) => [c.id, await o.runtime.stats(c.id).catch(() => undefined)] as const),
    ),
  );
  const byUid = new Map<string, typeof running>();
  for (const c of running) {
    const uid = c.labels[Labels.podUID] ?? '';
    byUid.set(uid, [...(byUid.get(uid) ?? []), c]);
  }
  const pods: PodStats[] = [];
  for (const pod of o.pods) {
    const uid = pod.metadata?.uid ?? '';
    const list = byUid.get(uid);
    if (!list) continue;
    const containers: ContainerSummaryStats[] = [];
    for (const c of list) {
      const s = stats.get(c.id);
      if (!s) continue;
      const time = s.timestamp || now;
      const name = c.labels[Labels.containerName] ?? c.name;
      containers.push({
        name,
        startTime:
          pod.status?.containerStatuses?.find((cs) => cs.name === name)?.state?.running?.startedAt ??
          undefined,
        cpu: { time, usageNanoCores: s.cpuUsageNanoCores, usageCoreNanoSeconds: s.cpuUsageNanos },
        memory: { time, workingSetBytes: s.memoryWorkingSetBytes, usageBytes: s.memoryUsageBytes },
      });
    }
    containers.sort((a, b) => a.name.localeCompare(b.name));
    pods.push({
      podRef: { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '', uid },
      startTime: pod.status?.startTime,
      containers,
      cpu: {
        time: now,
        usageNanoCores: sum(containers.map((c) => c.cpu.usageNanoCores)),
        usageCoreNanoSeconds: containers.reduce((a, c) => a + c.cpu.usageCoreNanoSeconds, 0),
      },
      memory: {
        time: now,
        workingSetBytes: containers.reduce((a, c) => a + c.memory.workingSetBytes, 0),
        usageBytes: sum(containers.map((c) => c.memory.usageBytes)),
      },
    });
  }
  return {
    node: {
      nodeName: o.node,
      startTime: o.startTime,
      cpu: o.nodeCpu.read(),
      memory: await nodeMemory(),
    },
    pods,
  };
}
