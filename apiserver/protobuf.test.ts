import { describe, expect, it } from 'vitest';
import { StatusError } from '../api/status.js';
import { decodeProtobuf } from './protobuf.js';

// A tiny protobuf writer for building request bodies as client-go does.
function varint(n: number | bigint): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}
type Part = [number, number | bigint | boolean | string | Buffer];
function msg(...parts: Part[]): Buffer {
  return Buffer.concat(
    parts.map(([num, v]) => {
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
        return Buffer.concat([varint(num << 3), varint(typeof v === 'boolean' ? Number(v) : v)]);
      const b = typeof v === 'string' ? Buffer.from(v) : v;
      return Buffer.concat([varint((num << 3) | 2), varint(b.length), b]);
    }),
  );
}
const entry = (k: string, v: string | Buffer): Buffer => msg([1, k], [2, v]);
function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), msg([1, msg([1, apiVersion], [2, kind])], [2, raw])]);
}
// ObjectMeta as Go writes it: every non-pointer field, zero or not.
const meta = (name: string) =>
  msg([1, name], [2, ''], [3, ''], [5, ''], [6, ''], [7, 0], [8, msg()], [11, entry('app', name)]);

describe('decodeProtobuf', () => {
  it('decodes a ConfigMap: maps, empty values, and zero values of non-pointer fields dropped', () => {
    const raw = msg(
      [1, meta('cfg')],
      [2, entry('a', 'b')],
      [2, entry('empty', '')],
      [3, entry('bin', Buffer.from([0, 1]))],
    );
    expect(decodeProtobuf(envelope('v1', 'ConfigMap', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', labels: { app: 'cfg' } },
      data: { a: 'b', empty: '' },
      binaryData: { bin: 'AAE=' },
    });
  });

  it('keeps the zero of a pointer field (replicas: 0) and decodes IntOrString, Quantity and inline structs', () => {
    const intOrStringStr = (s: string) => msg([1, 1], [2, 0], [3, s]);
    const quantity = (q: string) => msg([1, q]);
    const container = msg(
      [1, 'app'],
      [2, 'nginx'],
      [6, msg([1, ''], [2, 0], [3, 80], [4, 'TCP'], [5, ''])],
      [8, msg([1, entry('cpu', quantity('250m'))])],
    );
    // Volume embeds VolumeSource inline: its emptyDir appears beside name.
    const volume = msg([1, 'scratch'], [2, msg([2, msg([1, ''])])]);
    const podSpec = msg([1, volume], [2, container], [4, 30n], [3, '']);
    const strategy = msg(
      [1, 'RollingUpdate'],
      [2, msg([1, intOrStringStr('25%')], [2, intOrStringStr('1')])],
    );
    const spec = msg(
      [1, 0],
      [2, msg([1, entry('app', 'web')])],
      [3, msg([1, meta('')], [2, podSpec])],
      [4, strategy],
    );
    const obj = decodeProtobuf(envelope('apps/v1', 'Deployment', msg([1, meta('web')], [2, spec]))) as any;
    expect(obj.spec.replicas).toBe(0);
    expect(obj.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: '25%', maxSurge: '1' },
    });
    expect(obj.spec.template.spec).toEqual({
      volumes: [{ name: 'scratch', emptyDir: {} }],
      containers: [
        {
          name: 'app',
          image: 'nginx',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: '250m' } },
        },
      ],
      terminationGracePeriodSeconds: 30,
    });
  });

  // Every served kind that client-go's typed clients may send: these three were missing (415).
  it.each([
    {
      name: 'ReplicationController (replicas 0 kept, selector a map)',
      apiVersion: 'v1',
      kind: 'ReplicationController',
      raw: msg([1, meta('rc')], [2, msg([1, 0], [2, entry('app', 'rc')], [4, 0])]),
      want: { spec: { replicas: 0, selector: { app: 'rc' } } },
    },
    {
      name: 'ControllerRevision (revision, data)',
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      raw: msg([1, meta('rev')], [2, msg([1, '{"spec":{}}'])], [3, 2]),
      want: { data: { spec: {} }, revision: 2 },
    },
    {
      name: 'StorageClass (provisioner, pointer fields)',
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      raw: msg([1, meta('sc')], [2, 'nanokube.io/hostpath'], [4, 'Delete'], [6, false]),
      want: { provisioner: 'nanokube.io/hostpath', reclaimPolicy: 'Delete', allowVolumeExpansion: false },
    },
  ])('decodes a $name', ({ apiVersion, kind, raw, want }) => {
    const out = decodeProtobuf(envelope(apiVersion, kind, raw)) as any;
    expect(out).toMatchObject({ apiVersion, kind, ...want });
  });

  it('decodes negative integers and times', () => {
    const time = msg([1, 1700000000n], [2, 0]);
    const raw = msg([1, msg([1, 'e'], [8, time])], [2, msg([3, -1])]);
    const job = decodeProtobuf(envelope('batch/v1', 'Job', raw)) as any;
    expect(job.metadata.creationTimestamp).toBe('2023-11-14T22:13:20Z');
    expect(job.spec.activeDeadlineSeconds).toBe(-1);
  });

  it.each([
    {
      name: 'a kind without tables is 415',
      body: envelope('policy/v1beta1', 'PodSecurityPolicy', msg()),
      code: 415,
    },
    { name: 'a body without the magic is 400', body: Buffer.from('{"kind":"Pod"}'), code: 400 },
    {
      name: 'a truncated message is 400',
      body: envelope('v1', 'ConfigMap', Buffer.from([0x0a, 0x10, 0x01])),
      code: 400,
    },
  ])('$name', ({ body, code }) => {
    let err: unknown;
    try {
      decodeProtobuf(body);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(code);
  });
});
