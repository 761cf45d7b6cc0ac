/**
 * Static pods: pods the kubelet runs from manifest files in a folder
 * (--pod-manifest-path), with no apiserver involved in deciding to run
 * them, so a control plane can run as pods of the nodes it serves. As in
 * Kubernetes:
 * - each *.yaml, *.yml or *.json file (dotfiles ignored) holds one Pod; its
 *   name gets the node's name appended, the namespace defaults to
 *   "default", and its uid is a hash of the file's pod and the node name,
 *   so an edited file is a new pod (the old one is stopped);
 * - the annotations kubernetes.io/config.source=file and
 *   kubernetes.io/config.hash=<uid> mark it, and it tolerates every
 *   NoExecute taint;
 * - a mirror pod in the API (annotation kubernetes.io/config.mirror, owned
 *   by the Node) shows it and carries its status; deleting the mirror only
 *   makes the kubelet create it again. Removing the file stops the pod and
 *   deletes its mirror.
 * The folder is read when it changes (fs.watch) and every 20 s.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import YAML from 'yaml';
import type { KubeObject } from '../api/meta.js';
import { formatFieldError } from '../api/status.js';
import { builtinRegistry } from '../api/types/index.js';
import type { Pod } from '../api/types/pod.js';
import type { Clock } from '../client/clock.js';
import { Wakeup } from '../client/wakeup.js';

export const ConfigAnnotations = {
  source: 'kubernetes.io/config.source',
  hash: 'kubernetes.io/config.hash',
  mirror: 'kubernetes.io/config.mirror',
} as const;

export const isMirrorPod = (pod: Pod): boolean =>
  pod.metadata?.annotations?.[ConfigAnnotations.mirror] !== undefined;

/** Reads one manifest into the static pod it describes, or throws an Error saying what is wrong. */
export function staticPodFromManifest(text: string, node: string): Pod & KubeObject {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    throw new Error(`not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  const obj = doc as (Pod & KubeObject) | null;
  if (!obj || typeof obj !== 'object') throw new Error('empty manifest');
  if (obj.kind !== 'Pod' || (obj.apiVersion ?? 'v1') !== 'v1')
    throw new Error(
      `a static pod manifest must be a v1 Pod, not ${obj.apiVersion ?? '?'}/${obj.kind ?? '?'}`,
    );
  if (!obj.metadata?.name) throw new Error('metadata.name is required');
  const pod = structuredClone(obj);
  // The uid is a hash of what the file says and where it runs; the rest is derived.
  const uidHash = createHash('sha256').update(node).update(JSON.stringify(obj)).digest('hex').slice(0, 32);
  pod.metadata = {
    ...pod.metadata,
    name: `${obj.metadata.name}-${node}`,
    namespace: obj.metadata.namespace || 'default',
    uid: uidHash,
    annotations: {
      ...(obj.metadata.annotations ?? {}),
      [ConfigAnnotations.source]: 'file',
      [ConfigAnnotations.hash]: uidHash,
    },
  };
  const rt = builtinRegistry.get('', 'v1', 'pods')!;
  rt.defaults?.(pod);
  const errors = rt.validate?.(pod) ?? [];
  if (errors.length > 0) throw new Error(errors.map(formatFieldError).join('; '));
  pod.spec = {
    ...pod.spec,
    nodeName: node,
    tolerations: [...(pod.spec?.tolerations ?? []), { operator: 'Exists', effect: 'NoExecute' }],
  };
  pod.status = {};
  return pod;
}

/** The mirror of a static pod: what the API shows of it, owned by the Node so it goes with it. */
export function mirrorPodOf(pod: Pod, nodeRef: { name: string; uid: string }): Pod & KubeObject {
  const m = pod.metadata ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: m.name ?? '',
      namespace: m.namespace,
      labels: m.labels,
      annotations: { ...(m.annotations ?? {}), [ConfigAnnotations.mirror]: m.uid ?? '' },
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: nodeRef.name, uid: nodeRef.uid, controller: true },
      ],
    },
    spec: pod.spec,
  };
}

export interface StaticPodSourceOptions {
  dir: string;
  node: string;
  clock: Clock;
  logger: Logger;
  /** Called with every static pod the folder holds, after each read that changed anything. */
  onChange: (pods: (Pod & KubeObject)[]) => void;
  /** How often the folder is read besides on change; default 20 s. */
  periodMs?: number;
}

export class StaticPodSource {
  private last = '';
  /** Files that failed, by name, with the reason last logged: each is logged once per change. */
  private readonly failed = new Map<string, string>();

  constructor(private readonly o: StaticPodSourceOptions) {}

  /** Reads the folder once; what a missing folder holds is nothing. */
  async read(): Promise<(Pod & KubeObject)[]> {
    let names: string[];
    try {
      names = (await readdir(this.o.dir)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const pods: (Pod & KubeObject)[] = [];
    const seen = new Set<string>();
    for (const name of names) {
      if (name.startsWith('.') || !/\.(ya?ml|json)$/.test(name)) continue;
      const file = path.join(this.o.dir, name);
      try {
        const pod = staticPodFromManifest(await readFile(file, 'utf8'), this.o.node);
        const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
        if (seen.has(key)) throw new Error(`pod ${key} is already defined by another file`);
        seen.add(key);
        pods.push(pod);
        this.failed.delete(file);
      } catch (err) {
        const why = (err as Error).message;
        if (this.failed.get(file) !== why)
          this.o.logger.warn({ file, err: why }, 'static pod manifest skipped');
        this.failed.set(file, why);
      }
    }
    return pods;
  }

  async run(signal: AbortSignal): Promise<void> {
    const wakeup = new Wakeup();
    let watcher: FSWatcher | undefined;
    const startWatch = () => {
      if (watcher) return;
      try {
        // A short delay lets an editor finish writing.
        watcher = watch(this.o.dir, () => setTimeout(() => wakeup.poke(), 100));
        watcher.on('error', () => {
          watcher?.close();
          watcher = undefined;
        });
      } catch {
        // the folder does not exist yet: the periodic read notices when it does
      }
    };
    try {
      while (!signal.aborted) {
        startWatch();
        try {
          const pods = await this.read();
          const text = JSON.stringify(pods);
          if (text !== this.last) {
            this.last = text;
            this.o.logger.info(
              { dir: this.o.dir, pods: pods.map((p) => p.metadata.name) },
              'static pod manifests read',
            );
            this.o.onChange(pods);
          }
        } catch (err) {
          this.o.logger.warn({ err, dir: this.o.dir }, 'reading static pod manifests failed');
        }
        await wakeup.wait(this.o.clock, this.o.periodMs ?? 20_000, signal);
      }
    } finally {
      watcher?.close();
    }
  }
}
