/** NodeName: a pod that names its node (spec.nodeName) fits only there. */

import {
  type ClusterEvent,
  type CycleState,
  type EnqueueExtensions,
  type FilterPlugin,
  type PreFilterPlugin,
  type PreFilterResult,
  type Result,
  Status,
} from '../framework.js';
import type { NodeInfo, PodInfo } from '../nodeinfo.js';

export const nodeNameName = 'NodeName';
export const errReasonNodeName = "node(s) didn't match the requested node name";

export class NodeName implements PreFilterPlugin, FilterPlugin, EnqueueExtensions {
  readonly name = nodeNameName;

  preFilter(_state: CycleState, pod: PodInfo): Result | PreFilterResult {
    const want = pod.pod.spec?.nodeName;
    return want ? { nodeNames: new Set([want]) } : Status.skip;
  }

  filter(_state: CycleState, pod: PodInfo, node: NodeInfo): Result {
    const want = pod.pod.spec?.nodeName;
    return !want || want === node.name ? undefined : Status.unresolvable(errReasonNodeName);
  }

  events(): ClusterEvent[] {
    return ['NodeAdd'];
  }
}
