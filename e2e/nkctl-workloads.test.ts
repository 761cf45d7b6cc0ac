/**
 * nkctl's workload verbs against a real cluster (etcd, apiserver,
 * controller-manager, scheduler and a kubelet on Docker), run as users run
 * the built nkctl: `rollout` status/history/undo/restart/pause/resume
 * (history checked byte for byte against the real kubectl), `logs` (tail,
 * timestamps, a workload's pod, -l with prefixes, all containers, -f while
 * lines arrive, --previous after a restart), `exec` (exit codes, stdin, a
 * TTY that follows the window size) and `port-forward` (many connections,
 * bytes both ways, a Service port, a closed port), with their errors.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubectl,
  logTail,
  run,
  startControllerManager,
  startScheduler,
  waitFor,
} from '../testing/harness.js';
import { docker } from '../testing/kubelet-helpers.js';
import { busybox, KubeletCluster, running } from './kubelet-cluster.js';

const nkctlJs = path.resolve('dist/cli/main.js');
/** A second tag of the one image, our own, so no other test file removes it under us. */
const busybox2 = 'nanokube/busybox:nkw2';
let k: KubeletCluster;
let cm: { logPath: string };
let scheduler: { logPath: string };
const children: ChildProcess[] = [];

const nkctl = (args: string[], o: { input?: string; timeoutMs?: number } = {}) =>
  run(process.execPath, [nkctlJs, '--kubeconfig', k.kubeconfig, ...args], {
    input: o.input,
    timeoutMs: o.timeoutMs ?? 60_000,
  });

/** Starts a long-running nkctl; its output so far is in `out()`. */
function nkctlBackground(args: string[]) {
  const child = spawn(process.execPath, [nkctlJs, '--kubeconfig', k.kubeconfig, ...args]);
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  return { child, exited, out: () => ({ stdout, stderr }) };
}

const kube = (args: string[]) => kubectl(args, { kubeconfig: k.kubeconfig });

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a shell command line on a pseudo-terminal (util-linux `script`); stdin stays open while it runs. */
function inTerminal(commandLine: string, timeoutMs = 60_000) {
  const child = spawn('script', ['-qec', commandLine, '/dev/null']);
  children.push(child);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise<{ code: number; out: string }>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code: code ?? -1, out });
    }),
  );
}

const nkctlLine = (args: string[]) =>
  [process.execPath, nkctlJs, '--kubeconfig', k.kubeconfig, ...args].map(quote).join(' ');

async function create(apiPath: string, obj: object) {
  const res = await k.client.post(apiPath, obj);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
}

const deployments = '/apis/apps/v1/namespaces/default/deployments';
const deployment = (name: string, replicas: number, containers: object[], extra: object = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, annotations: { 'kubernetes.io/change-cause': `create ${name}` } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { terminationGracePeriodSeconds: 1, containers },
    },
    ...extra,
  },
});

async function podsOf(app: string): Promise<any[]> {
  const res = await k.client.get(`/api/v1/namespaces/default/pods?labelSelector=app%3D${app}`);
  return (res.body.items ?? []).filter((p: any) => !p.metadata.deletionTimestamp);
}

async function rolledOut(name: string) {
  const r = await nkctl(['rollout', 'status', `deployment/${name}`, '--timeout', '90s'], {
    timeoutMs: 100_000,
  });
  if (r.code !== 0) {
    // Say why: the deployment, its replica sets and pods with their events, and the controllers' last words.
    const objects = await nkctl(['get', 'deployments,replicasets,pods', '-o', 'wide']);
    const pods = await nkctl(['describe', 'pods', '-l', `app=${name}`]);
    const d = await nkctl(['describe', 'deployment', name]);
    const why = [objects, pods, d].map((x) => x.stdout + x.stderr).join('\n');
    const logs = [cm, scheduler].map((c) => `${c.logPath}:\n${logTail(c.logPath, 40)}`).join('\n');
    expect(r.code, `${r.stderr}\n${why}\n${logs}`).toBe(0);
  }
  return r;
}

