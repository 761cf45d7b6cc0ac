import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { forwardOutput, InboundQueue, writeOrWait } from './stream-flow.js';

/** A source that records whether it is being read. */
function fakeSource() {
  const s = {
    paused: false,
    pause: () => {
      s.paused = true;
    },
    resume: () => {
      s.paused = false;
    },
  };
  return s;
}

const b = (text: string) => Buffer.from(text);

function queue(maxHeldBytes = 10) {
  const source = fakeSource();
  const overflows: number[] = [];
  const q = new InboundQueue({ source, maxHeldBytes, onOverflow: (n) => overflows.push(n) });
  return { q, source, overflows };
}

describe('InboundQueue', () => {
  it('holds messages until start, with the source paused, then hands them on in order and reads again', () => {
    const { q, source } = queue();
    q.hold();
    expect(source.paused).toBe(true);
    q.push(b('a'));
    q.push(b('b'));
    const got: string[] = [];
    q.start((m) => {
      got.push(m.toString());
      return undefined;
    });
    q.push(b('c'));
    expect(got).toEqual(['a', 'b', 'c']);
    expect(source.paused).toBe(false);
    expect(q.holding).toBe(0);
  });

  it('pauses the source while the taker is full and resumes on its drain, keeping order', async () => {
    const { q, source } = queue();
    const got: string[] = [];
    let drain!: () => void;
    q.start((m) => {
      got.push(m.toString());
      if (m.toString() !== 'full') return undefined;
      return new Promise<void>((resolve) => {
        drain = resolve;
      });
    });
    q.push(b('full'));
    expect(source.paused).toBe(true);
    // already read off the socket: held, not handed on
    q.push(b('x'));
    q.push(b('y'));
    expect(got).toEqual(['full']);
    expect(q.holding).toBe(2);
    drain();
    await Promise.resolve();
    expect(got).toEqual(['full', 'x', 'y']);
    expect(source.paused).toBe(false);
  });

  it.each([
    { name: 'one message larger than the bound is held', sizes: [50], overflow: false },
    { name: 'several within the bound are held', sizes: [4, 4, 2], overflow: false },
    { name: 'several past the bound end the session', sizes: [4, 4, 4], overflow: true },
  ])('bounds what it holds: $name', ({ sizes, overflow }) => {
    const { q, overflows } = queue(10);
    q.hold();
    for (const n of sizes) q.push(Buffer.alloc(n));
    expect(overflows.length > 0).toBe(overflow);
    if (overflow) {
      expect(overflows).toEqual([12]);
      expect(q.holding).toBe(0);
      // nothing more is taken, and start hands nothing on
      q.push(b('late'));
      const got: Buffer[] = [];
      q.start((m) => {
        got.push(m);
        return undefined;
      });
      expect(got).toEqual([]);
    }
  });

  it('refuses a bound that is not positive', () => {
    expect(
      () => new InboundQueue({ source: fakeSource(), maxHeldBytes: 0, onOverflow: () => undefined }),
    ).toThrow(/maxHeldBytes/);
  });
});

describe('writeOrWait', () => {
  function slowSink() {
    const done: (() => void)[] = [];
    const sink = new Writable({
      highWaterMark: 4,
      write: (_chunk, _encoding, cb) => {
        done.push(cb);
      },
    });
    return { sink, done };
  }

  it('is undefined while the stream takes more, and a promise settled by drain once it is full', async () => {
    const { sink, done } = slowSink();
    expect(writeOrWait(sink, b('ab'))).toBeUndefined();
    const wait = writeOrWait(sink, b('cdef'));
    expect(wait).toBeInstanceOf(Promise);
    let settled = false;
    void wait!.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    while (done.length) done.shift()!();
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(true);
    expect(sink.listenerCount('drain')).toBe(0);
  });

  it('settles when the stream is destroyed instead of draining', async () => {
    const { sink } = slowSink();
    sink.on('error', () => undefined);
    const wait = writeOrWait(sink, b('abcdef'))!;
    sink.destroy();
    await expect(wait).resolves.toBeUndefined();
  });
});

describe('forwardOutput', () => {
  /** A client that keeps what it is sent until `flush`. */
  function slowClient() {
    const pending: { chunk: Buffer; done: (err?: Error) => void }[] = [];
    const c = {
      open: true,
      got: [] as string[],
      /** What a dead socket still counts as queued. */
      stuck: 0,
      get bufferedAmount() {
        return c.stuck + pending.reduce((n, p) => n + p.chunk.length, 0);
      },
      send: (chunk: Buffer, done: (err?: Error) => void) => {
        if (!c.open) return false;
        pending.push({ chunk, done });
        return true;
      },
      flush: (err?: Error) => {
        for (const p of pending.splice(0)) {
          c.got.push(p.chunk.toString());
          p.done(err);
        }
      },
    };
    return c;
  }

  it('pauses the source while more than the high water waits for the client, and resumes once it is written', () => {
    const source = new PassThrough();
    const client = slowClient();
    forwardOutput(source, client, client.send, 4);
    source.write('abc');
    expect(source.isPaused()).toBe(false);
    source.write('def');
    expect(source.isPaused()).toBe(true);
    client.flush();
    expect(source.isPaused()).toBe(false);
    expect(client.got).toEqual(['abc', 'def']);
  });

  it('resumes a paused source when the client fails, so a process is not left blocked', () => {
    const source = new PassThrough();
    const client = slowClient();
    forwardOutput(source, client, client.send, 1);
    source.write('abc');
    expect(source.isPaused()).toBe(true);
    client.open = false;
    client.stuck = 100;
    client.flush(new Error('closed'));
    expect(source.isPaused()).toBe(false);
  });
});
