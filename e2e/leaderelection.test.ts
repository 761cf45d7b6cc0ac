// Leader election on a real Lease and the event recorder, against a real etcd
// and apiserver. Candidates run in-process (one RestClient each) and as child
// processes (e2e/fixtures/leader-candidate.ts, run from dist/), so the leader
// can be killed with SIGKILL or stopped with SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { EventRecorder, newEventClient } from '../client/events.js';
import { LeaderElector, newLeaseClient } from '../client/leaderelection.js';
import { RestClient } from '../client/rest.js';
import {
  type Api,
  type Apiserver,
  api,
  cleanup,
  logTail,
  makeTempDir,
  sleep,
  startApiserver,
  startEtcd,
  waitFor,
} from '../testing/harness.js';
import { ensureNamespace } from './apiserver-fixtures.js';

const fixture = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../dist/e2e/fixtures/leader-candidate.js',
);
const logger = pino({ level: 'warn' }, pino.destination(2));
/** Short timings in the ratio Kubernetes requires (lease > renew > 1.2 × retry). */
const short = { leaseDurationMs: 4_000, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

let apiserver: Apiserver;
let client: Api;
const children = new Set<ChildProcess>();
const restClients: RestClient[] = [];

beforeAll(async () => {
  if (!existsSync(fixture)) throw new Error(`${fixture} is missing: run \`npm run build\` first`);
  const etcd = await startEtcd();
  apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all([...children].map((c) => exited(c)));
  for (const r of restClients) r.close();
  await cleanup();
});

function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => c.once('exit', () => resolve()));
}

const holderOf = async (lease: string) =>
  (await client.get(`/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/${lease}`)).body.spec;

describe('in-process candidates', () => {
  it.each([
    { name: 'two', n: 2 },
    { name: 'three', n: 3 },
  ])('$name candidates elect exactly one leader, which keeps the lease past its duration', async ({ n }) => {
    const lease = `inproc-${n}`;
    const started: string[] = [];
    const ac = new AbortController();
    const electors = Array.from({ length: n }, (_, i) => {
      const rest = new RestClient({ servers: [apiserver.url] });
      restClients.push(rest);
      const identity = `cand-${i}`;
      return new LeaderElector({
        client: newLeaseClient(rest),
        namespace: 'kube-system',
        name: lease,
        identity,
        ...short,
        logger,
        onStartedLeading: (signal) => {
          started.push(identity);
          return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        },
        onStoppedLeading: () => {},
      });
    });
    const runs = electors.map((e) => e.run(ac.signal));
    await waitFor(() => started.length > 0, { what: 'a leader' });
    // Longer than the lease duration: the standbys keep seeing renewals and never take over.
    await sleep(short.leaseDurationMs + 1_000);
    expect(started).toHaveLength(1);
    const leader = started[0];
    expect(electors.filter((e) => e.isLeader()).map((e) => e.getLeader())).toEqual([leader]);
    expect(electors.map((e) => e.getLeader())).toEqual(Array(n).fill(leader));
    expect(await holderOf(lease)).toMatchObject({ holderIdentity: leader, leaseTransitions: 0 });

    ac.abort();
    expect(await Promise.all(runs)).toEqual(Array(n).fill('cancelled'));
    expect(await holderOf(lease)).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
  });
});

interface Candidate {
  identity: string;
  child: ChildProcess;
  logPath: string;
  lines: { at: number; text: string }[];
  /** Resolves with the time (Date.now) the line matching `re` was printed. */
  waitLine(re: RegExp, timeoutMs?: number): Promise<number>;
}

