/**
 * Resource quantities: "250m" of CPU, "128Mi" of memory, "1e3", "2k".
 *
 * A Quantity is exact: a whole number of nano-units in a bigint (Kubernetes
 * keeps nine decimal places too, rounding anything finer up), plus the format
 * it was written in, which decides how it prints: binary suffixes stay binary
 * ("1536Mi"), decimal ones decimal ("1500m"), exponents stay exponents.
 * Quantities are values: every function returns a new one and none mutates.
 *
 * On the wire a quantity is a string or a plain number; every function here
 * takes either as well as a parsed Quantity.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The amount in units of 10^-9: "250m" is 250_000_000n, "1Ki" is 1_024_000_000_000n. */
  readonly nano: bigint;
  readonly format: QuantityFormat;
}

/** Anything a quantity field may hold: the wire forms, or a parsed Quantity. */
export type QuantityLike = Quantity | string | number;

const NANO = 1_000_000_000n;
const maxInt64 = 2n ** 63n - 1n;
/** Exponents beyond this are refused rather than expanded into enormous numbers. */
const maxExponent = 1000;

const splitRE = '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$';
const quantityRe = /^([+-]?)([0-9]*)(?:\.([0-9]*))?([eEinumkKMGTP]*[-+]?[0-9]*)$/;

const decimalSuffixes: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
const binarySuffixes: Record<string, number> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };
const decimalByExponent = new Map(Object.entries(decimalSuffixes).map(([s, e]) => [e, s]));
const binaryByPower = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

interface Suffix {
  base: 2 | 10;
  exponent: number;
  format: QuantityFormat;
}

function interpretSuffix(s: string): Suffix | undefined {
  if (Object.hasOwn(decimalSuffixes, s))
    return { base: 10, exponent: decimalSuffixes[s], format: 'DecimalSI' };
  if (Object.hasOwn(binarySuffixes, s)) return { base: 2, exponent: binarySuffixes[s], format: 'BinarySI' };
  if (s.length > 1 && (s[0] === 'e' || s[0] === 'E') && /^[+-]?[0-9]+$/.test(s.slice(1))) {
    return { base: 10, exponent: Number(s.slice(1)), format: 'DecimalExponent' };
  }
  return undefined;
}

/** a / b rounded towards +infinity. */
function ceilDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a > 0n === b > 0n ? q + 1n : q;
}

function fail(input: string, why: string): never {
  throw new Error(`invalid quantity ${JSON.stringify(input)}: ${why}`);
}

/**
 * Parses a quantity as Kubernetes does: a signed decimal number, then a
 * suffix (n u m "" k M G T P E, Ki Mi Gi Ti Pi Ei, or an exponent e3 / E-2).
 * Amounts finer than 1n are rounded up, away from zero. Unlike Kubernetes,
 * a number with no digit at all ("-", ".") is refused rather than read as 0.
 */
export function parseQuantity(input: string | number): Quantity {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new Error(`invalid quantity ${input}: not a finite number`);
    return parseQuantity(String(input));
  }
  const m = quantityRe.exec(input);
  if (!m) fail(input, `quantities must match the regular expression '${splitRE}'`);
  const [, sign, whole, frac = '', suffixText] = m;
  if (whole === '' && frac === '') fail(input, 'unable to parse numeric part of quantity');
  const suffix = interpretSuffix(suffixText);
  if (!suffix) fail(input, "unable to parse quantity's suffix");
  if (Math.abs(suffix.exponent) > maxExponent) fail(input, 'exponent out of range');

  const digits = BigInt(`${whole}${frac}` || '0');
  let magnitude: bigint;
  if (suffix.base === 2) {
    magnitude = ceilDiv(digits * 2n ** BigInt(suffix.exponent) * NANO, 10n ** BigInt(frac.length));
  } else {
    const shift = suffix.exponent - frac.length + 9;
    magnitude = shift >= 0 ? digits * 10n ** BigInt(shift) : ceilDiv(digits, 10n ** BigInt(-shift));
  }
  let format = suffix.format;
  if (format === 'BinarySI') {
    // Kubernetes caps binary amounts at the largest int64, and prints fractions of one in decimal.
    if (magnitude > maxInt64 * NANO) magnitude = maxInt64 * NANO;
    if (magnitude > 0n && magnitude < NANO) format = 'DecimalSI';
  }
  return { nano: sign === '-' ? -magnitude : magnitude, format };
}

