/**
 * The pure renderer: service ports in, the complete `iptables-restore` text
 * for the nat and filter tables out. Every chain nanokube owns is declared
 * (and so flushed) and rewritten on each sync; chains that no longer have a
 * service are declared and deleted. Base chains are never written here:
 * the jumps into ours are ensured separately (see iptables.ts).
 *
 * A partial render (`only`, as Kubernetes' MinimizeIPTablesRestore) still
 * writes the top-level chains whole but declares and writes the chains of the
 * listed service ports alone: the others keep what the kernel already has.
 * `chainsOnly` renders the listed ports' chains and nothing else, a step of
 * a full sync written in parts. Why parts: iptables-nft 1.8's --noflush
 * restore is quadratic in the chains of one restore (1,000 services with
 * 10,000 endpoints: 5-6 s in one restore, about 0.15 s per 100 services).
 *
 * Chain names are a prefix and a short hash, as Kubernetes names them:
 * KUBE-SVC-<hash(service port)>, KUBE-SEP-<hash(service port, endpoint)>,
 * KUBE-EXT-<hash(service port)> for NodePort traffic.
 */
import { createHash } from 'node:crypto';
import { type ServicePort, usableEndpoints } from './model.js';

export const masqMark = '0x4000/0x4000';

export interface RenderOptions {
  /** Pod range; traffic to a cluster IP from outside it is masqueraded. */
  clusterCIDR: string;
  /** Chains in the current tables, to delete the ones no longer rendered. */
  existingChains?: { nat: string[]; filter: string[] };
  /** Ids of the service ports whose own chains are written; absent: all of them. */
  only?: ReadonlySet<string>;
  /**
   * Only the chains of the `only` service ports: no top-level chain, nothing
   * deleted. A step of a full sync written in parts (see proxier.ts): the
   * chains are not jumped to until the top-level chains are written.
   */
  chainsOnly?: boolean;
}

export interface Rendered {
  text: string;
  /** Every chain of ours the tables hold after this restore, written or kept. */
  chains: { nat: string[]; filter: string[] };
  /** Rules written by this restore. */
  ruleCount: number;
  /** Rules of ours in the tables after it, for metrics. */
  totalRules: number;
}

