/**
 * The supervisor of a one-host cluster, what systemd's `Restart=always` is
 * on the VMs: a daemon `nkctl up` starts (its own session, so it outlives
 * the terminal; `<home>/run/supervisor.pid`, log `<home>/logs/supervisor.log`)
 * that checks each component every second and starts it again when its
 * process has gone, or when it has failed its health check for
 * `unhealthyRestartMs` (then it is killed first). Restarts back off from 1 s
 * doubling to 30 s, and start over from 1 s once a component has been
 * healthy for a minute. Each restart is counted, logged and kept with how
 * the process ended in `<home>/run/supervisor.json`, which `nkctl status`
 * shows. It stops when told (SIGTERM, by `nkctl down`, which then stops the
 * components itself) or when its PID file no longer names it.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { doubledBackoff } from '../client/backoff.js';
import { type Clock, realClock } from '../client/clock.js';
import {
  type ComponentSpec,
  componentHealthy,
  components,
  type LaunchOptions,
  processAlive,
  repoRoot,
  runningPid,
  startComponent,
  stopComponent,
} from './launcher.js';

export interface SupervisedComponent {
  /** Starts by the supervisor after the first. */
  restarts: number;
  /** How the last process ended: `exit 1`, `SIGKILL`, `unknown` (not the supervisor's child). */
  lastExit?: string;
  lastExitAt?: string;
  pid?: number;
}

export interface SupervisorState {
  pid: number;
  components: Record<string, SupervisedComponent>;
}

export interface SupervisorPolicy {
  checkEveryMs: number;
  firstBackoffMs: number;
  maxBackoffMs: number;
  /** Healthy this long, a component's next restart backs off from the start again. */
  healthyResetMs: number;
  /** Alive but failing its health check this long (after its ready timeout), it is restarted. */
  unhealthyRestartMs: number;
}

export const defaultPolicy: SupervisorPolicy = {
  checkEveryMs: 1000,
  firstBackoffMs: 1000,
  maxBackoffMs: 30_000,
  healthyResetMs: 60_000,
  unhealthyRestartMs: 30_000,
};

/** What the supervisor does to the world; tests hand in fakes. */
export interface SupervisorDeps {
  specs: ComponentSpec[];
  /** The PID of the component's live process, if any. */
  running(spec: ComponentSpec): number | undefined;
  healthy(spec: ComponentSpec): Promise<boolean>;
  /** Starts it; `onExit` hears how that process ended. */
  start(spec: ComponentSpec, onExit: (how: string) => void): number;
  /** Kills it (SIGKILL to its group) and waits until it is gone. */
  kill(spec: ComponentSpec): Promise<void>;
  save(state: SupervisorState): void;
  clock: Clock;
  log: Logger;
}

interface Record_ extends SupervisedComponent {
  /** How our child ended, heard before the next check noticed. */
  exited?: string;
  nextStartAt: number;
  backoffMs: number;
  startedAt: number;
  healthySince?: number;
  unhealthySince?: number;
}

export class Supervisor {
  private readonly records = new Map<string, Record_>();

  constructor(
    private readonly deps: SupervisorDeps,
    private readonly policy: SupervisorPolicy = defaultPolicy,
  ) {
    const now = deps.clock.now();
    for (const spec of deps.specs)
      this.records.set(spec.name, {
        restarts: 0,
        nextStartAt: now,
        backoffMs: policy.firstBackoffMs,
        // What `up` started was ready when it handed over: no start-up grace for it.
        startedAt: Number.NEGATIVE_INFINITY,
      });
  }

  state(): SupervisorState {
    const components: Record<string, SupervisedComponent> = {};
    for (const [name, r] of this.records)
      components[name] = { restarts: r.restarts, lastExit: r.lastExit, lastExitAt: r.lastExitAt, pid: r.pid };
    return { pid: process.pid, components };
  }

  /** The next start waits the current backoff; the one after, twice as long. */
  private delayRestart(r: Record_, now: number): void {
    r.nextStartAt = now + r.backoffMs;
    r.backoffMs = doubledBackoff(r.backoffMs, this.policy.firstBackoffMs, this.policy.maxBackoffMs);
  }

  /** One look at every component, in start order (etcd first), acting on what it finds. */
  async check(): Promise<void> {
    const { deps, policy } = this;
    const pids = deps.specs.map((spec) => deps.running(spec));
    const health = await Promise.all(deps.specs.map((spec, i) => (pids[i] ? deps.healthy(spec) : false)));
    let changed = false;
    for (const [i, spec] of deps.specs.entries()) {
      const r = this.records.get(spec.name) as Record_;
      const now = deps.clock.now();
      const pid = pids[i];
      if (!pid) {
        if (r.pid !== undefined) {
          r.lastExit = r.exited ?? 'unknown';
          r.lastExitAt = new Date(now).toISOString();
          deps.log.warn(
            { component: spec.name, child: r.pid, exit: r.lastExit, restartInMs: r.backoffMs },
            `${spec.name} exited (${r.lastExit}); restarting it`,
          );
          r.pid = undefined;
          this.delayRestart(r, now);
          changed = true;
        }
        if (now < r.nextStartAt) continue;
        r.exited = undefined;
        try {
          const started = deps.start(spec, (how) => {
            if (r.pid === started) r.exited ??= how;
          });
          r.pid = started;
          r.restarts++;
          r.startedAt = now;
          r.healthySince = undefined;
          r.unhealthySince = undefined;
          deps.log.info(
            { component: spec.name, child: started, restarts: r.restarts },
            `restarted ${spec.name}`,
          );
        } catch (err) {
          deps.log.error(
            { component: spec.name, err: (err as Error).message },
            `could not start ${spec.name}`,
          );
          this.delayRestart(r, now);
        }
        changed = true;
        continue;
      }
      if (r.pid !== pid) {
        // Started by `up` (or a supervisor before this one): ours to watch from now on.
        r.pid = pid;
        changed = true;
      }
      if (health[i]) {
        r.unhealthySince = undefined;
        r.healthySince ??= now;
        if (now - r.healthySince >= policy.healthyResetMs) r.backoffMs = policy.firstBackoffMs;
        continue;
      }
      r.healthySince = undefined;
      if (now - r.startedAt < spec.readyTimeout * 1000) continue;
      r.unhealthySince ??= now;
      if (now - r.unhealthySince < policy.unhealthyRestartMs) continue;
      deps.log.warn(
        { component: spec.name, child: pid, unhealthyMs: now - r.unhealthySince },
        `${spec.name} has failed its health check for ${Math.round((now - r.unhealthySince) / 1000)}s; killing it to restart it`,
      );
      r.exited = 'killed: unhealthy';
      r.unhealthySince = undefined;
      await deps.kill(spec);
      // The next check finds it gone and restarts it.
    }
    if (changed) deps.save(this.state());
  }

