/**
 * Failure drills on the docker-compose lab. Each breaks one part for real
 * (docker kill / stop, volumes removed) while a client works through the
 * balancer as a user would, then checks the cluster's answer and returns
 * what it measured. A drill leaves the lab whole again, so they run in a row.
 *
 *   apiserver   kill one apiserver under a loop of writes
 *   leaders     kill the leading controller-manager and scheduler; scale a
 *               Deployment in the gap
 *   etcd        stop the etcd leader under writes, then bring it back
 *   worker      stop the worker container that runs a pod of a Deployment
 *   restore     snapshot etcd, destroy all three members, restore
 */
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import type { RestClient } from '../client/rest.js';
import { compose, containerOf, exec, type Lab, run } from './compose.js';
import {
  isReady,
  isUnavailable,
  kinds,
  type Log,
  labClient,
  readyNodes,
  resource,
  sleep,
  until,
  workers,
} from './lab.js';

export interface DrillResult {
  drill: string;
  /** What was measured, by name (milliseconds end in Ms). */
  measures: Record<string, number | string>;
  /** Every way the cluster's answer was wrong; empty when the drill passed. */
  problems: string[];
}

export const drillNames = ['apiserver', 'leaders', 'etcd', 'worker', 'restore'] as const;
export type DrillName = (typeof drillNames)[number];

const leaseDurationMs = 15_000;
const leaseRetryMs = 2_000;
const image = 'nanokube/busybox:1';

// ---------------------------------------------------------------------------
// A loop of writes that counts what happened to each

export interface WriteCounts {
  attempted: number;
  /** Creates answered 201, plus those a retry found already there (409 for our own unique name). */
  acknowledged: number;
  confirmedOnRetry: number;
  /** Requests that failed (no answer, or 5xx) and were retried. */
  failedRequests: number;
  /** Writes given up after a minute of failures (their fate unknown). */
  unknown: number;
  found: number;
  /** Longest time between two acknowledgements while the loop ran. */
  longestGapMs: number;
}

interface WriteLoop {
  /** Ack times (ms since epoch), in order. */
  acks: number[];
  stop(): Promise<WriteCounts>;
}

/**
 * Creates ConfigMaps `<label>-<n>` from `concurrency` workers until stopped.
 * A failed create is retried under the same name, so a retry cannot double a
 * write; a 409 on a retry means the earlier attempt landed. Afterwards the
 * ConfigMaps labelled `drill=<label>` are listed: acknowledged must equal
 * found, every acknowledged name among them, none that was not attempted.
 */
function writeLoop(lab: Lab, label: string, problems: string[], concurrency = 4): WriteLoop {
  const rest = labClient(lab, 0);
  const cms = resource(rest, kinds.configmaps);
  const attempted = new Set<string>();
  const acked = new Set<string>();
  const acks: number[] = [];
  const c = { confirmedOnRetry: 0, failedRequests: 0, unknown: 0 };
  let next = 0;
  let stopped = false;
  const startedAt = Date.now();

  async function one(n: number): Promise<void> {
    const name = `${label}-${n}`;
    attempted.add(name);
    const began = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await cms.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, labels: { drill: label } },
          data: { n: String(n) },
        } as KubeObject);
        acked.add(name);
        acks.push(Date.now());
        return;
      } catch (err) {
        if (err instanceof StatusError && err.code === 409 && attempt > 0) {
          c.confirmedOnRetry++;
          acked.add(name);
          acks.push(Date.now());
          return;
        }
        if (!isUnavailable(err)) {
          problems.push(`create ${name}: unexpected answer ${(err as Error).message}`);
          return;
        }
        c.failedRequests++;
        if (Date.now() - began > 60_000) {
          c.unknown++;
          return;
        }
        await sleep(200);
      }
    }
  }

  const runners = Array.from({ length: concurrency }, async () => {
    while (!stopped) await one(next++);
  });

  return {
    acks,
    async stop() {
      stopped = true;
      await Promise.all(runners);
      const found = await until('a list of the written ConfigMaps', 60_000, () =>
        resource(labClient(lab), kinds.configmaps).list({ labelSelector: `drill=${label}` }),
      );
      for (const cm of found.items) {
        const name = cm.metadata.name ?? '';
        if (!attempted.has(name)) problems.push(`found ${name}, which was never written`);
        if ((cm as any).data?.n !== name.slice(label.length + 1))
          problems.push(`${name} holds ${JSON.stringify((cm as any).data)}`);
      }
      const foundNames = new Set(found.items.map((cm) => cm.metadata.name ?? ''));
      const lost = [...acked].filter((n) => !foundNames.has(n));
      if (lost.length > 0)
        problems.push(`lost ${lost.length} acknowledged writes: ${lost.slice(0, 5).join(', ')}`);
      if (foundNames.size !== acked.size)
        problems.push(`acknowledged ${acked.size} but found ${foundNames.size} (unknown fate: ${c.unknown})`);
      let gap = 0;
      let prev = startedAt;
      for (const t of acks) {
        gap = Math.max(gap, t - prev);
        prev = t;
      }
      rest.close();
      return {
        attempted: attempted.size,
        acknowledged: acked.size,
        confirmedOnRetry: c.confirmedOnRetry,
        failedRequests: c.failedRequests,
        unknown: c.unknown,
        found: foundNames.size,
        longestGapMs: gap,
      };
    },
  };
}

