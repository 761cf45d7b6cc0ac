import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Pod } from '../../api/objects.js';
import { StatusError } from '../../api/status.js';
import { FakeClock } from '../../client/clock.js';
import { type DrainFlags, evictPod, type PodApi, planDrain, podDeleteStatus } from './drain.js';

const flags = (f: Partial<DrainFlags> = {}): DrainFlags => ({ gracePeriod: '-1', timeout: '0s', ...f });
const owner = (kind: string, name: string, apiVersion = 'apps/v1') => [
  { apiVersion, kind, name, uid: `${name}-uid`, controller: true },
];

function pod(
  name: string,
  o: { owner?: ReturnType<typeof owner>; emptyDir?: boolean; mirror?: boolean; phase?: string } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      uid: `${name}-uid`,
      ownerReferences: o.owner,
      annotations: o.mirror ? { 'kubernetes.io/config.mirror': 'abc' } : undefined,
    },
    spec: {
      containers: [{ name: 'app', image: 'x' }],
      volumes: o.emptyDir ? [{ name: 'scratch', emptyDir: {} }] : undefined,
    },
    status: { phase: o.phase ?? 'Running' },
  } as Pod;
}

const ds = new Set(['default/agent']);

describe('podDeleteStatus', () => {
  it.each([
    [
      'a ReplicaSet pod is evicted',
      pod('web', { owner: owner('ReplicaSet', 'rs') }),
      flags(),
      'Okay',
      true,
      undefined,
    ],
    [
      'a DaemonSet pod stops the drain',
      pod('a', { owner: owner('DaemonSet', 'agent') }),
      flags(),
      'Error',
      false,
      'DaemonSet-managed Pods (use --ignore-daemonsets to ignore)',
    ],
    [
      'a DaemonSet pod is left alone with --ignore-daemonsets',
      pod('a', { owner: owner('DaemonSet', 'agent') }),
      flags({ ignoreDaemonsets: true }),
      'Warning',
      false,
      'ignoring DaemonSet-managed Pods',
    ],
    [
      'a pod of a DaemonSet that is gone needs --force',
      pod('a', { owner: owner('DaemonSet', 'gone') }),
      flags({ ignoreDaemonsets: true }),
      'Error',
      false,
      'daemonsets.apps "gone" not found',
    ],
    [
      'a bare pod stops the drain',
      pod('bare'),
      flags(),
      'Error',
      false,
      'Pods that declare no controller (use --force to override)',
    ],
    [
      'a bare pod goes with --force',
      pod('bare'),
      flags({ force: true }),
      'Warning',
      true,
      'deleting Pods that declare no controller',
    ],
    [
      'emptyDir data stops the drain',
      pod('web', { owner: owner('ReplicaSet', 'rs'), emptyDir: true }),
      flags(),
      'Error',
      false,
      'Pods with local storage (use --delete-emptydir-data to override)',
    ],
    [
      'emptyDir data goes with --delete-emptydir-data',
      pod('web', { owner: owner('ReplicaSet', 'rs'), emptyDir: true }),
      flags({ deleteEmptydirData: true }),
      'Warning',
      true,
      'deleting Pods with local storage',
    ],
    [
      'a mirror pod is skipped',
      pod('static', { owner: owner('Node', 'n1', 'v1'), mirror: true }),
      flags(),
      'Skip',
      false,
      undefined,
    ],
    [
      'a finished bare pod with emptyDir is evicted',
      pod('done', { emptyDir: true, phase: 'Succeeded' }),
      flags(),
      'Okay',
      true,
      undefined,
    ],
  ])('%s', (_, p, f, reason, del, message) => {
    expect(podDeleteStatus(p, f, ds)).toEqual({ delete: del, reason, ...(message ? { message } : {}) });
  });
});

