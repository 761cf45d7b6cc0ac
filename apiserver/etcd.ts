/**
 * The one place that talks to etcd. Values are encoded and decoded here
 * (JSON, then the key's ValueCodec: encryption at rest for the resources
 * the encryption config names), and a key's mod revision becomes the
 * object's resourceVersion on the way out.
 *
 * Contract: every method either returns a result that reflects a single etcd
 * revision, or throws. Compare-and-swap outcomes come back as values
 * (`{ ok: false, current }`); the per-resource store turns them into
 * Kubernetes Status errors. A write etcd refuses as too large throws 413.
 */

import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  isBrokenCircuitError,
  retry,
} from 'cockatiel';
import { Etcd3, type IKeyValue, type IRangeResponse, type IWatchResponse, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.js';
import { newRequestEntityTooLarge, StatusError } from '../api/status.js';
import { identityCodec, type ValueCodec } from './encryption.js';

export interface StoredObject {
  key: string;
  obj: KubeObject;
  /** The etcd mod revision, which is the object's resourceVersion. */
  rv: number;
}

/** TLS to etcd members: the CA their serving certificates chain to, and a client certificate. */
export interface EtcdTLS {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface EtcdOptions {
  endpoints: string[];
  tls?: EtcdTLS;
  logger: Logger;
  /** Deadline for one unary call; a member failure costs at most this before failover. */
  callTimeoutMs?: number;
  /** How the value of a key is stored (encrypted or not); plain JSON when unset. */
  codecFor?: (key: string) => ValueCodec;
  /** Told of each stored value a list or watch skipped because it cannot be decoded (for a metric). */
  onUndecodable?: (key: string) => void;
}

export type CasResult = { ok: true; stored: StoredObject } | { ok: false; current?: StoredObject };

export interface ListResult {
  items: StoredObject[];
  revision: number;
  /** More keys exist after the last returned one. */
  more: boolean;
  /** Keys left after this page, when known. */
  remaining: number;
  /** The last key read, decodable or not: where the next page starts after. */
  lastKey?: string;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  rv: number;
  /** The new value; for a delete, the value before it. */
  obj: KubeObject;
  prev?: KubeObject;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

/** The smallest key greater than every key with this prefix. */
export function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] < 0xff) {
      const end = Buffer.from(b.subarray(0, i + 1));
      end[i]++;
      return end;
    }
  }
  return Buffer.from([0]);
}

export function encodeObject(obj: KubeObject, key = '', codec: ValueCodec = identityCodec): Buffer {
  // resourceVersion is derived from the etcd revision, never stored.
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return codec.encode(key, enc(JSON.stringify({ ...obj, metadata: meta })));
}

/**
 * A stored value that cannot be read (a key of the encryption config removed
 * too early, a master with another config, bytes not JSON): that object's
 * problem, a 500 naming it where it is asked for by name, as Kubernetes
 * answers; lists and watches leave it out.
 */
export function newUndecodable(key: string, err: unknown): StatusError {
  const why = `the stored value of ${key} cannot be decoded: ${(err as Error)?.message ?? String(err)}`;
  return new StatusError(500, 'InternalError', `Internal error occurred: ${why}`, {
    causes: [{ message: why }],
  });
}

export function decodeObject(kv: IKeyValue, codec: ValueCodec = identityCodec): StoredObject {
  const key = kv.key.toString('utf8');
  let obj: KubeObject;
  try {
    obj = JSON.parse(codec.decode(key, kv.value).toString('utf8')) as KubeObject;
    if (typeof obj?.metadata !== 'object' || obj.metadata === null) throw new Error('no metadata');
  } catch (err) {
    throw newUndecodable(key, err);
  }
  const rv = Number(kv.mod_revision);
  obj.metadata.resourceVersion = String(rv);
  return { key, obj, rv };
}

export class CompactedError extends Error {
  constructor(readonly revision: number) {
    super(`required revision ${revision} has been compacted`);
  }
}

function isCompacted(err: unknown): boolean {
  return err instanceof Error && /compacted/.test(err.message);
}

/**
 * A write etcd refuses for its size: past `--max-request-bytes` (1.5 MiB by
 * default) etcd answers "etcdserver: request is too large", and past that
 * plus gRPC's 512 KiB of slack gRPC itself refuses the message (received
 * message larger than max, RESOURCE_EXHAUSTED). Not a database out of space,
 * which is RESOURCE_EXHAUSTED too.
 */
