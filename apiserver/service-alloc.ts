/**
 * ClusterIP and NodePort allocation. Each allocated value is one etcd key,
 * created only if absent (`/registry/ipaddresses/10.96.0.12`,
 * `/registry/servicenodeports/30080`), so two apiservers can never hand out
 * the same one, as Kubernetes' IPAddress objects work. The value names the
 * owning Service's uid.
 *
 * Release: when a Service is deleted (every apiserver sees the watch event;
 * deleting a key owned by that uid is idempotent), and by a repair pass that
 * frees keys whose owner has been gone on two passes in a row (so a Service
 * whose create is still in flight is never robbed).
 */
import type { Logger } from 'pino';
import { ipToNumber, numberToIp } from '../api/ipv4.js';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import type { EtcdStore } from './etcd.js';

export interface ServiceRanges {
  /** e.g. 10.96.0.0/16 */
  clusterIPRange: string;
  /** e.g. 30000-32767 */
  nodePortRange: string;
}

interface ServicePort {
  port?: number;
  nodePort?: number;
  protocol?: string;
}

interface ServiceLike extends KubeObject {
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    ports?: ServicePort[];
    healthCheckNodePort?: number;
  };
}

const ipKey = (ip: string) => `/registry/ipaddresses/${ip}`;
const portKey = (port: number) => `/registry/servicenodeports/${port}`;

