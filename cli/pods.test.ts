import { describe, expect, it } from 'vitest';
import { chooseContainer, compareForLogs, type Pod, podSelectorOf, splitTypeName } from './pods.js';

const pod = (
  name: string,
  o: { node?: string; phase?: string; ready?: boolean; restarts?: number; created?: string } = {},
) =>
  ({
    metadata: { name, namespace: 'default', creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' },
    spec: {
      nodeName: o.node,
      containers: [{ name: 'app' }, { name: 'side' }],
      initContainers: [{ name: 'setup' }],
    },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: o.ready ? 'True' : 'False' }],
      containerStatuses: [{ name: 'app', restartCount: o.restarts ?? 0 }],
    },
  }) as unknown as Pod;

describe('splitTypeName', () => {
  it('reads POD and TYPE/NAME', () => {
    expect(splitTypeName('web-1')).toEqual({ type: 'pods', name: 'web-1' });
    expect(splitTypeName('deploy/web')).toEqual({ type: 'deploy', name: 'web' });
    expect(() => splitTypeName('deploy/')).toThrow('must have a single resource and name');
  });
});

describe('podSelectorOf', () => {
  it.each([
    {
      name: 'a deployment’s label selector',
      kind: 'Deployment',
      spec: {
        selector: {
          matchLabels: { app: 'web' },
          matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }],
        },
      },
      want: 'app=web,tier in (a)',
    },
    {
      name: 'a service’s selector map',
      kind: 'Service',
      spec: { selector: { app: 'web' } },
      want: 'app=web',
    },
  ])('$name', ({ kind, spec, want }) => {
    expect(podSelectorOf(kind, { metadata: { name: 'x' }, spec } as never)).toBe(want);
  });

  it('refuses a service without a selector and kinds without pods', () => {
    expect(() => podSelectorOf('Service', { metadata: { name: 'ext' }, spec: {} } as never)).toThrow(
      "invalid service 'ext': Service is defined without a selector",
    );
    expect(() => podSelectorOf('ConfigMap', { metadata: { name: 'c' } } as never)).toThrow(
      'selector for ConfigMap not implemented',
    );
  });
});

describe('compareForLogs', () => {
  it('prefers assigned, running, ready, restarted, older pods, as kubectl ByLogging', () => {
    const pods = [
      pod('unassigned', { phase: 'Pending' }),
      pod('pending', { node: 'n', phase: 'Pending' }),
      pod('not-ready', { node: 'n' }),
      pod('ready-new', { node: 'n', ready: true, created: '2024-01-02T00:00:00Z' }),
      pod('ready-restarted', { node: 'n', ready: true, restarts: 2, created: '2024-01-03T00:00:00Z' }),
      pod('ready-old', { node: 'n', ready: true }),
    ];
    expect([...pods].sort(compareForLogs).map((p) => p.metadata.name)).toEqual([
      'ready-restarted',
      'ready-old',
      'ready-new',
      'not-ready',
      'pending',
      'unassigned',
    ]);
  });
});

describe('chooseContainer', () => {
  it('takes the named container, or the annotated default, or the first (saying so)', () => {
    const notes: string[] = [];
    expect(chooseContainer(pod('p'), 'setup')).toBe('setup');
    expect(chooseContainer(pod('p'), undefined, (l) => notes.push(l))).toBe('app');
    expect(notes).toEqual(['Defaulted container "app" out of: app, side, setup (init)']);
    const annotated = pod('p');
    annotated.metadata.annotations = { 'kubectl.kubernetes.io/default-container': 'side' };
    expect(chooseContainer(annotated, undefined)).toBe('side');
  });

  it('refuses a container the pod does not have', () => {
    expect(() => chooseContainer(pod('p'), 'nope')).toThrow(
      'container nope is not valid for pod p out of: app, side, setup (init)',
    );
  });
});
