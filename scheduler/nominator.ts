/**
 * Pods nominated to a node by preemption: they are expected to run there
 * once their victims are gone, so other pods of no higher priority must not
 * take the room meanwhile. The scheduler adds them to a node before
 * filtering it for any pod of equal or lower priority.
 */
import type { PodInfo } from './nodeinfo.js';

export class Nominator {
  private readonly byNode = new Map<string, Map<string, PodInfo>>();
  private readonly nodeOf = new Map<string, string>();

  add(pi: PodInfo, node: string): void {
    this.remove(pi.key);
    let m = this.byNode.get(node);
    if (!m) {
      m = new Map();
      this.byNode.set(node, m);
    }
    m.set(pi.key, pi);
    this.nodeOf.set(pi.key, node);
  }

  remove(key: string): void {
    const node = this.nodeOf.get(key);
    if (node === undefined) return;
    this.nodeOf.delete(key);
    const m = this.byNode.get(node);
    m?.delete(key);
    if (m?.size === 0) this.byNode.delete(node);
  }

  nodeFor(key: string): string | undefined {
    return this.nodeOf.get(key);
  }

  /** Pods nominated to `node` that `pod` must leave room for: not itself, priority at least its own. */
  podsFor(node: string, pod: PodInfo): PodInfo[] {
    const m = this.byNode.get(node);
    if (!m) return [];
    const out: PodInfo[] = [];
    for (const pi of m.values()) if (pi.key !== pod.key && pi.priority >= pod.priority) out.push(pi);
    return out;
  }
}