  async run(signal: AbortSignal, stillOurs: () => boolean = () => true): Promise<void> {
    this.deps.save(this.state());
    while (!signal.aborted && stillOurs()) {
      try {
        await this.check();
      } catch (err) {
        this.deps.log.error({ err: (err as Error).message }, 'a supervision check failed');
      }
      await this.deps.clock.sleep(this.policy.checkEveryMs, signal).catch(() => undefined);
    }
  }
}

// ---- files and the daemon, for `nkctl up/down/status` ----

export const supervisorPidFile = (o: Pick<LaunchOptions, 'home'>) => join(o.home, 'run', 'supervisor.pid');
export const supervisorStateFile = (o: Pick<LaunchOptions, 'home'>) => join(o.home, 'run', 'supervisor.json');
/** The options `up` ran with, for the supervisor to know the same components. */
export const launchOptionsFile = (o: Pick<LaunchOptions, 'home'>) => join(o.home, 'run', 'launch.json');

/** The supervisor as a component `up` starts and `down` stops; it serves no health URL of its own. */
export function supervisorSpec(o: LaunchOptions): ComponentSpec {
  const main = join(repoRoot, 'dist', 'cli', 'supervisor-main.js');
  return {
    name: 'supervisor',
    command: process.execPath,
    args: [main, '--home', o.home],
    marker: 'cli/supervisor-main.js',
    healthUrl: '',
    readyTimeout: 10,
  };
}

export function readSupervisorState(o: Pick<LaunchOptions, 'home'>): SupervisorState | undefined {
  try {
    return JSON.parse(readFileSync(supervisorStateFile(o), 'utf8')) as SupervisorState;
  } catch {
    return undefined;
  }
}

/** Writes the state so that a reader never sees half of it. */
export function saveSupervisorState(o: Pick<LaunchOptions, 'home'>, state: SupervisorState): void {
  const file = supervisorStateFile(o);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

export const supervisorPid = (o: LaunchOptions) => runningPid(o, supervisorSpec(o));

/** Starts the supervisor daemon for the cluster `o` describes; returns its PID. */
export function startSupervisor(o: LaunchOptions): number {
  mkdirSync(join(o.home, 'run'), { recursive: true });
  writeFileSync(launchOptionsFile(o), `${JSON.stringify(o, null, 2)}\n`);
  return startComponent(o, supervisorSpec(o));
}

/** Waits until the supervisor has written its first state, or throws with its log. */
export async function waitSupervisorReady(
  o: LaunchOptions,
  pid: number,
  clock: Clock = realClock,
): Promise<void> {
  const deadline = clock.now() + 10_000;
  while (readSupervisorState(o)?.pid !== pid) {
    if (clock.now() > deadline || !supervisorPid(o))
      throw new Error(`the supervisor did not start; see ${join(o.home, 'logs', 'supervisor.log')}`);
    await clock.sleep(100);
  }
}

/** Stops the supervisor (first, so that it does not restart what `down` stops). */
export async function stopSupervisor(o: LaunchOptions): Promise<boolean> {
  const stopped = await stopComponent(o, supervisorSpec(o), 5000);
  rmSync(supervisorStateFile(o), { force: true });
  return stopped;
}

/** The supervisor's view of the world: the launcher's processes, health checks and files. */
export function launcherDeps(o: LaunchOptions, log: Logger, clock: Clock = realClock): SupervisorDeps {
  return {
    specs: components(o),
    running: (spec) => runningPid(o, spec),
    healthy: componentHealthy,
    start: (spec, onExit) => startComponent(o, spec, onExit),
    kill: async (spec) => {
      const pid = runningPid(o, spec);
      await stopComponent(o, spec, 0);
      for (let i = 0; pid && i < 50 && processAlive(pid); i++) await clock.sleep(100);
    },
    save: (state) => saveSupervisorState(o, state),
    clock,
    log,
  };
}

/** Whether `home` still has this supervisor's PID file (`down` and `--purge` remove it). */
export function pidFileNamesUs(o: Pick<LaunchOptions, 'home'>): boolean {
  const file = supervisorPidFile(o);
  return existsSync(file) && readFileSync(file, 'utf8').trim() === String(process.pid);
}
