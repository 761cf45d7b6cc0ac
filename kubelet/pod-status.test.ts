import { describe, expect, it } from 'vitest';
import type { Pod } from '../api/types/pod.js';
import type { PodRuntimeState } from './pod-state.js';
import { computePodStatus, mergeTransitions, statusChanged, type Waiting } from './pod-status.js';
import { type ContainerInfo, Labels } from './runtime/runtime.js';

let seq = 0;
function inst(
  name: string,
  state: ContainerInfo['state'],
  exitCode = 0,
  restartCount = 0,
  extra: Partial<ContainerInfo> = {},
): ContainerInfo {
  seq++;
  return {
    id: `id${seq}`,
    name: `k8s_${name}_${seq}`,
    labels: { [Labels.containerName]: name, [Labels.restartCount]: String(restartCount) },
    state,
    createdAt: '2026-01-01T00:00:00Z',
    image: 'img',
    imageId: 'sha256:abc',
    startedAt: '2026-01-01T00:00:01.5Z',
    finishedAt: state === 'exited' ? '2026-01-01T00:00:05Z' : undefined,
    exitCode,
    oomKilled: false,
    ...extra,
  };
}

function pod(restartPolicy: string, apps: string[], inits: string[] = []): Pod {
  return {
    metadata: { name: 'p', namespace: 'ns', uid: 'u' },
    spec: {
      restartPolicy,
      containers: apps.map((name) => ({ name, image: 'img' })),
      initContainers: inits.map((name) => ({ name, image: 'img' })),
    },
  };
}

function status(p: Pod, containers: Record<string, ContainerInfo[]>, waiting: Record<string, Waiting> = {}) {
  const state: PodRuntimeState = {
    uid: 'u',
    sandboxes: [],
    containers: new Map(Object.entries(containers)),
    garbage: [],
  };
  return computePodStatus({
    pod: p,
    state,
    podIP: '10.244.1.2',
    hostIP: '127.0.0.1',
    waiting: new Map(Object.entries(waiting)),
    ready: () => true,
    started: () => true,
    messages: new Map(),
    now: '2026-01-01T00:00:10Z',
  });
}

describe('computePodStatus phase', () => {
  it.each([
    ['nothing started yet', 'Always', {}, {}, 'Pending'],
    ['all running', 'Always', { a: [inst('a', 'running')] }, {}, 'Running'],
    [
      'crash looping with Always stays Running',
      'Always',
      { a: [inst('a', 'exited', 1, 2)] },
      { a: { reason: 'CrashLoopBackOff' } },
      'Running',
    ],
    ['all exited 0 with Never', 'Never', { a: [inst('a', 'exited', 0)] }, {}, 'Succeeded'],
    ['a failure with Never', 'Never', { a: [inst('a', 'exited', 2)] }, {}, 'Failed'],
    [
      'a failure with OnFailure restarts',
      'OnFailure',
      { a: [inst('a', 'exited', 2)] },
      { a: { reason: 'CrashLoopBackOff' } },
      'Running',
    ],
    ['success with OnFailure', 'OnFailure', { a: [inst('a', 'exited', 0)] }, {}, 'Succeeded'],
  ])('%s', (_name, policy, containers, waiting, phase) => {
    expect(status(pod(policy, ['a']), containers, waiting).phase).toBe(phase);
  });

  it('is Pending while init containers run, and Failed when one fails with Never', () => {
    expect(status(pod('Always', ['a'], ['i']), { i: [inst('i', 'running')] }).phase).toBe('Pending');
    expect(status(pod('Never', ['a'], ['i']), { i: [inst('i', 'exited', 1)] }).phase).toBe('Failed');
    const done = status(pod('Always', ['a'], ['i']), {
      i: [inst('i', 'exited', 0)],
      a: [inst('a', 'running')],
    });
    expect(done.phase).toBe('Running');
    expect(done.conditions?.find((c) => c.type === 'Initialized')?.status).toBe('True');
  });
});

