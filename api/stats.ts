/**
 * The kubelet's Summary API (GET /stats/summary, stats/v1alpha1) as it is
 * on the wire: what the kubelet serves (kubelet/stats.ts) and what `nkctl
 * top` and metrics-server read.
 */
export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds: number;
}
export interface MemoryStats {
  time: string;
  workingSetBytes: number;
  usageBytes?: number;
  availableBytes?: number;
}
export interface ContainerSummaryStats {
  name: string;
  startTime?: string;
  cpu: CpuStats;
  memory: MemoryStats;
}
export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime?: string;
  containers: ContainerSummaryStats[];
  cpu: CpuStats;
  memory: MemoryStats;
}
export interface Summary {
  node: { nodeName: string; startTime: string; cpu: CpuStats; memory: MemoryStats };
  pods: PodStats[];
}
