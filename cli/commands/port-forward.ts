/**
 * `nkctl port-forward`: listens on local ports (127.0.0.1 unless --address
 * says otherwise) and carries each connection to a port of a pod over the
 * pods/portforward websocket (v4.channel.k8s.io: per port a data and an
 * error channel, each opened by the port number). TYPE/NAME picks a pod of
 * a workload or Service as kubectl does, translating a Service port to the
 * pod's target port and port names to numbers. Every local connection gets
 * its own websocket, so any number run at once; the channel protocol
 * cannot half-close, so a client that ends its side ends the connection. A
 * port the pod does not listen on fails that connection (one error line),
 * not the others; losing the pod ends the command. Runs until interrupted;
 * changes nothing.
 */
import net from 'node:net';
import { Command } from 'commander';
import type { KubeObject } from '../../api/meta.js';
import { parseDuration } from '../../base/component-main.js';
import { type CliContext, CliError, cliContext } from '../context.js';
import { type Pod, podFor } from '../pods.js';
import { type ChannelSocket, openChannels } from '../stream.js';

export interface PortForwardFlags {
  address?: string;
  podRunningTimeout?: string;
}

/** A local port (0: any free one) forwarded to a port of the pod. */
export interface PortPair {
  local: number;
  remote: number;
}

interface ServiceLike extends KubeObject {
  spec?: { ports?: { name?: string; port?: number; targetPort?: number | string }[] };
}

function portNumber(text: string, what: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > 65535)
    throw new CliError(`error parsing ${what} port '${text}': not a port number`);
  return n;
}

/** kubectl's LookupContainerPortNumberByName. */
function containerPortByName(pod: Pod, name: string): number {
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === name && p.containerPort) return p.containerPort;
  throw new CliError(`Pod '${pod.metadata.name}' does not have a named port '${name}'`);
}

/** A Service port (its number or name) and the pod port behind it, as kubectl translates them. */
function servicePort(svc: ServiceLike, pod: Pod, remote: string): { port: number; target: number } {
  const ports = svc.spec?.ports ?? [];
  let port: number;
  if (/^\d+$/.test(remote)) port = portNumber(remote, 'remote', 1);
  else {
    const named = ports.find((p) => p.name === remote);
    if (!named?.port)
      throw new CliError(`Service '${svc.metadata.name}' does not have a named port '${remote}'`);
    port = named.port;
  }
  const spec = ports.find((p) => p.port === port);
  if (!spec) throw new CliError(`Service ${svc.metadata.name} does not have a service port ${port}`);
  const target = spec.targetPort;
  if (target === undefined || target === 0 || target === '') return { port, target: port };
  if (typeof target === 'number' || /^\d+$/.test(target)) return { port, target: Number(target) };
  return { port, target: containerPortByName(pod, target) };
}

/**
 * `[LOCAL:]REMOTE` specs as ports. REMOTE is a pod port, or with `svc` a
 * Service port, by number or name; an empty LOCAL means any free port, a
 * missing one the port REMOTE names (a Service's own port, or the pod's).
 */
export function portPairs(specs: string[], pod: Pod, svc?: ServiceLike): PortPair[] {
  return specs.map((spec) => {
    const parts = spec.split(':');
    if (parts.length > 2) throw new CliError(`invalid port format '${spec}'`);
    const [localText, remoteText] = parts.length === 2 ? parts : [undefined, parts[0]];
    if (!remoteText) throw new CliError('remote port cannot be empty');
    const { port, target } = svc
      ? servicePort(svc, pod, remoteText)
      : /^\d+$/.test(remoteText)
        ? { port: portNumber(remoteText, 'remote', 1), target: Number(remoteText) }
        : { port: containerPortByName(pod, remoteText), target: containerPortByName(pod, remoteText) };
    if (localText === undefined) return { local: port, remote: target };
    return { local: localText === '' ? 0 : portNumber(localText, 'local', 0), remote: target };
  });
}

/**
 * A running port-forward: its listeners and the connections it carries.
 * `wait` resolves once `stop()` has been called, or rejects with the error
 * `stop(err)` was given when the pod could not be reached any more.
 */
class Forwarder {
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<net.Socket>();
  private lost: unknown;
  private ended = () => {};
  private readonly done = new Promise<void>((resolve) => {
    this.ended = resolve;
  });

  constructor(
    private readonly ctx: CliContext,
    private readonly pod: Pod,
    private readonly out: NodeJS.WritableStream,
    private readonly err: NodeJS.WritableStream,
  ) {}