/** Deletes the drill's ConfigMaps (by label). */
async function deleteWritten(rest: RestClient, label: string): Promise<void> {
  await rest.request({
    method: 'DELETE',
    path: '/api/v1/namespaces/default/configmaps',
    query: { labelSelector: `drill=${label}` },
  });
}

// ---------------------------------------------------------------------------
// Helpers on containers and workloads

async function kill(lab: Lab, service: string): Promise<void> {
  const id = await containerOf(lab, service);
  if (!id) throw new Error(`the lab has no ${service} container`);
  const r = await run('docker', ['kill', id]);
  if (r.code !== 0) throw new Error(`docker kill ${service}: ${r.stderr.trim()}`);
}

/** Starts stopped services again and waits until Docker calls each healthy. */
async function restore(lab: Lab, services: string[]): Promise<void> {
  await compose(lab, ['start', ...services]);
  await waitHealthy(lab, services);
}

async function waitHealthy(lab: Lab, services: string[], timeoutMs = 180_000): Promise<void> {
  for (const s of services) {
    await until(`${s} to be healthy`, timeoutMs, async () => {
      const id = await containerOf(lab, s);
      const r = await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', id]);
      return r.stdout.trim() === 'healthy';
    });
  }
}

/**
 * A Deployment of busybox pods. `evictAfterSeconds` replaces the 300 s the
 * apiserver gives every pod by default (DefaultTolerationSeconds) for the
 * not-ready and unreachable taints of a failed node.
 */
function deployment(name: string, replicas: number, evictAfterSeconds?: number): KubeObject {
  const tolerations =
    evictAfterSeconds === undefined
      ? undefined
      : ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({
          key,
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: evictAfterSeconds,
        }));
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { drill: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          tolerations,
          containers: [{ name: 'main', image, command: ['sh', '-c', 'exec sleep 3600'] }],
        },
      },
    },
  } as KubeObject;
}

async function available(rest: RestClient, name: string, want: number): Promise<boolean> {
  const d = await resource<any>(rest, kinds.deployments).get(name);
  return (d.status?.availableReplicas ?? 0) >= want && (d.status?.updatedReplicas ?? 0) >= want;
}

async function podsOf(rest: RestClient, app: string): Promise<any[]> {
  return (await resource<any>(rest, kinds.pods).list({ labelSelector: `app=${app}` })).items;
}

async function scale(rest: RestClient, name: string, replicas: number): Promise<void> {
  await resource(rest, kinds.deployments).patch(name, 'merge', { spec: { replicas } });
}

async function removeDeployment(rest: RestClient, name: string): Promise<void> {
  await resource(rest, kinds.deployments)
    .delete(name, { propagationPolicy: 'Foreground' })
    .catch(() => undefined);
}

interface LeaseView {
  /** The holder's host (the service name): holderIdentity up to its "_". */
  holder: string;
  renewMs: number;
  acquireMs: number;
}

async function lease(rest: RestClient, name: string): Promise<LeaseView> {
  const l = await resource<any>(rest, kinds.leases, 'kube-system').get(name);
  return {
    holder: String(l.spec?.holderIdentity ?? '').split('_')[0],
    renewMs: Date.parse(l.spec?.renewTime ?? ''),
    acquireMs: Date.parse(l.spec?.acquireTime ?? ''),
  };
}

