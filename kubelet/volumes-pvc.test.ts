import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Pod } from '../api/types/pod.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../api/types/storage.js';
import type { ObjectSource } from './env.js';
import { VolumeManager } from './volumes.js';

class FakeSource implements ObjectSource {
  claims = new Map<string, PersistentVolumeClaim>();
  volumes = new Map<string, PersistentVolume>();
  async configMap() {
    return undefined;
  }
  async secret() {
    return undefined;
  }
  async persistentVolumeClaim(ns: string, name: string) {
    return this.claims.get(`${ns}/${name}`);
  }
  async persistentVolume(name: string) {
    return this.volumes.get(name);
  }
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nk-pvc-vol-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const pod = (readOnly?: boolean): Pod => ({
  metadata: { name: 'p', namespace: 'ns', uid: 'pod-uid' },
  spec: { containers: [], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c', readOnly } }] },
});

function setup(phase = 'Bound', refUid = 'claim-uid') {
  const source = new FakeSource();
  const volumeDir = path.join(dir, 'pvc-1');
  source.claims.set('ns/c', {
    metadata: { name: 'c', namespace: 'ns', uid: 'claim-uid' },
    spec: { volumeName: 'pvc-1' },
    status: { phase },
  });
  source.volumes.set('pvc-1', {
    metadata: { name: 'pvc-1' },
    spec: {
      hostPath: { path: volumeDir, type: 'DirectoryOrCreate' },
      claimRef: { namespace: 'ns', name: 'c', uid: refUid },
    },
  });
  const vm = new VolumeManager({
    rootDir: path.join(dir, 'kubelet'),
    source,
    allocatable: {},
    logger: pino({ level: 'silent' }),
  });
  return { vm, volumeDir };
}

describe('persistentVolumeClaim volumes', () => {
  it("mount the bound volume's hostPath, made by its type, read-only when asked", async () => {
    const { vm, volumeDir } = setup();
    expect((await vm.prepare(pod())).get('data')).toEqual({ hostPath: volumeDir, readOnly: undefined });
    expect(existsSync(volumeDir)).toBe(true);
    expect((await vm.prepare(pod(true))).get('data')).toEqual({ hostPath: volumeDir, readOnly: true });
  });

  it('fail while the claim is unbound or its volume is bound to another claim', async () => {
    await expect(setup('Pending').vm.prepare(pod())).rejects.toThrow(
      /persistentvolumeclaim "c" is not bound/,
    );
    await expect(setup('Bound', 'other').vm.prepare(pod())).rejects.toThrow(/not bound to claim "c"/);
  });
});
