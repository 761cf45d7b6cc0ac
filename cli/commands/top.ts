/**
 * `nkctl top nodes` and `nkctl top pods`: CPU and memory in use, in
 * kubectl's tables. nanokube has no metrics-server, so nkctl reads each
 * node's Summary API (the kubelet's /stats/summary, through the apiserver's
 * node proxy) and computes the figures as metrics-server would: CPU from
 * the usage rate in nanocores, memory from the working set, percentages of
 * the node's allocatable. A node whose kubelet cannot be reached shows
 * `<unknown>` and gets one warning line naming the node and the reason.
 * Changes nothing.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import type { Node } from '../../api/objects.js';
import { quantityToMilli } from '../../api/quantity.js';
import type { Summary } from '../../api/stats.js';
import { boolFlag } from '../../base/component-main.js';
import { type Clock, realClock } from '../../client/clock.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { formatTable } from '../table.js';

/** CPU in nanocores and memory (working set) in bytes. */
export interface Usage {
  cpu: number;
  memory: number;
}

const cpuText = (nanoCores: number) => `${Math.ceil(nanoCores / 1e6)}m`;
const memoryText = (bytes: number) => `${Math.floor(bytes / (1024 * 1024))}Mi`;
const percent = (used: number, available: number) =>
  `${available > 0 ? Math.trunc((used / available) * 100) : 0}%`;

type SortBy = 'cpu' | 'memory' | undefined;

function sortBy<T extends { name: string; usage: Usage }>(rows: T[], by: SortBy): T[] {
  return [...rows].sort((a, b) => (by ? b.usage[by] - a.usage[by] : a.name.localeCompare(b.name)));
}

/** kubectl's node table: usage and percent of allocatable, `<unknown>` where the usage is missing. */
export function nodeTable(nodes: Node[], usage: Map<string, Usage>, o: { sortBy?: SortBy } = {}): string[][] {
  const measured = sortBy(
    nodes.flatMap((n) => {
      const u = usage.get(n.metadata.name!);
      return u ? [{ name: n.metadata.name!, node: n, usage: u }] : [];
    }),
    o.sortBy,
  );
  const rows = measured.map(({ name, node, usage: u }) => {
    const alloc = node.status?.allocatable ?? {};
    const cpuMilli = alloc.cpu ? Number(quantityToMilli(alloc.cpu)) : 0;
    const memoryMilli = alloc.memory ? Number(quantityToMilli(alloc.memory)) : 0;
    return [
      name,
      cpuText(u.cpu),
      percent(Math.ceil(u.cpu / 1e6), cpuMilli),
      memoryText(u.memory),
      percent(u.memory * 1000, memoryMilli),
    ];
  });
  const missing = nodes.filter((n) => !usage.has(n.metadata.name!));
  return [...rows, ...missing.map((n) => [n.metadata.name!, ...Array(4).fill('<unknown>')])];
}

export interface PodUsage {
  namespace: string;
  name: string;
  usage: Usage;
  containers: { name: string; usage: Usage }[];
}