// ---------------------------------------------------------------------------
// The drills

async function apiserverDrill(lab: Lab, log: Log): Promise<DrillResult> {
  const problems: string[] = [];
  const loop = writeLoop(lab, 'drill-api', problems);
  await sleep(3_000);
  const victim = 'apiserver-1';
  log(`killing ${victim} under a loop of writes`);
  const killedAt = Date.now();
  await kill(lab, victim);
  await sleep(12_000);
  const w = await loop.stop();
  const firstAck = loop.acks.find((t) => t > killedAt);
  let gapAfterKill = 0;
  let prev = killedAt;
  for (const t of loop.acks.filter((t) => t > killedAt)) {
    gapAfterKill = Math.max(gapAfterKill, t - prev);
    prev = t;
  }
  log(`starting ${victim} again`);
  await restore(lab, [victim]);
  const rest = labClient(lab);
  await deleteWritten(rest, 'drill-api').catch(() => undefined);
  rest.close();
  return {
    drill: 'apiserver',
    measures: {
      killed: victim,
      firstAckAfterKillMs: firstAck ? firstAck - killedAt : 'none',
      longestGapAfterKillMs: gapAfterKill,
      ...w,
    },
    problems,
  };
}

/**
 * One component's failover: who held the Lease, its last renewal (read just
 * after the kill: nothing renews it after that), and when and by whom it was
 * taken over. A standby may take over only once the lease ran out (last
 * renewal + lease duration, by its own observation) and tries every retry
 * period, so the takeover should come a retry period or so after expiry.
 */
interface Failover {
  killed: string;
  lastRenewMs: number;
  takenBy?: string;
  takenAtMs?: number;
  /** From the kill to the poll that saw the new holder. */
  seenAfterKillMs?: number;
}

function failoverProblems(what: string, f: Failover): string[] {
  if (f.takenAtMs === undefined) return [`no standby took the ${what} Lease`];
  const afterExpiry = f.takenAtMs - (f.lastRenewMs + leaseDurationMs);
  const out: string[] = [];
  // Our own judgement of expiry lags the renewal slightly; a takeover before it is an overlap.
  if (afterExpiry < -1_000)
    out.push(`the ${what} standby took the Lease ${-afterExpiry} ms before it ran out`);
  if (afterExpiry > 5 * leaseRetryMs)
    out.push(
      `the ${what} standby took the Lease ${afterExpiry} ms after it ran out (retry period ${leaseRetryMs} ms)`,
    );
  return out;
}

async function leadersDrill(lab: Lab, log: Log): Promise<DrillResult> {
  const problems: string[] = [];
  const rest = labClient(lab);
  const name = 'drill-leaders';
  await resource(rest, kinds.deployments).create(deployment(name, 1));
  await until(`${name} available`, 120_000, () => available(rest, name, 1));
  const leases = { cm: 'kube-controller-manager', sched: 'kube-scheduler' } as const;
  const cmHolder = (await lease(rest, leases.cm)).holder;
  const schedHolder = (await lease(rest, leases.sched)).holder;
  log(
    `killing the leaders: ${cmHolder} (controller-manager) and ${schedHolder} (scheduler); then scaling ${name} to 3`,
  );
  const killedAt = Date.now();
  await Promise.all([kill(lab, cmHolder), kill(lab, schedHolder)]);
  const f: Record<'cm' | 'sched', Failover> = {
    cm: { killed: cmHolder, lastRenewMs: (await lease(rest, leases.cm)).renewMs },
    sched: { killed: schedHolder, lastRenewMs: (await lease(rest, leases.sched)).renewMs },
  };
  await scale(rest, name, 3);
  let convergedAt: number | undefined;
  await until(
    'new leaders and 3 available replicas',
    90_000,
    async () => {
      const now = Date.now();
      for (const k of ['cm', 'sched'] as const) {
        if (f[k].takenAtMs !== undefined) continue;
        const l = await lease(rest, leases[k]);
        if (l.holder && l.holder !== f[k].killed)
          Object.assign(f[k], { takenBy: l.holder, takenAtMs: l.acquireMs, seenAfterKillMs: now - killedAt });
      }
      if (convergedAt === undefined && (await available(rest, name, 3))) convergedAt = now - killedAt;
      return f.cm.takenAtMs !== undefined && f.sched.takenAtMs !== undefined && convergedAt !== undefined;
    },
    200,
  ).catch((err) => problems.push((err as Error).message));
  problems.push(...failoverProblems('controller-manager', f.cm), ...failoverProblems('scheduler', f.sched));
  log('starting the killed leaders again');
  await restore(lab, [cmHolder, schedHolder]);
  await removeDeployment(rest, name);
  rest.close();
  const afterExpiry = (x: Failover) =>
    x.takenAtMs === undefined ? 'none' : x.takenAtMs - (x.lastRenewMs + leaseDurationMs);
  return {
    drill: 'leaders',
    measures: {
      controllerManagerKilled: cmHolder,
      controllerManagerFailoverMs: f.cm.seenAfterKillMs ?? 'none',
      controllerManagerTakeoverAfterExpiryMs: afterExpiry(f.cm),
      schedulerKilled: schedHolder,
      schedulerFailoverMs: f.sched.seenAfterKillMs ?? 'none',
      schedulerTakeoverAfterExpiryMs: afterExpiry(f.sched),
      scaledTo3AvailableMs: convergedAt ?? 'none',
      leaseDurationMs,
    },
    problems,
  };
}

