// Two schedulers with leader election against a real etcd, apiserver and
// hollow nodes: one holds the kube-scheduler Lease and schedules; killed
// with SIGKILL, the other takes the Lease over and schedules the next pod.
// Both are started with `--leader-elect` bare, as Kubernetes' manifests give it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Api,
  api,
  cleanup,
  type Scheduler,
  startApiserver,
  startEtcd,
  startHollowNodes,
  startScheduler,
  waitFor,
} from '../testing/harness.js';

let client: Api;
const schedulers: Scheduler[] = [];
const leaseFlags = [
  ...['--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s'],
  ...['--leader-elect-retry-period', '500ms'],
];

beforeAll(async () => {
  const etcd = await startEtcd();
  const apiserver = await startApiserver({ etcdServers: etcd.endpoints });
  client = api(apiserver.url);
  await startHollowNodes({ apiserverUrl: apiserver.url, nodes: 2, prefix: 'le-' });
  for (let i = 0; i < 2; i++)
    schedulers.push(
      await startScheduler({ apiserverUrl: apiserver.url, leaderElect: true, extraArgs: leaseFlags }),
    );
});

afterAll(async () => {
  await cleanup();
});

const leasePath = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler';

async function createAndWaitBound(name: string): Promise<string> {
  const res = await client.post('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'app', image: 'nginx' }] },
  });
  expect(res.status).toBe(201);
  return waitFor(
    async () => (await client.get(`/api/v1/namespaces/default/pods/${name}`)).body.spec?.nodeName,
    { what: `${name} bound`, timeoutMs: 20_000 },
  );
}

it('a scheduler given --leader-elect bare, as pflag takes it, takes the Lease', async () => {
  // startScheduler({ leaderElect: true }) passes `--leader-elect` with no value (issue 22).
  const lease = await waitFor(
    async () => {
      const body = (await client.get(leasePath)).body;
      return body.spec?.holderIdentity ? body : undefined;
    },
    { what: 'a lease holder' },
  );
  expect(lease.spec.leaseDurationSeconds).toBe(4);
});

it('one scheduler leads and schedules; killing it hands over to the other', async () => {
  const holder = await waitFor(async () => (await client.get(leasePath)).body.spec?.holderIdentity, {
    what: 'a lease holder',
  });
  expect(await createAndWaitBound('before')).toMatch(/^le-/);

  // Which process leads? Only the leader counts scheduled attempts.
  const scheduled = async (s: Scheduler) => {
    const text = await (await fetch(`${s.url}/metrics`)).text();
    const m = /scheduler_schedule_attempts_total\{result="scheduled"[^}]*\} (\d+)/.exec(text);
    return Number(m?.[1] ?? 0);
  };
  const counts = await Promise.all(schedulers.map(scheduled));
  expect(counts.filter((c) => c > 0)).toHaveLength(1);
  const leader = counts[0] > 0 ? 0 : 1;

  const killedAt = Date.now();
  await schedulers[leader].kill();
  const next = await waitFor(
    async () => {
      const h = (await client.get(leasePath)).body.spec?.holderIdentity;
      return h && h !== holder ? h : undefined;
    },
    { what: 'a new lease holder', timeoutMs: 20_000 },
  );
  expect(next).not.toBe(holder);
  expect(await createAndWaitBound('after')).toMatch(/^le-/);
  // Lease duration 4 s: the standby takes over within a few seconds of it.
  expect(Date.now() - killedAt).toBeLessThan(15_000);
  expect(await scheduled(schedulers[1 - leader])).toBeGreaterThan(0);
});