  async listen(address: string, pair: PortPair): Promise<void> {
    const server = await listen(address, pair.local);
    this.servers.push(server);
    const local = (server.address() as net.AddressInfo).port;
    this.out.write(
      `Forwarding from ${address.includes(':') ? `[${address}]` : address}:${local} -> ${pair.remote}\n`,
    );
    server.on('connection', (conn) => {
      this.out.write(`Handling connection for ${local}\n`);
      this.conns.add(conn);
      conn.on('close', () => this.conns.delete(conn));
      void this.carry(conn, local, pair.remote);
    });
  }

  stop(err?: unknown): void {
    this.lost ??= err;
    for (const s of this.servers) s.close();
    for (const c of this.conns) c.destroy();
    this.ended();
  }

  async wait(): Promise<void> {
    await this.done;
    if (this.lost) throw this.lost;
  }

  /** Carries one local connection to `remote` on the pod over its own websocket. */
  private async carry(conn: net.Socket, local: number, remote: number): Promise<void> {
    const { namespace, name } = this.pod.metadata;
    let socket: ChannelSocket;
    try {
      socket = await openChannels(this.ctx.rest, {
        path: `/api/v1/namespaces/${encodeURIComponent(namespace!)}/pods/${encodeURIComponent(name!)}/portforward`,
        query: { ports: String(remote) },
        protocols: ['v4.channel.k8s.io'],
      });
    } catch (err) {
      conn.destroy();
      this.stop(err);
      return;
    }
    // The first message on each channel is its port number, not data.
    const opened = { data: false, error: false };
    socket.on(0, (payload) => {
      if (!opened.data) opened.data = true;
      else if (!conn.write(payload)) {
        socket.pause();
        conn.once('drain', () => socket.resume());
      }
    });
    socket.on(1, (payload) => {
      if (!opened.error) opened.error = true;
      else
        this.err.write(
          `error: an error occurred forwarding ${local} -> ${remote}: ${payload.toString().trim()}\n`,
        );
    });
    conn.on('data', (d: Buffer) => {
      conn.pause();
      socket.send(0, d, () => conn.resume());
    });
    conn.on('error', () => conn.destroy());
    conn.on('close', () => socket.close());
    await socket.closed;
    conn.end();
  }
}

function listen(address: string, port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new CliError(
          `unable to listen on ${address}:${port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`,
        ),
      ),
    );
    server.listen(port, address, () => resolve(server));
  });
}

/** Forwards until `signal` aborts (resolves) or the pod is lost (rejects). */
export async function portForward(
  ctx: CliContext,
  args: string[],
  flags: PortForwardFlags,
  signal: AbortSignal,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const [target, ...specs] = args;
  if (!target || specs.length === 0)
    throw new CliError('TYPE/NAME and list of ports are required for port-forward');
  const timeoutMs = parseDuration('--pod-running-timeout', flags.podRunningTimeout ?? '1m');
  const { pod, owner } = await podFor(ctx, target, 'attach', timeoutMs);
  const pairs = portPairs(specs, pod, owner.kind === 'Service' ? owner : undefined);
  if (pod.status?.phase !== 'Running')
    throw new CliError(
      `unable to forward port because pod is not running. Current status=${pod.status?.phase ?? 'Pending'}`,
    );
  const addresses = (flags.address ?? '127.0.0.1')
    .split(',')
    .map((a) => (a.trim() === 'localhost' ? '127.0.0.1' : a.trim()));
  const forwarder = new Forwarder(ctx, pod, out, err);
  signal.addEventListener('abort', () => forwarder.stop(), { once: true });
  try {
    for (const address of addresses) for (const pair of pairs) await forwarder.listen(address, pair);
  } catch (e) {
    forwarder.stop(e);
  }
  await forwarder.wait();
}

export function newPortForwardCommand(): Command {
  return new Command('port-forward')
    .description(
      'Forward local ports to a pod: nkctl port-forward POD|TYPE/NAME [LOCAL:]REMOTE... Runs until interrupted; changes nothing.',
    )
    .argument('<args...>', 'POD or TYPE/NAME (deploy/web, svc/web), then ports as [LOCAL:]REMOTE')
    .option('--address <addresses>', 'local addresses to listen on, comma-separated', '127.0.0.1')
    .option('--pod-running-timeout <duration>', 'how long to wait for a pod of TYPE/NAME to exist', '1m')
    .action(async (args: string[], f: PortForwardFlags, cmd: Command) => {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      await portForward(cliContext(cmd), args, f, ac.signal);
    });
}
