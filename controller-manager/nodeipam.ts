/**
 * The node IPAM controller (`nodeipam`): gives every Node a pod range,
 * `spec.podCIDR` / `spec.podCIDRs`, cut from `--cluster-cidr` in blocks of
 * `--node-cidr-mask-size`, as Kubernetes' range allocator does.
 *
 * A range is never given twice: the allocator is rebuilt from the Nodes in
 * the cache (which the manager has synced before the first `sync`) before it
 * hands out anything, so a restarted controller-manager knows every range
 * already taken; a range is taken in memory before the write and given back
 * only when the write fails or the Node is gone.
 */

import { ipToNumber, numberToIp } from '../api/ipv4.js';
import type { Node } from '../api/objects.js';
import { isNotFound } from '../api/status.js';
import { ResourceClient } from '../client/resource.js';
import { type ControllerContext, QueueController } from './controller.js';

/** Blocks of one size carved out of an IPv4 range, each taken at most once. */
export class CidrSet {
  private readonly base: number;
  private readonly blockSize: number;
  readonly size: number;
  private readonly used = new Set<number>();
  private next = 0;

  constructor(
    clusterCIDR: string,
    readonly maskSize: number,
  ) {
    const [ip, prefixText] = clusterCIDR.split('/');
    const prefix = Number(prefixText);
    if (!(prefix >= 0 && prefix <= maskSize && maskSize <= 32))
      throw new Error(`cluster CIDR ${clusterCIDR} cannot hold /${maskSize} node ranges`);
    this.blockSize = 2 ** (32 - maskSize);
    this.size = 2 ** (maskSize - prefix);
    const hostBits = 2 ** (32 - prefix);
    this.base = ipToNumber(ip) - (ipToNumber(ip) % hostBits);
  }

  /** Takes the next free block, or undefined when all are taken. */
  allocateNext(): string | undefined {
    for (let n = 0; n < this.size; n++) {
      const i = (this.next + n) % this.size;
      if (this.used.has(i)) continue;
      this.used.add(i);
      this.next = (i + 1) % this.size;
      return this.cidrAt(i);
    }
    return undefined;
  }

  /** Marks a block taken; false when it is not one of this set's blocks. */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }

  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i !== undefined) this.used.delete(i);
  }

  isUsed(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used.has(i);
  }

  private cidrAt(i: number): string {
    return `${numberToIp(this.base + i * this.blockSize)}/${this.maskSize}`;
  }

  private indexOf(cidr: string): number | undefined {
    const [ip, mask] = cidr.split('/');
    if (Number(mask) !== this.maskSize || !/^\d{1,3}(\.\d{1,3}){3}$/.test(ip ?? '')) return undefined;
    const off = ipToNumber(ip) - this.base;
    if (off < 0 || off % this.blockSize !== 0 || off / this.blockSize >= this.size) return undefined;
    return off / this.blockSize;
  }
}

export class NodeIpamController extends QueueController {
  private readonly nodes;
  private readonly client: ResourceClient<Node>;
  private readonly cidrs: CidrSet;
  /** Which node holds which range, as this controller knows it. */
  private readonly owners = new Map<string, string>();
  private rebuilt = false;

  constructor(ctx: ControllerContext) {
    super('nodeipam', ctx);
    this.cidrs = new CidrSet(ctx.config.clusterCIDR, ctx.config.nodeCIDRMaskSize);
    this.client = new ResourceClient<Node>(ctx.rest, ctx.registry.get('', 'v1', 'nodes')!);
    this.nodes = this.informer<Node>('nodes');
    this.nodes.addEventHandler({
      onAdd: (n) => this.enqueue(n),
      onUpdate: (_o, n) => this.enqueue(n),
      onDelete: (n) => this.enqueue(n),
    });
  }

  /** Takes every range a cached Node already has; runs once, before the first allocation. */
  private rebuild(): void {
    if (this.rebuilt) return;
    this.rebuilt = true;
    for (const node of this.nodes.store.list()) this.take(node);
  }

  private take(node: Node): void {
    for (const cidr of node.spec?.podCIDRs ?? []) {
      if (!this.cidrs.occupy(cidr)) continue;
      this.owners.set(cidr, node.metadata.name!);
    }
  }

  async sync(key: string): Promise<void> {
    if (!this.ctx.config.allocateNodeCIDRs) return;
    this.rebuild();
    const node = this.nodes.store.get(key);
    if (!node) {
      for (const [cidr, owner] of this.owners) {
        if (owner !== key) continue;
        this.owners.delete(cidr);
        this.cidrs.release(cidr);
        this.log.info({ node: key, cidr }, 'released the pod range of a deleted node');
      }
      return;
    }
    if (node.spec?.podCIDRs?.length) {
      this.take(node);
      return;
    }
    // The cache may lag our own write: a range we gave this node is still its range.
    const mine = [...this.owners].find(([, owner]) => owner === key)?.[0];
    const cidr = mine ?? this.cidrs.allocateNext();
    if (!cidr) {
      this.ctx
        .recorder('node-controller')
        .event(node, 'Normal', 'CIDRNotAvailable', `Node ${key} status is now: CIDRNotAvailable`);
      this.log.warn({ node: key, clusterCIDR: this.ctx.config.clusterCIDR }, 'no pod range left for node');
      throw new Error(`no pod range left in ${this.ctx.config.clusterCIDR} for node ${key}`);
    }
    this.owners.set(cidr, key);
    try {
      await this.client.patch(key, 'merge', { spec: { podCIDR: cidr, podCIDRs: [cidr] } });
      this.log.info({ node: key, cidr }, 'assigned pod range');
    } catch (err) {
      if (isNotFound(err) || !mine) {
        this.owners.delete(cidr);
        this.cidrs.release(cidr);
      }
      if (isNotFound(err)) return;
      this.ctx
        .recorder('node-controller')
        .event(node, 'Warning', 'CIDRAssignmentFailed', `Node ${key}: ${(err as Error).message}`);
      throw err;
    }
  }
}

export const newNodeIpamController = (ctx: ControllerContext) => new NodeIpamController(ctx);
