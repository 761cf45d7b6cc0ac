import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { demuxDockerStream } from './demux.js';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function collect(s: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('demuxDockerStream', () => {
  it('routes frames to stdout and stderr', async () => {
    const src = new PassThrough();
    const out = new PassThrough();
    const err = new PassThrough();
    demuxDockerStream(src, out, err);
    src.write(frame(1, 'hello '));
    src.write(frame(2, 'oops'));
    src.end(frame(1, 'world'));
    expect(await collect(out)).toBe('hello world');
    expect(await collect(err)).toBe('oops');
  });

  it('joins frames split across chunks, headers included', async () => {
    const src = new PassThrough();
    const out = new PassThrough();
    demuxDockerStream(src, out, out);
    const all = Buffer.concat([frame(1, 'abc'), frame(2, 'defgh'), frame(1, '')]);
    for (let i = 0; i < all.length; i += 3) src.write(all.subarray(i, i + 3));
    src.end();
    expect(await collect(out)).toBe('abcdefgh');
  });

  it('pauses the source while an output is full and resumes it when that output drains', async () => {
    const src = new PassThrough();
    const out = new PassThrough({ highWaterMark: 8 });
    demuxDockerStream(src, out, out);
    src.write(frame(1, 'more than eight bytes'));
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(true);
    out.read();
    await new Promise((r) => setImmediate(r));
    expect(src.isPaused()).toBe(false);
    src.end();
    expect(await collect(out)).toBe('');
  });
});
