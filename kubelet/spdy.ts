/**
 * SPDY/3.1 framing, as much of it as Kubernetes' streaming uses: kubectl
 * port-forward (and exec/attach of old clients) opens a SPDY connection
 * over an upgraded HTTP socket, or tunnels the same bytes in websocket
 * messages, and then opens one SPDY stream per channel, named by its
 * headers (streamtype, port, requestid). Go's spdystream, the peer, does no
 * SPDY flow control, so neither do we: WINDOW_UPDATE and SETTINGS are read
 * and ignored, PING is echoed, GOAWAY ends the connection. Like spdystream,
 * whose reader blocks on a stream nobody reads, we stop reading the
 * transport while any stream's reader is behind, and a stream's write is
 * done only when the transport has taken it: memory stays bounded.
 *
 * Frames (all big-endian):
 *   control: 1|version(15) type(16) flags(8) length(24) payload
 *   data:    0|streamId(31)          flags(8) length(24) payload
 * Header blocks are zlib streams (one per direction per connection, each
 * block ended by a sync flush) primed with the SPDY/3 dictionary.
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { writeOrWait } from './stream-flow.js';

export const FrameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

const FLAG_FIN = 0x01;
const VERSION = 3;
/** RST_STREAM status codes used here. */
export const RstStatus = { protocolError: 1, cancel: 5, internalError: 6 } as const;
const MAX_FRAME = 1 << 24;
/** The most a header block may inflate to (Kubernetes' streams send a few hundred bytes). */
const MAX_HEADER_BLOCK = 1 << 20;

// The SPDY/3 header dictionary (draft-mbelshe-httpbis-spdy-00 §2.6.10.1):
// length-prefixed header names and values, then a run of common text.
const dictionaryWords = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];
const dictionaryTail = [
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505',
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request',
  '401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented',
  '503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ',
  'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,',
  'application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=',
  'gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.',
].join('');

export const headerDictionary: Buffer = Buffer.concat([
  ...dictionaryWords.map((w) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    return Buffer.concat([len, Buffer.from(w, 'latin1')]);
  }),
  Buffer.from(dictionaryTail, 'latin1'),
]);

export type SpdyHeaders = Record<string, string>;

/** A header block, uncompressed: count, then (name, value) pairs, each length-prefixed. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  // The peer's names are data: `__proto__` must stay a key.
  const headers: SpdyHeaders = Object.create(null);
  let off = 0;
  const need = (n: number) => {
    if (off + n > block.length) throw new Error('header block truncated');
  };
  need(4);
  const count = block.readUInt32BE(off);
  off += 4;
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = block.readUInt32BE(off);
    off += 4;
    need(nl);
    const name = block.subarray(off, off + nl).toString('utf8');
    off += nl;
    need(4);
    const vl = block.readUInt32BE(off);
    off += 4;
    need(vl);
    // Several values of one name are joined by NUL; the first is what streaming headers need.
    headers[name] = block
      .subarray(off, off + vl)
      .toString('utf8')
      .split('\0')[0];
    off += vl;
  }
  return headers;
}

/**
 * One direction's zlib context. Header blocks must be handled in frame
 * order, since each continues the same stream; the connection's frame
 * loop awaits each one before reading the next frame.
 */
class HeaderCodec {
  private readonly z: zlib.Inflate | zlib.Deflate;
  private out: Buffer[] = [];
  private outBytes = 0;

