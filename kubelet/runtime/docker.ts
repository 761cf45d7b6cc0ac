/**
 * The Runtime over the Docker engine API (dockerode, straight to the
 * socket). See runtime.ts for the contract; this file only translates.
 */

import { writeFile } from 'node:fs/promises';
import { PassThrough, type Readable } from 'node:stream';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import {
  dockerClient,
  dockerMessage,
  dockerStatus,
  ensureNetwork,
  removeContainer,
  removeNetwork,
} from '../../base/docker.js';
import { demuxDockerStream } from './demux.js';
import { attachSession, execOnce, execSession } from './docker-exec.js';
import { enableHairpin, type HairpinPaths } from './hairpin.js';
import {
  type ContainerConfig,
  type ContainerInfo,
  type ContainerState,
  type ContainerStats,
  type ContainerSummary,
  type ExecResult,
  type ExecSession,
  type LogOptions,
  NotFoundError,
  type Runtime,
  type SandboxConfig,
  type StreamOptions,
} from './runtime.js';

/** dockerode errors carry the engine's message in `json`; surface it. */
function wrap(err: unknown, what: string): Error {
  const msg = dockerMessage(err);
  if (dockerStatus(err) === 404) return new NotFoundError(`${what}: ${msg}`);
  return new Error(`${what}: ${msg}`);
}

const states: Record<string, ContainerState> = {
  created: 'created',
  running: 'running',
  restarting: 'running',
  paused: 'running',
  exited: 'exited',
  dead: 'exited',
  removing: 'exited',
};

/** Docker's zero time, for containers that never started or never finished. */
const zeroTime = '0001-01-01T00:00:00Z';
/** How long after a SIGKILL exit the engine may still be delivering the OOM event behind it. */
const OOM_EVENT_SETTLE_MS = 5_000;

export interface DockerRuntimeOptions {
  /** Path of the engine socket; /var/run/docker.sock by default. */
  socketPath?: string;
  /** Where failures that do not fail a call (hairpin mode) are logged. */
  logger?: Logger;
  /** Roots of /proc and /sys/class/net, for finding a sandbox's veth. */
  hairpinPaths?: HairpinPaths;
}

