/**
 * The node half of `nkctl up` and `down` on this host: the pod network made
 * before anything binds to its address, the cluster add-ons
 * (deploy/manifests: cluster DNS) created once the API answers, the waits
 * for a Ready node and available add-ons, and on `down` the removal of what
 * the node made (pod containers and network, kube-proxy's rules and route).
 */

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeObject } from '../api/meta.js';
import { isAlreadyExists, isNotFound } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import {
  containersLabelled,
  dockerClient,
  ensureNetwork,
  nodeLabel,
  removeContainer,
  removeNetwork,
} from '../base/docker.js';
import { succeeds } from '../base/exec.js';
import { ResourceClient } from '../client/resource.js';
import { RestClient, type RestConfig } from '../client/rest.js';
import { adminRestConfig } from './cluster-pki.js';
import { type LaunchOptions, repoRoot } from './launcher.js';
import { readManifests } from './manifest.js';

const networkName = (o: Pick<LaunchOptions, 'nodeName'>) => `nanokube-${o.nodeName}`;

/** Creates the node's pod network (its bridge holds the node's address) unless it is there. */
export async function preparePodNetwork(o: LaunchOptions): Promise<void> {
  await ensureNetwork(dockerClient(), networkName(o), o.podCIDR, { [nodeLabel]: o.nodeName });
}

/** The add-on manifests shipped with nanokube. */
export function addonFiles(): string[] {
  const dir = join(repoRoot, 'deploy', 'manifests');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Creates every add-on object that does not exist yet; returns how many it created. */
export async function installAddons(config: RestConfig): Promise<number> {
  const rest = new RestClient(config);
  let created = 0;
  try {
    for (const m of readManifests(addonFiles())) {
      const [group] = (m.obj.apiVersion ?? 'v1').includes('/') ? (m.obj.apiVersion ?? '').split('/') : [''];
      const rt = builtinRegistry.byKind(group, m.obj.kind ?? '');
      if (!rt) throw new Error(`${m.source}: this server does not serve ${m.obj.kind}`);
      const client = new ResourceClient<KubeObject>(rest, rt, m.obj.metadata.namespace ?? 'default');
      // Look first: a second create of a Service with a fixed address fails as Invalid, not AlreadyExists.
      const there = await client.get(m.obj.metadata.name ?? '').then(
        () => true,
        (err) => {
          if (isNotFound(err)) return false;
          throw err;
        },
      );
      if (there) continue;
      try {
        await client.create(m.obj);
        created++;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
  } finally {
    rest.close();
  }
  return created;
}

/** Waits until `check` holds, polling; throws `what` after `timeoutMs`. */
export async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function getJson(o: LaunchOptions, path: string): Promise<any> {
  const rest = new RestClient({ ...adminRestConfig(o), timeoutMs: 5000, maxRetries: 0 });
  try {
    return await rest.request({ method: 'GET', path });
  } finally {
    rest.close();
  }
}

export function waitNodeReady(o: LaunchOptions, name = o.nodeName, timeoutMs = 90_000): Promise<void> {
  return until(`node ${name} to be Ready`, timeoutMs, async () => {
    const n = await getJson(o, `/api/v1/nodes/${name}`);
    return n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;
  });
}

/** Waits until every add-on Deployment has all its replicas available. */
export async function waitAddonsAvailable(o: LaunchOptions, timeoutMs = 120_000): Promise<void> {
  const deployments = readManifests(addonFiles()).filter((m) => m.obj.kind === 'Deployment');
  for (const d of deployments) {
    const { name, namespace = 'default' } = d.obj.metadata;
    await until(`deployment ${namespace}/${name} to be available`, timeoutMs, async () => {
      const cur = await getJson(o, `/apis/apps/v1/namespaces/${namespace}/deployments/${name}`);
      const want = cur.spec?.replicas ?? 1;
      return (
        (cur.status?.availableReplicas ?? 0) >= want &&
        cur.status?.observedGeneration >= cur.metadata.generation
      );
    });
  }
}

/**
 * What `down` removes after the nodes' processes stopped: every container
 * and the network labelled for each node on this host, and kube-proxy's
 * rules and route.
 * Returns what it removed, for the user.
 */
export async function removeNodeLeftovers(o: Pick<LaunchOptions, 'nodeName'>): Promise<string[]> {
  const done: string[] = [];
  const docker = dockerClient();
  let removed = 0;
  // This host's node; further nodes' pods live in their own containers' engines.
  const left = await containersLabelled(docker, { [nodeLabel]: o.nodeName }).catch(() => []);
  for (const id of left) await removeContainer(docker, id).catch(() => undefined);
  removed += left.length;
  await removeNetwork(docker, networkName(o)).catch(() => undefined);
  if (removed) done.push(`removed ${removed} pod container${removed === 1 ? '' : 's'}`);
  const cleaned = await succeeds(process.execPath, [join(repoRoot, 'dist/kube-proxy/main.js'), '--cleanup']);
  if (cleaned) done.push("removed kube-proxy's iptables rules and service route");
  return done;
}
