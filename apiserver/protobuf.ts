/**
 * Request bodies in Kubernetes' protobuf encoding
 * (`application/vnd.kubernetes.protobuf`), as client-go's typed clients
 * send them (`kubectl create deployment`, `kubectl run`, ...): the `k8s\0`
 * magic, a runtime.Unknown envelope naming apiVersion and kind, and the
 * object's message, decoded into the same JSON object a JSON body gives.
 *
 * Go's protobuf writes every non-pointer field, zero or not; JSON leaves
 * zero values out (omitempty), so a zero value of a non-pointer scalar is
 * dropped here. Pointer fields (flag `?` in the tables) keep their zero.
 */
import { setOwn } from '../api/plain.js';
import { newBadRequest, newUnsupportedMediaType, StatusError } from '../api/status.js';
import { messages } from './protobuf-tables.js';

export const protobufMediaType = 'application/vnd.kubernetes.protobuf';
const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  json: string;
  type: string;
  map?: [string, string];
  repeated: boolean;
  pointer: boolean;
  inline: boolean;
}

const specs = new Map<string, Map<number, Field>>();

/** Parses a message's line of the tables: `json=<number><type><flags> ...`. */
function specOf(name: string): Map<number, Field> {
  let spec = specs.get(name);
  if (spec) return spec;
  const line = messages[name];
  if (line === undefined) throw new Error(`no protobuf table for ${name}`);
  spec = new Map();
  for (const item of line.split(' ').filter(Boolean)) {
    const m = /^([^=]+)=(\d+)(\{([^,]+),([^}]+)\}|@[^?*^]+|[a-zA-Z])([?*^]*)$/.exec(item);
    if (!m) throw new Error(`bad protobuf table entry ${item} in ${name}`);
    spec.set(Number(m[2]), {
      json: m[1],
      type: m[4] ? 'map' : m[3],
      map: m[4] ? [m[4], m[5]] : undefined,
      repeated: m[6].includes('*'),
      pointer: m[6].includes('?'),
      inline: m[6].includes('^'),
    });
  }
  specs.set(name, spec);
  return spec;
}

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.pos >= this.buf.length) throw malformed('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
    }
    throw malformed('varint too long');
  }

  bytes(): Buffer {
    const n = Number(this.varint());
    if (this.pos + n > this.buf.length) throw malformed('truncated field');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.pos += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.pos += 4;
    else throw malformed(`unsupported wire type ${wireType}`);
  }
}

function malformed(why: string): StatusError {
  return newBadRequest(`the protobuf body could not be decoded: ${why}`);
}

const int64 = (v: bigint) => Number(BigInt.asIntN(64, v));

/** Reads a small message as field number → raw values (for the well-known types). */
function fields(buf: Buffer): Map<number, (bigint | Buffer)[]> {
  const r = new Reader(buf);
  const out = new Map<number, (bigint | Buffer)[]>();
  while (!r.done) {
    const tag = Number(r.varint());
    const wt = tag & 7;
    if (wt !== 0 && wt !== 2) {
      r.skip(wt);
      continue;
    }
    const v = wt === 0 ? r.varint() : r.bytes();
    out.set(tag >> 3, [...(out.get(tag >> 3) ?? []), v]);
  }
  return out;
}

const first = (m: Map<number, (bigint | Buffer)[]>, n: number) => m.get(n)?.[0];
const num = (v: bigint | Buffer | undefined) => (typeof v === 'bigint' ? int64(v) : 0);
const str = (v: bigint | Buffer | undefined) => (Buffer.isBuffer(v) ? v.toString('utf8') : '');

function time(buf: Buffer, micro: boolean): string | undefined {
  const f = fields(buf);
  const seconds = num(first(f, 1));
  const nanos = num(first(f, 2));
  if (seconds === 0 && nanos === 0) return undefined;
  const iso = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micro ? `${iso}.${String(Math.floor(nanos / 1000)).padStart(6, '0')}Z` : `${iso}Z`;
}

/** A Go time.Duration as metav1.Duration marshals it: "1h2m3s", "1.5s", "0s". */
function duration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let s = Math.abs(ns) / 1e9;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const sec = `${Number(s.toFixed(9))}s`;
  return `${sign}${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${sec}`;
}

function json(buf: Buffer | undefined): unknown {
  if (!buf || buf.length === 0) return undefined;
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch {
    throw malformed('an embedded object is not JSON');
  }
}

