/**
 * Small helpers on JSON values for the structural schema code: the JSON kind
 * of a value as kube-openapi names it, Go's `%v` of a number, deep equality
 * and deep copies that never touch a prototype, and reading a raw schema's
 * fields (`obj`, `str`). Every walk is bounded by `maxObjectDepth` (the
 * apiserver refuses deeper bodies before they get here).
 */
import { isPlainObject, maxObjectDepth, setOwn } from '../../api/plain.js';

export type JSONKind = 'null' | 'boolean' | 'string' | 'integer' | 'number' | 'array' | 'object';

/** The type kube-openapi sees: JSON integers decode to int64, other numbers to float64. */
export function kindOf(v: unknown): JSONKind {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isInteger(v) ? 'integer' : 'number';
    case 'object':
      return v === null ? 'null' : Array.isArray(v) ? 'array' : 'object';
    default:
      return 'null';
  }
}

/** Go's `%v` of a float64 (strconv 'g' with the shortest digits, exponent from -4 and from 21). */
export function goNumber(n: number): string {
  if (!Number.isFinite(n)) return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp >= -4 && exp < 21) return String(n);
  const [mant, e] = n.toExponential().split('e');
  const sign = e.startsWith('-') ? '-' : '+';
  const digits = e.replace(/^[-+]/, '');
  return `${mant}e${sign}${digits.length < 2 ? `0${digits}` : digits}`;
}

/** reflect.DeepEqual on decoded JSON. */
export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (depth > maxObjectDepth) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k)) return false;
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], depth + 1))
      return false;
  }
  return true;
}

/** A copy of a JSON value; `__proto__` keys stay data. */
export function deepCopy<T>(v: T, depth = 0): T {
  if (typeof v !== 'object' || v === null) return v;
  if (depth > maxObjectDepth) throw new Error('value nests too deeply');
  if (Array.isArray(v)) return v.map((x) => deepCopy(x, depth + 1)) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) setOwn(out, k, deepCopy((v as Record<string, unknown>)[k], depth + 1));
  return out as T;
}

/** A canonical text of a value (sorted keys), for sets of compound values. */
export function canonical(v: unknown, depth = 0): string {
  if (typeof v !== 'object' || v === null) return JSON.stringify(v) ?? 'null';
  if (depth > maxObjectDepth) throw new Error('value nests too deeply');
  if (Array.isArray(v)) return `[${v.map((x) => canonical(x, depth + 1)).join(',')}]`;
  const keys = Object.keys(v).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
}

/** Characters as Go's utf8.RuneCount counts them (a surrogate pair is one). */
export function runeCount(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length - 1; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** swag.IsFloat64AJSONInteger: whole, allowing float noise of one part in 1e9. */
export function isWhole(f: number): boolean {
  if (!Number.isFinite(f)) return false;
  if (Number.isInteger(f)) return true;
  const g = Math.trunc(f);
  return Math.abs(f - g) / (Math.abs(f) + Math.abs(g)) < 1e-9;
}

/** A schema or value as decoded from the wire, read through `own`. */
export type Raw = Record<string, unknown>;

/** The value if it is a plain object, else undefined. */
export const obj = (v: unknown): Raw | undefined => (isPlainObject(v) ? v : undefined);

/** The value if it is a string, else ''. */
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
