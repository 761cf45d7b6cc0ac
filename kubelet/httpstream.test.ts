import type http from 'node:http';
import { describe, expect, it } from 'vitest';
import { handshake } from './httpstream.js';
import { HttpError } from './server.js';

const served = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const request = (versions: string | string[] | undefined) =>
  ({
    headers: versions === undefined ? {} : { 'x-stream-protocol-version': versions },
  }) as http.IncomingMessage;

describe('handshake', () => {
  it.each([
    {
      name: 'kubectl (v4 first)',
      offered: 'v4.channel.k8s.io, v3.channel.k8s.io, v2.channel.k8s.io',
      want: 'v4.channel.k8s.io',
    },
    {
      name: 'the client’s order wins',
      offered: 'v2.channel.k8s.io,v4.channel.k8s.io',
      want: 'v2.channel.k8s.io',
    },
    {
      name: 'unknown ones are skipped',
      offered: 'v5.channel.k8s.io, v3.channel.k8s.io',
      want: 'v3.channel.k8s.io',
    },
    {
      name: 'one header per version',
      offered: ['v9.channel.k8s.io', 'channel.k8s.io'],
      want: 'channel.k8s.io',
    },
  ])('$name', ({ offered, want }) => {
    expect(handshake(request(offered), served)).toBe(want);
  });

  it.each([
    { name: 'no header', offered: undefined },
    { name: 'an empty one', offered: ' , ' },
  ])('refuses a request that offers no version with 400: $name', ({ offered }) => {
    const err = catchError(() => handshake(request(offered), served));
    expect(err).toMatchObject({
      code: 400,
      message: 'unable to upgrade: X-Stream-Protocol-Version is required',
    });
  });

  it('refuses with 403 and the versions it accepts when none is in common', () => {
    const err = catchError(() => handshake(request('v5.channel.k8s.io, portforward.k8s.io'), served));
    expect(err).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'unable to upgrade: unable to negotiate protocol: client supports [v5.channel.k8s.io portforward.k8s.io], server accepts [v4.channel.k8s.io v3.channel.k8s.io v2.channel.k8s.io channel.k8s.io]',
      headers: { 'X-Accepted-Stream-Protocol-Versions': served },
    });
  });
});

function catchError(f: () => unknown): HttpError {
  try {
    f();
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('no error thrown');
}
