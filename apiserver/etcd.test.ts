import { GRPCInvalidArgumentError, GRPCResourceExhastedError } from 'etcd3';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../api/meta.js';
import { StatusError } from '../api/status.js';
import { EtcdStore, isRequestTooLarge } from './etcd.js';

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
