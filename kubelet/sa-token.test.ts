import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import type { Pod } from '../api/types/pod.js';
import { FakeClock } from '../client/clock.js';
import type { TokenRequest } from './sa-token.js';
import { VolumeError, VolumeManager, type VolumeSource } from './volumes.js';

const start = Date.parse('2030-01-01T00:00:00Z');
const hour = 3600_000;

/** The apiserver's TokenRequest route, as far as the kubelet sees it: records calls, issues numbered tokens. */
class FakeTokenAPI implements VolumeSource {
  calls: { namespace: string; serviceAccount: string; request: TokenRequest }[] = [];
  /** Thrown instead of answering, while set. */
  failure?: Error;
  /** Answer without a status, while set. */
  blank = false;
  /** The apiserver's cap on lifetimes (--service-account-max-token-expiration). */
  maxSeconds = 48 * 3600;

  constructor(private readonly clock: FakeClock) {}

  async configMap() {
    return undefined;
  }
  async secret() {
    return undefined;
  }
  async serviceAccountToken(namespace: string, serviceAccount: string, request: TokenRequest) {
    this.calls.push({ namespace, serviceAccount, request: structuredClone(request) });
    if (this.failure) throw this.failure;
    if (this.blank) return request;
    const seconds = Math.min(request.spec.expirationSeconds ?? 3600, this.maxSeconds);
    const expires = new Date(this.clock.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      ...request,
      spec: { ...request.spec, expirationSeconds: seconds },
      status: { token: `token-${this.calls.length}`, expirationTimestamp: expires },
    };
  }
}

let dir: string;
let clock: FakeClock;
let api: FakeTokenAPI;
let vm: VolumeManager;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'nk-sa-token-'));
  clock = new FakeClock(start);
  api = new FakeTokenAPI(clock);
  vm = new VolumeManager({
    rootDir: dir,
    source: api,
    allocatable: {},
    logger: pino({ level: 'silent' }),
    clock,
  });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

type Projection = { audience?: string; expirationSeconds?: number; path: string };

function pod(sources: Projection[], opts: { serviceAccountName?: string; uid?: string } = {}): Pod {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: opts.uid ?? 'pod-uid' },
    spec: {
      serviceAccountName: opts.serviceAccountName,
      containers: [],
      volumes: [
        {
          name: 'kube-api-access',
          projected: { defaultMode: 0o640, sources: sources.map((s) => ({ serviceAccountToken: s })) },
        },
      ],
    },
  };
}

/** Prepares the pod's volumes and returns what its token file holds. */
async function tokenFile(p: Pod, file = 'token'): Promise<string> {
  const volumes = await vm.prepare(p);
  return readFileSync(path.join(volumes.get('kube-api-access')!.hostPath, file), 'utf8');
}