/** kubectl's pod table, one row per pod or (`containers`) per container. */
export function podTable(
  pods: PodUsage[],
  o: { allNamespaces?: boolean; containers?: boolean; sortBy?: SortBy },
): string[][] {
  const ordered = [...pods].sort((a, b) =>
    o.sortBy
      ? b.usage[o.sortBy] - a.usage[o.sortBy]
      : a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
  const ns = (p: PodUsage) => (o.allNamespaces ? [p.namespace] : []);
  return ordered.flatMap((p) =>
    o.containers
      ? sortBy(p.containers, o.sortBy).map((c) => [
          ...ns(p),
          p.name,
          c.name,
          cpuText(c.usage.cpu),
          memoryText(c.usage.memory),
        ])
      : [[...ns(p), p.name, cpuText(p.usage.cpu), memoryText(p.usage.memory)]],
  );
}

/** Pod usage from a Summary, as metrics-server sums it: the containers' rates and working sets. */
export function podUsages(summary: Summary): PodUsage[] {
  return summary.pods
    .filter((p) => p.containers.length > 0)
    .map((p) => {
      const containers = p.containers.map((c) => ({
        name: c.name,
        usage: { cpu: c.cpu.usageNanoCores ?? 0, memory: c.memory.workingSetBytes },
      }));
      return {
        namespace: p.podRef.namespace,
        name: p.podRef.name,
        containers,
        usage: {
          cpu: containers.reduce((s, c) => s + c.usage.cpu, 0),
          memory: containers.reduce((s, c) => s + c.usage.memory, 0),
        },
      };
    });
}

/** A Summary has rates only from a kubelet's second reading on: then ask again a second later. */
const hasRates = (s: Summary) =>
  s.node.cpu.usageNanoCores !== undefined &&
  s.pods.every((p) => p.containers.every((c) => c.cpu.usageNanoCores !== undefined));

/** Each node's Summary, or why it could not be read. */
async function summaries(
  ctx: CliContext,
  nodes: string[],
  clock: Clock,
): Promise<Map<string, Summary | Error>> {
  const read = (node: string) =>
    ctx.rest.request<Summary>({
      method: 'GET',
      path: `/api/v1/nodes/${encodeURIComponent(node)}/proxy/stats/summary`,
    });
  const results = await Promise.all(
    nodes.map(async (node): Promise<[string, Summary | Error]> => {
      try {
        let s = await read(node);
        if (!hasRates(s)) {
          await clock.sleep(1000);
          s = await read(node);
        }
        return [node, s];
      } catch (e) {
        return [node, e as Error];
      }
    }),
  );
  return new Map(results);
}

/** One warning line per node whose kubelet did not answer; the error when none did. */
function reportUnreachable(failed: [string, Error][], anyMetrics: boolean, err: NodeJS.WritableStream) {
  if (!anyMetrics && failed.length)
    throw new CliError(
      `metrics not available yet: ${failed.map(([node, e]) => `cannot reach the kubelet of node "${node}": ${e.message}`).join('; ')}`,
    );
  for (const [node, e] of failed)
    err.write(`Warning: metrics not available for node "${node}": cannot reach its kubelet: ${e.message}\n`);
}

interface TopNodeFlags {
  selector?: string;
  sortBy?: SortBy;
  headers?: boolean;
}

export async function topNodes(
  ctx: CliContext,
  name: string | undefined,
  f: TopNodeFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  clock: Clock = realClock,
): Promise<void> {
  const client = ctx.client(ctx.resource('nodes'));
  const nodes = (
    name ? [await client.get(name)] : (await client.list({ labelSelector: f.selector })).items
  ) as Node[];
  if (nodes.length === 0) throw new CliError('metrics not available yet');
  const read = await summaries(
    ctx,
    nodes.map((n) => n.metadata.name!),
    clock,
  );
  const usage = new Map<string, Usage>();
  const failed: [string, Error][] = [];
  for (const [node, s] of read) {
    if (s instanceof Error) failed.push([node, s]);
    else usage.set(node, { cpu: s.node.cpu.usageNanoCores ?? 0, memory: s.node.memory.workingSetBytes });
  }
  reportUnreachable(failed, usage.size > 0, err);
  const rows = nodeTable(nodes, usage, f);
  writeTable(out, ['NAME', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'], rows, f.headers);
}

interface TopPodFlags extends TopNodeFlags {
  allNamespaces?: boolean;
  containers?: boolean;
}

export async function topPods(
  ctx: CliContext,
  name: string | undefined,
  f: TopPodFlags,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
  clock: Clock = realClock,
): Promise<void> {
  const client = ctx.client(ctx.resource('pods'), f.allNamespaces ? undefined : ctx.namespace);
  const pods = name ? [await client.get(name)] : (await client.list({ labelSelector: f.selector })).items;
  if (pods.length === 0) {
    err.write(
      f.allNamespaces ? 'No resources found\n' : `No resources found in ${ctx.namespace} namespace.\n`,
    );
    return;
  }
  const wanted = new Set(pods.map((p: KubeObject) => p.metadata.uid));
  const nodes = [...new Set(pods.flatMap((p) => (p.spec as { nodeName?: string })?.nodeName ?? []))];
  const usages: PodUsage[] = [];
  const failed: [string, Error][] = [];
  for (const [node, s] of await summaries(ctx, nodes, clock)) {
    if (s instanceof Error) failed.push([node, s]);
    else usages.push(...podUsages({ ...s, pods: s.pods.filter((p) => wanted.has(p.podRef.uid)) }));
  }
  reportUnreachable(failed, usages.length > 0, err);
  if (usages.length === 0) throw new CliError('metrics not available yet');
  const header = [
    ...(f.allNamespaces ? ['NAMESPACE'] : []),
    ...(f.containers ? ['POD'] : []),
    'NAME',
    'CPU(cores)',
    'MEMORY(bytes)',
  ];
  writeTable(out, header, podTable(usages, f), f.headers);
}

function writeTable(out: NodeJS.WritableStream, header: string[], rows: string[][], headers = true) {
  const text = formatTable(header, rows);
  out.write(headers ? text : text.slice(text.indexOf('\n') + 1));
}

function sortFlag(value: string): SortBy {
  if (value !== 'cpu' && value !== 'memory') throw new CliError('--sort-by accepts only cpu or memory');
  return value;
}

export function newTopCommand(): Command {
  const top = new Command('top').description(
    'Show CPU and memory in use by nodes or pods, read from each kubelet. Changes nothing.',
  );
  top.addCommand(
    new Command('node')
      .aliases(['nodes', 'no'])
      .description('CPU and memory of nodes, and their share of what is allocatable.')
      .argument('[node]', 'one node; all when none')
      .option('-l, --selector <selector>', 'only nodes with these labels')
      .option('--sort-by <field>', 'cpu or memory, highest first', sortFlag)
      .addOption(boolFlag('--no-headers', 'leave out the header line'))
      .action(async (name: string | undefined, f: TopNodeFlags, cmd: Command) => {
        await topNodes(cliContext(cmd), name, f);
      }),
  );
  top.addCommand(
    new Command('pod')
      .aliases(['pods', 'po'])
      .description('CPU and memory of pods, or of their containers.')
      .argument('[pod]', 'one pod; all in the namespace when none')
      .addOption(boolFlag('-A, --all-namespaces', 'pods of every namespace'))
      .option('-l, --selector <selector>', 'only pods with these labels')
      .addOption(boolFlag('--containers', 'one line per container'))
      .option('--sort-by <field>', 'cpu or memory, highest first', sortFlag)
      .addOption(boolFlag('--no-headers', 'leave out the header line'))
      .action(async (name: string | undefined, f: TopPodFlags, cmd: Command) => {
        await topPods(cliContext(cmd), name, f);
      }),
  );
  return top;
}
