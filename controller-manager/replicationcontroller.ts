/**
 * The ReplicationController manager (`replicationcontroller`): as in
 * Kubernetes, the ReplicaSet controller run over core/v1
 * ReplicationControllers, whose selector is a plain map of labels. Pods get
 * a `v1` `ReplicationController` controller reference; adoption, release,
 * expectations, status and garbage collection are the ReplicaSet's.
 */
import type { KubeObject } from '../api/meta.js';
import type { ReplicationController } from '../api/objects.js';
import { labelSelectorFromSet, nothing } from '../api/selectors.js';
import type { ControllerContext } from './controller.js';
import { ReplicaSetController, type ReplicaSetControllerOptions, type ReplicatedKind } from './replicaset.js';

export const replicationControllerKind: ReplicatedKind = {
  controller: 'replicationcontroller',
  component: 'replication-controller',
  resource: 'replicationcontrollers',
  apiVersion: 'v1',
  kind: 'ReplicationController',
  selectorOf: (o: KubeObject) => {
    const set = (o as ReplicationController).spec?.selector;
    // Validation refuses an empty selector; one that slipped through selects nothing, never everything.
    return set && Object.keys(set).length ? labelSelectorFromSet(set) : nothing();
  },
};

export function newReplicationManager(
  ctx: ControllerContext,
  opts: Omit<ReplicaSetControllerOptions, 'kind'> = {},
): ReplicaSetController {
  return new ReplicaSetController(ctx, { ...opts, kind: replicationControllerKind });
}