function hash(s: string): string {
  return createHash('sha256')
    .update(s)
    .digest('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .toUpperCase()
    .slice(0, 16);
}

export const svcChain = (p: ServicePort) => `KUBE-SVC-${hash(`${p.id}/${p.protocol}`)}`;
export const extChain = (p: ServicePort) => `KUBE-EXT-${hash(`${p.id}/${p.protocol}`)}`;
export const sepChain = (p: ServicePort, ip: string, port: number) =>
  `KUBE-SEP-${hash(`${p.id}/${p.protocol}/${ip}:${port}`)}`;

const ownChainsNat = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
const ownChainsFilter = ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD'];

const comment = (text: string) => `-m comment --comment "${text.replace(/"/g, '')}"`;
const proto = (p: ServicePort) => `-p ${p.protocol.toLowerCase()} -m ${p.protocol.toLowerCase()}`;

export function renderRules(ports: ServicePort[], o: RenderOptions): Rendered {
  const nat: string[] = [];
  const filter: string[] = [];
  const natChains = [...ownChainsNat];
  const filterChains = [...ownChainsFilter];

  nat.push(`-A KUBE-POSTROUTING -m mark ! --mark ${masqMark} -j RETURN`);
  nat.push('-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000');
  nat.push(
    `-A KUBE-POSTROUTING ${comment('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
  );
  nat.push('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
  filter.push(
    `-A KUBE-FORWARD ${comment('kubernetes forwarding rules')} -m mark --mark ${masqMark} -j ACCEPT`,
  );
  filter.push(
    `-A KUBE-FORWARD ${comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  );
  // Pod traffic crosses the host's FORWARD chain, which Docker sets to DROP;
  // accept what comes from or goes to the pod range, as flannel does.
  filter.push(`-A KUBE-FORWARD ${comment('kubernetes pod source')} -s ${o.clusterCIDR} -j ACCEPT`);
  filter.push(`-A KUBE-FORWARD ${comment('kubernetes pod destination')} -d ${o.clusterCIDR} -j ACCEPT`);

  // Rules of a service port's own chains go here; dropped when it is not written.
  // Rules of service ports' own chains: written, or kept as the kernel has them.
  const written: string[] = [];
  const kept: string[] = [];
  let own = written;
  const declaredNat = [...ownChainsNat];
  const addChain = (c: string) => {
    natChains.push(c);
    if (own === written) declaredNat.push(c);
  };
  for (const p of ports) {
    const eps = usableEndpoints(p.endpoints);
    own = !o.only || o.only.has(p.id) ? written : kept;
    const dest = `-d ${p.clusterIP}/32 ${proto(p)} --dport ${p.port}`;
    if (eps.length === 0) {
      filter.push(
        `-A KUBE-SERVICES ${comment(`${p.id} has no endpoints`)} ${dest} -j REJECT --reject-with icmp-port-unreachable`,
      );
      for (const ip of p.externalIPs)
        filter.push(
          `-A KUBE-EXTERNAL-SERVICES ${comment(`${p.id} has no endpoints`)} -d ${ip}/32 ${proto(p)} --dport ${p.port} -j REJECT --reject-with icmp-port-unreachable`,
        );
      if (p.nodePort)
        filter.push(
          `-A KUBE-EXTERNAL-SERVICES ${comment(`${p.id} has no endpoints`)} -m addrtype --dst-type LOCAL ${proto(p)} --dport ${p.nodePort} -j REJECT --reject-with icmp-port-unreachable`,
        );
      continue;
    }
    const svc = svcChain(p);
    addChain(svc);
    nat.push(`-A KUBE-SERVICES ${comment(`${p.id} cluster IP`)} ${dest} -j ${svc}`);
    own.push(`-A ${svc} ${comment(`${p.id} cluster IP`)} ! -s ${o.clusterCIDR} ${dest} -j KUBE-MARK-MASQ`);
    for (const ip of p.externalIPs) {
      nat.push(
        `-A KUBE-SERVICES ${comment(`${p.id} external IP`)} -d ${ip}/32 ${proto(p)} --dport ${p.port} -j KUBE-MARK-MASQ`,
      );
      nat.push(
        `-A KUBE-SERVICES ${comment(`${p.id} external IP`)} -d ${ip}/32 ${proto(p)} --dport ${p.port} -j ${svc}`,
      );
    }
    if (p.nodePort) {
      const ext = extChain(p);
      addChain(ext);
      nat.push(`-A KUBE-NODEPORTS ${comment(`${p.id}`)} ${proto(p)} --dport ${p.nodePort} -j ${ext}`);
      own.push(
        `-A ${ext} ${comment('masquerade traffic for ' + p.id + ' external destinations')} -j KUBE-MARK-MASQ`,
      );
      own.push(`-A ${ext} -j ${svc}`);
    }
    const seps = eps.map((e) => ({ e, chain: sepChain(p, e.ip, e.port) }));
    if (p.sessionAffinityTimeout !== undefined) {
      for (const s of seps) {
        own.push(
          `-A ${svc} ${comment(`${p.id} -> ${s.e.ip}:${s.e.port}`)} -m recent --name ${s.chain} --rcheck --seconds ${p.sessionAffinityTimeout} --reap -j ${s.chain}`,
        );
      }
    }
    seps.forEach((s, i) => {
      const left = seps.length - i;
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      own.push(`-A ${svc} ${comment(`${p.id} -> ${s.e.ip}:${s.e.port}`)}${pick} -j ${s.chain}`);
    });
    for (const s of seps) {
      addChain(s.chain);
      own.push(`-A ${s.chain} ${comment(p.id)} -s ${s.e.ip}/32 -j KUBE-MARK-MASQ`);
      const affinity = p.sessionAffinityTimeout !== undefined ? ` -m recent --name ${s.chain} --set` : '';
      own.push(
        `-A ${s.chain} ${comment(p.id)}${affinity} ${proto(p)} -j DNAT --to-destination ${s.e.ip}:${s.e.port}`,
      );
    }
  }
  // Last: anything addressed to this host may be a NodePort.
  nat.push(
    `-A KUBE-SERVICES ${comment('kubernetes service nodeports; NOTE: this must be the last rule in this chain')} -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
  );

  if (o.chainsOnly) {
    // KUBE-MARK-MASQ is jumped to from these chains: it is (re)declared with its one rule.
    const chains = declaredNat.filter((c) => !ownChainsNat.includes(c) || c === 'KUBE-MARK-MASQ');
    const markMasq = nat.filter((l) => l.startsWith('-A KUBE-MARK-MASQ '));
    const text = ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...markMasq, ...written, 'COMMIT', ''].join(
      '\n',
    );
    return {
      text,
      chains: { nat: natChains, filter: filterChains },
      ruleCount: written.length,
      totalRules: nat.length + filter.length + written.length + kept.length,
    };
  }
  const stale = (existing: string[] | undefined, now: string[]) => {
    const keep = new Set(now);
    return (existing ?? []).filter((c) => isOurs(c) && !keep.has(c));
  };
  const staleNat = stale(o.existingChains?.nat, natChains);
  const staleFilter = stale(o.existingChains?.filter, filterChains);
  const lines = [
    '*filter',
    ...[...filterChains, ...staleFilter].map((c) => `:${c} - [0:0]`),
    ...filter,
    ...staleFilter.map((c) => `-X ${c}`),
    'COMMIT',
    '*nat',
    ...[...declaredNat, ...staleNat].map((c) => `:${c} - [0:0]`),
    ...nat,
    ...written,
    ...staleNat.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ];
  return {
    text: lines.join('\n'),
    chains: { nat: natChains, filter: filterChains },
    ruleCount: nat.length + filter.length + written.length,
    totalRules: nat.length + filter.length + written.length + kept.length,
  };
}

/** Chains this proxy made (and may delete). */
export function isOurs(chain: string): boolean {
  return (
    /^KUBE-(SVC|SEP|EXT)-[A-Z0-9]{16}$/.test(chain) ||
    ownChainsNat.includes(chain) ||
    ownChainsFilter.includes(chain)
  );
}

/** The text that removes everything we own from both tables (for --cleanup), given the chains present. */
export function renderCleanup(existing: { nat: string[]; filter: string[] }): string {
  const nat = existing.nat.filter(isOurs);
  const filter = existing.filter.filter(isOurs);
  return [
    '*filter',
    ...filter.map((c) => `:${c} - [0:0]`),
    ...filter.map((c) => `-X ${c}`),
    'COMMIT',
    '*nat',
    ...nat.map((c) => `:${c} - [0:0]`),
    ...nat.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}