describe('computePodStatus container states', () => {
  it('shows the previous instance as lastState and a waiting reason over a dead latest one', () => {
    const s = status(
      pod('Always', ['a']),
      { a: [inst('a', 'exited', 137, 3, { oomKilled: true }), inst('a', 'exited', 1, 2)] },
      { a: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
    );
    const cs = s.containerStatuses![0];
    expect(cs.restartCount).toBe(3);
    expect(cs.state).toEqual({ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } });
    expect(cs.lastState?.terminated).toMatchObject({
      exitCode: 137,
      reason: 'OOMKilled',
      finishedAt: '2026-01-01T00:00:05Z',
    });
  });

  it('reports running with whole-second startedAt, the container and image ids, and PodInitializing before init ends', () => {
    const s = status(pod('Always', ['a'], ['i']), { i: [inst('i', 'running')] });
    expect(s.containerStatuses![0].state).toEqual({ waiting: { reason: 'PodInitializing' } });
    const r = status(pod('Always', ['a']), { a: [inst('a', 'running')] }).containerStatuses![0];
    expect(r.state?.running?.startedAt).toBe('2026-01-01T00:00:01Z');
    expect(r.containerID).toMatch(/^docker:\/\/id\d+$/);
    expect(r.imageID).toBe('docker://sha256:abc');
  });
});

describe('computePodStatus ephemeral containers', () => {
  const withDebug = (p: Pod): Pod => ({
    ...p,
    spec: { ...p.spec, ephemeralContainers: [{ name: 'debug', image: 'busybox:1' }] },
  });

  it('reports each as never ready nor restarted, beside the app containers, and leaves phase and Ready alone', () => {
    const running = status(withDebug(pod('Always', ['a'])), {
      a: [inst('a', 'running')],
      debug: [inst('debug', 'running')],
    });
    expect(running.ephemeralContainerStatuses).toEqual([
      {
        name: 'debug',
        state: { running: { startedAt: '2026-01-01T00:00:01Z' } },
        lastState: {},
        ready: false,
        restartCount: 0,
        image: 'busybox:1',
        imageID: 'docker://sha256:abc',
        containerID: expect.stringMatching(/^docker:\/\/id\d+$/),
      },
    ]);
    expect(running.containerStatuses!.map((s) => s.name)).toEqual(['a']);
    expect(running.phase).toBe('Running');
    expect(running.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const exited = status(withDebug(pod('Always', ['a'])), {
      a: [inst('a', 'running')],
      debug: [inst('debug', 'exited', 3)],
    });
    expect(exited.ephemeralContainerStatuses![0].state?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
    expect(exited.phase).toBe('Running');
  });

  it('shows one not started yet as waiting, with the syncer’s reason when it has one', () => {
    const p = withDebug(pod('Always', ['a']));
    const creating = status(p, { a: [inst('a', 'running')] });
    expect(creating.ephemeralContainerStatuses![0].state).toEqual({
      waiting: { reason: 'ContainerCreating' },
    });
    const pulling = status(p, { a: [inst('a', 'running')] }, { debug: { reason: 'ErrImagePull' } });
    expect(pulling.ephemeralContainerStatuses![0].state).toEqual({ waiting: { reason: 'ErrImagePull' } });
  });

  it('has no ephemeralContainerStatuses when the pod has no ephemeral containers', () => {
    expect(status(pod('Always', ['a']), { a: [inst('a', 'running')] })).not.toHaveProperty(
      'ephemeralContainerStatuses',
    );
  });
});

describe('status changes', () => {
  it('keeps transition times of unchanged conditions and notices real changes only', () => {
    const p = pod('Always', ['a']);
    const first = mergeTransitions(status(p, { a: [inst('a', 'running')] }), undefined, 'T1');
    const again = mergeTransitions(status(p, { a: [inst('a', 'running')] }), first, 'T2');
    expect(again.conditions?.every((c) => c.lastTransitionTime === 'T1')).toBe(true);
    const a = {
      ...again,
      containerStatuses: again.containerStatuses!.map((c) => ({
        ...c,
        containerID: first.containerStatuses![0].containerID,
      })),
    };
    expect(statusChanged(a, first)).toBe(false);
    const failed = mergeTransitions(status(p, { a: [inst('a', 'exited', 1)] }), first, 'T3');
    expect(statusChanged(failed, first)).toBe(true);
  });
});
