import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { newNotFound, StatusError } from '../api/status.js';
import { FakeClock } from './clock.js';
import {
  type CoreEvent,
  type EventClient,
  EventRecorder,
  type EventRecorderOptions,
  sprintf,
} from './events.js';
import type { PatchType } from './resource.js';

const gr = { group: '', resource: 'events' };

interface Call {
  verb: 'create' | 'patch';
  namespace: string;
  name: string;
  body: unknown;
}

/** Records calls; keeps created events so patches can find them. */
class FakeEvents {
  readonly calls: Call[] = [];
  readonly stored = new Map<string, CoreEvent>();
  failWith?: Error;

  client(namespace = ''): EventClient {
    return {
      in: (ns) => this.client(ns),
      create: async (obj) => {
        const name = obj.metadata.name!;
        this.calls.push({ verb: 'create', namespace, name, body: structuredClone(obj) });
        if (this.failWith) throw this.failWith;
        this.stored.set(`${namespace}/${name}`, structuredClone(obj));
        return obj;
      },
      patch: async (name: string, _type: PatchType, patch: unknown) => {
        this.calls.push({ verb: 'patch', namespace, name, body: patch });
        if (this.failWith) throw this.failWith;
        const cur = this.stored.get(`${namespace}/${name}`);
        if (!cur) throw newNotFound(gr, name);
        Object.assign(cur, patch);
        return cur;
      },
    };
  }
}

const start = Date.UTC(2026, 0, 1);
const pod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-1', namespace: 'shop', uid: 'u-1', resourceVersion: '42' },
};
const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a', uid: 'u-n' } };

function recorder(over: Partial<EventRecorderOptions> = {}) {
  const fake = new FakeEvents();
  const clock = new FakeClock(start);
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const rec = new EventRecorder({
    client: fake.client(),
    component: 'kubelet',
    host: 'node-a',
    clock,
    logger,
    ...over,
  });
  return { fake, clock, rec, lines };
}

