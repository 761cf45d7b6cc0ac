import { GRPCInvalidArgumentError, GRPCResourceExhastedError } from 'etcd3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { decodeObject, EtcdStore, isRequestTooLarge } from './etcd.js';

describe('etcd errors', () => {
  it('a write too large for etcd or for its gRPC limit is told from other exhaustion', () => {
    expect(
      isRequestTooLarge(new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large')),
    ).toBe(true);
    expect(
      isRequestTooLarge(
        new GRPCResourceExhastedError(
          '8 RESOURCE_EXHAUSTED: Received message larger than max (3145800 vs. 2097152)',
        ),
      ),
    ).toBe(true);
    expect(
      isRequestTooLarge(
        new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded'),
      ),
    ).toBe(false);
    expect(
      isRequestTooLarge(new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: too many requests')),
    ).toBe(false);
  });

  it('a create or update etcd refuses as too large answers 413 RequestEntityTooLarge', async () => {
    const store = new EtcdStore({ endpoints: ['127.0.0.1:1'], logger: pino({ level: 'silent' }) });
    try {
      store.client.kv.txn = async () => {
        throw new GRPCInvalidArgumentError('3 INVALID_ARGUMENT: etcdserver: request is too large');
      };
      const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'big' } } as KubeObject;
      for (const write of [
        () => store.create('/registry/configmaps/default/big', obj),
        () => store.update('/registry/configmaps/default/big', obj, 5),
      ]) {
        const err = await write().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StatusError);
        expect((err as StatusError).toStatus()).toMatchObject({
          code: 413,
          reason: 'RequestEntityTooLarge',
          message: 'Request entity too large: etcdserver: request is too large',
        });
      }
      store.client.kv.txn = async () => {
        throw new GRPCResourceExhastedError(
          '8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded',
        );
      };
      await expect(store.create('/registry/configmaps/default/big', obj)).rejects.toBeInstanceOf(
        GRPCResourceExhastedError,
      );
    } finally {
      store.close();
    }
  });
});

describe('a stored value that cannot be decoded', () => {
  const kv = (value: string) =>
    ({ key: Buffer.from('/registry/secrets/ns/x'), value: Buffer.from(value), mod_revision: '7' }) as never;

  it('is a 500 InternalError naming its key, whatever is wrong with it', () => {
    const codec = {
      encode: (_k: string, b: Buffer) => b,
      decode: () => {
        throw new Error('no provider of the encryption config can read it');
      },
    };
    for (const [value, c] of [
      ['{"metadata":{}}', codec],
      ['not json', undefined],
      ['null', undefined],
      ['{"kind":"Secret"}', undefined],
    ] as const) {
      let err: unknown;
      try {
        decodeObject(kv(value), c);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StatusError);
      expect((err as StatusError).code).toBe(500);
      expect((err as StatusError).reason).toBe('InternalError');
      expect((err as StatusError).message).toMatch(
        /^Internal error occurred: the stored value of \/registry\/secrets\/ns\/x cannot be decoded: /,
      );
    }
    expect(decodeObject(kv('{"metadata":{"name":"x"}}')).obj.metadata).toEqual({
      name: 'x',
      resourceVersion: '7',
    });
  });

  it('is left out of a list, counted, and the next page starts after it', async () => {
    const skipped: string[] = [];
    const store = new EtcdStore({
      endpoints: ['127.0.0.1:1'],
      logger: pino({ level: 'silent' }),
      onUndecodable: (key) => skipped.push(key),
    });
    try {
      const at = (name: string, value: string) => ({
        key: Buffer.from(`/registry/secrets/ns/${name}`),
        value: Buffer.from(value),
        mod_revision: '3',
      });
      store.client.kv.range = (async () => ({
        header: { revision: '9' },
        kvs: [at('a', '{"metadata":{"name":"a"}}'), at('b', 'k8s:enc:aesgcm:v1:gone:xx')],
        more: true,
        count: '3',
      })) as never;
      const page = await store.list('/registry/secrets/', { limit: 2 });
      expect(page.items.map((s) => s.obj.metadata.name)).toEqual(['a']);
      expect(page.lastKey).toBe('/registry/secrets/ns/b');
      expect(page.remaining).toBe(1);
      expect(skipped).toEqual(['/registry/secrets/ns/b']);
    } finally {
      store.client.close();
    }
  });
});
