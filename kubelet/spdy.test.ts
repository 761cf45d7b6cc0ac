import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  headerDictionary,
  SpdyConnection,
  type SpdyStream,
} from './spdy.js';

const opened: SpdyConnection[] = [];
afterEach(() => {
  for (const c of opened.splice(0)) c.close();
});

/** A client and a server connection joined by a real loopback TCP socket. */
async function pair(): Promise<{ client: SpdyConnection; server: SpdyConnection; clientSocket: net.Socket }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const server = new SpdyConnection(await accepted, 'server');
  srv.close();
  const client = new SpdyConnection(sock, 'client');
  opened.push(client, server);
  return { client, server, clientSocket: sock };
}

function readAll(s: SpdyStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
  });
}

describe('spdy', () => {
  it('uses the SPDY/3 header dictionary, byte for byte', () => {
    expect(headerDictionary.length).toBe(1423);
    expect(createHash('sha256').update(headerDictionary).digest('hex')).toBe(
      '51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02',
    );
  });

  it('encodes and decodes header blocks, lowercasing names', () => {
    const block = encodeHeaderBlock({ StreamType: 'data', port: '8080', requestid: '0' });
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: 'data', port: '8080', requestid: '0' });
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow(/truncated/);
  });

  it('opens streams with compressed headers across several blocks, and carries data both ways with half-close', async () => {
    const { client, server } = await pair();
    const seen: SpdyStream[] = [];
    server.on('stream', (s) => {
      seen.push(s);
      void s.reply();
      // echo upper-cased, then FIN once the client's side is done
      readAll(s).then((text) => s.end(text.toUpperCase()));
    });
    const a = await client.open({ streamtype: 'data', port: '80', requestid: '1' });
    const b = await client.open({ streamtype: 'data', port: '81', requestid: '2' });
    expect(seen.map((s) => s.headers)).toEqual([
      { streamtype: 'data', port: '80', requestid: '1' },
      { streamtype: 'data', port: '81', requestid: '2' },
    ]);
    expect(seen.map((s) => s.id)).toEqual([1, 3]);
    const big = 'x'.repeat(200_000);
    a.end('hello');
    b.end(big);
    expect(await readAll(a)).toBe('HELLO');
    expect((await readAll(b)).length).toBe(big.length);
  });

  it('a reset on one side destroys the stream on the other', async () => {
    const { client, server } = await pair();
    const got = new Promise<SpdyStream>((r) =>
      server.on('stream', (s) => {
        void s.reply();
        r(s);
      }),
    );
    const s = await client.open({ streamtype: 'error' });
    const remote = await got;
    const closed = new Promise((r) => remote.on('close', r));
    s.reset();
    await closed;
    expect(remote.destroyed).toBe(true);
  });

  it('answers pings both ways and closes when the transport ends', async () => {
    const { client, server } = await pair();
    await client.ping();
    await server.ping();
    const closed = new Promise((r) => server.on('close', () => r(true)));
    client.close();
    expect(await closed).toBe(true);
  });

  it('flow control: a stream nobody reads stops the transport being read, so neither side buffers what is sent; all arrives once it is read', async () => {
    const { client, server, clientSocket } = await pair();
    const got = new Promise<SpdyStream>((r) =>
      server.on('stream', (s) => {
        void s.reply();
        r(s);
      }),
    );
    const s = await client.open({ streamtype: 'data', port: '80', requestid: '1' });
    const remote = await got;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const total = 128 * chunk.length; // 32 MiB
    for (let i = 0; i < 128; i++) s.write(chunk);
    s.end();
    await new Promise((r) => setTimeout(r, 500));
    // Loopback socket buffers hold a few MiB; the rest waits in the writer's own stream.
    expect(remote.readableLength).toBeLessThan(4 * 1024 * 1024);
    expect(clientSocket.writableLength).toBeLessThan(4 * 1024 * 1024);
    expect(s.writableLength).toBeGreaterThan(16 * 1024 * 1024);
    expect((await readAll(remote)).length).toBe(total);
  });
});

describe('spdy from a hostile peer', () => {
  it('keeps header names as data: __proto__ is a header, not a prototype', () => {
    const block = encodeHeaderBlock(JSON.parse('{"__proto__":"x","constructor":"y","streamtype":"data"}'));
    const h = decodeHeaderBlock(block);
    expect(Object.getPrototypeOf(h)).toBeNull();
    expect(Object.keys(h).sort()).toEqual(['__proto__', 'constructor', 'streamtype']);
    expect(Object.getOwnPropertyDescriptor(h, '__proto__')?.value).toBe('x');
  });

  it('closes a connection whose header block inflates past 1 MiB (a zlib bomb), without holding it', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
    const sock = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
    const server = new SpdyConnection(await accepted, 'server');
    srv.close();
    opened.push(server);
    const errors: Error[] = [];
    server.on('error', (e) => errors.push(e));
    const streams: SpdyStream[] = [];
    server.on('stream', (s) => streams.push(s));
    // 64 MiB of zeros compress to about 64 KiB: one SYN_STREAM whose headers are all of it.
    const { deflateSync, constants } = await import('node:zlib');
    const bomb = deflateSync(Buffer.alloc(64 << 20), {
      dictionary: headerDictionary,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]), bomb]);
    const head = Buffer.alloc(8);
    head.writeUInt16BE(0x8003, 0);
    head.writeUInt16BE(1, 2);
    head.writeUInt32BE(payload.length, 4);
    sock.write(Buffer.concat([head, payload]));
    const closed = await new Promise<boolean>((resolve) => {
      sock.on('close', () => resolve(true));
      sock.on('error', () => resolve(true));
      setTimeout(() => resolve(false), 10_000);
    });
    expect(closed).toBe(true);
    expect(streams).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/header block .*1 MiB/)]);
    sock.destroy();
  });
});