/** One value of a field of `type`, as JSON has it. */
function value(r: Reader, wireType: number, type: string): unknown {
  if (wireType === 0) {
    const v = r.varint();
    return type === 'b' ? v !== 0n : int64(v);
  }
  if (wireType === 1) {
    const v = r.buf.readDoubleLE(r.pos);
    r.pos += 8;
    return v;
  }
  if (wireType !== 2) throw malformed(`unexpected wire type ${wireType}`);
  const b = r.bytes();
  switch (type) {
    case 's':
      return b.toString('utf8');
    case 'y':
      return b.toString('base64');
    case 'T':
    case 'M':
      return time(b, type === 'M');
    case 'D':
      return duration(num(first(fields(b), 1)));
    case 'Q':
      return str(first(fields(b), 1));
    case 'I': {
      const f = fields(b);
      return num(first(f, 1)) === 1 ? str(first(f, 3)) : num(first(f, 2));
    }
    case 'R':
    case 'F':
      return json(first(fields(b), 1) as Buffer | undefined);
    default:
      if (type.startsWith('@')) return decodeMessage(b, type.slice(1));
      throw malformed(`field of type ${type} is length-delimited`);
  }
}

const zero = (v: unknown) => v === '' || v === 0 || v === false || v === undefined;
const scalar = new Set(['s', 'y', 'i', 'b', 'd', 'T', 'M', 'D', 'Q', 'I']);

/** Decodes one message of the tables into its JSON object. */
export function decodeMessage(buf: Buffer, name: string): Record<string, unknown> {
  const spec = specOf(name);
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = Number(r.varint());
    const wt = tag & 7;
    const f = spec.get(tag >> 3);
    if (!f) {
      r.skip(wt);
      continue;
    }
    if (f.map) {
      const entry = new Reader(r.bytes());
      let k: unknown = '';
      let v: unknown = f.map[1] === 's' || f.map[1] === 'y' ? '' : undefined;
      while (!entry.done) {
        const t = Number(entry.varint());
        if (t >> 3 === 1) k = value(entry, t & 7, f.map[0]);
        else if (t >> 3 === 2) v = value(entry, t & 7, f.map[1]);
        else entry.skip(t & 7);
      }
      out[f.json] ??= {};
      const m = out[f.json] as Record<string, unknown>;
      setOwn(m, String(k), v ?? (f.map[1] === 'Q' ? '0' : null));
    } else if (f.repeated) {
      out[f.json] ??= [];
      const list = out[f.json] as unknown[];
      if (wt === 2 && (f.type === 'i' || f.type === 'b')) {
        // A packed list of varints.
        const packed = new Reader(r.bytes());
        while (!packed.done) list.push(value(packed, 0, f.type));
      } else list.push(value(r, wt, f.type));
    } else {
      const v = value(r, wt, f.type);
      if (f.inline) Object.assign(out, v);
      else out[f.json] = v;
    }
  }
  for (const f of spec.values()) {
    if (!f.repeated && !f.map && !f.pointer && scalar.has(f.type) && zero(out[f.json])) delete out[f.json];
    else if (out[f.json] === undefined) delete out[f.json];
  }
  return out;
}

/** Group/version of an apiVersion as the tables name it: `v1` → `core/v1`. */
function tableGroupVersion(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion : `core/${apiVersion}`;
}

/**
 * Decodes a `k8s\0` protobuf body into a JSON object with apiVersion and
 * kind. A kind we have no tables for is 415, so the client can resend JSON.
 */
export function decodeProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < magic.length || !body.subarray(0, magic.length).equals(magic)) {
    throw malformed('the body does not start with the k8s protobuf magic');
  }
  const env = fields(body.subarray(magic.length));
  const typeMeta = fields((first(env, 1) as Buffer | undefined) ?? Buffer.alloc(0));
  const apiVersion = str(first(typeMeta, 1));
  const kind = str(first(typeMeta, 2));
  if (str(first(env, 3)) !== '')
    throw newUnsupportedMediaType(`${protobufMediaType} with a content encoding`);
  let name = `${tableGroupVersion(apiVersion)}.${kind}`;
  if (kind === 'DeleteOptions') name = 'meta/v1.DeleteOptions';
  if (!(name in messages)) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the protobuf encoding of ${kind} (${apiVersion}) is not supported; send it as application/json`,
    );
  }
  const raw = (first(env, 2) as Buffer | undefined) ?? Buffer.alloc(0);
  return { apiVersion, kind, ...decodeMessage(raw, name) };
}
