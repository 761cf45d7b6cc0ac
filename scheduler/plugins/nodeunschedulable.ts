/** NodeUnschedulable: keeps pods off cordoned nodes (spec.unschedulable) unless they tolerate it. */

import { tolerates } from '../../api/scheduling.js';
import {
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type Result,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const nodeUnschedulableName = 'NodeUnschedulable';
export const errReasonUnschedulable = 'node(s) were unschedulable';
const unschedulableTaint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export class NodeUnschedulable implements FilterPlugin, EnqueueExtensions {
  readonly name = nodeUnschedulableName;

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    if (!node.node.spec?.unschedulable) return undefined;
    const tolerated = (pod.pod.spec?.tolerations ?? []).some((t) => tolerates(t, unschedulableTaint));
    return tolerated ? undefined : Status.unresolvable(errReasonUnschedulable);
  }

  events(): ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate'];
  }
}
