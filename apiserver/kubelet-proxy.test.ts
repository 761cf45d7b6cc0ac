import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { connectOptions, kubeletLogQuery, kubeletStreamQuery } from './kubelet-proxy.js';

describe('kubeletLogQuery', () => {
  it.each([
    { name: 'Python client', query: { follow: 'True', timestamps: 'False' }, want: 'follow=true' },
    { name: 'kubectl', query: { follow: 'true', tailLines: '10' }, want: 'follow=true&tailLines=10' },
    { name: 'empty flag', query: { previous: '' }, want: 'previous=true' },
    { name: 'flags off', query: { follow: '0', previous: 'false' }, want: '' },
  ])('$name: the kubelet reads $want', ({ query, want }) => {
    expect(kubeletLogQuery(query).toString()).toBe(want);
  });
});

describe('kubeletStreamQuery', () => {
  it.each([
    {
      name: 'client-node and kubectl',
      query: 'stdin=true&stdout=true&stderr=false&tty=false',
      want: 'stdin=1&stdout=1',
    },
    {
      name: 'the Python client',
      query: 'stdin=True&stdout=True&stderr=True&tty=False',
      want: 'stderr=1&stdin=1&stdout=1',
    },
    { name: 'ones and zeros', query: 'stdin=1&stdout=0&stderr=1&tty=1', want: 'stderr=1&stdin=1&tty=1' },
    { name: 'an empty value is true', query: 'stdout=&tty=FALSE', want: 'stdout=1' },
  ])('reads booleans as Kubernetes converts them and writes each as 1: $name', ({ query, want }) => {
    expect(kubeletStreamQuery('attach', new URLSearchParams(query)).toString()).toBe(want);
  });

  it('passes the command on in its order, repeated, with keys in order as Go encodes them', () => {
    const q = kubeletStreamQuery(
      'exec',
      new URLSearchParams('stdout=1&command=sh&command=-c&command=echo+a%26b'),
    );
    expect(q.toString()).toBe('command=sh&command=-c&command=echo+a%26b&stdout=1');
  });

  it('drops what the kubelet is not to read (container, unknown parameters)', () => {
    const q = kubeletStreamQuery('attach', new URLSearchParams('container=app&stdout=true&other=x'));
    expect([...q.keys()]).toEqual(['stdout']);
  });

  it.each([
    {
      name: 'no stream',
      verb: 'exec' as const,
      query: 'command=ls',
      message: 'at least 1 of stdin, stdout, stderr',
    },
    {
      name: 'exec without a command',
      verb: 'exec' as const,
      query: 'stdout=true',
      message: 'at least 1 command',
    },
  ])('refuses $name with BadRequest', ({ verb, query, message }) => {
    let err: unknown;
    try {
      kubeletStreamQuery(verb, new URLSearchParams(query));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(400);
    expect((err as StatusError).message).toContain(message);
  });
});

describe('connectOptions', () => {
  it.each([
    {
      name: 'exec',
      verb: 'exec',
      query: 'command=ls&command=-l&container=c&stdout=true&stderr=1&stdin=false',
      want: {
        kind: 'PodExecOptions',
        apiVersion: 'v1',
        stdout: true,
        stderr: true,
        container: 'c',
        command: ['ls', '-l'],
      },
    },
    {
      name: 'attach',
      verb: 'attach',
      query: 'stdin=True&tty=1',
      want: { kind: 'PodAttachOptions', apiVersion: 'v1', stdin: true, tty: true },
    },
    {
      name: 'portforward',
      verb: 'portforward',
      query: 'ports=80,8080&ports=nope',
      want: { kind: 'PodPortForwardOptions', apiVersion: 'v1', ports: [80, 8080] },
    },
  ])('$name: the options object admission sees', ({ verb, query, want }) => {
    expect(connectOptions(verb, new URLSearchParams(query))).toEqual(want);
  });
});
