/**
 * Bringing the docker-compose lab up and down, and reading it through the
 * API: the balancer on 127.0.0.1 is the only way in, as for any user.
 */
import { join } from 'node:path';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { ResourceClient, type ResourceRef } from '../client/resource.js';
import { RestClient } from '../client/rest.js';
import { compose, type Lab, must, run } from './compose.js';

export const workers = ['worker-1', 'worker-2', 'worker-3'];

export const kinds = {
  nodes: { group: '', version: 'v1', plural: 'nodes', namespaced: false, kind: 'Node' },
  pods: { group: '', version: 'v1', plural: 'pods', namespaced: true, kind: 'Pod' },
  configmaps: { group: '', version: 'v1', plural: 'configmaps', namespaced: true, kind: 'ConfigMap' },
  services: { group: '', version: 'v1', plural: 'services', namespaced: true, kind: 'Service' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true, kind: 'Lease' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true, kind: 'Deployment' },
} satisfies Record<string, ResourceRef>;

export type Log = (line: string) => void;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined | false>,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}

/** A client of the lab through its balancer; `retries` 0 lets the caller see every failure. */
export function labClient(lab: Lab, retries = 4): RestClient {
  return new RestClient({
    servers: [`http://127.0.0.1:${lab.port}`],
    userAgent: 'nanokube-lab',
    maxRetries: retries,
    timeoutMs: 10_000,
  });
}

export function resource<T extends KubeObject = KubeObject>(rest: RestClient, ref: ResourceRef, ns?: string) {
  return new ResourceClient<T>(rest, ref, ref.namespaced ? (ns ?? 'default') : undefined);
}

export function isReady(obj: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Names of the Ready nodes. */
export async function readyNodes(rest: RestClient): Promise<string[]> {
  const list = await resource(rest, kinds.nodes).list();
  return list.items.filter((n) => isReady(n as never)).map((n) => n.metadata.name ?? '');
}

/** Builds the image (offline where needed) and starts every service; waits for 3 Ready nodes and the add-ons. */
export async function up(lab: Lab, log: Log): Promise<void> {
  log('building the lab image (bash deploy/images/build.sh --lab)');
  const built = await run('bash', [join(lab.repo, 'deploy/images/build.sh'), '--lab'], {
    timeoutMs: 1_200_000,
  });
  for (const line of (built.stdout + built.stderr).trim().split('\n')) if (line) log(`  ${line}`);
  if (built.code !== 0) throw new Error('the lab image did not build (see above)');
  log(`starting the lab (project ${lab.project}, API on 127.0.0.1:${lab.port})`);
  const started = Date.now();
  await compose(lab, ['up', '-d'], 900_000);
  const rest = labClient(lab);
  try {
    await until('3 Ready nodes', 300_000, async () => (await readyNodes(rest)).length >= workers.length);
    log(`3 nodes Ready ${Math.round((Date.now() - started) / 1000)}s after docker compose up`);
    await until('cluster DNS to be available', 300_000, async () => {
      const d = await resource<any>(rest, kinds.deployments, 'kube-system').get('nk-dns');
      return (d.status?.availableReplicas ?? 0) >= 1;
    });
    log(`cluster DNS available ${Math.round((Date.now() - started) / 1000)}s after docker compose up`);
  } finally {
    rest.close();
  }
}

/** Stops every service and removes the containers, network and volumes. */
export async function down(lab: Lab, log: Log): Promise<void> {
  log(`removing the lab (project ${lab.project}): containers, network, volumes`);
  await compose(lab, ['down', '-v', '--remove-orphans', '-t', '5'], 600_000);
  // The workers' inner engines put their pods' cgroups under nanokube-lab/.
  await run('sh', [
    '-c',
    'find /sys/fs/cgroup/*/nanokube-lab -depth -type d -exec rmdir {} + 2>/dev/null; true',
  ]);
}

/** `must` for docker itself. */
export const docker = (args: string[], timeoutMs = 120_000) => must('docker', args, { timeoutMs });

/** True when the error means the API did not answer (as opposed to a Kubernetes answer). */
export function isUnavailable(err: unknown): boolean {
  return !(err instanceof StatusError) || err.code >= 500 || err.code === 429;
}