async function etcdStatus(
  lab: Lab,
  via: string,
): Promise<{ member: string; leader: boolean; revision: number }[]> {
  const out = await exec(lab, via, [
    'etcdctl',
    '--endpoints',
    'https://etcd-1:2379,https://etcd-2:2379,https://etcd-3:2379',
    'endpoint',
    'status',
    '-w',
    'json',
  ]).catch((err: Error) => {
    // With a member down, etcdctl prints the others and exits non-zero.
    const m = /\[.*\]/s.exec(err.message);
    if (!m) throw err;
    return m[0];
  });
  return (JSON.parse(out) as any[]).map((s) => ({
    member: String(s.Endpoint).replace(/^https?:\/\/|:2379$/g, ''),
    leader: String(s.Status.header.member_id) === String(s.Status.leader),
    revision: Number(s.Status.header.revision),
  }));
}

async function etcdDrill(lab: Lab, log: Log): Promise<DrillResult> {
  const problems: string[] = [];
  const before = await etcdStatus(lab, 'etcd-1');
  const victim = before.find((s) => s.leader)?.member ?? 'etcd-2';
  const via = victim === 'etcd-1' ? 'etcd-2' : 'etcd-1';
  const loop = writeLoop(lab, 'drill-etcd', problems);
  await sleep(3_000);
  log(`stopping ${victim} (the etcd leader) under a loop of writes`);
  const stoppedAt = Date.now();
  await compose(lab, ['stop', '-t', '5', victim]);
  await sleep(10_000);
  const acksWithTwo = loop.acks.filter((t) => t > stoppedAt + 5_000).length;
  if (acksWithTwo === 0) problems.push('no write was acknowledged while two of three members ran');
  log(`starting ${victim} again`);
  const startedAt = Date.now();
  await compose(lab, ['start', victim]);
  await waitHealthy(lab, [victim]);
  // Caught up: the victim has reached the revision the others had one look earlier (the write
  // loop goes on, so three revisions read one after another over TLS rarely agree exactly).
  let others = 0;
  const caughtUp = await until(`${victim} to catch up`, 60_000, async () => {
    const s = await etcdStatus(lab, via);
    if (s.length !== 3) return undefined;
    const own = s.find((m) => m.member === victim)?.revision ?? 0;
    const done = new Set(s.map((m) => m.revision)).size === 1 || (others > 0 && own >= others);
    others = Math.max(...s.filter((m) => m.member !== victim).map((m) => m.revision));
    return done ? Date.now() - startedAt : undefined;
  }).catch((err) => {
    problems.push((err as Error).message);
    return undefined;
  });
  await sleep(2_000);
  const w = await loop.stop();
  let gap = 0;
  let prev = stoppedAt;
  for (const t of loop.acks.filter((t) => t > stoppedAt)) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  const rest = labClient(lab);
  await deleteWritten(rest, 'drill-etcd').catch(() => undefined);
  rest.close();
  return {
    drill: 'etcd',
    measures: {
      stopped: victim,
      longestGapAfterStopMs: gap,
      acknowledgedWithTwoMembers: acksWithTwo,
      rejoinedAndCaughtUpMs: caughtUp ?? 'none',
      ...w,
    },
    problems,
  };
}