  constructor(kind: 'inflate' | 'deflate') {
    this.z =
      kind === 'inflate'
        ? zlib.createInflate({ dictionary: headerDictionary })
        : zlib.createDeflate({ dictionary: headerDictionary });
    this.z.on('data', (d: Buffer) => {
      this.outBytes += d.length;
      // A few hundred bytes of headers are all streaming sends; a peer's zlib bomb stops here.
      if (this.outBytes > MAX_HEADER_BLOCK)
        this.z.destroy(new Error(`header block over ${MAX_HEADER_BLOCK >> 20} MiB`));
      else this.out.push(d);
    });
    this.z.on('error', () => {
      // surfaced through the flush callback below
    });
  }

  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.z.once('error', reject);
      this.z.write(input);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', reject);
        if (this.z.destroyed) return reject(new Error(`header block over ${MAX_HEADER_BLOCK >> 20} MiB`));
        const result = Buffer.concat(this.out);
        this.out = [];
        this.outBytes = 0;
        resolve(result);
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(payload.length, 4);
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

function dataFrame(streamId: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(payload.length, 4);
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

/** One SPDY stream: a Duplex whose writes are DATA frames and whose end is a FIN. */
export class SpdyStream extends Duplex {
  /** Set when the peer sent FIN or RST: nothing more will be read. */
  remoteClosed = false;
  private localClosed = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** Answers a stream the peer opened (SYN_REPLY); Go's client waits for it. */
  reply(headers: SpdyHeaders = {}): Promise<void> {
    return this.conn.sendReply(this.id, headers);
  }

  /** Aborts the stream both ways (RST_STREAM). */
  reset(status: number = RstStatus.cancel): void {
    if (!this.localClosed || !this.remoteClosed) this.conn.sendRst(this.id, status);
    this.localClosed = true;
    this.remoteClosed = true;
    this.conn.forget(this.id);
    this.destroy();
  }

  override _read(): void {
    // data is pushed as frames arrive; a reader catching up lets the transport be read again
    this.conn.caughtUp(this);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localClosed) {
      cb(new Error(`spdy stream ${this.id} is closed`));
      return;
    }
    let written: Promise<void> = Promise.resolve();
    for (let off = 0; off < chunk.length; off += MAX_FRAME - 1) {
      written = this.conn.writeRaw(dataFrame(this.id, 0, chunk.subarray(off, off + MAX_FRAME - 1)));
    }
    written.then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.localClosed) {
      this.localClosed = true;
      this.conn.writeRaw(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)));
      if (this.remoteClosed) this.conn.forget(this.id);
    }
    cb();
  }

  /** @internal the connection delivers DATA payloads and FIN/RST here. */
  receive(data: Buffer | null, fin: boolean): void {
    if (this.remoteClosed) return;
    if (data?.length && !this.push(data)) this.conn.behind(this);
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
      if (this.localClosed) this.conn.forget(this.id);
    }
  }

  /** @internal the peer reset the stream. */
  aborted(): void {
    this.remoteClosed = true;
    this.localClosed = true;
    this.conn.forget(this.id);
    this.destroy();
  }
}

/**
 * A SPDY/3.1 connection over any byte stream. A server accepts streams
 * ('stream' events) and replies; a client (used by tests, and ready for a
 * proxying apiserver) opens them with `open`. 'close' fires once, when the
 * transport ends or a GOAWAY arrives.
 */
