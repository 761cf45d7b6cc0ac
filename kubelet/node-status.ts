/**
 * The kubelet's Node: registration, status and heartbeat.
 *
 * - `register` creates the Node (labels, and spec.podCIDR from --pod-cidr
 *   when given), or adopts the existing one; it retries until it succeeds
 *   or the signal aborts.
 * - `podCIDR()` is the node's spec.podCIDR (the controller-manager's node
 *   IPAM sets it when --pod-cidr did not); `waitForPodCIDR` polls for it.
 * - The status loop computes the status every `statusIntervalMs` and
 *   writes it when it changed, and at least every `reportIntervalMs`.
 * - The lease loop renews kube-node-lease/<node> every `leaseRenewMs`.
 */

import { readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { metaTime, microTime } from '../api/time.js';
import type { Lease } from '../api/types/coordination.js';
import type { Node, NodeCondition } from '../api/types/node.js';
import { exponentialBackoff } from '../client/backoff.js';
import type { Clock } from '../client/clock.js';
import type { ResourceClient } from '../client/resource.js';
import type { Runtime } from './runtime/runtime.js';

export const kubeletVersion = 'v1.32.0';

export interface NodeStatusOptions {
  nodeName: string;
  nodes: ResourceClient<Node & KubeObject>;
  leases: ResourceClient<Lease & KubeObject>;
  runtime: Runtime;
  hostIP: string;
  /** The kubelet server's port, published in status.daemonEndpoints. */
  port: number;
  podCIDR?: string;
  rootDir: string;
  clock: Clock;
  logger: Logger;
  statusIntervalMs?: number;
  reportIntervalMs?: number;
  leaseRenewMs?: number;
  leaseDurationSeconds?: number;
}

const readOr = (file: string, fallback = '') => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
};

export class NodeStatusManager {
  private node?: Node;
  private lastPosted = '';
  private lastPostedAt = 0;
  private runtimeVersion = '';
  private readonly log: Logger;

  constructor(private readonly o: NodeStatusOptions) {
    this.log = o.logger.child({ part: 'node-status' });
  }

  podCIDR(): string | undefined {
    return this.node?.spec?.podCIDR || undefined;
  }

  /** Allocatable resources as the status reports them (env and downwardAPI need them). */
  /** The registered Node's name and uid, once registered. */
  nodeRef(): { name: string; uid: string } | undefined {
    const uid = this.node?.metadata?.uid;
    return uid ? { name: this.o.nodeName, uid } : undefined;
  }

  static capacity(): Record<string, string> {
    return {
      cpu: String(os.cpus().length),
      memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
      pods: '110',
    };
  }