/** How long the worker drill's pods tolerate a failed node (Kubernetes' default: 300 s). */
const evictAfterSeconds = 5;

async function workerDrill(lab: Lab, log: Log): Promise<DrillResult> {
  const problems: string[] = [];
  const rest = labClient(lab);
  const name = 'drill-worker';
  await resource(rest, kinds.deployments).create(deployment(name, 3, evictAfterSeconds));
  await until(`${name} available`, 180_000, () => available(rest, name, 3));
  const pods = await podsOf(rest, name);
  const victim = String(pods[0]?.spec?.nodeName ?? '');
  if (!workers.includes(victim))
    throw new Error(`pod ${pods[0]?.metadata?.name} runs on "${victim}", not a lab worker`);
  const onVictim = pods.filter((p) => p.spec?.nodeName === victim).length;
  log(`stopping ${victim}, which runs ${onVictim} of ${name}'s 3 pods`);
  const stoppedAt = Date.now();
  await compose(lab, ['stop', '-t', '2', victim]);
  let notReadyMs: number | undefined;
  let replacedMs: number | undefined;
  await until(
    `${victim} NotReady and 3 Ready pods elsewhere`,
    180_000,
    async () => {
      const now = Date.now();
      if (notReadyMs === undefined) {
        const n = await resource<any>(rest, kinds.nodes).get(victim);
        if (!isReady(n)) notReadyMs = now - stoppedAt;
      }
      if (notReadyMs !== undefined && replacedMs === undefined) {
        const live = (await podsOf(rest, name)).filter(
          (p) => !p.metadata.deletionTimestamp && p.spec?.nodeName !== victim && isReady(p),
        );
        if (live.length >= 3) replacedMs = now - stoppedAt;
      }
      return notReadyMs !== undefined && replacedMs !== undefined;
    },
    250,
  ).catch((err) => problems.push((err as Error).message));
  log(`starting ${victim} again`);
  await compose(lab, ['start', victim]);
  await waitHealthy(lab, [victim]);
  const back = await until(`${victim} Ready again`, 180_000, async () =>
    (await readyNodes(rest)).includes(victim),
  )
    .then(() => true)
    .catch((err) => {
      problems.push((err as Error).message);
      return false;
    });
  await removeDeployment(rest, name);
  rest.close();
  return {
    drill: 'worker',
    measures: {
      stopped: victim,
      podsOnIt: onVictim,
      nodeNotReadyMs: notReadyMs ?? 'none',
      podsTolerateFailedNodeS: evictAfterSeconds,
      replacementPodsReadyMs: replacedMs ?? 'none',
      nodeReadyAgain: back ? 'yes' : 'no',
    },
    problems,
  };
}

