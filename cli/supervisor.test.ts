import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../client/clock.js';
import type { ComponentSpec } from './launcher.js';
import { defaultPolicy, Supervisor, type SupervisorState } from './supervisor.js';

const spec = (name: string, readyTimeout = 10): ComponentSpec => ({
  name,
  command: 'x',
  args: [],
  marker: name,
  healthUrl: `http://127.0.0.1/${name}`,
  readyTimeout,
});

/** A world of processes the test kills and revives: pids, health, and what the supervisor did. */
function world(specs: ComponentSpec[]) {
  const clock = new FakeClock(1_000_000);
  const pids = new Map<string, number>(specs.map((s, i) => [s.name, 100 + i]));
  const healthy = new Map<string, boolean>(specs.map((s) => [s.name, true]));
  const exits = new Map<string, (how: string) => void>();
  const started: string[] = [];
  const killed: string[] = [];
  let saved: SupervisorState | undefined;
  let next = 500;
  const sup = new Supervisor({
    specs,
    running: (s) => pids.get(s.name),
    healthy: async (s) => healthy.get(s.name) ?? false,
    start: (s, onExit) => {
      started.push(s.name);
      const pid = next++;
      pids.set(s.name, pid);
      exits.set(s.name, onExit);
      return pid;
    },
    kill: async (s) => {
      killed.push(s.name);
      exits.get(s.name)?.('SIGKILL');
      pids.delete(s.name);
    },
    save: (st) => {
      saved = structuredClone(st);
    },
    clock,
    log: pino({ level: 'silent' }),
  });
  /** Checks, then moves the clock on by one check period. */
  const tick = async (times = 1) => {
    for (let i = 0; i < times; i++) {
      await sup.check();
      clock.step(defaultPolicy.checkEveryMs);
    }
  };
  const die = (name: string, how?: string) => {
    if (how) exits.get(name)?.(how);
    pids.delete(name);
  };
  return { sup, clock, pids, healthy, started, killed, tick, die, saved: () => saved };
}

describe('the supervisor of nkctl up', () => {
  it('leaves healthy components alone, and adopts what up started', async () => {
    const w = world([spec('etcd'), spec('apiserver')]);
    await w.tick(5);
    expect(w.started).toEqual([]);
    expect(w.saved()?.components).toEqual({
      etcd: { restarts: 0, pid: 100 },
      apiserver: { restarts: 0, pid: 101 },
    });
  });

  it('restarts a component whose process is gone, after 1 s, counting it, with how it ended when it was its child', async () => {
    const w = world([spec('etcd'), spec('apiserver')]);
    await w.tick();
    w.die('apiserver');
    await w.tick(); // noticed: exited, restart due in 1 s
    expect(w.started).toEqual([]);
    expect(w.saved()?.components.apiserver).toMatchObject({ restarts: 0, lastExit: 'unknown' });
    await w.tick();
    expect(w.started).toEqual(['apiserver']);
    w.die('apiserver', 'exit 1');
    await w.tick(4);
    expect(w.started).toEqual(['apiserver', 'apiserver']);
    expect(w.saved()?.components.apiserver).toMatchObject({ restarts: 2, lastExit: 'exit 1', pid: 501 });
  });

  it('backs off 1, 2, 4 s... up to 30 s while a component keeps dying, and from 1 s again once it was healthy a minute', async () => {
    const w = world([spec('scheduler')]);
    await w.tick();
    const gaps: number[] = [];
    let last = w.clock.now();
    for (let i = 0; i < 8; i++) {
      w.die('scheduler', 'exit 1');
      const before = w.started.length;
      while (w.started.length === before) await w.tick();
      gaps.push(Math.round((w.clock.now() - last) / 1000));
      last = w.clock.now();
    }
    // Each gap: the backoff, plus the check that notices and the one that starts.
    expect(gaps).toEqual([2, 3, 5, 9, 17, 31, 31, 31]);
    await w.tick(61);
    w.die('scheduler', 'exit 1');
    const before = w.started.length;
    await w.tick(2);
    expect(w.started.length).toBe(before + 1);
  });

  it('kills and restarts a live component that fails its health check for 30 s, not one still starting', async () => {
    const w = world([spec('kubelet', 60)]);
    await w.tick();
    w.healthy.set('kubelet', false);
    await w.tick(29);
    expect(w.killed).toEqual([]);
    await w.tick(3);
    expect(w.killed).toEqual(['kubelet']);
    await w.tick(2);
    expect(w.started).toEqual(['kubelet']);
    expect(w.saved()?.components.kubelet).toMatchObject({ restarts: 1, lastExit: 'killed: unhealthy' });
    // Just restarted and not yet answering: its ready timeout (60 s) first.
    await w.tick(80);
    expect(w.killed).toEqual(['kubelet']);
    await w.tick(15);
    expect(w.killed).toEqual(['kubelet', 'kubelet']);
  });

  it('keeps trying a component that cannot be started, with backoff, and says so', async () => {
    const w = world([spec('etcd')]);
    await w.tick();
    w.die('etcd');
    let attempts = 0;
    (w.sup as any).deps.start = () => {
      attempts++;
      throw new Error('spawn etcd ENOENT');
    };
    await w.tick(20);
    expect(attempts).toBeGreaterThanOrEqual(3);
    expect(attempts).toBeLessThanOrEqual(5);
  });
});
