import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { realClock } from '../client/clock.js';
import { ConfigAnnotations, mirrorPodOf, StaticPodSource, staticPodFromManifest } from './static-pods.js';

const manifest = (name: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { tier: control-plane }
spec:
  containers:
  - name: app
    image: nanokube/busybox:1
    command: [sleep, '600']${extra}
`;

describe('staticPodFromManifest', () => {
  it('names the pod after the node, defaults the namespace and spec, and hashes a uid', () => {
    const pod = staticPodFromManifest(manifest('etcd'), 'node-a');
    expect(pod.metadata).toMatchObject({
      name: 'etcd-node-a',
      namespace: 'default',
      labels: { tier: 'control-plane' },
    });
    expect(pod.metadata.uid).toMatch(/^[0-9a-f]{32}$/);
    expect(pod.metadata.annotations).toEqual({
      [ConfigAnnotations.source]: 'file',
      [ConfigAnnotations.hash]: pod.metadata.uid,
    });
    expect(pod.spec?.nodeName).toBe('node-a');
    expect(pod.spec?.restartPolicy).toBe('Always');
    expect(pod.spec?.tolerations).toContainEqual({ operator: 'Exists', effect: 'NoExecute' });
    // the same file on the same node is the same pod; an edit or another node is another
    expect(staticPodFromManifest(manifest('etcd'), 'node-a').metadata.uid).toBe(pod.metadata.uid);
    expect(staticPodFromManifest(manifest('etcd'), 'node-b').metadata.uid).not.toBe(pod.metadata.uid);
    expect(staticPodFromManifest(manifest('etcd', '\n    workingDir: /tmp'), 'node-a').metadata.uid).not.toBe(
      pod.metadata.uid,
    );
  });

  it('refuses what is not a valid v1 Pod, saying why', () => {
    expect(() => staticPodFromManifest('kind: Service\napiVersion: v1\nmetadata: {name: x}', 'n')).toThrow(
      /must be a v1 Pod, not v1\/Service/,
    );
    expect(() => staticPodFromManifest('kind: Pod\napiVersion: v1\nmetadata: {}', 'n')).toThrow(
      /metadata.name is required/,
    );
    expect(() =>
      staticPodFromManifest('kind: Pod\napiVersion: v1\nmetadata: {name: x}\nspec: {containers: []}', 'n'),
    ).toThrow(/spec.containers/);
    expect(() => staticPodFromManifest('{ nope', 'n')).toThrow(/not YAML or JSON/);
  });

  it('makes a mirror that carries the hash and is owned by the Node', () => {
    const pod = staticPodFromManifest(manifest('etcd'), 'node-a');
    const mirror = mirrorPodOf(pod, { name: 'node-a', uid: 'u-1' });
    expect(mirror.metadata.annotations?.[ConfigAnnotations.mirror]).toBe(pod.metadata.uid);
    expect(mirror.metadata.uid).toBeUndefined();
    expect(mirror.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Node', name: 'node-a', uid: 'u-1', controller: true },
    ]);
    expect(mirror.spec).toEqual(pod.spec);
  });
});

describe('StaticPodSource.read', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('reads yaml and json files, skips dotfiles, other files and bad manifests, and a duplicate name', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'static-'));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'a.yaml'), manifest('a'));
    writeFileSync(
      path.join(dir, 'b.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'b' },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      }),
    );
    writeFileSync(path.join(dir, '.hidden.yaml'), manifest('hidden'));
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    writeFileSync(path.join(dir, 'broken.yaml'), 'kind: Pod\napiVersion: v1\nmetadata: {}');
    writeFileSync(path.join(dir, 'c-dup.yml'), manifest('a'));
    mkdirSync(path.join(dir, 'sub'));
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(line) });
    const source = new StaticPodSource({ dir, node: 'n1', clock: realClock, logger, onChange: () => {} });
    const pods = await source.read();
    expect(pods.map((p) => p.metadata.name)).toEqual(['a-n1', 'b-n1']);
    expect(warnings.join('\n')).toMatch(/broken\.yaml/);
    expect(warnings.join('\n')).toMatch(/already defined by another file/);
    // each bad file is logged once until it changes
    await source.read();
    expect(warnings.length).toBe(2);
  });

  it('reads a folder that does not exist as empty', async () => {
    const source = new StaticPodSource({
      dir: '/nonexistent/nanokube-static',
      node: 'n1',
      clock: realClock,
      logger: pino({ level: 'silent' }),
      onChange: () => {},
    });
    expect(await source.read()).toEqual([]);
  });
});