describe('projected serviceAccountToken volumes', () => {
  it('asks for a token bound to the pod and writes it with the volume mode', async () => {
    const p = pod([{ audience: 'vault', expirationSeconds: 7200, path: 'token' }], {
      serviceAccountName: 'builder',
    });
    expect(await tokenFile(p)).toBe('token-1');
    expect(api.calls).toEqual([
      {
        namespace: 'shop',
        serviceAccount: 'builder',
        request: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: {
            audiences: ['vault'],
            expirationSeconds: 7200,
            boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'pod-uid' },
          },
        },
      },
    ]);
    const volume = (await vm.prepare(p)).get('kube-api-access')!.hostPath;
    expect(statSync(path.join(volume, 'token')).mode & 0o777).toBe(0o640);
  });

  it('uses the default service account, the apiserver audiences and an hour when the pod says nothing', async () => {
    await tokenFile(pod([{ path: 'token' }]));
    expect(api.calls[0].serviceAccount).toBe('default');
    expect(api.calls[0].request.spec).toMatchObject({ audiences: [], expirationSeconds: 3600 });
  });

  it('reuses a cached token until 80% of its lifetime has passed, then rewrites the file', async () => {
    const p = pod([{ path: 'token' }]);
    expect(await tokenFile(p)).toBe('token-1');
    clock.step(0.8 * hour - 1000);
    expect(await tokenFile(p)).toBe('token-1');
    expect(api.calls).toHaveLength(1);
    clock.step(1000);
    expect(await tokenFile(p)).toBe('token-2');
    expect(api.calls).toHaveLength(2);
  });

  it.each([
    { name: 'an hour: at 80%', seconds: 3600, refreshAfter: 0.8 * hour },
    { name: '10 minutes: at 80%', seconds: 600, refreshAfter: 480_000 },
    { name: '48 hours: after 24 hours, not at 80%', seconds: 48 * 3600, refreshAfter: 24 * hour },
    { name: '100 hours capped to 48 by the apiserver', seconds: 100 * 3600, refreshAfter: 24 * hour },
    { name: '25 hours: after 20 hours', seconds: 25 * 3600, refreshAfter: 20 * hour },
  ])('refreshes a token of $name', async ({ seconds, refreshAfter }) => {
    const p = pod([{ expirationSeconds: seconds, path: 'token' }]);
    await tokenFile(p);
    expect(vm.refreshAfterMs('pod-uid')).toBe(refreshAfter);
    clock.step(refreshAfter - 1);
    expect(await tokenFile(p)).toBe('token-1');
    clock.step(1);
    expect(await tokenFile(p)).toBe('token-2');
  });

  it('keeps one token per audience and lifetime', async () => {
    const p = pod([
      { audience: 'a', path: 'a' },
      { audience: 'b', path: 'b' },
      { audience: 'a', expirationSeconds: 7200, path: 'a-long' },
    ]);
    await vm.prepare(p);
    await vm.prepare(p);
    expect(api.calls.map((c) => c.request.spec.audiences)).toEqual([['a'], ['b'], ['a']]);
    expect(await tokenFile(p, 'b')).toBe('token-2');
    expect(vm.refreshAfterMs('pod-uid')).toBe(0.8 * hour);
  });

  it('forgets a pod’s tokens at cleanup, and a new pod of the same name asks again', async () => {
    await tokenFile(pod([{ path: 'token' }]));
    await vm.cleanup('pod-uid');
    expect(vm.refreshAfterMs('pod-uid')).toBeUndefined();
    expect(await tokenFile(pod([{ path: 'token' }]))).toBe('token-2');
    expect(await tokenFile(pod([{ path: 'token' }], { uid: 'other-uid' }))).toBe('token-3');
    expect(api.calls.map((c) => c.request.spec.boundObjectRef?.uid)).toEqual([
      'pod-uid',
      'pod-uid',
      'other-uid',
    ]);
  });

  it.each([
    {
      name: 'a missing service account',
      err: new StatusError(404, 'NotFound', 'serviceaccounts "builder" not found'),
      message: /kube-api-access: failed to fetch token: serviceaccounts "builder" not found/,
    },
    {
      name: 'a forbidden request',
      err: new StatusError(403, 'Forbidden', 'node "n1" may not request tokens for this pod'),
      message: /failed to fetch token: node "n1" may not request tokens/,
    },
  ])('fails the mount on $name', async ({ err, message }) => {
    api.failure = err;
    const p = pod([{ path: 'token' }], { serviceAccountName: 'builder' });
    await expect(vm.prepare(p)).rejects.toThrow(VolumeError);
    await expect(vm.prepare(p)).rejects.toThrow(message);
    api.failure = undefined;
    expect(await tokenFile(p)).toBe('token-3');
  });

  it('keeps serving a valid token when a refresh fails, and fails once it has expired', async () => {
    const p = pod([{ path: 'token' }]);
    await tokenFile(p);
    api.failure = new StatusError(503, 'ServiceUnavailable', 'apiserver down');
    clock.step(0.9 * hour);
    expect(await tokenFile(p)).toBe('token-1');
    // Overdue: the pod comes back soon to try again, not in a tight loop.
    expect(vm.refreshAfterMs('pod-uid')).toBe(10_000);
    clock.step(0.1 * hour);
    await expect(vm.prepare(p)).rejects.toThrow(/expired and refresh failed: apiserver down/);
  });

  it('fails the mount on an answer without a token', async () => {
    api.blank = true;
    await expect(vm.prepare(pod([{ path: 'token' }]))).rejects.toThrow(/without status.token/);
  });

  it('fails the mount where no token API is given', async () => {
    const bare = new VolumeManager({
      rootDir: dir,
      source: { configMap: async () => undefined, secret: async () => undefined },
      allocatable: {},
      logger: pino({ level: 'silent' }),
    });
    await expect(bare.prepare(pod([{ path: 'token' }]))).rejects.toThrow(/not supported here/);
    expect(bare.refreshAfterMs('pod-uid')).toBeUndefined();
  });
});
