/**
 * Turns a container of a pod spec into what the runtime creates: command
 * and args with $(VAR) expanded, the environment (env.ts), volume mounts
 * (host paths the volume manager prepared), the termination log file,
 * resources and the security context. An ephemeral container is made as
 * the others are (the spec refuses what it may not have), in the PID
 * namespace of its target when it names one.
 */
import path from 'node:path';
import { quantityToMilli, quantityToValue } from '../api/quantity.js';
import type { Container, Pod } from '../api/types/pod.js';
import { ConfigError, containerEnv, expand, type ObjectSource } from './env.js';
import { dockerName, podLabels } from './pod-state.js';
import { type ContainerConfig, Labels, type Mount } from './runtime/runtime.js';

/** Which list of the pod spec a container comes from. */
export type ContainerKind = 'init' | 'app' | 'ephemeral';

/** A prepared volume: where its files are on the host. */
export interface VolumePath {
  hostPath: string;
  readOnly?: boolean;
}

export interface ContainerConfigContext {
  node: string;
  pod: Pod;
  container: Container;
  kind: ContainerKind;
  restartCount: number;
  hash: string;
  sandboxId: string;
  /** The running target of an ephemeral container, whose PID namespace it joins. */
  pidTargetId?: string;
  volumes: Map<string, VolumePath>;
  /** Host file bind-mounted at the container's terminationMessagePath. */
  terminationLogPath: string;
  source: ObjectSource;
  allocatable: Record<string, string>;
}

export async function buildContainerConfig(ctx: ContainerConfigContext): Promise<ContainerConfig> {
  const { pod, container: c } = ctx;
  const { env, vars } = await containerEnv(ctx);
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const terminationMessagePath = c.terminationMessagePath || '/dev/termination-log';
  const mounts = mountsOf(c, ctx.volumes, vars);
  mounts.push({ hostPath: ctx.terminationLogPath, containerPath: terminationMessagePath });
  return {
    name: dockerName(pod, c.name ?? '', ctx.restartCount),
    image: c.image ?? '',
    labels: podLabels(ctx.node, pod, c.name ?? '', ctx.restartCount, {
      [Labels.containerHash]: ctx.hash,
      [Labels.kind]: ctx.kind,
      [Labels.terminationMessagePath]: terminationMessagePath,
    }),
    sandboxId: ctx.sandboxId,
    sharePid: pod.spec?.shareProcessNamespace === true,
    pidTargetId: ctx.pidTargetId,
    command: c.command?.length ? c.command.map((a) => expand(a, vars)) : undefined,
    args: c.args?.length ? c.args.map((a) => expand(a, vars)) : undefined,
    workingDir: c.workingDir || undefined,
    env,
    mounts,
    memoryBytes: limits.memory !== undefined ? Number(quantityToValue(limits.memory)) : undefined,
    cpuLimitMilli: limits.cpu !== undefined ? Number(quantityToMilli(limits.cpu)) : undefined,
    cpuRequestMilli: requests.cpu !== undefined ? Number(quantityToMilli(requests.cpu)) : undefined,
    tty: c.tty ?? false,
    stdin: c.stdin ?? false,
    stdinOnce: c.stdinOnce ?? false,
    ...securityOf(pod, c),
  };
}

function mountsOf(c: Container, volumes: Map<string, VolumePath>, vars: Record<string, string>): Mount[] {
  return (c.volumeMounts ?? []).map((vm) => {
    const vol = volumes.get(vm.name ?? '');
    if (!vol) throw new ConfigError(`volume "${vm.name}" of container ${c.name} is not in the pod spec`);
    const sub = vm.subPathExpr ? expand(vm.subPathExpr, vars) : (vm.subPath ?? '');
    if (sub.split('/').includes('..') || path.isAbsolute(sub))
      throw new ConfigError(`subPath "${sub}" must be a relative path without ".."`);
    return {
      hostPath: sub ? path.join(vol.hostPath, sub) : vol.hostPath,
      containerPath: vm.mountPath ?? '',
      readOnly: vm.readOnly === true || vol.readOnly === true,
    };
  });
}

type Security = Pick<
  ContainerConfig,
  'user' | 'groupAdd' | 'privileged' | 'capAdd' | 'capDrop' | 'readOnlyRootfs'
>;

function securityOf(pod: Pod, c: Container): Security {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const uid = sc.runAsUser ?? psc.runAsUser;
  const gid = sc.runAsGroup ?? psc.runAsGroup;
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) && uid === 0)
    throw new ConfigError("container's runAsUser breaks non-root policy");
  const groups = [...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])];
  const cap = (names: string[] | undefined) => names?.map((n) => (n.startsWith('CAP_') ? n.slice(4) : n));
  return {
    user: uid !== undefined ? (gid !== undefined ? `${uid}:${gid}` : String(uid)) : undefined,
    groupAdd: groups.length ? groups.map(String) : undefined,
    privileged: sc.privileged === true,
    capAdd: cap(sc.capabilities?.add),
    capDrop: cap(sc.capabilities?.drop),
    readOnlyRootfs: sc.readOnlyRootFilesystem === true,
  };
}
