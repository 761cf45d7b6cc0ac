/**
 * What the scheduler knows about one node: the Node, the pods on it
 * (bound, or assumed by this scheduler), and their sums, kept up to date on
 * every add and remove so that a filter reads them in O(1).
 *
 * PodInfo is a pod parsed once for scheduling: requests, host ports and
 * compiled affinity terms. Both are owned by the scheduler cache; plugins
 * read them and never change them (preemption works on clones).
 */

import type { LabelSelector } from '../api/meta.js';
import type { Node, Pod } from '../api/objects.js';
import { own } from '../api/plain.js';
import { labelSelectorFromObject, type ParsedLabelSelector } from '../api/selectors.js';
import {
  addResource,
  controllerUid,
  emptyResource,
  podKey,
  podPriority,
  podRequests,
  type Resource,
  resourceFromList,
} from './types.js';

export interface AffinityTerm {
  selector: ParsedLabelSelector;
  /** Namespaces the term selects pods in; with `namespaceSelector`, those too. */
  namespaces: Set<string>;
  namespaceSelector?: ParsedLabelSelector;
  topologyKey: string;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

export interface HostPort {
  hostIP: string;
  protocol: string;
  port: number;
}

interface RawTerm {
  labelSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  namespaces?: string[];
  topologyKey?: string;
  matchLabelKeys?: string[];
  mismatchLabelKeys?: string[];
}

function compileTerm(pod: Pod, t: RawTerm): AffinityTerm {
  const labels = pod.metadata.labels ?? {};
  const sel: LabelSelector = {
    matchLabels: { ...(t.labelSelector?.matchLabels ?? {}) },
    matchExpressions: [...(t.labelSelector?.matchExpressions ?? [])],
  };
  // matchLabelKeys / mismatchLabelKeys fold the incoming pod's own label values into the selector.
  // Own labels only: a key `constructor` is not the pod's label unless the pod has it.
  for (const k of t.matchLabelKeys ?? []) {
    const v = own<string>(labels, k);
    if (v !== undefined) sel.matchExpressions!.push({ key: k, operator: 'In', values: [v] });
  }
  for (const k of t.mismatchLabelKeys ?? []) {
    const v = own<string>(labels, k);
    if (v !== undefined) sel.matchExpressions!.push({ key: k, operator: 'NotIn', values: [v] });
  }
  const namespaces = new Set(t.namespaces ?? []);
  const nsSel = t.namespaceSelector ? labelSelectorFromObject(t.namespaceSelector) : undefined;
  if (namespaces.size === 0 && !nsSel) namespaces.add(pod.metadata.namespace ?? 'default');
  return {
    selector: t.labelSelector ? labelSelectorFromObject(sel) : labelSelectorFromObject(undefined),
    namespaces,
    namespaceSelector: nsSel,
    topologyKey: t.topologyKey ?? '',
  };
}

/** True when `term` selects `pod`; `nsLabels` gives a namespace's labels for namespace selectors. */
export function termMatches(
  term: AffinityTerm,
  pod: Pod,
  nsLabels: (ns: string) => Record<string, string> | undefined,
): boolean {
  const ns = pod.metadata.namespace ?? '';
  if (!term.namespaces.has(ns)) {
    if (!term.namespaceSelector?.matches(nsLabels(ns) ?? {})) return false;
  }
  return term.selector.matches(pod.metadata.labels ?? {});
}

export class PodInfo {
  readonly key: string;
  readonly requests: Resource;
  /** Requests with 100m / 200Mi for containers that ask for nothing, for scoring. */
  readonly nonZeroRequests: Resource;
  readonly priority: number;
  readonly ports: HostPort[];
  readonly requiredAffinity: AffinityTerm[];
  readonly requiredAntiAffinity: AffinityTerm[];
  readonly preferredAffinity: WeightedAffinityTerm[];
  readonly preferredAntiAffinity: WeightedAffinityTerm[];
  readonly owner?: string;

