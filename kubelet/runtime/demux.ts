/**
 * Splits Docker's multiplexed attach/log stream (used when a container has
 * no TTY) into stdout and stderr. Each frame is an 8-byte header, [stream,
 * 0, 0, 0, size as uint32 big-endian], then `size` bytes; frames may arrive
 * split across chunks. Stream 1 is stdout, 2 stderr (0, stdin, goes to
 * stdout). Both outputs are ended when the source ends or fails, unless
 * they are the same stream, which is ended once. While an output is full
 * (write returned false) the source is paused until it drains, so a slow
 * reader slows the container rather than filling the kubelet's memory.
 */
import type { Readable, Writable } from 'node:stream';

export function demuxDockerStream(
  src: Readable,
  stdout: NodeJS.WritableStream | Writable,
  stderr: NodeJS.WritableStream | Writable,
): void {
  let buf: Buffer = Buffer.alloc(0);
  let full = 0;
  const write = (target: NodeJS.WritableStream | Writable, payload: Buffer) => {
    if (target.write(payload)) return;
    full++;
    src.pause();
    target.once('drain', () => {
      full--;
      if (full === 0) src.resume();
    });
  };
  src.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const size = buf.readUInt32BE(4);
      if (buf.length < 8 + size) break;
      const payload = buf.subarray(8, 8 + size);
      write(buf[0] === 2 ? stderr : stdout, payload);
      buf = buf.subarray(8 + size);
    }
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    stdout.end();
    if (stderr !== stdout) stderr.end();
  };
  src.on('end', end);
  src.on('close', end);
  src.on('error', end);
}
