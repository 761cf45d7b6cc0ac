import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame, negotiate, protocolNamed, statusPayload } from './wsstream.js';

const v5 = protocolNamed('v5.channel.k8s.io');
const v4 = protocolNamed('v4.channel.k8s.io');
const v4base64 = protocolNamed('v4.base64.channel.k8s.io');
const v1 = protocolNamed('channel.k8s.io');

describe('negotiate', () => {
  it.each([
    {
      name: 'client-node (newest first)',
      offered: ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io'],
      want: 'v5.channel.k8s.io',
    },
    {
      name: 'the client’s order wins',
      offered: ['v4.channel.k8s.io', 'v5.channel.k8s.io'],
      want: 'v4.channel.k8s.io',
    },
    {
      name: 'unknown ones are skipped',
      offered: ['v3.channel.k8s.io', 'base64.channel.k8s.io'],
      want: 'base64.channel.k8s.io',
    },
    { name: 'none offered: binary v1', offered: [''], want: '' },
  ])('$name', ({ offered, want }) => {
    expect(negotiate(offered)?.name).toBe(want);
  });

  it('serves nothing for offers it does not know', () => {
    expect(negotiate(['v3.channel.k8s.io', 'SPDY/3.1'])).toBeUndefined();
  });
});

describe('decodeFrame', () => {
  it.each([
    {
      name: 'v4 stdin',
      p: v4,
      message: Buffer.from('\x00echo hi\n'),
      want: { channel: 0, data: Buffer.from('echo hi\n') },
    },
    { name: 'v5 stdin', p: v5, message: Buffer.from('\x00x'), want: { channel: 0, data: Buffer.from('x') } },
    { name: 'v5 close of stdin', p: v5, message: Buffer.from([255, 0]), want: { close: 0 } },
    {
      name: 'v4 has no close signal',
      p: v4,
      message: Buffer.from([255, 0]),
      want: { channel: 255, data: Buffer.from([0]) },
    },
    {
      name: 'base64 stdin',
      p: v4base64,
      message: Buffer.from(`0${Buffer.from('hi\n').toString('base64')}`),
      want: { channel: 0, data: Buffer.from('hi\n') },
    },
    {
      name: 'base64 resize',
      p: v4base64,
      message: Buffer.from(`4${Buffer.from('{}').toString('base64')}`),
      want: { channel: 4, data: Buffer.from('{}') },
    },
  ])('$name', ({ p, message, want }) => {
    expect(decodeFrame(p, message)).toEqual(want);
  });

  it('skips an empty message', () => {
    expect(decodeFrame(v4, Buffer.alloc(0))).toBeUndefined();
  });
});

describe('encodeFrame', () => {
  it('writes binary frames with the channel byte first', () => {
    expect(encodeFrame(v5, 1, Buffer.from('hi'))).toEqual(Buffer.from('\x01hi'));
    expect(encodeFrame(v4, 1, Buffer.alloc(0))).toEqual(Buffer.from([1]));
  });

  it('writes text frames with a channel digit and base64 in the base64 protocols', () => {
    expect(encodeFrame(v4base64, 2, Buffer.from('oops'))).toBe(`2${Buffer.from('oops').toString('base64')}`);
  });
});

describe('statusPayload', () => {
  const failure = {
    metadata: {},
    status: 'Failure' as const,
    message: 'exit code 3',
    reason: 'NonZeroExitCode',
  };
  it('is the Status as JSON from v4 on', () => {
    expect(JSON.parse(statusPayload(v4, failure)!.toString())).toEqual(failure);
    expect(JSON.parse(statusPayload(v5, { metadata: {}, status: 'Success' })!.toString())).toEqual({
      metadata: {},
      status: 'Success',
    });
  });

  it('is before v4 nothing for success and a failure’s message', () => {
    expect(statusPayload(v1, { metadata: {}, status: 'Success' })).toBeUndefined();
    expect(statusPayload(v1, failure)?.toString()).toBe('exit code 3');
  });
});
