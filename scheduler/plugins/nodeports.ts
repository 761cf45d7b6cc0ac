/** NodePorts: a pod's hostPorts must be free on the node (same protocol and port, overlapping host IP). */

import {
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreFilterPlugin,
  type Result,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const nodePortsName = 'NodePorts';
export const errReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";

export class NodePorts implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = nodePortsName;

  preFilter(_state: CycleState, pod: PodInfo): Result {
    return pod.ports.length ? undefined : Status.skip;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    for (const p of pod.ports) if (node.portInUse(p)) return Status.unschedulable(errReasonNodePorts);
    return undefined;
  }

  events(): ClusterEvent[] {
    return ['NodeAdd', 'PodDelete'];
  }
}