describe('EventRecorder', () => {
  it('writes an Event named <object>.<hex nanoseconds> in the object namespace', async () => {
    const { fake, rec } = recorder();
    rec.event(pod, 'Normal', 'Pulled', 'pulled image nginx');
    await rec.flush();
    const nanoHex = (BigInt(start) * 1_000_000n).toString(16);
    expect(fake.calls).toEqual([
      {
        verb: 'create',
        namespace: 'shop',
        name: `web-1.${nanoHex}`,
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name: `web-1.${nanoHex}`, namespace: 'shop' },
          involvedObject: {
            kind: 'Pod',
            namespace: 'shop',
            name: 'web-1',
            uid: 'u-1',
            apiVersion: 'v1',
            resourceVersion: '42',
          },
          reason: 'Pulled',
          message: 'pulled image nginx',
          type: 'Normal',
          source: { component: 'kubelet', host: 'node-a' },
          reportingComponent: 'kubelet',
          reportingInstance: 'node-a',
          firstTimestamp: '2026-01-01T00:00:00Z',
          lastTimestamp: '2026-01-01T00:00:00Z',
          count: 1,
        },
      },
    ]);
  });

  it('puts events about cluster-scoped objects in default', async () => {
    const { fake, rec } = recorder();
    rec.event(node, 'Warning', 'NodeNotReady', 'kubelet stopped posting status');
    await rec.flush();
    expect(fake.calls.map((c) => [c.namespace, c.name.split('.')[0]])).toEqual([['default', 'node-a']]);
  });

  it('gives events in the same millisecond distinct names', async () => {
    const { fake, rec } = recorder();
    rec.event(pod, 'Normal', 'A', 'one');
    rec.event(pod, 'Normal', 'B', 'two');
    await rec.flush();
    const [a, b] = fake.calls.map((c) => c.name);
    expect(a).not.toBe(b);
  });

  it('folds repeats into one Event, patching count and lastTimestamp', async () => {
    const { fake, rec, clock } = recorder();
    rec.event(pod, 'Warning', 'BackOff', 'back-off restarting');
    for (let i = 0; i < 4; i++) {
      clock.step(10_000);
      rec.event(pod, 'Warning', 'BackOff', 'back-off restarting');
    }
    await rec.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'patch', 'patch', 'patch']);
    expect(new Set(fake.calls.map((c) => c.name)).size).toBe(1);
    expect(fake.calls.at(-1)?.body).toEqual({ count: 5, lastTimestamp: '2026-01-01T00:00:40Z' });
    const [stored] = fake.stored.values();
    expect(stored).toMatchObject({ count: 5, firstTimestamp: '2026-01-01T00:00:00Z' });
  });

  it.each([
    { name: 'another message', other: ['Warning', 'BackOff', 'different'] },
    { name: 'another reason', other: ['Warning', 'Failed', 'back-off restarting'] },
    { name: 'another type', other: ['Normal', 'BackOff', 'back-off restarting'] },
  ] as const)('does not fold an event with $name', async ({ other }) => {
    const { fake, rec } = recorder();
    rec.event(pod, 'Warning', 'BackOff', 'back-off restarting');
    rec.event(pod, other[0], other[1], other[2]);
    await rec.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'create']);
  });

  it('starts a new Event when the last repeat is older than the fold window', async () => {
    const { fake, rec, clock } = recorder();
    rec.event(pod, 'Normal', 'Synced', 'ok');
    clock.step(10 * 60_000);
    rec.event(pod, 'Normal', 'Synced', 'ok');
    await rec.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'create']);
  });

  it('creates the Event again when a repeat finds it gone', async () => {
    const { fake, rec } = recorder();
    rec.event(pod, 'Normal', 'Synced', 'ok');
    await rec.flush();
    fake.stored.clear();
    rec.event(pod, 'Normal', 'Synced', 'ok');
    await rec.flush();
    expect(fake.calls.map((c) => c.verb)).toEqual(['create', 'patch', 'create']);
    expect(fake.calls[2].body).toMatchObject({ count: 2, reason: 'Synced' });
  });

  it('rate-limits each object: a burst of 25, then one per 5 minutes', async () => {
    const { fake, rec, clock } = recorder();
    for (let i = 0; i < 100; i++) rec.event(pod, 'Normal', 'Hot', `loop ${i}`);
    rec.event(node, 'Normal', 'Other', 'another object has its own bucket');
    await rec.flush();
    expect(fake.calls.filter((c) => c.namespace === 'shop')).toHaveLength(25);
    expect(fake.calls.filter((c) => c.namespace === 'default')).toHaveLength(1);
    clock.step(299_000);
    rec.event(pod, 'Normal', 'Hot', 'still too soon');
    clock.step(1_000);
    rec.event(pod, 'Normal', 'Hot', 'refilled');
    rec.event(pod, 'Normal', 'Hot', 'empty again');
    await rec.flush();
    expect(fake.calls.slice(26).map((c) => (c.body as CoreEvent).message)).toEqual(['refilled']);
  });

  it('never throws to the caller and logs failed writes', async () => {
    const { fake, rec, lines } = recorder();
    fake.failWith = new StatusError(403, 'Forbidden', 'events is forbidden');
    expect(() => rec.event(pod, 'Normal', 'Pulled', 'x')).not.toThrow();
    expect(() => rec.event(null as unknown as KubeObject, 'Normal', 'X', 'y')).not.toThrow();
    await rec.flush();
    expect(lines.map((l) => l.msg)).toEqual(['could not record event', 'could not write event']);
  });

  it('formats eventf messages Go-style', async () => {
    const { fake, rec } = recorder();
    rec.eventf(pod, 'Normal', 'Scaled', 'scaled %s from %d to %d (%q) 100%%', 'web', 1, 3, 'up');
    await rec.flush();
    expect((fake.calls[0].body as CoreEvent).message).toBe('scaled web from 1 to 3 ("up") 100%');
  });

  it.each([
    { name: 'missing argument', fmt: 'a %s %s', args: ['x'], want: 'a x %!s(MISSING)' },
    { name: 'extra argument', fmt: 'a %v', args: ['x', 'y'], want: 'a x y' },
    { name: 'object as JSON', fmt: '%v', args: [{ a: 1 }], want: '{"a":1}' },
    { name: 'error as its message', fmt: 'failed: %v', args: [new Error('boom')], want: 'failed: boom' },
  ])('sprintf: $name', ({ fmt, args, want }) => {
    expect(sprintf(fmt, ...args)).toBe(want);
  });
});
