// The outbox between the watch cache and one watcher's socket: lines go out
// in order and only as fast as the socket takes them; what waits is bounded
// in events and bytes, and a watcher that falls further behind is cut off
// (once), as Kubernetes' cacher terminates a watcher whose channel is full.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { type PendingLine, WatchOutbox } from './watch.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A socket whose client reads only when told to: each write is held until `read()`. */
function client(highWaterMark = 64) {
  const held: (() => void)[] = [];
  const got: string[] = [];
  const out = new Writable({
    highWaterMark,
    decodeStrings: false,
    write(chunk, _enc, cb) {
      got.push(String(chunk));
      held.push(cb);
    },
  });
  return {
    out,
    got,
    /** Reads all the socket holds now. */
    read() {
      while (held.length) held.shift()!();
    },
    /** Reads until nothing more comes (bounded). */
    async readAll() {
      for (let i = 0; i < 10_000; i++) {
        this.read();
        await tick();
        if (held.length === 0) return;
      }
      throw new Error('the outbox kept writing');
    },
  };
}

const line = (s: string) => ({ bytes: s.length, render: () => `${s}\n` });

function outbox(c: ReturnType<typeof client>, o: { maxEvents?: number; maxBytes?: number } = {}) {
  const overflows: { events: number; bytes: number }[] = [];
  const box = new WatchOutbox({
    out: c.out,
    maxEvents: o.maxEvents ?? 10,
    maxBytes: o.maxBytes ?? 1 << 20,
    onOverflow: (p) => overflows.push(p),
  });
  return { box, overflows };
}

describe('WatchOutbox', () => {
  it('passes lines straight to a socket that keeps up, however many', async () => {
    const c = client();
    const { box, overflows } = outbox(c, { maxEvents: 3, maxBytes: 100 });
    for (let i = 0; i < 500; i++) {
      box.push(line(`event-${i}`));
      c.read();
      await tick();
    }
    await c.readAll();
    expect(overflows).toEqual([]);
    expect(c.got.join('')).toBe(Array.from({ length: 500 }, (_, i) => `event-${i}\n`).join(''));
  });

  it('cuts off a watcher that stops reading once more than maxEvents wait, once, and writes no more', async () => {
    const c = client(16);
    const { box, overflows } = outbox(c, { maxEvents: 5 });
    for (let i = 0; i < 100; i++) box.push(line(`e${i}`));
    expect(overflows).toHaveLength(1);
    expect(overflows[0].events).toBe(6);
    expect(box.closed).toBe(true);
    await c.readAll();
    // The socket got its high-water mark's worth, in order; the rest was dropped.
    const written = c.got.length;
    expect(written).toBeLessThan(20);
    expect(c.got).toEqual(Array.from({ length: written }, (_, i) => `e${i}\n`));
    box.push(line('later'));
    await c.readAll();
    expect(c.got.length).toBe(written);
  });

  it('cuts off a watcher once the bytes waiting pass maxBytes', () => {
    const c = client(16);
    const { box, overflows } = outbox(c, { maxEvents: 1000, maxBytes: 10_000 });
    const big = 'x'.repeat(3000);
    for (let i = 0; i < 10 && !box.closed; i++) box.push(line(big));
    expect(overflows).toHaveLength(1);
    expect(overflows[0].bytes).toBeGreaterThan(10_000);
    expect(overflows[0].events).toBeLessThan(6);
  });

  it('bounds what waits, not what passes: a client that catches up is never cut off', async () => {
    const c = client(16);
    const { box, overflows } = outbox(c, { maxEvents: 5 });
    for (let round = 0; round < 20; round++) {
      // A burst the bound holds, then the client reads it all.
      for (let i = 0; i < 5; i++) box.push(line(`r${round}-${i}`));
      await c.readAll();
    }
    expect(overflows).toEqual([]);
    expect(c.got).toHaveLength(100);
    expect(c.got[99]).toBe('r19-4\n');
  });

  it('sends the initial lines first and at the pace of the socket, outside the bound', async () => {
    const c = client(64);
    const { box, overflows } = outbox(c, { maxEvents: 3 });
    const initial = Array.from({ length: 10_000 }, (_, i) => line(`init-${i}`));
    let rendered = 0;
    const counted = (l: PendingLine): PendingLine => ({
      bytes: l.bytes,
      render: () => {
        rendered++;
        return l.render();
      },
    });
    box.start(initial.map(counted));
    // Only what fits under the socket's high-water mark was rendered and written.
    expect(rendered).toBeLessThan(20);
    box.push(line('live-0'));
    box.push(line('live-1'));
    await c.readAll();
    expect(overflows).toEqual([]);
    expect(c.got).toHaveLength(10_002);
    expect(c.got[9_999]).toBe('init-9999\n');
    expect(c.got.slice(10_000)).toEqual(['live-0\n', 'live-1\n']);
  });

  it('close drops what waits and writes nothing more', async () => {
    const c = client(16);
    const { box, overflows } = outbox(c, { maxEvents: 100 });
    for (let i = 0; i < 50; i++) box.push(line(`e${i}`));
    expect(box.idle).toBe(false);
    box.close();
    await c.readAll();
    const written = c.got.length;
    expect(written).toBeLessThan(20);
    box.push(line('after'));
    await c.readAll();
    expect(c.got.length).toBe(written);
    expect(overflows).toEqual([]);
  });

  it('is idle when nothing waits', async () => {
    const c = client(16);
    const { box } = outbox(c);
    expect(box.idle).toBe(true);
    box.push(line('a'));
    box.push(line('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'));
    box.push(line('c'));
    expect(box.idle).toBe(false);
    await c.readAll();
    expect(box.idle).toBe(true);
  });
});
