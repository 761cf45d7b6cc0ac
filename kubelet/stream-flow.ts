/**
 * Flow control for the kubelet's streams (exec, attach, port-forward), as
 * Kubernetes' blocking pipes give it to its stream servers: nothing is read
 * faster than it can be written, so the kubelet's memory never grows with
 * what a client sends or a process writes.
 *
 * Into the pod, InboundQueue: a client's messages on their way into a
 * process's stdin or a pod's socket. A message is handed on only when the
 * taker can take it, and meanwhile the client's connection is not read.
 *
 * - Before `start` (the process is not there yet) and while the taker is
 *   full (its handler returned a promise, for 'drain'), the source is paused.
 * - Messages that arrive anyway (those already read off the socket) are held
 *   and handed on in order. Held bytes are bounded: one message of any size
 *   the protocol allows, or several up to `maxHeldBytes`; past that the
 *   queue stops taking messages and calls `onOverflow`, which should end the
 *   session. Memory never grows with what a client sends.
 */

/** What is read from: a websocket (ws's pause and resume stop reading its socket). */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Hands one message on; returns a promise when the taker is full, which
 * settles when it can take more.
 */
export type InboundHandler = (message: Buffer) => Promise<void> | undefined;

export interface InboundQueueOptions {
  source: Pausable;
  maxHeldBytes: number;
  onOverflow: (heldBytes: number) => void;
}

/** What Kubernetes' streams would not buffer either: a few MiB held before a session is up. */
export const maxHeldBytes = 4 * 1024 * 1024;

export class InboundQueue {
  private readonly held: Buffer[] = [];
  private heldBytes = 0;
  private handler: InboundHandler | undefined;
  private blocked = false;
  private overflowed = false;

  constructor(private readonly o: InboundQueueOptions) {
    if (!(o.maxHeldBytes > 0))
      throw new Error(`InboundQueue: maxHeldBytes must be positive, got ${o.maxHeldBytes}`);
  }

  /** Pauses the source until `start`: call it before the first message can arrive. */
  hold(): void {
    this.o.source.pause();
  }

  /** One message from the client. */
  push(message: Buffer): void {
    if (this.overflowed) return;
    if (this.handler && !this.blocked && this.held.length === 0) {
      this.deliver(message);
      return;
    }
    this.held.push(message);
    this.heldBytes += message.length;
    if (this.held.length > 1 && this.heldBytes > this.o.maxHeldBytes) {
      this.overflowed = true;
      const bytes = this.heldBytes;
      this.held.length = 0;
      this.heldBytes = 0;
      this.o.onOverflow(bytes);
      return;
    }
    this.o.source.pause();
  }

  /** The taker is there: held messages go first, then the source is read again. */
  start(handler: InboundHandler): void {
    this.handler = handler;
    this.flush();
  }

  /** Bytes held now (for tests and logs). */
  get holding(): number {
    return this.heldBytes;
  }

  private deliver(message: Buffer): void {
    const full = this.handler!(message);
    if (!full) return;
    this.blocked = true;
    this.o.source.pause();
    const go = () => {
      this.blocked = false;
      this.flush();
    };
    full.then(go, go);
  }

  private flush(): void {
    while (this.held.length > 0 && !this.blocked && !this.overflowed) {
      const message = this.held.shift()!;
      this.heldBytes -= message.length;
      this.deliver(message);
    }
    if (!this.blocked && !this.overflowed) this.o.source.resume();
  }
}

/**
 * Writes to a stream as an InboundHandler does: undefined when it took the
 * chunk, or a promise that settles on 'drain' (or when the stream is gone,
 * so nothing waits for ever on a process that has exited).
 */
export function writeOrWait(target: NodeJS.WritableStream, chunk: Buffer): Promise<void> | undefined {
  if (target.write(chunk)) return undefined;
  return new Promise<void>((resolve) => {
    const done = () => {
      target.off('drain', done);
      target.off('close', done);
      target.off('error', done);
      target.off('finish', done);
      resolve();
    };
    target.on('drain', done);
    target.on('close', done);
    target.on('error', done);
    target.on('finish', done);
  });
}

/** Bytes queued for a client past which its output source is paused (ws's bufferedAmount). */
export const outboundHighWater = 1024 * 1024;

/**
 * Out of the pod: sends each chunk of `source` to the client, pausing the
 * source while more than `highWater` bytes wait to be written to a client
 * that does not read, and resuming it once what was sent has been written
 * (or could not be: a closed client's output is read and dropped, so the
 * process is not left blocked).
 */
export function forwardOutput(
  source: NodeJS.ReadableStream,
  client: { readonly bufferedAmount: number },
  /** Sends one chunk, false when the client is gone; `done` once it is written or failed. */
  send: (chunk: Buffer, done: (err?: Error) => void) => boolean,
  highWater = outboundHighWater,
): void {
  source.on('data', (chunk: Buffer) => {
    const sent = send(chunk, (err) => {
      if (source.isPaused() && (err || client.bufferedAmount <= highWater)) source.resume();
    });
    if (sent && client.bufferedAmount > highWater) source.pause();
  });
}