function startCandidate(identity: string, lease: string, timings?: typeof short): Candidate {
  const logPath = path.join(makeTempDir('nanokube-candidate-'), `${identity}.log`);
  const args = [fixture, '--server', apiserver.url, '--identity', identity, '--name', lease];
  if (timings)
    args.push(
      ...['--lease-ms', String(timings.leaseDurationMs), '--renew-ms', String(timings.renewDeadlineMs)],
      ...['--retry-ms', String(timings.retryPeriodMs)],
    );
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', openSync(logPath, 'a')] });
  children.add(child);
  const lines: Candidate['lines'] = [];
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      lines.push({ at: Date.now(), text: buf.slice(0, nl) });
      buf = buf.slice(nl + 1);
    }
  });
  const waitLine = async (re: RegExp, timeoutMs = 30_000) => {
    try {
      return await waitFor(() => lines.find((l) => re.test(l.text))?.at, {
        timeoutMs,
        intervalMs: 20,
        what: `${identity} to print ${re}`,
      });
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; stdout: ${JSON.stringify(lines)}; log:\n${logTail(logPath)}`,
      );
    }
  };
  return { identity, child, logPath, lines, waitLine };
}

/** Starts candidates and waits until one leads and every other follows it. */
async function electAmong(cands: Candidate[]): Promise<{ leader: Candidate; standbys: Candidate[] }> {
  const leader = await waitFor(() => cands.find((c) => c.lines.some((l) => l.text.startsWith('LEADING'))), {
    timeoutMs: 30_000,
    what: 'a leader',
  });
  const standbys = cands.filter((c) => c !== leader);
  for (const s of standbys) await s.waitLine(new RegExp(`^NEWLEADER ${leader.identity}$`));
  return { leader, standbys };
}

const leading = (c: Candidate) => c.lines.filter((l) => l.text.startsWith('LEADING')).length;

/**
 * Kills the leader with SIGKILL; one standby must lead once the lease has
 * expired, and not before. Returns it and how long it took.
 */
async function killAndTakeOver(leader: Candidate, standbys: Candidate[], t: typeof short, lease: string) {
  const killedAt = Date.now();
  leader.child.kill('SIGKILL');
  const next = await waitFor(() => standbys.find((c) => leading(c) > 0), {
    timeoutMs: t.leaseDurationMs + 10_000,
    intervalMs: 20,
    what: 'a standby to lead',
  });
  const elapsed = next.lines.find((l) => l.text.startsWith('LEADING'))!.at - killedAt;
  // The standby counts the lease from when it last saw the record change: at most
  // one (jittered) retry period after the leader's last renewal, which was at most
  // one retry period before the kill.
  expect(elapsed).toBeGreaterThan(t.leaseDurationMs - t.retryPeriodMs - 300);
  expect(elapsed).toBeLessThan(t.leaseDurationMs + 1.2 * t.retryPeriodMs + 1_000);
  expect(await holderOf(lease)).toMatchObject({ holderIdentity: next.identity, leaseTransitions: 1 });
  return { next, elapsed };
}

/**
 * Stops the leader with SIGTERM; it releases the lease, and the standby, which
 * watches the Lease while it waits, leads at once: well under one retry period.
 */
async function stopAndTakeOver(leader: Candidate, standby: Candidate, t: typeof short) {
  const stoppedAt = Date.now();
  leader.child.kill('SIGTERM');
  const ledAt = await standby.waitLine(/^LEADING /, 10_000);
  await leader.waitLine(/^EXIT \S+ cancelled$/, 10_000);
  await exited(leader.child);
  expect(leader.child.exitCode).toBe(0);
  expect(leader.lines.map((l) => l.text)).toContain(`STOPPED ${leader.identity}`);
  const elapsed = ledAt - stoppedAt;
  expect(elapsed).toBeLessThan(Math.min(1_500, t.retryPeriodMs + 1_000));
  return elapsed;
}

describe('candidate processes', () => {
  it('with short timings: the standby leads within the lease duration after a SIGKILL, at once after a SIGTERM', async () => {
    const lease = 'proc-short';
    const cands = ['p-a', 'p-b', 'p-c'].map((id) => startCandidate(id, lease, short));
    const first = await electAmong(cands);
    expect(cands.map(leading)).toEqual(cands.map((c) => (c === first.leader ? 1 : 0)));

    const { next, elapsed: killed } = await killAndTakeOver(first.leader, first.standbys, short, lease);
    const last = first.standbys.find((c) => c !== next)!;
    await last.waitLine(new RegExp(`^NEWLEADER ${next.identity}$`));
    await sleep(short.retryPeriodMs * 3);
    expect(leading(last)).toBe(0);

    const stopped = await stopAndTakeOver(next, last, short);
    logger.warn({ killedTakeoverMs: killed, stoppedTakeoverMs: stopped }, 'takeover times, short timings');
  });

  it('with the default timings (15 s / 10 s / 2 s): the same', async () => {
    const defaults = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
    const lease = 'proc-defaults';
    const first = await electAmong(['d-a', 'd-b'].map((id) => startCandidate(id, lease)));
    const { next: standby, elapsed: killed } = await killAndTakeOver(
      first.leader,
      first.standbys,
      defaults,
      lease,
    );

    const late = startCandidate('d-c', lease);
    await late.waitLine(new RegExp(`^NEWLEADER ${standby.identity}$`));
    const stopped = await stopAndTakeOver(standby, late, defaults);
    logger.warn({ killedTakeoverMs: killed, stoppedTakeoverMs: stopped }, 'takeover times, default timings');
  });
});

describe('event recorder', () => {
  it('folds repeated events into one Event whose count the API shows', async () => {
    const ns = await ensureNamespace(client, 'events-e2e');
    const made = await client.post(`/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'noisy' },
    });
    expect(made.status).toBe(201);
    const cm = made.body as KubeObject;
    const nsObj = (await client.get(`/api/v1/namespaces/${ns}`)).body as KubeObject;
    const rest = new RestClient({ servers: [apiserver.url] });
    restClients.push(rest);
    const recorder = new EventRecorder({
      client: newEventClient(rest),
      component: 'e2e',
      host: 'host-1',
      logger,
    });

    for (let i = 0; i < 7; i++) recorder.event(cm, 'Warning', 'Flapping', 'it flapped again');
    recorder.eventf(cm, 'Normal', 'Noted', 'noted %d times', 7);
    recorder.event(nsObj, 'Normal', 'Checked', 'cluster-scoped objects get events in default');
    await recorder.flush();

    const list = await client.get(
      `/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent('involvedObject.name=noisy')}`,
    );
    expect(list.status).toBe(200);
    const byReason = Object.fromEntries(list.body.items.map((e: any) => [e.reason, e]));
    expect(Object.keys(byReason).sort()).toEqual(['Flapping', 'Noted']);
    expect(byReason.Flapping).toMatchObject({
      type: 'Warning',
      count: 7,
      message: 'it flapped again',
      involvedObject: { kind: 'ConfigMap', name: 'noisy', namespace: ns, uid: cm.metadata.uid },
      source: { component: 'e2e', host: 'host-1' },
    });
    expect(byReason.Flapping.metadata.name).toMatch(/^noisy\.[0-9a-f]+$/);
    expect(byReason.Flapping.lastTimestamp >= byReason.Flapping.firstTimestamp).toBe(true);
    expect(byReason.Noted).toMatchObject({ count: 1, message: 'noted 7 times' });

    const inDefault = await client.get(
      `/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${ns}`)}`,
    );
    expect(inDefault.body.items).toHaveLength(1);
    expect(inDefault.body.items[0]).toMatchObject({
      reason: 'Checked',
      involvedObject: { kind: 'Namespace' },
    });
  });
});
