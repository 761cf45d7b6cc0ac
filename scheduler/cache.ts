/**
 * The scheduler cache: every node with the pods on it, from the informers,
 * plus the pods this scheduler has assumed onto a node before their binding
 * reached the apiserver. It is the snapshot the scheduling cycle reads:
 * JavaScript runs one cycle at a time and a cycle does not await between
 * reading the cache and assuming its pod, so no copy is needed.
 *
 * Contract:
 * - `assumePod` places a pod at once; `finishBinding` marks its bind done;
 *   the informer's add of the bound pod confirms it (on whatever node the
 *   apiserver says); `forgetPod` takes back an assumed pod whose bind failed.
 * - Terminal pods (Succeeded, Failed) hold no resources and are not kept.
 * - Pods on a node the cache has not seen (yet) are kept and counted once
 *   the node arrives; a deleted node's pods wait the same way.
 */
import type { Node, Pod } from '../api/objects.js';
import type { Handle } from './framework.js';
import { NodeInfo, PodInfo } from './nodeinfo.js';
import { isTerminal, podKey } from './types.js';

interface PodState {
  info: PodInfo;
  node: string;
  assumed: boolean;
  bindingFinished: boolean;
}

export class SchedulerCache implements Handle {
  private readonly nodeInfos = new Map<string, NodeInfo>();
  /** Nodes that exist (NodeInfos also hold pods of nodes not seen or deleted). */
  private readonly present = new Set<string>();
  private list: NodeInfo[] = [];
  private listDirty = true;
  private readonly podStates = new Map<string, PodState>();
  private readonly nsLabels = new Map<string, Record<string, string>>();

  nodes(): readonly NodeInfo[] {
    if (this.listDirty) {
      this.list = [...this.present].sort().map((n) => this.nodeInfos.get(n)!);
      this.listDirty = false;
    }
    return this.list;
  }

  node(name: string): NodeInfo | undefined {
    return this.present.has(name) ? this.nodeInfos.get(name) : undefined;
  }

  get nodeCount(): number {
    return this.present.size;
  }

  namespaceLabels(ns: string): Record<string, string> | undefined {
    return this.nsLabels.get(ns);
  }

  setNamespace(name: string, labels: Record<string, string> | undefined): void {
    if (labels) this.nsLabels.set(name, labels);
    else this.nsLabels.delete(name);
  }

  addNode(node: Node): void {
    const name = node.metadata.name ?? '';
    const ni = this.nodeInfos.get(name);
    if (ni) ni.setNode(node);
    else this.nodeInfos.set(name, new NodeInfo(node));
    if (!this.present.has(name)) {
      this.present.add(name);
      this.listDirty = true;
    }
  }

  removeNode(name: string): void {
    if (!this.present.delete(name)) return;
    this.listDirty = true;
    const ni = this.nodeInfos.get(name);
    if (ni && ni.pods.size === 0) this.nodeInfos.delete(name);
  }

  /** A bound pod from the informer (add or update). */
  addPod(pod: Pod): void {
    const key = podKey(pod);
    const node = pod.spec?.nodeName;
    if (!node || isTerminal(pod)) {
      this.removePod(key);
      return;
    }
    const prev = this.podStates.get(key);
    if (prev && prev.node !== node) this.detach(key, prev.node);
    const info = prev && prev.info.pod === pod ? prev.info : new PodInfo(pod);
    this.attach(info, node);
    this.podStates.set(key, { info, node, assumed: false, bindingFinished: true });
  }

  removePod(key: string): void {
    const prev = this.podStates.get(key);
    if (!prev) return;
    this.detach(key, prev.node);
    this.podStates.delete(key);
  }

  isAssumed(key: string): boolean {
    return this.podStates.get(key)?.assumed ?? false;
  }

  /** True when the pod is in the cache at all (bound or assumed). */
  hasPod(key: string): boolean {
    return this.podStates.has(key);
  }

  assumePod(info: PodInfo, node: string): void {
    if (this.podStates.has(info.key)) throw new Error(`pod ${info.key} is already in the scheduler cache`);
    this.attach(info, node);
    this.podStates.set(info.key, { info, node, assumed: true, bindingFinished: false });
  }

  finishBinding(key: string): void {
    const s = this.podStates.get(key);
    if (s?.assumed) s.bindingFinished = true;
  }

  /** Takes back an assumed pod (its bind failed); a confirmed pod stays. */
  forgetPod(key: string): void {
    const s = this.podStates.get(key);
    if (!s?.assumed) return;
    this.removePod(key);
  }

  private attach(info: PodInfo, node: string): void {
    let ni = this.nodeInfos.get(node);
    if (!ni) {
      // A pod on a node we have not seen: keep it on a placeholder until the node arrives.
      ni = new NodeInfo({ metadata: { name: node } });
      this.nodeInfos.set(node, ni);
    }
    ni.addPod(info);
  }

  private detach(key: string, node: string): void {
    const ni = this.nodeInfos.get(node);
    if (!ni) return;
    ni.removePod(key);
    if (ni.pods.size === 0 && !this.present.has(node)) this.nodeInfos.delete(node);
  }
}
