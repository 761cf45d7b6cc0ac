import { describe, expect, it } from 'vitest';
import { readPodState } from './pod-state.js';
import { type ContainerInfo, Labels, type Runtime } from './runtime/runtime.js';

/** A runtime with one exited container of pod `u1`; it records how each inspect was asked. */
function fakeRuntime() {
  const asked: ({ awaitOomEvent?: boolean } | undefined)[] = [];
  const summary = {
    id: 'c1',
    name: 'k8s_app_p_default_u1_0',
    labels: { [Labels.node]: 'n1', [Labels.podUID]: 'u1', [Labels.containerName]: 'app' },
    state: 'exited' as const,
    createdAt: '2026-01-01T00:00:00Z',
  };
  const runtime = {
    listContainers: async () => [summary],
    inspectContainer: async (_id: string, opts?: { awaitOomEvent?: boolean }) => {
      asked.push(opts);
      return { ...summary, image: 'img', imageId: 'sha', exitCode: 137, oomKilled: false } as ContainerInfo;
    },
  } as unknown as Runtime;
  return { runtime, asked };
}

describe('readPodState', () => {
  it.each([
    { name: 'waits for a late OOM event by default', opts: undefined, want: {} },
    {
      name: 'reads at once when the caller restarts the container whatever the reason',
      opts: { awaitOomEvent: false },
      want: { awaitOomEvent: false },
    },
  ])('$name', async ({ opts, want }) => {
    const { runtime, asked } = fakeRuntime();
    const state = await readPodState(runtime, 'n1', 'u1', opts);
    expect(state.containers.get('app')?.map((c) => c.id)).toEqual(['c1']);
    expect(asked).toEqual([want]);
  });
});
