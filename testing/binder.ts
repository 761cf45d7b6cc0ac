/**
 * A stand-in for the scheduler in the workload e2e tests and the
 * deployment-scale bench, until nk-scheduler exists: it watches pods with no
 * node and binds each (through the real binding subresource) to the next
 * node of a fixed list, or to the node a DaemonSet pod's node affinity
 * or a kubernetes.io/hostname selector names (left pending when that node is
 * not in the list). Traffic goes only to the given 127.0.0.1 apiserver.
 */
import { pino } from 'pino';
import { builtinRegistry } from '../api/types/index.js';
import { SharedInformer } from '../client/informer.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient } from '../client/rest.js';

export interface Binder {
  /** Pods bound so far. */
  bound(): number;
  stop(): Promise<void>;
}

/**
 * The node a pod is pinned to: by required node affinity (metadata.name In
 * [node]), as DaemonSet pods carry, or by a kubernetes.io/hostname node selector.
 */
function pinnedNode(pod: any): string | undefined {
  const host = pod.spec?.nodeSelector?.['kubernetes.io/hostname'];
  if (host) return host;
  const terms =
    pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  for (const t of terms ?? [])
    for (const f of t.matchFields ?? [])
      if (f.key === 'metadata.name' && f.operator === 'In' && f.values?.length === 1) return f.values[0];
  return undefined;
}

export function startBinder(apiserverUrl: string, nodes: () => string[]): Binder {
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const rest = new RestClient({ servers: [apiserverUrl] });
  const podType = builtinRegistry.resolve('pods')!;
  const pods = new ResourceClient<any>(rest, podType);
  const informer = new SharedInformer<any>({
    client: pods,
    logger,
    fieldSelector: 'spec.nodeName=',
  });
  const ac = new AbortController();
  let next = 0;
  let count = 0;
  const inFlight = new Set<string>();
  const bind = async (pod: any) => {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (pod.spec?.nodeName || pod.metadata.deletionTimestamp || inFlight.has(key)) return;
    const list = nodes();
    if (list.length === 0) return;
    const pinned = pinnedNode(pod);
    // Pinned to a node that is not ours: unschedulable, as a scheduler would leave it.
    if (pinned && !list.includes(pinned)) return;
    const node = pinned ?? list[next++ % list.length];
    inFlight.add(key);
    try {
      await pods.in(pod.metadata.namespace).bind(pod.metadata.name, node);
      count++;
    } catch {
      // Gone or already bound: the informer says so next.
    } finally {
      inFlight.delete(key);
    }
  };
  informer.addEventHandler({ onAdd: bind, onUpdate: (_o, p) => bind(p) }, 1000);
  const running = informer.run(ac.signal);
  return {
    bound: () => count,
    stop: async () => {
      ac.abort();
      await running;
      rest.close();
    },
  };
}
