/**
 * The websocket channel protocols of exec and attach, as Kubernetes'
 * wsstream and remotecommand serve them: every message is one channel and a
 * payload, and the negotiated subprotocol says how they are written.
 *
 * | subprotocol               | frames                              | status (channel 3)       | close (255) |
 * |---------------------------|-------------------------------------|--------------------------|-------------|
 * | v5.channel.k8s.io         | binary: channel byte, payload       | Status JSON              | yes         |
 * | v4.channel.k8s.io         | binary                              | Status JSON              | no          |
 * | v4.base64.channel.k8s.io  | text: '0'+channel, base64 payload   | Status JSON              | no          |
 * | channel.k8s.io, none      | binary                              | a failure's message only | no          |
 * | base64.channel.k8s.io     | text                                | a failure's message only | no          |
 *
 * Clients offer several; the first one offered that is served wins, as in
 * wsstream's handshake. Frames read from a client may be text or binary
 * whatever the protocol (the Python client writes text frames). In v5, the
 * message [255, channel] half-closes that channel: for stdin, the process
 * reads end of file.
 */

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;
const closeSignal = 255;

/**
 * The largest message a client may send on a stream (exec, attach,
 * port-forward): Kubernetes' websocket server's 32 MiB. A larger one closes
 * that connection with 1009, before it is buffered whole.
 */
export const maxFrameBytes = 32 * 1024 * 1024;

export interface ChannelProtocol {
  /** The subprotocol's name; '' when the client offered none. */
  name: string;
  base64: boolean;
  /** v4 and later: the status channel carries a Status object as JSON. */
  statusJSON: boolean;
  /** v5: [255, channel] half-closes a channel. */
  closeSignal: boolean;
}

const served: ChannelProtocol[] = [
  { name: 'v5.channel.k8s.io', base64: false, statusJSON: true, closeSignal: true },
  { name: 'v4.channel.k8s.io', base64: false, statusJSON: true, closeSignal: false },
  { name: 'v4.base64.channel.k8s.io', base64: true, statusJSON: true, closeSignal: false },
  { name: 'channel.k8s.io', base64: false, statusJSON: false, closeSignal: false },
  { name: 'base64.channel.k8s.io', base64: true, statusJSON: false, closeSignal: false },
];
const none: ChannelProtocol = { name: '', base64: false, statusJSON: false, closeSignal: false };

export const servedProtocols: readonly string[] = served.map((p) => p.name);

/** The protocol for the offered subprotocols (in the client's order); undefined when none is served. */
export function negotiate(offered: Iterable<string>): ChannelProtocol | undefined {
  const list = [...offered].filter(Boolean);
  if (list.length === 0) return none;
  for (const name of list) {
    const p = served.find((s) => s.name === name);
    if (p) return p;
  }
  return undefined;
}

export function protocolNamed(name: string): ChannelProtocol {
  return served.find((p) => p.name === name) ?? none;
}

/** What one message from the client asks: data for a channel, or (v5) the close of one. */
export type ClientFrame = { channel: number; data: Buffer } | { close: number };

/** Reads a client's message; undefined for an empty one. */
export function decodeFrame(p: ChannelProtocol, message: Buffer): ClientFrame | undefined {
  if (message.length === 0) return undefined;
  if (p.closeSignal && message[0] === closeSignal) return { close: message[1] };
  if (p.base64)
    return {
      channel: message[0] - 0x30,
      data: Buffer.from(message.subarray(1).toString('latin1'), 'base64'),
    };
  return { channel: message[0], data: message.subarray(1) };
}

/** A message to the client: binary, or text in the base64 protocols. */
export function encodeFrame(p: ChannelProtocol, channel: number, data: Buffer): Buffer | string {
  if (p.base64) return String.fromCharCode(0x30 + channel) + data.toString('base64');
  return Buffer.concat([Buffer.from([channel]), data]);
}

/** The final Status of a session (metav1.Status). */
export interface StreamStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason: string; message: string }[] };
}

/**
 * What the status channel says at the end: the Status as JSON from v4 on;
 * before v4, nothing for success and the message of a failure.
 */
export function statusPayload(
  p: Pick<ChannelProtocol, 'statusJSON'>,
  status: StreamStatus,
): Buffer | undefined {
  if (p.statusJSON) return Buffer.from(JSON.stringify(status));
  if (status.status === 'Success') return undefined;
  return Buffer.from(status.message ?? 'error');
}