beforeAll(async () => {
  await docker.getImage(busybox).tag({ repo: 'nanokube/busybox', tag: 'nkw2' });
  k = await KubeletCluster.start('nkw');
  cm = await startControllerManager({ apiserverUrl: '', kubeconfig: k.kubeconfig });
  scheduler = await startScheduler({ apiserverUrl: '', kubeconfig: k.kubeconfig });
}, 90_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  for (const kind of ['deployments', 'daemonsets'])
    await k?.client
      .del(`/apis/apps/v1/namespaces/default/${kind}?propagationPolicy=Background`)
      .catch(() => {});
  await k?.stop();
  await docker
    .getImage(busybox2)
    .remove()
    .catch(() => undefined);
}, 90_000);

describe('nkctl rollout', () => {
  const ticker = (image: string) => ({
    name: 'app',
    image,
    command: ['sh', '-c', 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.3; done'],
  });

  it('status prints kubectl’s lines until the rollout is done', async () => {
    await create(deployments, deployment('web', 2, [ticker(busybox)]));
    const r = await rolledOut('web');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.at(-1)).toBe('deployment "web" successfully rolled out');
    for (const l of lines.slice(0, -1))
      expect(l).toMatch(
        /^Waiting for deployment (spec update to be observed|"web" rollout to finish: .*)\.\.\.$/,
      );
    expect(r.stdout).not.toContain('\r');
  });

  it('history lists revisions with their change cause, as kubectl does, and shows one revision', async () => {
    const patch = await k.client.patch(`${deployments}/web`, {
      metadata: { annotations: { 'kubernetes.io/change-cause': 'image nkw2' } },
      spec: { template: { spec: { containers: [ticker(busybox2)] } } },
    });
    expect(patch.status).toBe(200);
    await rolledOut('web');
    const h = await nkctl(['rollout', 'history', 'deployment/web']);
    expect(h.stdout).toBe(
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         create web\n2         image nkw2\n\n',
    );
    expect(h.stdout).toBe((await kube(['rollout', 'history', 'deployment/web'])).stdout);
    for (const revision of ['1', '2']) {
      const one = await nkctl(['rollout', 'history', 'deploy', 'web', '--revision', revision]);
      expect(one.stdout).toBe(
        (await kube(['rollout', 'history', 'deploy', 'web', `--revision=${revision}`])).stdout,
      );
    }
    const one = await nkctl(['rollout', 'history', 'deploy/web', '--revision', '1']);
    expect(one.stdout).toMatch(
      /^deployment\.apps\/web with revision #1\nPod Template:\n {2}Labels:\tapp=web\n/,
    );
    expect(one.stdout).toContain(`    Image:\t${busybox}\n`);
    const missing = await nkctl(['rollout', 'history', 'deploy/web', '--revision', '7']);
    expect([missing.code, missing.stderr]).toEqual([1, 'error: unable to find the specified revision\n']);
  });

  it('undo puts the previous template back, without the pod-template-hash, and its pods run it', async () => {
    const u = await nkctl(['rollout', 'undo', 'deployment/web']);
    expect([u.code, u.stdout]).toEqual([0, 'deployment.apps/web rolled back\n']);
    await rolledOut('web');
    const d = (await k.client.get(`${deployments}/web`)).body;
    expect(d.spec.template.spec.containers[0].image).toBe(busybox);
    expect(d.spec.template.metadata.labels).toEqual({ app: 'web' });
    expect(d.metadata.annotations['kubernetes.io/change-cause']).toBe('create web');
    const pods = await podsOf('web');
    expect(pods.map((p) => p.spec.containers[0].image)).toEqual([busybox, busybox]);
    const h = await nkctl(['rollout', 'history', 'deployment/web']);
    expect(h.stdout).toBe(
      'deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         image nkw2\n3         create web\n\n',
    );
    const same = await nkctl(['rollout', 'undo', 'deployment/web', '--to-revision', '3']);
    expect(same.stdout).toBe(
      'deployment.apps/web skipped rollback (current template already matches revision 3)\n',
    );
    const gone = await nkctl(['rollout', 'undo', 'deployment/web', '--to-revision', '1']);
    expect([gone.code, gone.stderr]).toEqual([1, 'error: unable to find specified revision 1 in history\n']);
  });

  it('restart replaces every pod; pause and resume set spec.paused and refuse to repeat themselves', async () => {
    const before = (await podsOf('web')).map((p) => p.metadata.name);
    const r = await nkctl(['rollout', 'restart', 'deployment', 'web']);
    expect([r.code, r.stdout]).toEqual([0, 'deployment.apps/web restarted\n']);
    const d = (await k.client.get(`${deployments}/web`)).body;
    expect(
      Date.parse(d.spec.template.metadata.annotations['kubectl.kubernetes.io/restartedAt']),
    ).toBeGreaterThan(Date.now() - 60_000);
    await rolledOut('web');
    const after = await waitFor(
      async () => {
        const pods = await podsOf('web');
        return pods.length === 2 && pods.map((p) => p.metadata.name);
      },
      { timeoutMs: 30_000, what: 'two pods of web' },
    );
    expect(after.filter((n) => before.includes(n))).toEqual([]);

    expect((await nkctl(['rollout', 'pause', 'deployment/web'])).stdout).toBe('deployment.apps/web paused\n');
    expect((await k.client.get(`${deployments}/web`)).body.spec.paused).toBe(true);
    for (const [args, line] of [
      [['pause'], 'error: deployments.apps "web" is already paused'],
      [
        ['restart'],
        'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume first)',
      ],
      [
        ['undo'],
        "error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
      ],
    ] as const) {
      const refused = await nkctl(['rollout', ...args, 'deployment/web']);
      expect([refused.code, refused.stderr]).toEqual([1, `${line}\n`]);
    }
    expect((await nkctl(['rollout', 'resume', 'deployment/web'])).stdout).toBe(
      'deployment.apps/web resumed\n',
    );
    expect((await k.client.get(`${deployments}/web`)).body.spec.paused).toBeFalsy();
    const again = await nkctl(['rollout', 'resume', 'deployment/web']);
    expect([again.code, again.stderr]).toEqual([1, 'error: deployments.apps "web" is not paused\n']);
  });

  it('status --watch=false reports once, --timeout gives up, a missed progress deadline fails', async () => {
    const neverReady = {
      ...ticker(busybox),
      readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 },
    };
    await create(deployments, deployment('slow', 1, [neverReady]));
    await waitFor(async () => (await podsOf('slow')).some(running), {
      timeoutMs: 30_000,
      what: 'slow running',
    });
    await waitFor(
      async () => (await k.client.get(`${deployments}/slow`)).body.status?.updatedReplicas === 1,
      { timeoutMs: 30_000, what: 'slow observed' },
    );
    const once = await nkctl(['rollout', 'status', 'deploy/slow', '--watch=false']);
    expect([once.code, once.stdout]).toEqual([
      0,
      'Waiting for deployment "slow" rollout to finish: 0 of 1 updated replicas are available...\n',
    ]);
    const started = Date.now();
    const timedOut = await nkctl(['rollout', 'status', 'deploy/slow', '--timeout', '2s']);
    expect([timedOut.code, timedOut.stderr]).toEqual([1, 'error: timed out waiting for the condition\n']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    await k.client.patch(`${deployments}/slow`, { spec: { progressDeadlineSeconds: 2 } });
    const failed = await nkctl(['rollout', 'status', 'deploy/slow', '--timeout', '60s']);
    expect([failed.code, failed.stderr]).toEqual([
      1,
      'error: deployment "slow" exceeded its progress deadline\n',
    ]);
  });

  it('status on a terminal rewrites one line in place', async () => {
    await k.client.patch(`${deployments}/web`, {
      spec: { template: { metadata: { annotations: { again: String(Date.now()) } } } },
    });
    const t = await inTerminal(
      nkctlLine(['rollout', 'status', 'deployment/web', '--timeout', '90s']),
      100_000,
    );
    expect(t.code).toBe(0);
    const rewrite = '\r\u001b[2K';
    expect(t.out.startsWith(rewrite)).toBe(true);
    expect(t.out.endsWith(`${rewrite}deployment "web" successfully rolled out\r\n`)).toBe(true);
    for (const line of t.out.split(rewrite).slice(1, -1))
      expect(line).toMatch(/^Waiting for deployment [^\n]*\.\.\.$/);
  });

  it('a daemon set has a history to list and undo', async () => {
    const path = '/apis/apps/v1/namespaces/default/daemonsets';
    await create(path, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: {
          metadata: { labels: { app: 'agent' } },
          spec: { terminationGracePeriodSeconds: 1, containers: [ticker(busybox)] },
        },
      },
    });
    const status = () => nkctl(['rollout', 'status', 'ds/agent', '--timeout', '90s'], { timeoutMs: 100_000 });
    expect((await status()).stdout).toMatch(/daemon set "agent" successfully rolled out\n$/);
    await k.client.patch(`${path}/agent`, {
      spec: { template: { spec: { containers: [ticker(busybox2)] } } },
    });
    expect((await status()).code).toBe(0);
    const h = await nkctl(['rollout', 'history', 'daemonset/agent']);
    expect(h.stdout).toBe(
      'daemonset.apps/agent \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n',
    );
    expect(h.stdout).toBe((await kube(['rollout', 'history', 'daemonset/agent'])).stdout);
    expect((await nkctl(['rollout', 'undo', 'daemonset/agent'])).stdout).toBe(
      'daemonset.apps/agent rolled back\n',
    );
    expect((await status()).code).toBe(0);
    const ds = (await k.client.get(`${path}/agent`)).body;
    expect(ds.spec.template.spec.containers[0].image).toBe(busybox);
  });

  it.each([
    {
      name: 'a deployment that does not exist',
      args: ['status', 'deployment/nope'],
      line: 'Error from server (NotFound): deployments.apps "nope" not found',
    },
    {
      name: 'status of a pod',
      args: ['status', 'pod/x'],
      line: 'error: no status viewer has been implemented for Pod',
    },
    {
      name: 'history of a pod',
      args: ['history', 'pod/x'],
      line: 'error: no history viewer has been implemented for "Pod"',
    },
    {
      name: 'pausing a daemon set',
      args: ['pause', 'ds/agent'],
      line: 'error: daemonsets.apps "agent" pausing is not supported',
    },
    {
      name: 'no name',
      args: ['undo', 'deployment'],
      line: 'error: you must specify the name of the deployment (TYPE NAME or TYPE/NAME)',
    },
  ])('$name is one error line and exit 1', async ({ args, line }) => {
    const r = await nkctl(['rollout', ...args]);
    expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
  });
});

