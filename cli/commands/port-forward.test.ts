import { describe, expect, it } from 'vitest';
import type { Pod } from '../pods.js';
import { portPairs } from './port-forward.js';

const pod = {
  metadata: { name: 'web' },
  spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }] }] },
} as unknown as Pod;
const svc = {
  metadata: { name: 'web' },
  spec: {
    ports: [
      { name: 'web', port: 80, targetPort: 'http' },
      { name: 'metrics', port: 9100, targetPort: 9101 },
      { port: 7000 },
    ],
  },
};

describe('portPairs', () => {
  it.each([
    {
      name: 'same port both sides',
      specs: ['8080'],
      target: undefined,
      want: [{ local: 8080, remote: 8080 }],
    },
    { name: 'any free local port', specs: [':8080'], target: undefined, want: [{ local: 0, remote: 8080 }] },
    { name: 'local:remote', specs: ['5000:8080'], target: undefined, want: [{ local: 5000, remote: 8080 }] },
    { name: 'a named pod port', specs: ['http'], target: undefined, want: [{ local: 8080, remote: 8080 }] },
    {
      name: 'a service port to its named target',
      specs: ['80'],
      target: svc,
      want: [{ local: 80, remote: 8080 }],
    },
    { name: 'a service port by name', specs: [':metrics'], target: svc, want: [{ local: 0, remote: 9101 }] },
    {
      name: 'a service port without target',
      specs: ['7000'],
      target: svc,
      want: [{ local: 7000, remote: 7000 }],
    },
  ])('$name', ({ specs, target, want }) => {
    expect(portPairs(specs, pod, target)).toEqual(want);
  });

  it.each([
    {
      name: 'a port the service lacks',
      specs: ['81'],
      target: svc,
      error: 'Service web does not have a service port 81',
    },
    {
      name: 'a name the pod lacks',
      specs: ['grpc'],
      target: undefined,
      error: "Pod 'web' does not have a named port 'grpc'",
    },
    { name: 'an empty remote port', specs: ['80:'], target: undefined, error: 'remote port cannot be empty' },
    { name: 'a bad local port', specs: ['x:80'], target: undefined, error: "error parsing local port 'x'" },
  ])('refuses $name', ({ specs, target, error }) => {
    expect(() => portPairs(specs, pod, target)).toThrow(error);
  });
});
