/**
 * A pod's volumes on the host, under <root-dir>/pods/<uid>/volumes/:
 * emptyDir (a folder, or a tmpfs for medium Memory), hostPath (checked or
 * made by its type), and configMap, secret, downwardAPI and projected
 * volumes as files written atomically (atomic-writer.ts) with their modes
 * and items; a projected serviceAccountToken is a TokenRequest bound to the
 * pod (sa-token.ts). `prepare` runs on every sync of the pod, so file
 * volumes follow their sources and tokens are rewritten when refreshed;
 * containers see the change because the folder, not the files, is mounted
 * (as in Kubernetes, a subPath mount does not follow).
 */
import { lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { quantityToValue } from '../api/quantity.js';
import type { Pod, Volume } from '../api/types/pod.js';
import { exec } from '../base/exec.js';
import { type Clock, realClock } from '../client/clock.js';
import { type FileSpec, writeAtomic } from './atomic-writer.js';
import type { VolumePath } from './container-config.js';
import { configMapData, type ObjectSource, podFieldValue, resourceFieldValue, secretData } from './env.js';
import type { PodVolumes } from './pod-sync.js';
import { type RequestToken, serviceAccountOf, TokenManager, tokenRequestFor } from './sa-token.js';

export class VolumeError extends Error {}

/** Where volumes come from: the objects they project, and service account tokens. */
export interface VolumeSource extends ObjectSource {
  /**
   * Asks the apiserver for a token (TokenRequest on serviceaccounts/{name}/token);
   * absent where tokens cannot be had, and serviceAccountToken projections fail.
   */
  serviceAccountToken?: RequestToken;
}

export interface VolumeManagerOptions {
  rootDir: string;
  source: VolumeSource;
  allocatable: Record<string, string>;
  logger: Logger;
  /** For token lifetimes; the real clock by default. */
  clock?: Clock;
}

type KeyToPath = { key?: string; path?: string; mode?: number };
type DownwardFile = NonNullable<NonNullable<Volume['downwardAPI']>['items']>[number];

export class VolumeManager implements PodVolumes {
  private readonly tokens?: TokenManager;

  constructor(private readonly o: VolumeManagerOptions) {
    const request = o.source.serviceAccountToken?.bind(o.source);
    if (request) this.tokens = new TokenManager({ request, clock: o.clock ?? realClock, logger: o.logger });
  }

  podDir(uid: string): string {
    return path.join(this.o.rootDir, 'pods', uid);
  }

  private volumeDir(uid: string, plugin: string, name: string): string {
    return path.join(this.podDir(uid), 'volumes', plugin, name);
  }

  async prepare(pod: Pod): Promise<Map<string, VolumePath>> {
    const uid = pod.metadata?.uid ?? '';
    const out = new Map<string, VolumePath>();
    const errors: string[] = [];
    for (const v of pod.spec?.volumes ?? []) {
      try {
        out.set(v.name ?? '', await this.prepareOne(pod, uid, v));
      } catch (err) {
        errors.push(`${v.name}: ${(err as Error).message}`);
      }
    }
    if (errors.length) throw new VolumeError(`MountVolume.SetUp failed for volume ${errors.join('; ')}`);
    return out;
  }

  private async prepareOne(pod: Pod, uid: string, v: Volume): Promise<VolumePath> {
    const name = v.name ?? '';
    const ns = pod.metadata?.namespace ?? 'default';
    if (v.hostPath) return { hostPath: await checkHostPath(v.hostPath.path ?? '', v.hostPath.type ?? '') };
    if (v.emptyDir) return { hostPath: await this.emptyDir(uid, name, v.emptyDir) };
    if (v.persistentVolumeClaim) return this.claimVolume(ns, v.persistentVolumeClaim);
    let plugin: string;
    let files: Map<string, FileSpec>;
    if (v.configMap) {
      plugin = 'kubernetes.io~configmap';
      const cm = await this.o.source.configMap(ns, v.configMap.name ?? '');
      if (!cm && !v.configMap.optional) throw new Error(`configmap "${v.configMap.name}" not found`);
      const data = cm ? configMapData(cm) : {};
      files = project(data, v.configMap.items, v.configMap.defaultMode, v.configMap.optional, 'configmap');
    } else if (v.secret) {
      plugin = 'kubernetes.io~secret';
      const s = await this.o.source.secret(ns, v.secret.secretName ?? '');
      if (!s && !v.secret.optional) throw new Error(`secret "${v.secret.secretName}" not found`);
      files = project(
        s ? secretData(s) : {},
        v.secret.items,
        v.secret.defaultMode,
        v.secret.optional,
        'secret',
      );
    } else if (v.downwardAPI) {
      plugin = 'kubernetes.io~downward-api';
      files = this.downward(pod, v.downwardAPI.items ?? [], v.downwardAPI.defaultMode);
    } else if (v.projected) {
      plugin = 'kubernetes.io~projected';
      files = await this.projected(pod, ns, v.projected);
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new Error(`volume type ${kind} is not supported by this kubelet`);
    }
    const dir = this.volumeDir(uid, plugin, name);
    await writeAtomic(dir, files);
    return { hostPath: dir, readOnly: true };
  }

  /** A claim's bound volume, bind-mounted from its hostPath or local path. */
  private async claimVolume(
    ns: string,
    src: NonNullable<Volume['persistentVolumeClaim']>,
  ): Promise<VolumePath> {
    const source = this.o.source;
    if (!source.persistentVolumeClaim || !source.persistentVolume)
      throw new Error('persistentVolumeClaim volumes are not supported here');
    const claim = await source.persistentVolumeClaim(ns, src.claimName ?? '');
    if (!claim) throw new Error(`persistentvolumeclaim "${src.claimName}" not found`);
    if (claim.metadata?.deletionTimestamp)
      throw new Error(`persistentvolumeclaim "${src.claimName}" is being deleted`);
    const pvName = claim.spec?.volumeName;
    if (!pvName || claim.status?.phase !== 'Bound')
      throw new Error(`persistentvolumeclaim "${src.claimName}" is not bound`);
    const pv = await source.persistentVolume(pvName);
    if (!pv) throw new Error(`persistentvolume "${pvName}" not found`);
    const ref = pv.spec?.claimRef;
    if (
      ref?.name !== claim.metadata?.name ||
      ref?.namespace !== ns ||
      (ref?.uid && ref.uid !== claim.metadata?.uid)
    )
      throw new Error(`persistentvolume "${pvName}" is not bound to claim "${src.claimName}"`);
    let dir: string;
    if (pv.spec?.hostPath)
      dir = await checkHostPath(pv.spec.hostPath.path ?? '', pv.spec.hostPath.type ?? '');
    else if (pv.spec?.local) dir = await checkHostPath(pv.spec.local.path ?? '', 'Directory');
    else
      throw new Error(
        `persistentvolume "${pvName}" is neither hostPath nor local, the kinds this kubelet mounts`,
      );
    return { hostPath: dir, readOnly: src.readOnly || undefined };
  }

  private async emptyDir(uid: string, name: string, e: NonNullable<Volume['emptyDir']>): Promise<string> {
    const dir = this.volumeDir(uid, 'kubernetes.io~empty-dir', name);
    await mkdir(dir, { recursive: true, mode: 0o777 });
    if (e.medium === 'Memory' && !(await isMountPoint(dir))) {
      const size = e.sizeLimit ? `,size=${quantityToValue(e.sizeLimit)}` : '';
      await exec('mount', ['-t', 'tmpfs', '-o', `mode=0777${size}`, 'tmpfs', dir]);
      this.o.logger.debug({ dir }, 'mounted tmpfs for emptyDir');
    }
    return dir;
  }

  private downward(pod: Pod, items: DownwardFile[], defaultMode = 0o644): Map<string, FileSpec> {
    const files = new Map<string, FileSpec>();
    for (const item of items) {
      let value: string;
      if (item.fieldRef?.fieldPath) value = podFieldValue(pod, item.fieldRef.fieldPath);
      else if (item.resourceFieldRef?.resource) {
        const r = item.resourceFieldRef;
        const c = pod.spec?.containers?.find((x) => x.name === r.containerName);
        if (!c) throw new Error(`downwardAPI item ${item.path}: no container "${r.containerName}"`);
        value = resourceFieldValue(c, r.resource!, r.divisor as string | undefined, this.o.allocatable);
      } else continue;
      files.set(item.path ?? '', { data: Buffer.from(value), mode: item.mode ?? defaultMode });
    }
    return files;
  }

  private async projected(
    pod: Pod,
    ns: string,
    p: NonNullable<Volume['projected']>,
  ): Promise<Map<string, FileSpec>> {
    const files = new Map<string, FileSpec>();
    const mode = p.defaultMode ?? 0o644;
    for (const src of p.sources ?? []) {
      let part = new Map<string, FileSpec>();
      if (src.configMap) {
        const cm = await this.o.source.configMap(ns, src.configMap.name ?? '');
        if (!cm && !src.configMap.optional) throw new Error(`configmap "${src.configMap.name}" not found`);
        part = project(
          cm ? configMapData(cm) : {},
          src.configMap.items,
          mode,
          src.configMap.optional,
          'configmap',
        );
      } else if (src.secret) {
        const s = await this.o.source.secret(ns, src.secret.name ?? '');
        if (!s && !src.secret.optional) throw new Error(`secret "${src.secret.name}" not found`);
        part = project(s ? secretData(s) : {}, src.secret.items, mode, src.secret.optional, 'secret');
      } else if (src.downwardAPI) {
        part = this.downward(pod, src.downwardAPI.items ?? [], mode);
      } else if (src.serviceAccountToken) {
        if (!this.tokens) throw new Error('serviceAccountToken projections are not supported here');
        const t = src.serviceAccountToken;
        const token = await this.tokens.get(ns, serviceAccountOf(pod), tokenRequestFor(pod, t));
        part.set(t.path ?? '', { data: Buffer.from(token), mode });
      }
      for (const [k, v] of part) files.set(k, v);
    }
    return files;
  }

  /** When a token in pod `uid`'s volumes is due for refresh, so the pod is synced by then. */
  refreshAfterMs(uid: string): number | undefined {
    return this.tokens?.refreshAfterMs(uid);
  }

  async cleanup(uid: string): Promise<void> {
    this.tokens?.forget(uid);
    const dir = this.podDir(uid);
    const empty = path.join(dir, 'volumes', 'kubernetes.io~empty-dir');
    const names = await readdir(empty).catch(() => [] as string[]);
    for (const name of names) {
      const p = path.join(empty, name);
      if (await isMountPoint(p)) await exec('umount', [p]).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** Keys to files: `items` (missing keys an error unless optional) or every key. */
function project(
  data: Record<string, string | Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number | undefined,
  optional: boolean | undefined,
  what: string,
): Map<string, FileSpec> {
  const files = new Map<string, FileSpec>();
  const mode = defaultMode ?? 0o644;
  const buf = (v: string | Buffer) => (typeof v === 'string' ? Buffer.from(v) : v);
  if (!items?.length) {
    for (const [k, v] of Object.entries(data)) files.set(k, { data: buf(v), mode });
    return files;
  }
  for (const item of items) {
    const v = data[item.key ?? ''];
    if (v === undefined) {
      if (optional) continue;
      throw new Error(`${what} has no key "${item.key}"`);
    }
    files.set(item.path ?? item.key ?? '', { data: buf(v), mode: item.mode ?? mode });
  }
  return files;
}

async function isMountPoint(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  return mounts.split('\n').some((l) => l.split(' ')[1] === dir);
}

/** hostPath types as Kubernetes checks them; the OrCreate ones make what is missing. */
async function checkHostPath(p: string, type: string): Promise<string> {
  if (!path.isAbsolute(p)) throw new Error(`hostPath "${p}" is not absolute`);
  const st = await lstat(p).catch(() => undefined);
  const fail = (what: string) => {
    throw new Error(`hostPath type check failed: ${p} is not ${what}`);
  };
  switch (type) {
    case 'DirectoryOrCreate':
      if (!st) await mkdir(p, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) fail('a directory');
      break;
    case 'Directory':
      if (!st?.isDirectory()) fail('a directory');
      break;
    case 'FileOrCreate':
      if (!st) {
        await mkdir(path.dirname(p), { recursive: true });
        await writeFile(p, '', { mode: 0o644 });
      } else if (!st.isFile()) fail('a file');
      break;
    case 'File':
      if (!(await stat(p).catch(() => undefined))?.isFile()) fail('a file');
      break;
    case 'Socket':
      if (!st?.isSocket()) fail('a socket');
      break;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('a character device');
      break;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('a block device');
      break;
    default:
      break;
  }
  return p;
}
