/**
 * The narrow side-effect interface kube-proxy writes through: one
 * `iptables-restore --noflush` per sync, the jumps from the base chains into
 * ours, and the local route that keeps the service range on this host.
 * The real implementation runs the commands; tests of the renderer need none.
 */
import { exec } from '../base/exec.js';

export type Table = 'nat' | 'filter';

export interface Jump {
  table: Table;
  chain: string;
  /** The rule after `-A CHAIN`, e.g. `-m comment --comment "..." -j KUBE-SERVICES`. */
  rule: string[];
  /** Only where the chain exists (a chain of another program's). */
  optional?: boolean;
}

export interface Iptables {
  restore(text: string): Promise<void>;
  listChains(table: Table): Promise<string[]>;
  /** Inserts the rule at the top of the chain unless it is there. */
  ensureJump(j: Jump): Promise<void>;
  deleteJump(j: Jump): Promise<void>;
}

/** A jump for new connections only, with Kubernetes' comment. */
const newConnJump = (table: Table, chain: string, comment: string, target: string): Jump => ({
  table,
  chain,
  rule: ['-m', 'conntrack', '--ctstate', 'NEW', '-m', 'comment', '--comment', comment, '-j', target],
});
const jump = (table: Table, chain: string, comment: string, target: string): Jump => ({
  table,
  chain,
  rule: ['-m', 'comment', '--comment', comment, '-j', target],
});

/** The jumps Kubernetes' kube-proxy installs in the base chains. */
export const baseJumps: Jump[] = [
  jump('nat', 'PREROUTING', 'kubernetes service portals', 'KUBE-SERVICES'),
  jump('nat', 'OUTPUT', 'kubernetes service portals', 'KUBE-SERVICES'),
  jump('nat', 'POSTROUTING', 'kubernetes postrouting rules', 'KUBE-POSTROUTING'),
  newConnJump('filter', 'INPUT', 'kubernetes service portals', 'KUBE-SERVICES'),
  newConnJump('filter', 'INPUT', 'kubernetes externally-visible service portals', 'KUBE-EXTERNAL-SERVICES'),
  jump('filter', 'FORWARD', 'kubernetes forwarding rules', 'KUBE-FORWARD'),
  newConnJump('filter', 'FORWARD', 'kubernetes service portals', 'KUBE-SERVICES'),
  newConnJump('filter', 'OUTPUT', 'kubernetes service portals', 'KUBE-SERVICES'),
  // Docker puts its own jumps (DOCKER-USER, then the isolation chains that
  // drop traffic between two Docker bridges) back at the top of FORWARD each
  // time it makes a network, so pod traffic from one node's bridge to another
  // network (a node container's, on the same host) would never reach the
  // jump above. DOCKER-USER is Docker's place for rules that come first, and
  // Docker never rewrites it.
  { ...jump('filter', 'DOCKER-USER', 'kubernetes forwarding rules', 'KUBE-FORWARD'), optional: true },
];

const run = async (cmd: string, args: string[], input?: string): Promise<string> =>
  (await exec(cmd, args, { input })).stdout;

export class ExecIptables implements Iptables {
  /** With a network namespace name, every command runs inside it (benchmarks, test hosts). */
  constructor(private readonly netns?: string) {}

  private exec(cmd: string, args: string[], input?: string): Promise<string> {
    return this.netns ? run('ip', ['netns', 'exec', this.netns, cmd, ...args], input) : run(cmd, args, input);
  }

  async restore(text: string): Promise<void> {
    await this.exec('iptables-restore', ['--noflush', '-w', '5'], text);
  }

  async listChains(table: Table): Promise<string[]> {
    const out = await this.exec('iptables', ['-w', '5', '-t', table, '-S']);
    return out
      .split('\n')
      .filter((l) => l.startsWith('-N '))
      .map((l) => l.slice(3).trim());
  }

  async ensureJump(j: Jump): Promise<void> {
    try {
      await this.exec('iptables', ['-w', '5', '-t', j.table, '-C', j.chain, ...j.rule]);
    } catch {
      await this.exec('iptables', ['-w', '5', '-t', j.table, '-I', j.chain, '1', ...j.rule]);
    }
  }

  async deleteJump(j: Jump): Promise<void> {
    for (let i = 0; i < 10; i++) {
      try {
        await this.exec('iptables', ['-w', '5', '-t', j.table, '-D', j.chain, ...j.rule]);
      } catch {
        return;
      }
    }
  }
}

/**
 * Routes the service range to an empty local bridge so that a packet to a
 * service address never leaves the host (ENVIRONMENT.md: no dummy links here).
 */
export async function ensureServiceRoute(cidr: string, bridge = 'nk-svc'): Promise<void> {
  try {
    await run('ip', ['link', 'show', bridge]);
  } catch {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
  }
  await run('ip', ['link', 'set', bridge, 'up']);
  await run('ip', ['route', 'replace', cidr, 'dev', bridge]);
}

export async function removeServiceRoute(cidr: string, bridge = 'nk-svc'): Promise<void> {
  await run('ip', ['route', 'del', cidr, 'dev', bridge]).catch(() => undefined);
  await run('ip', ['link', 'del', bridge]).catch(() => undefined);
}