  constructor(readonly pod: Pod) {
    this.key = podKey(pod);
    this.requests = podRequests(pod);
    this.nonZeroRequests = podRequests(pod, true);
    this.priority = podPriority(pod);
    this.owner = controllerUid(pod);
    this.ports = [];
    for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
      for (const p of c.ports ?? []) {
        if (p.hostPort)
          this.ports.push({ hostIP: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
      }
    }
    const aff = pod.spec?.affinity;
    const req = (ts: RawTerm[] | undefined) => (ts ?? []).map((t) => compileTerm(pod, t));
    const pref = (ts: { weight?: number; podAffinityTerm?: RawTerm }[] | undefined) =>
      (ts ?? []).map((t) => ({ ...compileTerm(pod, t.podAffinityTerm ?? {}), weight: t.weight ?? 0 }));
    this.requiredAffinity = req(aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.requiredAntiAffinity = req(aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution);
    this.preferredAffinity = pref(aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
    this.preferredAntiAffinity = pref(aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution);
  }

  get hasAffinity(): boolean {
    return (
      this.requiredAffinity.length > 0 ||
      this.requiredAntiAffinity.length > 0 ||
      this.preferredAffinity.length > 0 ||
      this.preferredAntiAffinity.length > 0
    );
  }
}

export class NodeInfo {
  node: Node;
  readonly pods = new Map<string, PodInfo>();
  requested = emptyResource();
  nonZeroRequested = emptyResource();
  allocatable: Resource;
  allowedPodNumber: number;
  /** "TCP/80" → host IP → how many pods use it. */
  usedPorts = new Map<string, Map<string, number>>();
  /** Pods with any (anti-)affinity term, and those with required anti-affinity. */
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /** Controller uid → pods of it here, for spreading replicas. */
  ownerCounts = new Map<string, number>();
  /** Bumped on every change. */
  generation = 0;

  constructor(node: Node) {
    this.node = node;
    this.allocatable = emptyResource();
    this.allowedPodNumber = 0;
    this.setNode(node);
  }

  get name(): string {
    return this.node.metadata.name ?? '';
  }

  setNode(node: Node): void {
    this.node = node;
    const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
    this.allocatable = resourceFromList(alloc);
    this.allowedPodNumber = Number(alloc.pods ?? 0);
    this.generation++;
  }

  addPod(pi: PodInfo): void {
    const old = this.pods.get(pi.key);
    if (old) this.removePod(pi.key);
    this.pods.set(pi.key, pi);
    this.account(pi, 1);
  }

  removePod(key: string): PodInfo | undefined {
    const pi = this.pods.get(key);
    if (!pi) return undefined;
    this.pods.delete(key);
    this.account(pi, -1);
    return pi;
  }

  /** A deep-enough copy that preemption can remove and add pods on. */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    for (const pi of this.pods.values()) c.addPod(pi);
    return c;
  }

  /** True when some pod here already uses `p` (same protocol and port, and overlapping host IP). */
  portInUse(p: HostPort): boolean {
    const ips = this.usedPorts.get(`${p.protocol}/${p.port}`);
    if (!ips) return false;
    if (p.hostIP === '0.0.0.0') return ips.size > 0;
    return ips.has(p.hostIP) || ips.has('0.0.0.0');
  }

  private account(pi: PodInfo, sign: 1 | -1): void {
    addResource(this.requested, pi.requests, sign);
    addResource(this.nonZeroRequested, pi.nonZeroRequests, sign);
    for (const p of pi.ports) {
      const k = `${p.protocol}/${p.port}`;
      let ips = this.usedPorts.get(k);
      if (!ips) {
        ips = new Map();
        this.usedPorts.set(k, ips);
      }
      const n = (ips.get(p.hostIP) ?? 0) + sign;
      if (n > 0) ips.set(p.hostIP, n);
      else ips.delete(p.hostIP);
      if (ips.size === 0) this.usedPorts.delete(k);
    }
    if (pi.hasAffinity) this.podsWithAffinity += sign;
    if (pi.requiredAntiAffinity.length) this.podsWithRequiredAntiAffinity += sign;
    if (pi.owner) {
      const n = (this.ownerCounts.get(pi.owner) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(pi.owner, n);
      else this.ownerCounts.delete(pi.owner);
    }
    this.generation++;
  }
}