  async register(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        this.node = await this.createOrAdopt();
        this.log.info({ node: this.o.nodeName, podCIDR: this.podCIDR() }, 'node registered');
        return;
      } catch (err) {
        this.log.warn({ err }, 'registering the node failed; retrying');
        await this.o.clock.sleep(exponentialBackoff(200, attempt, 7000), signal);
      }
    }
  }

  private async createOrAdopt(): Promise<Node> {
    const status = await this.buildStatus();
    const node: Node & KubeObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.o.nodeName,
        labels: {
          'kubernetes.io/hostname': this.o.nodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': goArch(),
        },
      },
      spec: this.o.podCIDR ? { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] } : {},
      status,
    };
    try {
      const created = await this.o.nodes.create(node);
      this.remember(status);
      return created;
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 409)) throw err;
    }
    let existing = await this.o.nodes.get(this.o.nodeName);
    if (this.o.podCIDR && !existing.spec?.podCIDR) {
      existing = await this.o.nodes.patch(this.o.nodeName, 'merge', {
        spec: { podCIDR: this.o.podCIDR, podCIDRs: [this.o.podCIDR] },
      });
    } else if (this.o.podCIDR && existing.spec?.podCIDR !== this.o.podCIDR) {
      this.log.warn(
        { flag: this.o.podCIDR, node: existing.spec?.podCIDR },
        'node has another podCIDR; using the node',
      );
    }
    return existing;
  }

  /** Polls the Node until it has spec.podCIDR; false if the signal aborted first. */
  async waitForPodCIDR(signal: AbortSignal): Promise<boolean> {
    while (!signal.aborted) {
      if (this.podCIDR()) return true;
      try {
        this.node = await this.o.nodes.get(this.o.nodeName);
      } catch (err) {
        this.log.warn({ err }, 'reading the node failed');
      }
      if (this.podCIDR()) return true;
      this.log.info('waiting for the node to get spec.podCIDR');
      await this.o.clock.sleep(2000, signal);
    }
    return false;
  }

  private async buildStatus(): Promise<NonNullable<Node['status']>> {
    let runtimeUp = true;
    try {
      const v = await this.o.runtime.version();
      this.runtimeVersion = `${v.name}://${v.version}`;
    } catch {
      runtimeUp = false;
    }
    const capacity: Record<string, string> = NodeStatusManager.capacity();
    try {
      const fs = await statfs(this.o.rootDir);
      capacity['ephemeral-storage'] = `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki`;
    } catch {
      // root dir not there yet
    }
    const ready = !runtimeUp
      ? { ok: false, reason: 'KubeletNotReady', message: 'container runtime is down' }
      : !this.podCIDR() && !this.o.podCIDR
        ? { ok: false, reason: 'KubeletNotReady', message: 'network is not ready: the node has no podCIDR' }
        : { ok: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' };
    const cond = (type: string, ok: boolean, reason: string, message: string): NodeCondition => ({
      type,
      status: ok ? 'True' : 'False',
      reason,
      message,
    });
    return {
      capacity,
      allocatable: { ...capacity },
      conditions: [
        cond(
          'MemoryPressure',
          false,
          'KubeletHasSufficientMemory',
          'kubelet has sufficient memory available',
        ),
        cond('DiskPressure', false, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', false, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', ready.ok, ready.reason, ready.message),
      ],
      addresses: [
        { type: 'InternalIP', address: this.o.hostIP },
        { type: 'Hostname', address: this.o.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.o.port } },
      nodeInfo: {
        machineID: readOr('/etc/machine-id'),
        systemUUID: readOr('/sys/class/dmi/id/product_uuid'),
        bootID: readOr('/proc/sys/kernel/random/boot_id'),
        kernelVersion: os.release(),
        osImage: /PRETTY_NAME="?([^"\n]*)/.exec(readOr('/etc/os-release'))?.[1] ?? 'Linux',
        containerRuntimeVersion: this.runtimeVersion,
        kubeletVersion,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: goArch(),
      },
    };
  }

  private remember(status: NonNullable<Node['status']>): void {
    this.lastPosted = JSON.stringify(status);
    this.lastPostedAt = this.o.clock.now();
  }

  /** Computes the status and writes it if it changed or the report interval passed. */
  async syncStatus(): Promise<void> {
    const status = await this.buildStatus();
    const text = JSON.stringify(status);
    const due = this.o.clock.now() - this.lastPostedAt >= (this.o.reportIntervalMs ?? 60_000);
    if (text === this.lastPosted && !due) return;
    const now = metaTime(this.o.clock.now());
    const old = this.node?.status?.conditions ?? [];
    for (const c of status.conditions ?? []) {
      const before = old.find((o) => o.type === c.type);
      c.lastHeartbeatTime = now;
      c.lastTransitionTime = before && before.status === c.status ? (before.lastTransitionTime ?? now) : now;
    }
    this.node = await this.o.nodes.patch(this.o.nodeName, 'merge', { status }, { subresource: 'status' });
    this.lastPosted = text;
    this.lastPostedAt = this.o.clock.now();
  }

  async runStatusLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.syncStatus();
      } catch (err) {
        this.log.warn({ err }, 'updating node status failed');
      }
      await this.o.clock.sleep(this.o.statusIntervalMs ?? 10_000, signal);
    }
  }

  /** Creates or renews kube-node-lease/<node>. */
  async renewLease(): Promise<void> {
    const name = this.o.nodeName;
    const spec = {
      holderIdentity: name,
      leaseDurationSeconds: this.o.leaseDurationSeconds ?? 40,
      renewTime: microTime(this.o.clock.now()),
    };
    let lease: (Lease & KubeObject) | undefined;
    try {
      lease = await this.o.leases.get(name);
    } catch (err) {
      if (!(err instanceof StatusError && err.code === 404)) throw err;
    }
    if (!lease) {
      const owner = this.node?.metadata?.uid
        ? [{ apiVersion: 'v1', kind: 'Node', name, uid: this.node.metadata.uid }]
        : undefined;
      await this.o.leases.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name, namespace: 'kube-node-lease', ownerReferences: owner },
        spec,
      });
      return;
    }
    await this.o.leases.update({ ...lease, spec: { ...lease.spec, ...spec } });
  }

  async runLeaseLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.renewLease();
      } catch (err) {
        this.log.warn({ err }, 'renewing the node lease failed');
      }
      await this.o.clock.sleep(this.o.leaseRenewMs ?? 10_000, signal);
    }
  }
}

function goArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };
  return map[process.arch] ?? process.arch;
}