describe('nkctl logs', () => {
  const sh = (name: string, script: string) => ({ name, image: busybox, command: ['sh', '-c', script] });

  beforeAll(async () => {
    await k.createPod('logger', { containers: [sh('app', 'echo one; echo; echo three; exec sleep 3600')] });
    await k.createPod('duo', {
      containers: [sh('a', 'echo from a; exec sleep 3600'), sh('b', 'echo from b; exec sleep 3600')],
    });
    await create(
      deployments,
      deployment('talker', 2, [sh('app', 'echo hello from $(hostname); exec sleep 3600')]),
    );
    await rolledOut('talker');
    for (const pod of ['logger', 'duo']) await k.waitPod(pod, running, 'Running');
  }, 120_000);

  it('prints a pod’s log as it is, blank lines too; --tail and --timestamps', async () => {
    const all = await waitFor(
      async () => {
        const r = await nkctl(['logs', 'logger']);
        return r.stdout === 'one\n\nthree\n' && r;
      },
      { timeoutMs: 10_000, what: 'the log of logger' },
    );
    expect([all.code, all.stderr]).toEqual([0, '']);
    expect((await nkctl(['logs', 'logger', '--tail', '1'])).stdout).toBe('three\n');
    const ts = (await nkctl(['logs', 'logger', '--timestamps'])).stdout.split('\n');
    expect(ts[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$/);
  });

  it('TYPE/NAME picks one pod and says how many there were; -l reads them all with prefixes', async () => {
    const names = (await podsOf('talker')).map((p) => p.metadata.name).sort();
    const one = await nkctl(['logs', 'deployment/talker']);
    const picked = /^Found 2 pods, using pod\/(\S+)\n$/.exec(one.stderr)?.[1];
    expect(names).toContain(picked);
    expect(one.stdout).toBe(`hello from ${picked}\n`);
    const every = await nkctl(['logs', '-l', 'app=talker']);
    expect(every.stdout.split('\n').filter(Boolean).sort()).toEqual(
      names.map((n) => `[pod/${n}/app] hello from ${n}`),
    );
    const none = await nkctl(['logs', '-l', 'app=nobody']);
    expect([none.code, none.stdout, none.stderr]).toEqual([
      0,
      '',
      'No resources found in default namespace.\n',
    ]);
  });

  it('chooses a container: the first by default (saying so), -c, or all of them', async () => {
    const first = await nkctl(['logs', 'duo']);
    expect([first.stdout, first.stderr]).toEqual(['from a\n', 'Defaulted container "a" out of: a, b\n']);
    expect((await nkctl(['logs', 'duo', '-c', 'b'])).stdout).toBe('from b\n');
    expect((await nkctl(['logs', 'duo', 'b'])).stdout).toBe('from b\n');
    expect((await nkctl(['logs', 'duo', '--all-containers', '--prefix'])).stdout).toBe(
      '[pod/duo/a] from a\n[pod/duo/b] from b\n',
    );
  });

  it('-f prints lines as they are written and ends when the container does', async () => {
    await k.createPod('short', {
      restartPolicy: 'Never',
      containers: [sh('app', 'echo first; sleep 3; echo second')],
    });
    await k.waitPod('short', running, 'Running');
    const f = nkctlBackground(['logs', '-f', 'short']);
    await waitFor(() => f.out().stdout === 'first\n', { timeoutMs: 10_000, what: 'the first line' });
    expect(await f.exited).toBe(0);
    expect(f.out()).toEqual({ stdout: 'first\nsecond\n', stderr: '' });
  });

  it('-f -l follows several pods at once, line by line', async () => {
    await k.createPod('tick1', {
      metadata: {},
      containers: [sh('app', 'i=0; while true; do i=$((i+1)); echo t$i; sleep 0.2; done')],
    });
    await k.waitPod('tick1', running, 'Running');
    const f = nkctlBackground(['logs', '-f', '-l', 'app=talker', '--tail', '-1']);
    await waitFor(() => f.out().stdout.split('\n').length > 2, { timeoutMs: 10_000, what: 'both pods' });
    const g = nkctlBackground(['logs', '-f', 'tick1', '--tail', '1']);
    const ticks = () => [...g.out().stdout.matchAll(/^t(\d+)$/gm)].map((m) => Number(m[1]));
    await waitFor(() => ticks().length >= 5, { timeoutMs: 10_000, what: 'five ticks' });
    const seen = ticks();
    expect(seen.slice(1)).toEqual(seen.slice(1).map((_, i) => seen[0] + i + 1));
    f.child.kill('SIGINT');
    g.child.kill('SIGINT');
    expect(f.out().stdout.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('--previous prints the log of the container before its restart', async () => {
    await k.createPod('crasher', {
      containers: [sh('app', 'echo started $(cat /proc/sys/kernel/random/uuid); sleep 1; exit 1')],
    });
    await k.waitPod(
      'crasher',
      (p) => p.status?.containerStatuses?.[0]?.restartCount >= 1 && running(p),
      'restarted',
      60_000,
    );
    const previous = await nkctl(['logs', 'crasher', '--previous']);
    const current = await nkctl(['logs', 'crasher']);
    expect(previous.stdout).toMatch(/^started [0-9a-f-]{36}\n$/);
    expect(current.stdout).toMatch(/^started [0-9a-f-]{36}\n$/);
    expect(previous.stdout).not.toBe(current.stdout);
  }, 90_000);

  it.each([
    {
      name: 'a pod that does not exist',
      args: ['nope'],
      line: 'Error from server (NotFound): pods "nope" not found',
    },
    {
      name: 'a container the pod lacks',
      args: ['logger', '-c', 'nope'],
      line: 'error: container nope is not valid for pod logger out of: app',
    },
    {
      name: 'no previous container',
      args: ['logger', '--previous'],
      line: 'Error from server (BadRequest): previous terminated container "app" in pod "logger" not found',
    },
    {
      name: 'a pod and a selector',
      args: ['logger', '-l', 'a=b'],
      line: 'error: only a selector (-l) or a POD name is allowed',
    },
  ])('$name is one error line and exit 1', async ({ args, line }) => {
    const r = await nkctl(['logs', ...args]);
    expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
  });
});

describe('nkctl exec', () => {
  beforeAll(async () => {
    await k.createPod('shell', { containers: [{ name: 'app', image: busybox, command: ['sleep', '3600'] }] });
    await k.waitPod('shell', running, 'Running');
  });

  it('passes stdout and stderr through and exits with the command’s exit code', async () => {
    const r = await nkctl(['exec', 'shell', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\ncommand terminated with exit code 3\n' });
    expect(await nkctl(['exec', 'shell', '-c', 'app', '--', 'true'])).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('-i sends stdin, all of it, and closes it at its end', async () => {
    const upper = await nkctl(['exec', '-i', 'shell', '--', 'tr', 'a-z', 'A-Z'], { input: 'hello\nworld\n' });
    expect([upper.code, upper.stdout]).toEqual([0, 'HELLO\nWORLD\n']);
    const data = randomBytes(1_500_000).toString('base64');
    const sum = await nkctl(['exec', '-i', 'shell', '--', 'md5sum'], { input: data });
    expect(sum.stdout).toBe(`${createHash('md5').update(data).digest('hex')}  -\n`);
  });

  it('runs in a workload’s pod', async () => {
    const r = await nkctl(['exec', 'deploy/talker', '--', 'hostname']);
    expect((await podsOf('talker')).map((p) => p.metadata.name)).toContain(r.stdout.trim());
  });

  it('-it on a terminal gives the command a TTY of the window’s size, following resizes', async () => {
    const exec = nkctlLine([
      'exec',
      '-it',
      'shell',
      '--',
      'sh',
      '-c',
      'sleep 0.5; tty; stty size; sleep 4; stty size; exit 4',
    ]);
    const t = await inTerminal(`stty cols 99 rows 33; (sleep 3; stty cols 120 rows 40 </dev/tty) & ${exec}`);
    // The remote TTY ends lines with \r\n, and the local one turns each \n into \r\n again.
    expect(t.out).toMatch(
      /^\/dev\/pts\/\d+\r+\n33 99\r+\n40 120\r+\ncommand terminated with exit code 4\r\n$/,
    );
    expect(t.code).toBe(4);
    const noTerminal = await nkctl(['exec', '-it', 'shell', '--', 'tty']);
    expect(noTerminal).toEqual({
      code: 1,
      stdout: 'not a tty\n',
      stderr:
        'Unable to use a TTY - input is not a terminal or the right kind of file\ncommand terminated with exit code 1\n',
    });
  });

  it.each([
    {
      name: 'a pod that does not exist',
      args: ['nope', '--', 'true'],
      line: 'Error from server (NotFound): pods "nope" not found',
    },
    {
      name: 'a container the pod lacks',
      args: ['shell', '-c', 'nope', '--', 'true'],
      line: 'error: container nope is not valid for pod shell out of: app',
    },
    {
      name: 'no command',
      args: ['shell'],
      line: 'error: you must specify at least one command for the container',
    },
    {
      name: 'a finished pod',
      args: ['short', '--', 'true'],
      line: 'error: cannot exec into a container in a completed pod; current phase is Succeeded',
    },
  ])('$name is one error line and exit 1', async ({ args, line }) => {
    const r = await nkctl(['exec', ...args]);
    expect([r.code, r.stderr]).toEqual([1, `${line}\n`]);
  });
});

describe('nkctl port-forward', () => {
  const forwards = (stdout: string) =>
    Object.fromEntries(
      [...stdout.matchAll(/^Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$/gm)].map((m) => [
        m[2],
        Number(m[1]),
      ]),
    );

  /** Starts port-forward and waits until it listens on `count` ports; remote port -> local port. */
  async function forward(args: string[], count: number) {
    const pf = nkctlBackground(['port-forward', ...args]);
    const ports = await waitFor(
      () => Object.keys(forwards(pf.out().stdout)).length === count && forwards(pf.out().stdout),
      {
        timeoutMs: 20_000,
        what: `port-forward listening: ${JSON.stringify(pf.out())}`,
      },
    );
    return { ...pf, ports };
  }

  /** Sends `data` on a connection to a local port and collects what comes back until `want` bytes or the end. */
  function exchange(port: number, data: Buffer | string, want = Number.POSITIVE_INFINITY): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let got = 0;
      const sock = net.connect(port, '127.0.0.1', () => sock.write(data));
      const timer = setTimeout(() => sock.destroy(new Error(`timed out with ${got} bytes`)), 15_000);
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        got += d.length;
        if (got >= want) sock.end();
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      });
      sock.on('error', reject);
    });
  }

  const get = async (port: number) =>
    (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) })).text();

  beforeAll(async () => {
    await create(
      deployments,
      deployment('srv', 1, [
        {
          name: 'app',
          image: busybox,
          command: [
            'sh',
            '-c',
            'mkdir -p /www && echo hello-from-pod > /www/index.html && nc -ll -p 9000 -e cat & exec httpd -f -p 8080 -h /www',
          ],
          ports: [
            { name: 'http', containerPort: 8080 },
            { name: 'echo', containerPort: 9000 },
          ],
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ]),
    );
    await k.createObject('services', 'Service', {
      metadata: { name: 'srv' },
      spec: { selector: { app: 'srv' }, ports: [{ name: 'web', port: 80, targetPort: 'http' }] },
    });
    await rolledOut('srv');
  }, 120_000);

  it('carries many connections at once, bytes both ways, and reports a closed port without stopping', async () => {
    const pf = await forward(['deploy/srv', ':http', ':9000', ':9999'], 3);
    const pages = await Promise.all(Array.from({ length: 6 }, () => get(pf.ports[8080])));
    expect(pages).toEqual(Array(6).fill('hello-from-pod\n'));
    const a = randomBytes(1_000_000);
    const b = randomBytes(300_000);
    const [echoA, echoB] = await Promise.all([
      exchange(pf.ports[9000], a, a.length),
      exchange(pf.ports[9000], b, b.length),
    ]);
    expect(echoA.equals(a)).toBe(true);
    expect(echoB.equals(b)).toBe(true);
    expect(pf.out().stdout).toContain(`Handling connection for ${pf.ports[8080]}\n`);

    expect((await exchange(pf.ports[9999], 'hello')).length).toBe(0);
    await waitFor(() => pf.out().stderr.includes('9999'), { timeoutMs: 10_000, what: 'the error line' });
    expect(pf.out().stderr).toMatch(
      new RegExp(
        `^error: an error occurred forwarding ${pf.ports[9999]} -> 9999: error forwarding port 9999 to pod srv-\\S+, uid [0-9a-f-]+: dial tcp4 [\\d.]+:9999: connect: connection refused\\n$`,
      ),
    );
    expect(await get(pf.ports[8080])).toBe('hello-from-pod\n');
    pf.child.kill('SIGINT');
    expect(await pf.exited).toBe(0);
  });

  it('forwards a Service port to its pod’s target port', async () => {
    const pf = await forward(['svc/srv', ':80'], 1);
    expect(pf.ports).toHaveProperty('8080');
    expect(await get(pf.ports[8080])).toBe('hello-from-pod\n');
    pf.child.kill('SIGINT');
  });

  it('ends with the error when the pod is gone', async () => {
    await k.createPod('victim', {
      containers: [{ name: 'app', image: busybox, command: ['sh', '-c', 'exec httpd -f -p 8080 -h /'] }],
    });
    await k.waitPod('victim', running, 'Running');
    const pf = await forward(['victim', ':8080'], 1);
    await k.client.del('/api/v1/namespaces/default/pods/victim', { gracePeriodSeconds: 0 });
    await waitFor(async () => (await k.client.get('/api/v1/namespaces/default/pods/victim')).status === 404, {
      timeoutMs: 20_000,
      what: 'victim gone',
    });
    await exchange(pf.ports[8080], 'GET / HTTP/1.0\r\n\r\n');
    expect(await pf.exited).toBe(1);
    expect(pf.out().stderr).toBe('Error from server (NotFound): pods "victim" not found\n');
  });

  it.each([
    {
      name: 'a pod that does not exist',
      args: ['nope', '80'],
      line: 'Error from server (NotFound): pods "nope" not found',
    },
    {
      name: 'a port name the pod lacks',
      args: ['deploy/srv', 'grpc'],
      line: "error: Pod 'srv' does not have a named port 'grpc'",
    },
    {
      name: 'a finished pod',
      args: ['short', '80'],
      line: 'error: unable to forward port because pod is not running. Current status=Succeeded',
    },
    {
      name: 'no ports',
      args: ['deploy/srv'],
      line: 'error: TYPE/NAME and list of ports are required for port-forward',
    },
  ])('$name is one error line and exit 1', async ({ args, line }) => {
    const r = await nkctl(['port-forward', ...args]);
    expect([r.code, r.stderr.replace(/'srv-[a-z0-9-]+'/, "'srv'")]).toEqual([1, `${line}\n`]);
  });

  it('refuses a local port that is taken', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as net.AddressInfo).port;
    const r = await nkctl(['port-forward', 'deploy/srv', `${port}:8080`]);
    taken.close();
    expect([r.code, r.stderr]).toEqual([
      1,
      `error: unable to listen on 127.0.0.1:${port}: address already in use\n`,
    ]);
  });
});
