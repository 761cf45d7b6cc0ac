/**
 * The client half of the websocket channel protocols that the apiserver
 * serves for pods/exec, pods/attach and pods/portforward
 * (v5.channel.k8s.io, v4.channel.k8s.io; see kubelet/exec.ts and
 * kubelet/portforward.ts for the server half). Every binary message is one
 * channel byte and a payload; what a channel means is the caller's
 * business. `openChannels` upgrades on the REST client's endpoint with its
 * credentials and TLS settings; a refusal before the upgrade (pod not
 * found, container not valid) is the server's Status, thrown as a
 * StatusError, so it prints as any other API error.
 */
import type http from 'node:http';
import { WebSocket } from 'ws';
import { StatusError } from '../api/status.js';
import { type RestClient, toStatusError } from '../client/rest.js';

/** The exec and attach channels; port-forward numbers its own (2i data, 2i+1 error). */
export const ExecChannel = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4 } as const;
/** v5.channel.k8s.io: a message [255, channel] closes that channel (half-closes stdin). */
const closeChannel = 255;

export interface OpenChannelsOptions {
  path: string;
  /** Query parameters; an array repeats the parameter, as exec's `command`. */
  query: Record<string, string | string[] | boolean | undefined>;
  /** Subprotocols in order of preference. */
  protocols: string[];
}

/**
 * One upgraded connection. Messages for a channel wait until a handler is
 * set for it (the server may write before the caller has had a chance to
 * listen); `closed` resolves when the connection ends, however it ends.
 */
export class ChannelSocket {
  private readonly handlers = new Map<number, (payload: Buffer) => void>();
  private readonly waiting = new Map<number, Buffer[]>();
  readonly closed: Promise<void>;

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw: Buffer) => {
      if (raw.length === 0) return;
      const [channel, payload] = [raw[0], raw.subarray(1)];
      const handler = this.handlers.get(channel);
      if (handler) handler(payload);
      else this.waiting.set(channel, [...(this.waiting.get(channel) ?? []), payload]);
    });
    // A broken connection ends in 'close' too; the error itself adds nothing for the caller.
    ws.on('error', () => {});
    this.closed = new Promise((resolve) => ws.once('close', () => resolve()));
  }

  /** The subprotocol the server chose. */
  get protocol(): string {
    return this.ws.protocol;
  }

  on(channel: number, handler: (payload: Buffer) => void): void {
    this.handlers.set(channel, handler);
    for (const payload of this.waiting.get(channel) ?? []) handler(payload);
    this.waiting.delete(channel);
  }

  /** Sends on a channel; `sent` runs once the bytes are handed to the socket (for backpressure). */
  send(channel: number, payload: Buffer | string, sent?: () => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.ws.send(Buffer.concat([Buffer.from([channel]), data]), { binary: true }, () => sent?.());
  }

  /** Half-closes a channel where the protocol can (v5); false where it cannot. */
  closeChannel(channel: number): boolean {
    if (this.protocol !== 'v5.channel.k8s.io') return false;
    this.send(closeChannel, Buffer.from([channel]));
    return true;
  }

  /** Stops reading from the server until `resume` (the local writer is full). */
  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.close(1000);
  }
}

export function channelURL(server: string, o: Pick<OpenChannelsOptions, 'path' | 'query'>): URL {
  const url = new URL(server + o.path);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  for (const [k, v] of Object.entries(o.query)) {
    if (v === undefined || v === false) continue;
    for (const one of Array.isArray(v) ? v : [String(v)]) url.searchParams.append(k, one);
  }
  return url;
}

/** Upgrades to a channel connection, or throws the StatusError the server answered with. */
export function openChannels(rest: RestClient, o: OpenChannelsOptions): Promise<ChannelSocket> {
  const { ca, cert, key, insecureSkipTLSVerify, timeoutMs } = rest.config;
  const ws = new WebSocket(channelURL(rest.server, o), o.protocols, {
    headers: rest.identityHeaders(),
    ca,
    cert,
    key,
    rejectUnauthorized: !insecureSkipTLSVerify,
    handshakeTimeout: timeoutMs ?? 30_000,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(new ChannelSocket(ws)));
    ws.once('unexpected-response', (req: http.ClientRequest, res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        reject(
          toStatusError({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
    });
    ws.on('error', (err) =>
      reject(new StatusError(503, 'ServiceUnavailable', `cannot connect to ${rest.server}: ${err.message}`)),
    );
  });
}

interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/**
 * What the final Status of an exec means: exit code 0 for Success, the
 * command's own exit code for NonZeroExitCode, and otherwise an error
 * message (the exec itself failed).
 */
export function execOutcome(payload: Buffer | string): { exitCode: number } | { error: string } {
  let status: ExecStatus;
  try {
    status = JSON.parse(payload.toString());
  } catch {
    return { error: `the server sent an exec status that is not JSON: ${payload.toString()}` };
  }
  if (status.status === 'Success') return { exitCode: 0 };
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code) && code > 0) return { exitCode: code };
  }
  return { error: status.message || 'the command failed' };
}

/**
 * Ends the process quietly when the reader of `out` goes away (`nkctl logs
 * -f | head`), as a Unix tool does, instead of failing on EPIPE.
 */
export function exitWhenReaderCloses(out: NodeJS.WriteStream = process.stdout): void {
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') process.stderr.write(`error: writing the output: ${err.message}\n`);
    process.exit(err.code === 'EPIPE' ? 0 : 1);
  });
}