describe('planDrain', () => {
  it("groups the errors by kubectl's message and evicts nothing it refuses", () => {
    const pods = [
      pod('bare1'),
      pod('bare2'),
      pod('d', { owner: owner('DaemonSet', 'agent') }),
      pod('web', { owner: owner('ReplicaSet', 'rs') }),
    ];
    const plan = planDrain(pods, flags(), ds);
    expect(plan.errors).toEqual([
      'cannot delete Pods that declare no controller (use --force to override): default/bare1, default/bare2',
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): default/d',
    ]);
  });

  it('evicts what the flags allow and warns about the rest', () => {
    const pods = [
      pod('bare'),
      pod('d', { owner: owner('DaemonSet', 'agent') }),
      pod('web', { owner: owner('ReplicaSet', 'rs') }),
    ];
    const plan = planDrain(pods, flags({ force: true, ignoreDaemonsets: true }), ds);
    expect(plan.errors).toEqual([]);
    expect(plan.evict.map((p) => p.metadata.name)).toEqual(['bare', 'web']);
    expect(plan.warnings).toBe(
      'deleting Pods that declare no controller: default/bare; ignoring DaemonSet-managed Pods: default/d',
    );
  });
});

/** A FakeClock whose sleeps pass at once, so a retry loop runs to its end. */
class RushingClock extends FakeClock {
  slept: number[] = [];
  override sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.step(ms);
    return Promise.resolve();
  }
}

function streams() {
  const out = new PassThrough();
  const err = new PassThrough();
  const text = (s: PassThrough) => String(s.read() ?? '');
  return { out, err, outText: () => text(out), errText: () => text(err) };
}

/** A pod API whose evict answers in turn from `answers` (an Error is thrown), and whose pod goes after `getsUntilGone` reads. */
function fakeApi(answers: (Error | undefined)[], getsUntilGone = 1): PodApi & { evictions: number } {
  let gets = 0;
  const api = {
    evictions: 0,
    async evict() {
      const a = answers[api.evictions++];
      if (a) throw a;
    },
    async get(p: Pod) {
      return ++gets > getsUntilGone ? undefined : p;
    },
  };
  return api;
}

describe('evictPod', () => {
  const tooMany = () =>
    new StatusError(
      429,
      'TooManyRequests',
      "Cannot evict pod as it would violate the pod's disruption budget.",
    );

  it('retries every 5 s while the apiserver answers 429, then waits until the pod is gone', async () => {
    const clock = new RushingClock();
    const s = streams();
    const api = fakeApi([tooMany(), tooMany(), undefined], 3);
    await evictPod(pod('web'), api, {
      clock,
      deadline: Number.POSITIVE_INFINITY,
      timeout: '0s',
      retryDelayMs: 5000,
      out: s.out,
      err: s.err,
    });
    expect(api.evictions).toBe(3);
    expect(s.outText()).toBe(
      'evicting pod default/web\nevicting pod default/web\nevicting pod default/web\npod/web evicted\n',
    );
    expect(s.errText()).toBe(
      `error when evicting pods/"web" -n "default" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`.repeat(
        2,
      ),
    );
    // Two 5 s retries, then 1 s polls until the third read finds the pod gone.
    expect(clock.slept).toEqual([5000, 5000, 1000]);
  });

  it('gives up at the deadline with kubectl words', async () => {
    const clock = new RushingClock();
    const s = streams();
    const api = fakeApi(Array(10).fill(tooMany()));
    await expect(
      evictPod(pod('web'), api, {
        clock,
        deadline: 12_000,
        timeout: '12s',
        retryDelayMs: 5000,
        out: s.out,
        err: s.err,
      }),
    ).rejects.toThrow('error when evicting pods/"web" -n "default": global timeout reached: 12s');
    expect(api.evictions).toBe(3);
  });

  it('fails at once on any other refusal', async () => {
    const s = streams();
    const api = fakeApi([new StatusError(403, 'Forbidden', 'no')]);
    await expect(
      evictPod(pod('web'), api, {
        clock: new RushingClock(),
        deadline: Number.POSITIVE_INFINITY,
        timeout: '0s',
        retryDelayMs: 5000,
        out: s.out,
        err: s.err,
      }),
    ).rejects.toThrow('error when evicting pods/"web" -n "default": no');
  });

  it('counts a pod that is already gone as done, without an evicted line', async () => {
    const s = streams();
    const api = fakeApi([new StatusError(404, 'NotFound', 'pods "web" not found')]);
    await evictPod(pod('web'), api, {
      clock: new RushingClock(),
      deadline: Number.POSITIVE_INFINITY,
      timeout: '0s',
      retryDelayMs: 5000,
      out: s.out,
      err: s.err,
    });
    expect(s.outText()).toBe('evicting pod default/web\n');
  });
});