export function isValidQuantity(input: unknown): boolean {
  if (typeof input !== 'string' && typeof input !== 'number') return false;
  try {
    parseQuantity(input);
    return true;
  } catch {
    return false;
  }
}

export function toQuantity(q: QuantityLike): Quantity {
  return typeof q === 'object' ? q : parseQuantity(q);
}

/** A whole number of units (bytes, cores, pods). */
export function newQuantity(value: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new Error(`newQuantity: ${value} is not a safe integer`);
  return { nano: BigInt(value) * NANO, format };
}

/** A whole number of thousandths ("250m" is newMilliQuantity(250)). */
export function newMilliQuantity(milli: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  if (typeof milli === 'number' && !Number.isSafeInteger(milli))
    throw new Error(`newMilliQuantity: ${milli} is not a safe integer`);
  return { nano: BigInt(milli) * 1_000_000n, format };
}

/** ceil(q * 1000), as Kubernetes' MilliValue: the unit for CPU requests. */
export function quantityToMilli(q: QuantityLike): bigint {
  return ceilDiv(toQuantity(q).nano, 1_000_000n);
}

/** ceil(q), as Kubernetes' Value: bytes of memory, counts. */
export function quantityToValue(q: QuantityLike): bigint {
  return ceilDiv(toQuantity(q).nano, NANO);
}

/** The nearest float: for scores and ratios, never for sums that must be exact. */
export function quantityToNumber(q: QuantityLike): number {
  const { nano } = toQuantity(q);
  if (nano % NANO === 0n) return Number(nano / NANO);
  return Number(nano) / 1e9;
}

export function compareQuantities(a: QuantityLike, b: QuantityLike): -1 | 0 | 1 {
  const x = toQuantity(a).nano;
  const y = toQuantity(b).nano;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** a + b, in a's format (b's when a is zero, so a running total starting at 0 takes its first term's). */
export function addQuantities(a: QuantityLike, b: QuantityLike): Quantity {
  const x = toQuantity(a);
  const y = toQuantity(b);
  return { nano: x.nano + y.nano, format: x.nano === 0n ? y.format : x.format };
}

/** a - b, formatted as addQuantities does. */
export function subtractQuantities(a: QuantityLike, b: QuantityLike): Quantity {
  const x = toQuantity(a);
  const y = toQuantity(b);
  return { nano: x.nano - y.nano, format: x.nano === 0n ? y.format : x.format };
}

function formatBinary(sign: string, magnitude: bigint): string {
  let value = magnitude / NANO;
  let power = 0;
  while (power < binaryByPower.length - 1 && value % 1024n === 0n) {
    value /= 1024n;
    power++;
  }
  return `${sign}${value}${binaryByPower[power]}`;
}

function formatDecimal(sign: string, magnitude: bigint, format: QuantityFormat): string {
  let mantissa = magnitude;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent++;
  }
  while (((exponent % 3) + 3) % 3 !== 0) {
    mantissa *= 10n;
    exponent--;
  }
  if (format === 'DecimalExponent') return `${sign}${mantissa}${exponent === 0 ? '' : `e${exponent}`}`;
  if (exponent > 18) {
    mantissa *= 10n ** BigInt(exponent - 18);
    exponent = 18;
  }
  return `${sign}${mantissa}${decimalByExponent.get(exponent)}`;
}

/**
 * The canonical text, as Kubernetes serialises a quantity: the largest suffix
 * of the quantity's own kind that keeps the number whole. Binary amounts under
 * 1024 or not whole fall back to decimal ("512", "1500m").
 */
export function formatQuantity(q: QuantityLike): string {
  const { nano, format } = toQuantity(q);
  if (nano === 0n) return '0';
  const sign = nano < 0n ? '-' : '';
  const magnitude = nano < 0n ? -nano : nano;
  if (format === 'BinarySI' && magnitude >= 1024n * NANO && magnitude % NANO === 0n) {
    return formatBinary(sign, magnitude);
  }
  return formatDecimal(sign, magnitude, format === 'BinarySI' ? 'DecimalSI' : format);
}
