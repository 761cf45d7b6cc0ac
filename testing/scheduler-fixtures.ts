/** Small builders for the scheduler's unit tests. */
import type { Node, Pod } from '../api/objects.js';
import type { Taint } from '../api/types/node.js';
import { CycleState, type Handle } from '../scheduler/framework.js';
import { NodeInfo, PodInfo } from '../scheduler/nodeinfo.js';

export function makeNode(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    pods?: number;
    labels?: Record<string, string>;
    taints?: Taint[];
    unschedulable?: boolean;
  } = {},
): Node {
  const alloc = {
    cpu: o.cpu ?? '4',
    memory: o.memory ?? '8Gi',
    pods: String(o.pods ?? 110),
    'ephemeral-storage': '10Gi',
  };
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: { capacity: alloc, allocatable: alloc },
  };
}

export function makePod(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    labels?: Record<string, string>;
    node?: string;
    priority?: number;
    spec?: Pod['spec'];
    ns?: string;
  } = {},
): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    metadata: { name, namespace: o.ns ?? 'default', uid: `uid-${name}`, labels: o.labels ?? {} },
    spec: {
      containers: [{ name: 'c', image: 'i', resources: { requests } }],
      nodeName: o.node,
      priority: o.priority ?? 0,
      ...(o.spec ?? {}),
    },
    status: { phase: 'Pending' },
  };
}

export function nodeInfo(node: Node, pods: Pod[] = []): NodeInfo {
  const ni = new NodeInfo(node);
  for (const p of pods) ni.addPod(new PodInfo(p));
  return ni;
}

export function handleOf(nodes: NodeInfo[], nsLabels: Record<string, Record<string, string>> = {}): Handle {
  return {
    nodes: () => nodes,
    node: (n) => nodes.find((x) => x.name === n),
    namespaceLabels: (ns) => nsLabels[ns],
  };
}

export const newState = () => new CycleState();
export const info = (p: Pod) => new PodInfo(p);
