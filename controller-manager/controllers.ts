/**
 * Every controller the manager can run, by the name `--controllers` uses
 * (Kubernetes' names). Add a controller by adding its factory here.
 */
import { newClusterRoleAggregationController } from './clusterrole-aggregation.js';
import type { ControllerFactory } from './controller.js';
import { newCSRApprovingController } from './csr-approving.js';
import { newCSRSigningController } from './csr-signing.js';
import { newEndpointsController } from './endpoint.js';
import { newEndpointSliceController } from './endpointslice.js';
import { newGarbageCollector } from './garbagecollector.js';
import { newNamespaceController } from './namespace.js';
import { newNodeIpamController } from './nodeipam.js';
import { newNodeLifecycleController } from './nodelifecycle.js';
import { newPodGCController } from './podgc.js';
import { newPersistentVolumeBinder } from './pvbinder.js';
import { newRootCACertPublisher } from './root-ca-cert-publisher.js';
import { newServiceAccountsController } from './serviceaccount.js';
import { workloadControllers } from './workload-controllers.js';

export const controllerFactories: Record<string, ControllerFactory> = {
  ...workloadControllers,
  nodeipam: newNodeIpamController,
  serviceaccount: newServiceAccountsController,
  namespace: newNamespaceController,
  garbagecollector: newGarbageCollector,
  endpoint: newEndpointsController,
  endpointslice: newEndpointSliceController,
  nodelifecycle: newNodeLifecycleController,
  podgc: newPodGCController,
  'persistentvolume-binder': newPersistentVolumeBinder,
  'clusterrole-aggregation': newClusterRoleAggregationController,
  'root-ca-cert-publisher': newRootCACertPublisher,
  csrapproving: newCSRApprovingController,
  csrsigning: newCSRSigningController,
};

/**
 * Resolves `--controllers` as Kubernetes does: `*` is every controller,
 * `name` enables one, `-name` disables one; later entries win.
 */
export function enabledControllers(
  spec: string[],
  known: string[] = Object.keys(controllerFactories),
): string[] {
  const on = new Set<string>();
  for (const raw of spec) {
    const item = raw.trim();
    if (!item) continue;
    if (item === '*') for (const n of known) on.add(n);
    else if (item.startsWith('-')) on.delete(item.slice(1));
    else on.add(item);
  }
  for (const n of on)
    if (!known.includes(n)) throw new Error(`unknown controller "${n}" (known: ${known.join(', ')})`);
  return [...on].sort();
}