/** First and last usable addresses of a CIDR (network and broadcast excluded). */
export function cidrRange(cidr: string): { first: number; last: number; base: number } {
  const [ip, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const base = ipToNumber(ip) - (ipToNumber(ip) % size);
  return { base, first: base + 1, last: base + size - 2 };
}

/** The address the `kubernetes` Service gets: the first of the range. */
export function kubernetesServiceIP(cidr: string): string {
  return numberToIp(cidrRange(cidr).first);
}

/** One undo list per admitted write: rolled back if the write does not land. */
export class Allocation {
  private readonly keys: string[] = [];
  constructor(private readonly etcd: EtcdStore) {}
  add(key: string): void {
    this.keys.push(key);
  }
  async rollback(): Promise<void> {
    for (const k of this.keys) await this.etcd.deleteKey(k).catch(() => undefined);
  }
}

function invalid(name: string, field: string, value: unknown, detail: string): StatusError {
  return new StatusError(
    422,
    'Invalid',
    `Service "${name}" is invalid: ${field}: Invalid value: ${JSON.stringify(value)}: ${detail}`,
    {
      name,
      kind: 'Service',
      causes: [
        { reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(value)}: ${detail}` },
      ],
    },
  );
}

export class ServiceAllocator {
  private readonly ips: { first: number; last: number };
  private readonly ports: { first: number; last: number };
  private readonly suspects = new Set<string>();

  constructor(
    private readonly etcd: EtcdStore,
    ranges: ServiceRanges,
    private readonly log: Logger,
  ) {
    this.ips = cidrRange(ranges.clusterIPRange);
    const [a, b] = ranges.nodePortRange.split('-').map(Number);
    this.ports = { first: a, last: b };
  }

  private async claim(key: string, owner: KubeObject): Promise<boolean> {
    return this.etcd.createKey(
      key,
      JSON.stringify({
        uid: owner.metadata.uid,
        namespace: owner.metadata.namespace,
        name: owner.metadata.name,
      }),
    );
  }

  private async claimAny(
    range: { first: number; last: number },
    key: (n: number) => string,
    owner: KubeObject,
  ): Promise<number> {
    const size = range.last - range.first + 1;
    // Random probes first (cheap while the range is sparse), then a scan from a random start.
    for (let i = 0; i < 16; i++) {
      const n = range.first + Math.floor(Math.random() * size);
      if (await this.claim(key(n), owner)) return n;
    }
    const start = Math.floor(Math.random() * size);
    for (let i = 0; i < size; i++) {
      const n = range.first + ((start + i) % size);
      if (await this.claim(key(n), owner)) return n;
    }
    return -1;
  }

  /**
   * Fills and claims spec.clusterIP(s) and node ports on create, or keeps
   * the old ones (and claims new node ports) on update. Throws 422 for a
   * requested value that is out of range or taken.
   */
  async admit(obj: KubeObject, old: KubeObject | undefined): Promise<Allocation> {
    const svc = obj as ServiceLike;
    const prev = old as ServiceLike | undefined;
    const alloc = new Allocation(this.etcd);
    svc.spec ??= {};
    const spec = svc.spec;
    const name = svc.metadata.name ?? '';
    try {
      const wantsIP = spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
      if (prev?.spec?.clusterIP && (!spec.clusterIP || spec.clusterIP === prev.spec.clusterIP)) {
        spec.clusterIP = prev.spec.clusterIP;
        spec.clusterIPs = prev.spec.clusterIPs ?? [prev.spec.clusterIP];
      } else if (wantsIP) {
        if (spec.clusterIP) {
          const n = ipToNumber(spec.clusterIP);
          if (n < this.ips.first || n > this.ips.last)
            throw invalid(
              name,
              'spec.clusterIPs[0]',
              spec.clusterIP,
              'provided IP is not in the valid range',
            );
          if (!(await this.claim(ipKey(spec.clusterIP), obj)))
            throw invalid(name, 'spec.clusterIPs[0]', spec.clusterIP, 'provided IP is already allocated');
          alloc.add(ipKey(spec.clusterIP));
        } else {
          const n = await this.claimAny(this.ips, (i) => ipKey(numberToIp(i)), obj);
          if (n < 0)
            throw new StatusError(
              500,
              'InternalError',
              'Internal error occurred: failed to allocate a serviceIP: range is full',
            );
          spec.clusterIP = numberToIp(n);
          alloc.add(ipKey(spec.clusterIP));
        }
        spec.clusterIPs = [spec.clusterIP];
      }
      const needsNodePorts = spec.type === 'NodePort' || spec.type === 'LoadBalancer';
      const oldPorts = new Map(
        (prev?.spec?.ports ?? [])
          .filter((p) => p.nodePort)
          .map((p) => [`${p.port}/${p.protocol ?? 'TCP'}`, p.nodePort!]),
      );
      for (const [i, p] of (spec.ports ?? []).entries()) {
        if (!needsNodePorts) {
          delete p.nodePort;
          continue;
        }
        const kept = oldPorts.get(`${p.port}/${p.protocol ?? 'TCP'}`);
        if (p.nodePort === undefined && kept !== undefined) p.nodePort = kept;
        if (p.nodePort !== undefined && p.nodePort === kept) continue;
        if (p.nodePort !== undefined) {
          if (p.nodePort < this.ports.first || p.nodePort > this.ports.last) {
            throw invalid(
              name,
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              `provided port is not in the valid range. The range of valid ports is ${this.ports.first}-${this.ports.last}`,
            );
          }
          if (!(await this.claim(portKey(p.nodePort), obj)))
            throw invalid(
              name,
              `spec.ports[${i}].nodePort`,
              p.nodePort,
              'provided port is already allocated',
            );
        } else {
          const n = await this.claimAny(this.ports, portKey, obj);
          if (n < 0)
            throw new StatusError(
              500,
              'InternalError',
              'Internal error occurred: failed to allocate a nodePort: range is full',
            );
          p.nodePort = n;
        }
        alloc.add(portKey(p.nodePort));
      }
      return alloc;
    } catch (err) {
      await alloc.rollback();
      throw err;
    }
  }

  /** Frees what a deleted Service held (only keys it owns). */
  async release(svc: KubeObject): Promise<void> {
    const s = svc as ServiceLike;
    const keys = [
      ...(s.spec?.clusterIPs ?? (s.spec?.clusterIP ? [s.spec.clusterIP] : []))
        .filter((ip) => ip !== 'None')
        .map(ipKey),
      ...(s.spec?.ports ?? []).filter((p) => p.nodePort).map((p) => portKey(p.nodePort!)),
    ];
    for (const k of keys)
      await this.etcd
        .deleteKeyIfValue(k, (v) => JSON.parse(v).uid === svc.metadata.uid)
        .catch(() => undefined);
  }

  /**
   * Frees keys whose owning Service is gone or no longer uses them, once
   * seen so on two passes in a row. `live` maps a Service uid to it.
   */
  async repair(live: Map<string, KubeObject>): Promise<number> {
    let freed = 0;
    const seen = new Set<string>();
    for (const prefix of ['/registry/ipaddresses/', '/registry/servicenodeports/']) {
      for (const { key, value } of await this.etcd.listKeys(prefix)) {
        const owner = JSON.parse(value) as { uid: string };
        const svc = live.get(owner.uid) as ServiceLike | undefined;
        const used =
          svc !== undefined &&
          (prefix.includes('ip')
            ? (svc.spec?.clusterIPs ?? [svc.spec?.clusterIP]).some((ip) => ip && key === ipKey(ip))
            : (svc.spec?.ports ?? []).some((p) => p.nodePort && key === portKey(p.nodePort)));
        if (used) continue;
        seen.add(key);
        if (this.suspects.has(key)) {
          await this.etcd.deleteKeyIfValue(key, (v) => v === value);
          freed++;
          this.log.info({ key }, 'freed a leaked service allocation');
        }
      }
    }
    this.suspects.clear();
    for (const k of seen) this.suspects.add(k);
    return freed;
  }
}
