/**
 * The DNS server: UDP and TCP on one address, cluster names answered from
 * the caches (records.ts), every other name forwarded to the upstream
 * resolvers and the reply relayed as is.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import * as packet from 'dns-packet';
import type { Logger } from 'pino';
import { Counter, type Registry as MetricsRegistry } from 'prom-client';
import { type Lookup, resolve } from './records.js';

/** dns-packet carries the response code in the low four bits of flags. */
const rcodes = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export interface DnsServerOptions {
  host: string;
  port: number;
  zone: string;
  lookup: Lookup;
  /** host:port of resolvers for names outside the zone. */
  upstreams: { host: string; port: number }[];
  logger: Logger;
  metrics: MetricsRegistry;
}

export class DnsServer {
  private udp?: dgram.Socket;
  private tcp?: net.Server;
  private readonly requests: Counter;
  /** The bound UDP/TCP port (useful when `port` is 0). */
  port = 0;

  constructor(private readonly o: DnsServerOptions) {
    this.requests = new Counter({
      name: 'dns_requests_total',
      help: 'DNS queries by result.',
      labelNames: ['zone', 'rcode'],
      registers: [o.metrics],
    });
  }

  /** Answers one query message; resolves to the reply bytes. */
  async answer(msg: Buffer): Promise<Buffer> {
    let q: packet.Packet;
    try {
      q = packet.decode(msg);
    } catch {
      return Buffer.alloc(0);
    }
    const question = q.questions?.[0];
    if (!question)
      return packet.encode({
        id: q.id,
        type: 'response',
        flags: rcodes.FORMERR,
      } as never);
    const name = question.name.toLowerCase();
    if (name === this.o.zone || name.endsWith(`.${this.o.zone}`)) {
      const r = resolve(question.name, question.type, this.o.zone, this.o.lookup);
      this.requests.inc({ zone: 'cluster', rcode: r.rcode });
      return packet.encode({
        id: q.id,
        type: 'response',
        flags:
          packet.AUTHORITATIVE_ANSWER |
          ((q.flags ?? 0) & packet.RECURSION_DESIRED) |
          packet.RECURSION_AVAILABLE |
          rcodes[r.rcode],
        questions: [question],
        answers: r.answers.map((a) => ({
          name: a.name,
          type: a.type,
          ttl: a.ttl,
          class: 'IN',
          data: a.data,
        })),
      } as never);
    }
    this.requests.inc({ zone: 'forward', rcode: 'forwarded' });
    return this.forward(msg, q.id ?? 0);
  }

  private async forward(msg: Buffer, id: number): Promise<Buffer> {
    for (const up of this.o.upstreams) {
      const reply = await new Promise<Buffer | undefined>((resolve) => {
        const sock = dgram.createSocket('udp4');
        const t = setTimeout(() => {
          sock.close();
          resolve(undefined);
        }, 2000);
        sock.on('message', (m) => {
          clearTimeout(t);
          sock.close();
          resolve(m);
        });
        sock.on('error', () => {
          clearTimeout(t);
          sock.close();
          resolve(undefined);
        });
        sock.send(msg, up.port, up.host);
      });
      if (reply) return reply;
    }
    return packet.encode({
      id,
      type: 'response',
      flags: packet.RECURSION_AVAILABLE | rcodes.SERVFAIL,
    } as never);
  }

  async listen(): Promise<void> {
    this.udp = dgram.createSocket('udp4');
    const udp = this.udp;
    udp.on('message', (msg, rinfo) => {
      this.answer(msg).then(
        (reply) => {
          if (reply.length) udp.send(reply, rinfo.port, rinfo.address);
        },
        (err) => this.o.logger.warn({ err }, 'dns query failed'),
      );
    });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.o.port, this.o.host, () => resolve());
    });
    this.port = udp.address().port;
    this.tcp = net.createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const msg = buf.subarray(2, 2 + len);
          buf = buf.subarray(2 + len);
          this.answer(Buffer.from(msg)).then(
            (reply) => {
              const head = Buffer.alloc(2);
              head.writeUInt16BE(reply.length);
              sock.write(Buffer.concat([head, reply]));
            },
            () => sock.destroy(),
          );
        }
      });
      sock.on('error', () => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.tcp!.once('error', reject);
      this.tcp!.listen(this.port, this.o.host, () => resolve());
    });
  }

  close(): void {
    this.udp?.close();
    this.tcp?.close();
  }
}
