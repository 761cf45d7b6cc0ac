/**
 * UDP has no connection to end, so a conntrack entry keeps sending a
 * client's datagrams to the endpoint it first went to, even after that
 * endpoint is gone. After each sync kube-proxy deletes, as Kubernetes does:
 * - entries to a UDP service address whose DNAT went to an endpoint that is
 *   no longer used (cluster IP, external IPs and node port alike);
 * - all entries to a UDP service address that had no endpoints and now has
 *   some (datagrams that met the REJECT would otherwise stay unanswered).
 */
import { ExecError, exec } from '../base/exec.js';
import { type ServicePort, usableEndpoints } from './model.js';

/** One `conntrack -D` filter. */
export interface ConntrackFilter {
  /** The service address the client sent to (--orig-dst), or undefined for a node port. */
  origDst?: string;
  /** The destination port the client sent to (--orig-port-dst); node ports only. */
  origPort?: number;
  /** The endpoint the entry was translated to (--dst-nat); undefined: every entry. */
  dstNat?: string;
}

/** The filters to delete after moving from `prev` to `next` (UDP only). */
export function staleUdpEntries(prev: ServicePort[], next: ServicePort[]): ConntrackFilter[] {
  const before = new Map(prev.filter((p) => p.protocol === 'UDP').map((p) => [p.id, p]));
  const out: ConntrackFilter[] = [];
  for (const p of next) {
    if (p.protocol !== 'UDP') continue;
    const old = before.get(p.id);
    const now = new Set(usableEndpoints(p.endpoints).map((e) => e.ip));
    const had = old ? usableEndpoints(old.endpoints).map((e) => e.ip) : [];
    const addrs = [p.clusterIP, ...p.externalIPs].filter((a) => a && a !== 'None');
    if (had.length === 0 && now.size > 0) {
      for (const a of addrs) out.push({ origDst: a });
      if (p.nodePort) out.push({ origPort: p.nodePort });
      continue;
    }
    for (const ip of had)
      if (!now.has(ip)) {
        for (const a of addrs) out.push({ origDst: a, dstNat: ip });
        if (p.nodePort) out.push({ origPort: p.nodePort, dstNat: ip });
      }
  }
  // Services gone altogether: their endpoints are gone too.
  const still = new Set(next.map((p) => p.id));
  for (const [id, old] of before)
    if (!still.has(id))
      for (const e of usableEndpoints(old.endpoints))
        for (const a of [old.clusterIP, ...old.externalIPs].filter((x) => x && x !== 'None'))
          out.push({ origDst: a, dstNat: e.ip });
  return out;
}

export function conntrackArgs(f: ConntrackFilter): string[] {
  const args = ['-D', '-p', 'udp'];
  if (f.origDst) args.push('--orig-dst', f.origDst);
  if (f.origPort) args.push('--orig-port-dst', String(f.origPort));
  if (f.dstNat) args.push('--dst-nat', f.dstNat);
  return args;
}

export interface Conntrack {
  /** Deletes the entries a filter matches; none matching is not an error. */
  delete(f: ConntrackFilter): Promise<void>;
}

/** Runs the `conntrack` tool (in `netns` when given). */
export class ExecConntrack implements Conntrack {
  constructor(private readonly netns?: string) {}

  delete(f: ConntrackFilter): Promise<void> {
    const [cmd, args] = this.netns
      ? ['ip', ['netns', 'exec', this.netns, 'conntrack', ...conntrackArgs(f)]]
      : ['conntrack', conntrackArgs(f)];
    return exec(cmd as string, args as string[]).then(
      () => undefined,
      (err) => {
        if (!(err instanceof ExecError)) throw err;
        // Exit 1 with "0 flow entries have been deleted" is a filter that matched nothing.
        if (/0 flow entries/.test(err.stderr)) return;
        throw new Error(`conntrack ${conntrackArgs(f).join(' ')}: ${err.stderr.trim() || err.reason}`);
      },
    );
  }
}