export class DockerRuntime implements Runtime {
  readonly docker: Docker;
  private readonly logger?: Logger;
  private readonly hairpinPaths: HairpinPaths;

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = dockerClient(opts.socketPath);
    this.logger = opts.logger;
    this.hairpinPaths = opts.hairpinPaths ?? {};
  }

  async version(): Promise<{ name: string; version: string }> {
    const v = await this.docker.version();
    return { name: 'docker', version: v.Version };
  }

  ensureNetwork(name: string, subnet: string, labels: Record<string, string>): Promise<void> {
    return ensureNetwork(this.docker, name, subnet, labels);
  }

  removeNetwork(name: string): Promise<void> {
    return removeNetwork(this.docker, name);
  }

  async runSandbox(cfg: SandboxConfig): Promise<{ id: string; ip: string }> {
    const host = cfg.network === 'host';
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of host ? [] : (cfg.portMappings ?? [])) {
      const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
      exposed[key] = {};
      bindings[key] = [...(bindings[key] ?? []), { HostIp: p.hostIP ?? '', HostPort: String(p.hostPort) }];
    }
    let id: string;
    try {
      const c = await this.docker.createContainer({
        name: cfg.name,
        Image: cfg.image,
        Labels: cfg.labels,
        Hostname: host ? undefined : cfg.hostname,
        ExposedPorts: exposed,
        HostConfig: {
          NetworkMode: cfg.network,
          IpcMode: 'shareable',
          PortBindings: bindings,
          Dns: cfg.dns?.servers,
          DnsSearch: cfg.dns?.searches,
          DnsOptions: cfg.dns?.options,
          ExtraHosts: cfg.extraHosts,
          RestartPolicy: { Name: 'no' },
        },
      });
      id = c.id;
      await c.start();
    } catch (err) {
      throw wrap(err, `run sandbox ${cfg.name}`);
    }
    const info = await this.docker
      .getContainer(id)
      .inspect()
      .catch((err) => {
        throw wrap(err, `inspect sandbox ${cfg.name}`);
      });
    if (!host) await this.hairpin(cfg.name, info.State.Pid);
    if (!host && cfg.dns) await this.rewriteResolvConf(cfg.name, info.ResolvConfPath, cfg.dns);
    const nets = Object.values(info.NetworkSettings?.Networks ?? {});
    return { id, ip: nets.find((n) => n.IPAddress)?.IPAddress ?? '' };
  }

  /**
   * On a user-defined network Docker points a container's resolv.conf at
   * its own embedded server (127.0.0.11), which only forwards to the pod's
   * DNS. A pod should see the cluster DNS itself, as Kubernetes writes it
   * (dockershim did the same): the sandbox's file, which the pod's other
   * containers share, is rewritten.
   */
  private async rewriteResolvConf(
    sandbox: string,
    path: string | undefined,
    dns: NonNullable<SandboxConfig['dns']>,
  ): Promise<void> {
    if (!path) return;
    try {
      await writeFile(path, resolvConf(dns));
    } catch (err) {
      this.logger?.warn({ sandbox, err: (err as Error).message }, 'could not write the pod resolv.conf');
    }
  }

  /**
   * Hairpin mode on the sandbox's bridge port, so the pod can reach itself
   * through its own Service (see hairpin.ts). A pod without it works but for
   * that one path, so a failure is logged, not thrown.
   */
  private async hairpin(sandbox: string, pid: number): Promise<void> {
    try {
      const port = await enableHairpin(pid, this.hairpinPaths);
      this.logger?.debug({ sandbox, ...port }, 'hairpin mode on');
    } catch (err) {
      this.logger?.warn({ sandbox, err: (err as Error).message }, 'could not turn hairpin mode on');
    }
  }

  async createContainer(cfg: ContainerConfig): Promise<string> {
    const ns = `container:${cfg.sandboxId}`;
    const cpuPeriod = 100_000;
    try {
      const c = await this.docker.createContainer({
        name: cfg.name,
        Image: cfg.image,
        Labels: cfg.labels,
        Entrypoint: cfg.command,
        Cmd: cfg.args ?? (cfg.command ? [] : undefined),
        WorkingDir: cfg.workingDir,
        Env: cfg.env,
        User: cfg.user,
        Tty: cfg.tty ?? false,
        OpenStdin: cfg.stdin ?? false,
        StdinOnce: cfg.stdinOnce ?? false,
        HostConfig: {
          NetworkMode: ns,
          IpcMode: ns,
          PidMode: cfg.pidTargetId ? `container:${cfg.pidTargetId}` : cfg.sharePid ? ns : undefined,
          Binds: cfg.mounts.map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ':ro' : ''}`),
          Memory: cfg.memoryBytes,
          // No swap beyond the limit, so the limit means what it says.
          MemorySwap: cfg.memoryBytes,
          CpuPeriod: cfg.cpuLimitMilli ? cpuPeriod : undefined,
          CpuQuota: cfg.cpuLimitMilli ? Math.max(1000, (cfg.cpuLimitMilli * cpuPeriod) / 1000) : undefined,
          // Kubernetes: shares = milli * 1024 / 1000, at least 2.
          CpuShares: Math.max(2, Math.floor(((cfg.cpuRequestMilli ?? 0) * 1024) / 1000)),
          GroupAdd: cfg.groupAdd,
          Privileged: cfg.privileged ?? false,
          CapAdd: cfg.capAdd,
          CapDrop: cfg.capDrop,
          ReadonlyRootfs: cfg.readOnlyRootfs ?? false,
          RestartPolicy: { Name: 'no' },
        },
      });
      return c.id;
    } catch (err) {
      throw wrap(err, `create container ${cfg.name}`);
    }
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      if (dockerStatus(err) !== 304) throw wrap(err, `start container ${id.slice(0, 12)}`);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number, signal?: string): Promise<void> {
    const c = this.docker.getContainer(id);
    try {
      if (signal && signal !== 'SIGTERM') {
        await c.kill({ signal });
        const waited = c.wait();
        const timer = new Promise((r) => setTimeout(r, timeoutSeconds * 1000));
        if ((await Promise.race([waited.then(() => 'done'), timer])) === 'done') return;
      }
      await c.stop({ t: Math.max(0, Math.ceil(timeoutSeconds)) });
    } catch (err) {
      // 304: not running; 404: gone; 409: not running any more. All mean stopped.
      const code = dockerStatus(err);
      if (code !== 304 && code !== 404 && code !== 409) throw wrap(err, `stop container ${id.slice(0, 12)}`);
    }
  }

  removeContainer(id: string): Promise<void> {
    return removeContainer(this.docker, id);
  }

  async inspectContainer(id: string, { awaitOomEvent = true } = {}): Promise<ContainerInfo> {
    let i = await this.inspect(id);
    // The engine learns of an OOM kill from an event that can arrive after the exit it
    // caused: a limited container just killed by SIGKILL is asked again once the event
    // has had time to land, so its status says OOMKilled and not a bare Error.
    // Asked again every 250 ms until the flag is there or the window after the exit has
    // passed (on a loaded machine the event has come over a second late).
    const deadline = Date.parse(i.State.FinishedAt) + OOM_EVENT_SETTLE_MS;
    while (
      awaitOomEvent &&
      i.State.Status === 'exited' &&
      i.State.ExitCode === 137 &&
      !i.State.OOMKilled &&
      (i.HostConfig?.Memory ?? 0) > 0 &&
      Date.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, Math.min(250, Math.max(0, deadline - Date.now()))));
      i = await this.inspect(id);
    }
    const nets = Object.values(i.NetworkSettings?.Networks ?? {});
    return {
      id: i.Id,
      name: i.Name.replace(/^\//, ''),
      labels: i.Config.Labels ?? {},
      // A container the engine failed to start stays "created" with an error: it is dead.
      state: i.State.Status === 'created' && i.State.Error ? 'exited' : (states[i.State.Status] ?? 'unknown'),
      createdAt: i.Created,
      image: i.Config.Image,
      imageId: i.Image,
      startedAt: i.State.StartedAt && i.State.StartedAt !== zeroTime ? i.State.StartedAt : undefined,
      finishedAt: i.State.FinishedAt && i.State.FinishedAt !== zeroTime ? i.State.FinishedAt : undefined,
      exitCode: i.State.ExitCode,
      oomKilled: i.State.OOMKilled,
      error: i.State.Error || undefined,
      ip: nets.find((n) => n.IPAddress)?.IPAddress,
    };
  }

  private async inspect(id: string): Promise<Docker.ContainerInspectInfo> {
    try {
      return await this.docker.getContainer(id).inspect();
    } catch (err) {
      throw wrap(err, `inspect container ${id.slice(0, 12)}`);
    }
  }

  async listContainers(labels: Record<string, string>): Promise<ContainerSummary[]> {
    const label = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
    const list = await this.docker.listContainers({ all: true, filters: { label } });
    return list.map((c) => ({
      id: c.Id,
      name: (c.Names[0] ?? '').replace(/^\//, ''),
      labels: c.Labels ?? {},
      state: states[c.State] ?? 'unknown',
      createdAt: new Date(c.Created * 1000).toISOString(),
    }));
  }

  async logs(id: string, opts: LogOptions): Promise<Readable> {
    const c = this.docker.getContainer(id);
    let tty = false;
    try {
      tty = (await c.inspect()).Config.Tty;
    } catch (err) {
      throw wrap(err, `logs of container ${id.slice(0, 12)}`);
    }
    const base: Docker.ContainerLogsOptions = {
      stdout: true,
      stderr: true,
      timestamps: opts.timestamps ?? false,
      // Docker takes "all" too, but its types say number; omitted means all.
      ...(opts.tailLines !== undefined ? { tail: opts.tailLines } : {}),
      since: opts.since ?? 0,
    };
    const out = new PassThrough();
    if (opts.follow) {
      const stream = (await c.logs({ ...base, follow: true })) as unknown as Readable;
      const onAbort = () => stream.destroy();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('close', () => opts.signal?.removeEventListener('abort', onAbort));
      out.on('close', () => stream.destroy());
      if (tty) stream.pipe(out);
      else demuxDockerStream(stream, out, out);
      return out;
    }
    const buf = (await c.logs({ ...base, follow: false })) as unknown as Buffer;
    if (tty) out.end(buf);
    else {
      const src = new PassThrough();
      demuxDockerStream(src, out, out);
      src.end(buf);
    }
    return out;
  }

  exec(id: string, command: string[], opts: { timeoutMs: number; maxOutput?: number }): Promise<ExecResult> {
    return execOnce(this.docker, id, command, opts).catch((err) => {
      throw wrap(err, `exec in container ${id.slice(0, 12)}`);
    });
  }

  execStream(id: string, command: string[], opts: StreamOptions): Promise<ExecSession> {
    return execSession(this.docker, id, command, opts).catch((err) => {
      throw wrap(err, `exec in container ${id.slice(0, 12)}`);
    });
  }

  attachStream(id: string, opts: StreamOptions): Promise<ExecSession> {
    return attachSession(this.docker, id, opts).catch((err) => {
      throw wrap(err, `attach to container ${id.slice(0, 12)}`);
    });
  }

  async imagePresent(image: string): Promise<{ id: string } | undefined> {
    try {
      const i = await this.docker.getImage(image).inspect();
      return { id: i.Id };
    } catch (err) {
      if (dockerStatus(err) === 404) return undefined;
      throw wrap(err, `inspect image ${image}`);
    }
  }

  async pullImage(image: string, signal?: AbortSignal): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image, { abortSignal: signal });
    } catch (err) {
      throw wrap(err, `pull ${image}`);
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
        const failed = err?.message ?? events?.find((e) => e.error)?.error;
        if (failed) reject(new Error(`pull ${image}: ${failed}`));
        else resolve();
      });
    });
  }

  async stats(id: string): Promise<ContainerStats> {
    let s: Docker.ContainerStats;
    try {
      s = await this.docker.getContainer(id).stats({ stream: false });
    } catch (err) {
      throw wrap(err, `stats of container ${id.slice(0, 12)}`);
    }
    const mem = s.memory_stats ?? ({} as Docker.ContainerStats['memory_stats']);
    // The working set, as the kubelet counts it: usage less inactive file pages.
    const memStats = mem.stats as Record<string, number> | undefined;
    const inactive = memStats?.total_inactive_file ?? memStats?.inactive_file ?? 0;
    const cpu = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    const before = s.precpu_stats?.cpu_usage?.total_usage;
    const elapsedNs = (Date.parse(s.read) - Date.parse(s.preread)) * 1e6;
    return {
      cpuUsageNanos: cpu,
      cpuUsageNanoCores:
        before && elapsedNs > 0 ? Math.max(0, Math.round(((cpu - before) / elapsedNs) * 1e9)) : undefined,
      memoryWorkingSetBytes: Math.max(0, (mem.usage ?? 0) - inactive),
      memoryUsageBytes: mem.usage ?? 0,
      timestamp: s.read,
    };
  }
}

/** A resolv.conf as Kubernetes writes it for a pod. */
export function resolvConf(dns: { servers?: string[]; searches?: string[]; options?: string[] }): string {
  const lines: string[] = [];
  if (dns.searches?.length) lines.push(`search ${dns.searches.join(' ')}`);
  for (const s of dns.servers ?? []) lines.push(`nameserver ${s}`);
  if (dns.options?.length) lines.push(`options ${dns.options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
