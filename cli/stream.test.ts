import { describe, expect, it } from 'vitest';
import { channelURL, execOutcome } from './stream.js';

describe('execOutcome', () => {
  it.each([
    { name: 'success', status: { status: 'Success' }, want: { exitCode: 0 } },
    {
      name: 'the command’s own exit code',
      status: {
        status: 'Failure',
        reason: 'NonZeroExitCode',
        message: 'command terminated with non-zero exit code',
        details: { causes: [{ reason: 'ExitCode', message: '42' }] },
      },
      want: { exitCode: 42 },
    },
    {
      name: 'an exec that failed',
      status: { status: 'Failure', message: 'container not running' },
      want: { error: 'container not running' },
    },
  ])('$name', ({ status, want }) => {
    expect(execOutcome(Buffer.from(JSON.stringify(status)))).toEqual(want);
  });

  it('reports a status that is not JSON', () => {
    expect(execOutcome('oops')).toEqual({ error: 'the server sent an exec status that is not JSON: oops' });
  });
});

describe('channelURL', () => {
  it('switches to ws(s) and repeats array parameters, leaving out false and undefined', () => {
    const url = channelURL('https://10.0.0.1:6443', {
      path: '/api/v1/namespaces/default/pods/p/exec',
      query: { command: ['sh', '-c', 'echo a b'], stdin: false, stdout: true, container: undefined },
    });
    expect(url.toString()).toBe(
      'wss://10.0.0.1:6443/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=echo+a+b&stdout=true',
    );
    expect(channelURL('http://127.0.0.1:1', { path: '/x', query: {} }).protocol).toBe('ws:');
  });
});