async function restoreDrill(lab: Lab, log: Log): Promise<DrillResult> {
  const problems: string[] = [];
  const members = ['etcd-1', 'etcd-2', 'etcd-3'];
  const rest = labClient(lab);
  const name = 'drill-restore';
  const label = 'drill-restore';
  for (let i = 0; i < 20; i++) {
    await resource(rest, kinds.configmaps).create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `${label}-${i}`, labels: { drill: label } },
      data: { n: String(i) },
    } as KubeObject);
  }
  await resource(rest, kinds.deployments).create(deployment(name, 2));
  await until(`${name} available`, 180_000, () => available(rest, name, 2));
  const podsBefore = new Map((await podsOf(rest, name)).map((p) => [p.metadata.name, p.metadata.uid]));

  log('etcd snapshot save (etcd-1) to the backup volume');
  await exec(lab, 'etcd-1', [
    'sh',
    '-c',
    'etcdctl --endpoints https://127.0.0.1:2379 snapshot save /backup/snap.db >/dev/null && cp /backup/snap.db /backup/restore.db',
  ]);
  // Written after the snapshot: the restore must take the cluster back to before it.
  await resource(rest, kinds.configmaps).create({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'drill-restore-after-snapshot', labels: { drill: 'drill-restore-after' } },
  } as KubeObject);

  log('destroying the etcd cluster: every member stopped, removed, and its volume deleted');
  const destroyedAt = Date.now();
  await compose(lab, ['rm', '-f', '-s', ...members]);
  for (const m of members) await run('docker', ['volume', 'rm', '-f', `${lab.project}_${m}`]);
  const down = await resource(labClient(lab, 0), kinds.configmaps)
    .list({ labelSelector: `drill=${label}` })
    .then(
      () => 'answered',
      (err) => (isUnavailable(err) ? 'unavailable' : `answered ${(err as Error).message}`),
    );
  if (down !== 'unavailable') problems.push(`with no etcd the API ${down}`);

  log('recreating the members from the snapshot, then restarting the apiservers and controllers');
  await compose(lab, ['up', '-d', '--no-deps', ...members]);
  await waitHealthy(lab, members);
  await exec(lab, 'etcd-1', ['rm', '-f', '/backup/restore.db']);
  const control = [
    'apiserver-1',
    'apiserver-2',
    'controller-manager-1',
    'controller-manager-2',
    'scheduler-1',
    'scheduler-2',
  ];
  await compose(lab, ['restart', '-t', '5', ...control]);
  await waitHealthy(lab, control);
  const answering = await until('the API to answer', 120_000, () => readyNodes(rest).then(() => true));
  const restoredMs = answering ? Date.now() - destroyedAt : 0;

  const cms = await resource(rest, kinds.configmaps).list({ labelSelector: `drill=${label}` });
  if (cms.items.length !== 20)
    problems.push(`found ${cms.items.length} of the 20 ConfigMaps written before the snapshot`);
  const after = await resource(rest, kinds.configmaps).list({ labelSelector: 'drill=drill-restore-after' });
  if (after.items.length !== 0)
    problems.push('a ConfigMap written after the snapshot is there after the restore');
  const podsAfter = await podsOf(rest, name);
  for (const [pod, uid] of podsBefore) {
    const p = podsAfter.find((x) => x.metadata.name === pod);
    if (!p) problems.push(`pod ${pod} is gone after the restore`);
    else if (p.metadata.uid !== uid) problems.push(`pod ${pod} has another uid after the restore`);
  }
  let workloadsMs: number | undefined;
  await until(`${name}'s pods Ready`, 120_000, async () => {
    const ps = await podsOf(rest, name);
    return ps.filter((p) => isReady(p)).length >= 2;
  })
    .then(() => {
      workloadsMs = Date.now() - destroyedAt;
    })
    .catch((err) => problems.push((err as Error).message));
  log(`scaling ${name} to 3 on the restored cluster`);
  const scaledAt = Date.now();
  await scale(rest, name, 3);
  let scaledMs: number | undefined;
  await until(`${name} at 3 after the restore`, 180_000, () => available(rest, name, 3))
    .then(() => {
      scaledMs = Date.now() - scaledAt;
    })
    .catch((err) => problems.push((err as Error).message));
  await removeDeployment(rest, name);
  await deleteWritten(rest, label).catch(() => undefined);
  rest.close();
  return {
    drill: 'restore',
    measures: {
      objectsBefore: 20,
      objectsAfter: cms.items.length,
      writtenAfterSnapshotAndGone: after.items.length === 0 ? 'yes' : 'no',
      apiAnsweringAfterDestroyMs: restoredMs,
      podsReadyAfterDestroyMs: workloadsMs ?? 'none',
      scaleAfterRestoreMs: scaledMs ?? 'none',
    },
    problems,
  };
}

const drills: Record<DrillName, (lab: Lab, log: Log) => Promise<DrillResult>> = {
  apiserver: apiserverDrill,
  leaders: leadersDrill,
  etcd: etcdDrill,
  worker: workerDrill,
  restore: restoreDrill,
};

/** Runs one drill; an exception becomes a problem, so the next drill still runs. */
export async function runDrill(lab: Lab, name: DrillName, log: Log): Promise<DrillResult> {
  const started = Date.now();
  try {
    const r = await drills[name](lab, (line) => log(`${name}: ${line}`));
    r.measures.drillMs = Date.now() - started;
    return r;
  } catch (err) {
    return { drill: name, measures: { drillMs: Date.now() - started }, problems: [(err as Error).message] };
  }
}