export function isRequestTooLarge(err: unknown): boolean {
  return err instanceof Error && /request is too large|message larger than max/i.test(err.message);
}

/** The object is the client's doing: 413 RequestEntityTooLarge, as Kubernetes maps etcd's ErrRequestTooLarge. */
function refuseTooLarge(err: unknown): never {
  if (isRequestTooLarge(err))
    throw newRequestEntityTooLarge((err as Error).message.replace(/^\d+ [A-Z_]+: /, ''));
  throw err;
}

/** What the stores and watch caches use of etcd: objects by key, with compare-and-swap, lists and watches. */
export type ObjectStorage = Pick<
  EtcdStore,
  'get' | 'create' | 'update' | 'delete' | 'list' | 'watch' | 'freshness'
>;

export class EtcdStore {
  readonly client: Etcd3;
  private readonly log: Logger;
  private readonly codecFor: (key: string) => ValueCodec;
  private readonly onUndecodable: (key: string) => void;

  constructor(opts: EtcdOptions) {
    if (opts.endpoints.length === 0) throw new Error('at least one etcd endpoint is required');
    const timeout = opts.callTimeoutMs ?? 5000;
    this.log = opts.logger;
    this.codecFor = opts.codecFor ?? (() => identityCodec);
    this.onUndecodable = opts.onUndecodable ?? (() => {});
    this.client = new Etcd3({
      hosts: opts.endpoints,
      ...(opts.tls
        ? {
            credentials: {
              rootCertificate: opts.tls.ca,
              ...(opts.tls.cert && opts.tls.key
                ? { certChain: opts.tls.cert, privateKey: opts.tls.key }
                : {}),
            },
          }
        : {}),
      dialTimeout: 3000,
      // A list of a whole resource (the watch cache's) easily passes gRPC's default 4 MiB
      // limit on a received message; etcd's Go client, as Kubernetes uses it, has no limit.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: {
        // A member that fails is skipped for 2 s; the global policy retries on another member.
        host: () =>
          circuitBreaker(handleWhen(isRetryable), {
            halfOpenAfter: 2000,
            breaker: new ConsecutiveBreaker(2),
          }),
        global: retry(handleWhen(isRetryable), { maxAttempts: opts.endpoints.length + 1 }),
        watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) as never,
      },
    });
  }

  private encode(key: string, obj: KubeObject): Buffer {
    return encodeObject(obj, key, this.codecFor(key));
  }

  private readonly decode = (kv: IKeyValue): StoredObject =>
    decodeObject(kv, this.codecFor(kv.key.toString('utf8')));

  /** The decoded value, or undefined (logged and counted) for one that cannot be read. */
  private decodeOrSkip(kv: IKeyValue, what: string): StoredObject | undefined {
    try {
      return this.decode(kv);
    } catch (err) {
      const key = kv.key.toString('utf8');
      this.log.warn({ key, err: (err as Error).message }, `${what} skips a stored value it cannot decode`);
      this.onUndecodable(key);
      return undefined;
    }
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const res = await this.client.kv.range({ key: enc(key) });
    return res.kvs[0] ? this.decode(res.kvs[0]) : undefined;
  }

  /** Creates `key` only if it does not exist. On success `obj` itself, with its resourceVersion, is the stored object. */
  async create(key: string, obj: KubeObject): Promise<CasResult> {
    const k = enc(key);
    const value = this.encode(key, obj);
    const res = await this.client.kv
      .txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value } }],
        failure: [{ request_range: { key: k } }],
      })
      .catch(refuseTooLarge);
    return this.casResult(
      key,
      obj,
      value,
      res.succeeded,
      Number(res.header.revision),
      res.responses[0]?.response_range,
    );
  }

  /** Replaces `key` only if its mod revision is still `expectedRv`. On success `obj` itself is the stored object. */
  async update(key: string, obj: KubeObject, expectedRv: number): Promise<CasResult> {
    const k = enc(key);
    const res = await this.client.kv
      .txn({
        compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRv }],
        success: [{ request_put: { key: k, value: this.encode(key, obj) } }],
        failure: [{ request_range: { key: k } }],
      })
      .catch(refuseTooLarge);
    return this.casResult(
      key,
      obj,
      undefined,
      res.succeeded,
      Number(res.header.revision),
      res.responses[0]?.response_range,
    );
  }

  /** Deletes `key` only if its mod revision is still `expectedRv`; returns the deleted object at the delete revision. */
  async delete(key: string, expectedRv: number): Promise<CasResult> {
    const k = enc(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRv }],
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (res.succeeded) {
      const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
      if (!prev) return { ok: false };
      const stored = this.decode(prev);
      stored.rv = Number(res.header.revision);
      stored.obj.metadata.resourceVersion = String(stored.rv);
      return { ok: true, stored };
    }
    const cur = res.responses[0]?.response_range?.kvs?.[0];
    return { ok: false, current: cur ? this.decode(cur) : undefined };
  }

  /**
   * The answer to a create or update. A create whose compare fails but whose
   * key holds exactly the bytes this call wrote was committed by an earlier
   * attempt of this very call: the etcd client retries a call whose member
   * went away after taking it (a leader stopping mid-write), and the retry
   * then finds our own write. That is success, at the revision of our write,
   * not AlreadyExists; the uid generated for each create makes the bytes
   * ours alone. An update has no such mark (two writers may write the same
   * bytes from the same read), so a failed compare stays a conflict.
   */
  private casResult(
    key: string,
    obj: KubeObject,
    /** For a create: the bytes written, to recognise our own earlier commit. */
    ownValue: Buffer | undefined,
    ok: boolean,
    revision: number,
    range?: IRangeResponse,
  ): CasResult {
    const cur = range?.kvs?.[0];
    if (!ok && cur && ownValue && Buffer.from(cur.value).equals(ownValue)) {
      this.log.info(
        { key, revision: Number(cur.mod_revision) },
        'a retried etcd write found its own earlier commit',
      );
      ok = true;
      revision = Number(cur.mod_revision);
    }
    if (ok) {
      // The caller hands `obj` over (every caller passes a fresh object), so no copy is made.
      obj.metadata.resourceVersion = String(revision);
      return { ok: true, stored: { key, obj, rv: revision } };
    }
    return { ok: false, current: cur ? this.decode(cur) : undefined };
  }

  /**
   * Lists keys under `prefix` in key order, at `revision` (0: latest),
   * starting at `startKey` (inclusive) and returning at most `limit` (0: all).
   */
  async list(
    prefix: string,
    opts: { revision?: number; limit?: number; startKey?: string } = {},
  ): Promise<ListResult> {
    try {
      const res = await this.client.kv.range(
        {
          key: enc(opts.startKey ?? prefix),
          range_end: prefixEnd(prefix),
          limit: opts.limit ?? 0,
          revision: opts.revision ?? 0,
        },
        { deadline: Date.now() + 60_000 },
      ); // a big list under load outlasts the 5 s call deadline
      const items: StoredObject[] = [];
      for (const kv of res.kvs) {
        const stored = this.decodeOrSkip(kv, 'a list');
        if (stored) items.push(stored);
      }
      const last = res.kvs[res.kvs.length - 1];
      return {
        items,
        revision: Number(res.header.revision),
        more: res.more,
        remaining: Math.max(0, Number(res.count) - res.kvs.length),
        lastKey: last?.key.toString('utf8'),
      };
    } catch (err) {
      if (isCompacted(err)) throw new CompactedError(opts.revision ?? 0);
      throw err;
    }
  }

  /**
   * What a cache at `sinceRv` needs to know to prove it still equals etcd:
   * the current revision, whether any key under the prefix was written after
   * `sinceRv`, and how many keys there are in all. One transaction, so both
   * answers are at the same revision.
   *
   * Why a range compare and not a count with min_mod_revision: etcd applies
   * that filter to the returned keys only, so with count_only it counts all.
   */
  async freshness(
    prefix: string,
    sinceRv: number,
  ): Promise<{ revision: number; writtenSince: boolean; count: number }> {
    const key = enc(prefix);
    const range_end = prefixEnd(prefix);
    const count = { request_range: { key, range_end, count_only: true } };
    const res = await this.client.kv.txn({
      // Holds when every key in the range (or none) has mod revision <= sinceRv.
      compare: [{ key, range_end, target: 'Mod', result: 'Less', mod_revision: sinceRv + 1 }],
      success: [count],
      failure: [count],
    });
    return {
      revision: Number(res.header.revision),
      writtenSince: !res.succeeded,
      count: Number(res.responses[0].response_range.count),
    };
  }

  /** The store's current revision. */
  async revision(): Promise<number> {
    const res = await this.client.kv.range({
      key: enc('/registry/'),
      range_end: prefixEnd('/registry/'),
      count_only: true,
    });
    return Number(res.header.revision);
  }

  /**
   * Watches `prefix` from `fromRv` (inclusive). Events arrive in revision
   * order, in batches; the etcd3 client reconnects from the last revision
   * seen. `onCompacted` is called if etcd has compacted past `fromRv`.
   */
  async watch(
    prefix: string,
    fromRv: number,
    onEvents: (events: WatchEvent[], revision: number) => void,
    onError: (err: Error) => void,
  ): Promise<Watcher> {
    const watcher = await this.client
      .watch()
      .prefix(prefix)
      .withPreviousKV()
      .startRevision(String(fromRv))
      .create();
    // Nothing may throw out of these callbacks: etcd3 rethrows it where no one catches it.
    watcher.on('data', (res: IWatchResponse) => {
      if (!res.events || res.events.length === 0) return;
      try {
        onEvents(this.watchEvents(res), Number(res.header.revision));
      } catch (err) {
        onError(err as Error);
      }
    });
    watcher.on('error', (err: Error) => onError(err));
    // A watch etcd ends without an error must not leave its cache waiting forever.
    watcher.on('end', () => onError(new Error(`the etcd watch of ${prefix} ended`)));
    return watcher;
  }

  /**
   * One response's events. An undecodable value is left out as a list leaves
   * it out: a put of one over a readable object is that object's deletion.
   */
  private watchEvents(res: IWatchResponse): WatchEvent[] {
    const events: WatchEvent[] = [];
    for (const ev of res.events) {
      const rv = Number(ev.kv.mod_revision);
      const prev = ev.prev_kv && this.decodeOrSkip(ev.prev_kv, 'a watch');
      if (ev.type === 'Put') {
        const cur = this.decodeOrSkip(ev.kv, 'a watch');
        if (cur) events.push({ type: 'put', key: cur.key, rv: cur.rv, obj: cur.obj, prev: prev?.obj });
        else if (prev) {
          prev.obj.metadata.resourceVersion = String(rv);
          events.push({ type: 'delete', key: prev.key, rv, obj: prev.obj });
        }
      } else if (prev) {
        prev.obj.metadata.resourceVersion = String(rv);
        events.push({ type: 'delete', key: prev.key, rv, obj: prev.obj });
      }
    }
    return events;
  }

  // ---- raw keys, for records that are not API objects (allocations) ----

  /** Creates `key` with `value` only if absent; false if it exists. */
  async createKey(key: string, value: string): Promise<boolean> {
    const k = enc(key);
    const res = await this.client.kv.txn({
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value: enc(value) } }],
    });
    return res.succeeded;
  }

  async deleteKey(key: string): Promise<void> {
    await this.client.kv.deleteRange({ key: enc(key) });
  }

  /** Deletes `key` if its current value passes `test`, compare-and-swap on its revision. */
  async deleteKeyIfValue(key: string, test: (value: string) => boolean): Promise<boolean> {
    const res = await this.client.kv.range({ key: enc(key) });
    const kv = res.kvs[0];
    if (!kv || !test(kv.value.toString('utf8'))) return false;
    const del = await this.client.kv.txn({
      compare: [{ key: enc(key), target: 'Mod', result: 'Equal', mod_revision: kv.mod_revision }],
      success: [{ request_delete_range: { key: enc(key) } }],
    });
    return del.succeeded;
  }

  async listKeys(prefix: string): Promise<{ key: string; value: string }[]> {
    const res = await this.client.kv.range({ key: enc(prefix), range_end: prefixEnd(prefix) });
    return res.kvs.map((kv) => ({ key: kv.key.toString('utf8'), value: kv.value.toString('utf8') }));
  }

  async compact(revision: number): Promise<void> {
    await this.client.kv.compact({ revision, physical: false });
  }

  async healthy(): Promise<boolean> {
    try {
      await this.client.kv.range({ key: enc('health') }, { deadline: Date.now() + 2000 });
      return true;
    } catch (err) {
      this.log.debug({ err }, 'etcd health check failed');
      return false;
    }
  }

  close(): void {
    this.client.close();
  }
}

function isRetryable(err: Error): boolean {
  if (isBrokenCircuitError(err)) return true;
  // Only failures where the call never reached a member are retried: a write
  // that timed out may have committed, and retrying it would misreport.
  const name = err.constructor?.name ?? '';
  return (
    name === 'GRPCUnavailableError' ||
    name === 'GRPCConnectFailedError' ||
    /ECONNREFUSED|No connection established/i.test(err.message)
  );
}