export class SpdyConnection extends EventEmitter<{
  stream: [SpdyStream];
  close: [];
  error: [Error];
}> {
  private readonly streams = new Map<number, SpdyStream>();
  /** Streams whose readers are behind: while any is, the transport is not read. */
  private readonly behindStreams = new Set<SpdyStream>();
  private readonly inflate = new HeaderCodec('inflate');
  private readonly deflate = new HeaderCodec('deflate');
  private buffered: Buffer = Buffer.alloc(0);
  private frames: Promise<void> = Promise.resolve();
  private writes: Promise<void> = Promise.resolve();
  private nextId: number;
  private closed = false;
  private readonly pendingReplies = new Map<number, () => void>();
  private readonly pendingPings = new Map<number, () => void>();
  private nextPing: number;

  constructor(
    private readonly transport: Duplex,
    readonly role: 'server' | 'client',
  ) {
    super();
    this.nextId = role === 'client' ? 1 : 2;
    this.nextPing = this.nextId;
    transport.on('data', (chunk: Buffer) => this.onData(chunk));
    transport.on('end', () => this.close());
    transport.on('close', () => this.close());
    transport.on('error', (err) => {
      this.emit('error', err);
      this.close();
    });
  }

  /** Opens a stream (SYN_STREAM) and resolves once the peer replies. */
  async open(headers: SpdyHeaders): Promise<SpdyStream> {
    const id = this.nextId;
    this.nextId += 2;
    const stream = new SpdyStream(this, id, headers);
    this.streams.set(id, stream);
    const replied = new Promise<void>((resolve) => this.pendingReplies.set(id, resolve));
    await this.sendHeaders(id, headers, (block) => {
      const head = Buffer.alloc(10);
      head.writeUInt32BE(id, 0);
      head.writeUInt32BE(0, 4);
      return controlFrame(FrameType.synStream, 0, Buffer.concat([head, block]));
    });
    await replied;
    return stream;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.nextPing;
    this.nextPing += 2;
    const p = Buffer.alloc(4);
    p.writeUInt32BE(id);
    const echoed = new Promise<void>((resolve) => this.pendingPings.set(id, resolve));
    this.writeRaw(controlFrame(FrameType.ping, 0, p));
    return echoed;
  }

  /** Ends every stream and the transport. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.aborted();
    this.streams.clear();
    for (const resolve of [...this.pendingReplies.values(), ...this.pendingPings.values()]) resolve();
    this.inflate.close();
    this.deflate.close();
    this.transport.destroy();
    this.emit('close');
  }

  /** @internal Resolves once the transport has taken the frame (after 'drain' when it was full). */
  writeRaw(frame: Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Keep frame order behind header blocks still being compressed, and behind a full transport.
    const done = this.writes.then(() => (this.closed ? undefined : writeOrWait(this.transport, frame)));
    this.writes = done;
    return done;
  }

  /** @internal A stream's reader is behind: stop reading the transport. */
  behind(stream: SpdyStream): void {
    this.behindStreams.add(stream);
    this.transport.pause();
  }

  /** @internal A stream's reader wants more (or the stream is gone). */
  caughtUp(stream: SpdyStream): void {
    if (this.behindStreams.delete(stream) && this.behindStreams.size === 0 && !this.closed)
      this.transport.resume();
  }

  /** @internal */
  forget(id: number): void {
    const stream = this.streams.get(id);
    this.streams.delete(id);
    if (stream) this.caughtUp(stream);
  }

  /** @internal */
  sendReply(id: number, headers: SpdyHeaders): Promise<void> {
    return this.sendHeaders(id, headers, (block) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(id, 0);
      return controlFrame(FrameType.synReply, 0, Buffer.concat([head, block]));
    });
  }

  /** @internal */
  sendRst(id: number, status: number): void {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(id & 0x7fffffff, 0);
    p.writeUInt32BE(status, 4);
    this.writeRaw(controlFrame(FrameType.rstStream, 0, p));
  }

  private sendHeaders(id: number, headers: SpdyHeaders, frame: (block: Buffer) => Buffer): Promise<void> {
    const done = this.writes.then(async () => {
      if (this.closed) return;
      const block = await this.deflate.run(encodeHeaderBlock(headers));
      if (!this.closed && (id === 0 || this.streams.has(id))) this.transport.write(frame(block));
    });
    this.writes = done.catch(() => undefined);
    return done;
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (this.buffered.length < 8 + length) break;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.frames = this.frames
        .then(() => this.handleFrame(frame))
        .catch((err: Error) => {
          this.emit('error', err);
          this.close();
        });
    }
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.closed) return;
    const flags = frame[4];
    const payload = frame.subarray(8);
    if ((frame[0] & 0x80) === 0) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      const stream = this.streams.get(id);
      if (stream) stream.receive(payload, (flags & FLAG_FIN) !== 0);
      else this.sendRst(id, RstStatus.protocolError);
      return;
    }
    const version = frame.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
    const type = frame.readUInt16BE(2);
    switch (type) {
      case FrameType.synStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.run(payload.subarray(10)));
        const stream = new SpdyStream(this, id, headers);
        this.streams.set(id, stream);
        if (flags & FLAG_FIN) stream.receive(null, true);
        this.emit('stream', stream);
        return;
      }
      case FrameType.synReply: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        await this.inflate.run(payload.subarray(4));
        this.pendingReplies.get(id)?.();
        this.pendingReplies.delete(id);
        if (flags & FLAG_FIN) this.streams.get(id)?.receive(null, true);
        return;
      }
      case FrameType.headers:
        // keeps the zlib context in step; streaming headers come only with SYN_STREAM
        await this.inflate.run(payload.subarray(4));
        return;
      case FrameType.rstStream: {
        const id = payload.readUInt32BE(0) & 0x7fffffff;
        this.streams.get(id)?.aborted();
        return;
      }
      case FrameType.ping: {
        // Echo the peer's pings (odd ids come from clients); ours coming back end here.
        const pingId = payload.readUInt32BE(0);
        if ((pingId % 2 === 1) === (this.role === 'server'))
          this.writeRaw(controlFrame(FrameType.ping, 0, Buffer.from(payload)));
        else {
          this.pendingPings.get(pingId)?.();
          this.pendingPings.delete(pingId);
        }
        return;
      }
      case FrameType.goAway:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and anything newer: nothing to do without flow control
        return;
    }
  }
}
