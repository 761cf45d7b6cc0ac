/**
 * `nkctl expose`: makes a Service in front of the pods of a deployment,
 * replicaset, replicationcontroller, pod or service, as `kubectl expose` does: the selector is the
 * object's pod selector (a pod's own labels), the labels are the object's,
 * and the ports are --port (to --target-port, else the same number) or,
 * without --port, the ports the object's containers (or service) declare.
 * Not safe to run twice: the second run reports AlreadyExists.
 */
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import type { ResourceType } from '../../api/registry.js';
import { builtinRegistry } from '../../api/types/index.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { dryRunSuffix, parsePort, serverDryRun } from '../flags.js';
import { objectArgs, shownName } from '../objectref.js';

export interface ExposeFlags {
  port?: string;
  targetPort?: string;
  protocol?: string;
  type?: string;
  name?: string;
  dryRun?: string;
}

interface PodSpec {
  containers?: { ports?: { containerPort: number }[] }[];
}
interface WorkloadSpec {
  selector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  template?: { spec?: PodSpec };
}
interface ServiceSpec {
  selector?: Record<string, string>;
  ports?: { port: number }[];
}

/** The label selector of the pods behind `obj`, as a Service selector. */
function selectorOf(rt: ResourceType, obj: KubeObject): Record<string, string> {
  const what = shownName(rt, obj.metadata.name!);
  let selector: Record<string, string> | undefined;
  if (rt.kind === 'Pod') selector = obj.metadata.labels;
  else if (rt.kind === 'Service' || rt.kind === 'ReplicationController')
    selector = (obj.spec as ServiceSpec).selector;
  else if (rt.kind === 'Deployment' || rt.kind === 'ReplicaSet') {
    const s = (obj.spec as WorkloadSpec).selector;
    if (s?.matchExpressions?.length)
      throw new CliError(
        `${what} selects its pods with matchExpressions, which a service selector cannot express`,
      );
    selector = s?.matchLabels;
  } else throw new CliError(`cannot expose a ${rt.kind}: expose a deployment, replicaset, pod or service`);
  if (!selector || Object.keys(selector).length === 0)
    throw new CliError(`couldn't retrieve selectors via --selector flag or introspection: ${what} has none`);
  return selector;
}

/** The ports `obj` declares: its containers' (a workload's template's) or a service's. */
function portsOf(rt: ResourceType, obj: KubeObject): number[] {
  if (rt.kind === 'Service') return ((obj.spec as ServiceSpec).ports ?? []).map((p) => p.port);
  const pod = rt.kind === 'Pod' ? (obj.spec as PodSpec) : (obj.spec as WorkloadSpec).template?.spec;
  return (pod?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
}

export function serviceFor(rt: ResourceType, obj: KubeObject, f: ExposeFlags): KubeObject {
  const selector = selectorOf(rt, obj);
  const ports = f.port !== undefined ? [parsePort(f.port)] : portsOf(rt, obj);
  if (ports.length === 0) throw new CliError("couldn't find port via --port flag or introspection");
  const targetPort =
    f.targetPort === undefined
      ? undefined
      : /^\d+$/.test(f.targetPort)
        ? parsePort(f.targetPort, '--target-port')
        : f.targetPort;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: f.name ?? obj.metadata.name, labels: obj.metadata.labels },
    spec: {
      ports: ports.map((port, i) => ({
        ...(ports.length > 1 ? { name: `port-${i + 1}` } : {}),
        port,
        protocol: f.protocol ?? 'TCP',
        targetPort: targetPort ?? port,
      })),
      selector,
      ...(f.type ? { type: f.type } : {}),
    },
  };
}

export async function expose(
  ctx: CliContext,
  args: string[],
  f: ExposeFlags,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const dryRun = serverDryRun(f.dryRun);
  const { rt, name } = objectArgs(ctx, args);
  const obj = await ctx.client(rt, ctx.namespace).get(name);
  const services = builtinRegistry.get('', 'v1', 'services')!;
  const svc = serviceFor(rt, obj, f);
  await ctx.client(services, ctx.namespace).create(svc, { dryRun, fieldManager: 'nkctl-expose' });
  out.write(`${shownName(services, svc.metadata.name!)} exposed${dryRunSuffix(dryRun)}\n`);
}

export function newExposeCommand(): Command {
  return new Command('expose')
    .description('Make a service in front of the pods of a deployment, replicaset, pod or service.')
    .argument('<args...>', 'TYPE NAME or TYPE/NAME')
    .option('--port <port>', "the service's port (default: the ports the object declares)")
    .option('--target-port <port>', 'the port (number or name) on the pods; default the same as --port')
    .option('--protocol <protocol>', 'TCP (default), UDP or SCTP')
    .option('--type <type>', 'ClusterIP (default), NodePort or LoadBalancer')
    .option('--name <name>', "the service's name (default the object's)")
    .option('--dry-run <mode>', 'server: check the service but create nothing')
    .action(async (args: string[], f: ExposeFlags, cmd: Command) => {
      await expose(cliContext(cmd), args, f);
    });
}
