import { describe, expect, it } from 'vitest';
import {
  addQuantities,
  compareQuantities,
  formatQuantity,
  isValidQuantity,
  newMilliQuantity,
  newQuantity,
  parseQuantity,
  type QuantityFormat,
  quantityToMilli,
  quantityToNumber,
  quantityToValue,
  subtractQuantities,
} from './quantity.js';

describe('parseQuantity', () => {
  it.each<{ name: string; input: string | number; nano: bigint; format: QuantityFormat }>([
    { name: 'zero', input: '0', nano: 0n, format: 'DecimalSI' },
    { name: 'plain integer', input: '1', nano: 1_000_000_000n, format: 'DecimalSI' },
    { name: 'millicores', input: '250m', nano: 250_000_000n, format: 'DecimalSI' },
    { name: 'decimal fraction', input: '1.5', nano: 1_500_000_000n, format: 'DecimalSI' },
    { name: 'kilo', input: '2k', nano: 2_000_000_000_000n, format: 'DecimalSI' },
    { name: 'mega', input: '500M', nano: 500n * 10n ** 15n, format: 'DecimalSI' },
    { name: 'exa', input: '12E', nano: 12n * 10n ** 27n, format: 'DecimalSI' },
    { name: 'micro', input: '5u', nano: 5000n, format: 'DecimalSI' },
    { name: 'nano', input: '7n', nano: 7n, format: 'DecimalSI' },
    { name: 'kibi', input: '1Ki', nano: 1024n * 10n ** 9n, format: 'BinarySI' },
    { name: 'mebi', input: '128Mi', nano: 128n * 2n ** 20n * 10n ** 9n, format: 'BinarySI' },
    { name: 'gibi', input: '1Gi', nano: 2n ** 30n * 10n ** 9n, format: 'BinarySI' },
    { name: 'fractional gibi', input: '1.5Gi', nano: 3n * 2n ** 29n * 10n ** 9n, format: 'BinarySI' },
    { name: 'fractional binary below one', input: '0.5Ki', nano: 512n * 10n ** 9n, format: 'BinarySI' },
    { name: 'exponent', input: '1e3', nano: 10n ** 12n, format: 'DecimalExponent' },
    { name: 'capital exponent', input: '1E3', nano: 10n ** 12n, format: 'DecimalExponent' },
    { name: 'negative exponent', input: '1e-3', nano: 10n ** 6n, format: 'DecimalExponent' },
    { name: 'signed exponent', input: '2e+2', nano: 200n * 10n ** 9n, format: 'DecimalExponent' },
    { name: 'negative', input: '-100m', nano: -100_000_000n, format: 'DecimalSI' },
    { name: 'explicit plus', input: '+1', nano: 1_000_000_000n, format: 'DecimalSI' },
    { name: 'leading dot', input: '.001', nano: 1_000_000n, format: 'DecimalSI' },
    { name: 'trailing dot', input: '1.', nano: 1_000_000_000n, format: 'DecimalSI' },
    { name: 'trailing dot and suffix', input: '1.G', nano: 10n ** 18n, format: 'DecimalSI' },
    { name: 'leading zeros', input: '007', nano: 7_000_000_000n, format: 'DecimalSI' },
    { name: 'below nano rounds up', input: '0.1n', nano: 1n, format: 'DecimalSI' },
    { name: 'negative below nano rounds away from zero', input: '-0.1n', nano: -1n, format: 'DecimalSI' },
    {
      name: 'tiny binary rounds up and turns decimal',
      input: '0.000000000001Ki',
      nano: 2n,
      format: 'DecimalSI',
    },
    {
      name: 'huge binary is capped at int64',
      input: '9Ei',
      nano: (2n ** 63n - 1n) * 10n ** 9n,
      format: 'BinarySI',
    },
    { name: 'json number', input: 2, nano: 2_000_000_000n, format: 'DecimalSI' },
    { name: 'json fraction', input: 0.25, nano: 250_000_000n, format: 'DecimalSI' },
    { name: 'json large number', input: 1e21, nano: 10n ** 30n, format: 'DecimalExponent' },
  ])('$name: $input', ({ input, nano, format }) => {
    expect(parseQuantity(input)).toEqual({ nano, format });
  });

  it.each([
    { name: 'empty', input: '' },
    { name: 'words', input: 'aoeu' },
    { name: 'two dots', input: '1.1.M' },
    { name: 'sign in the middle', input: '1+1.0M' },
    { name: 'unknown suffix mi', input: '0.1mi' },
    { name: 'unknown suffix am', input: '0.1am' },
    { name: 'bare i', input: '1i' },
    { name: 'fraction bare i', input: '.5i' },
    { name: 'exponent without digits', input: '-3.01e-' },
    { name: 'bare e', input: '1e' },
    { name: 'leading space', input: ' 1' },
    { name: 'trailing space', input: '1 ' },
    { name: 'lone sign', input: '-' },
    { name: 'lone dot', input: '.' },
    { name: 'lower-case kibi', input: '1ki' },
    { name: 'absurd exponent', input: '1e100000' },
  ])('rejects $name: "$input"', ({ input }) => {
    expect(() => parseQuantity(input)).toThrow(/invalid quantity/);
    expect(isValidQuantity(input)).toBe(false);
  });

  it('names the expected shape when the text is malformed', () => {
    expect(() => parseQuantity('abc')).toThrow(
      `invalid quantity "abc": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    );
    expect(() => parseQuantity('1Qi')).toThrow('invalid quantity "1Qi"');
    expect(() => parseQuantity('1mi')).toThrow("unable to parse quantity's suffix");
  });

  it.each([
    { name: 'NaN', input: Number.NaN },
    { name: 'infinity', input: Number.POSITIVE_INFINITY },
  ])('rejects the number $name', ({ input }) => {
    expect(() => parseQuantity(input)).toThrow(/not a finite number/);
  });
});

describe('isValidQuantity', () => {
  it.each([
    { name: 'cpu string', input: '250m', valid: true },
    { name: 'memory string', input: '128Mi', valid: true },
    { name: 'number', input: 3, valid: true },
    { name: 'garbage', input: 'lots', valid: false },
    { name: 'null', input: null, valid: false },
    { name: 'object', input: { nano: 1n }, valid: false },
  ])('$name', ({ input, valid }) => {
    expect(isValidQuantity(input)).toBe(valid);
  });
});

describe('formatQuantity', () => {
  it.each([
    { name: 'zero', input: '0', out: '0' },
    { name: 'zero binary', input: '0Gi', out: '0' },
    { name: 'integer stays', input: '1', out: '1' },
    { name: 'ten', input: '10', out: '10' },
    { name: 'millis stay', input: '250m', out: '250m' },
    { name: 'thousand millis is one', input: '1000m', out: '1' },
    { name: 'decimal fraction becomes millis', input: '1.5', out: '1500m' },
    { name: 'half becomes millis', input: '0.5', out: '500m' },
    { name: 'thousand becomes kilo', input: '1000', out: '1k' },
    { name: 'kilo stays', input: '2k', out: '2k' },
    { name: 'mega stays', input: '500M', out: '500M' },
    { name: 'fraction of kilo', input: '1.5k', out: '1500' },
    { name: 'micro', input: '0.000001', out: '1u' },
    { name: 'nano', input: '1n', out: '1n' },
    { name: 'binary stays binary', input: '128Mi', out: '128Mi' },
    { name: 'binary promotes', input: '1024Mi', out: '1Gi' },
    { name: 'binary fraction moves down', input: '1.5Gi', out: '1536Mi' },
    { name: 'half gibi', input: '0.5Gi', out: '512Mi' },
    { name: 'binary not multiple of 1024', input: '1025Ki', out: '1025Ki' },
    { name: 'binary under 1024 prints decimal', input: '0.5Ki', out: '512' },
    { name: 'binary with fraction of a byte prints decimal', input: '0.1Ki', out: '102400m' },
    { name: 'binary 1.5Ki is 1536 bytes', input: '1.5Ki', out: '1536' },
    { name: 'exbi', input: '2Ei', out: '2Ei' },
    { name: 'beyond exbi stays exbi', input: '4096Pi', out: '4Ei' },
    { name: 'exponent stays exponent', input: '1e3', out: '1e3' },
    { name: 'exponent normalised to multiple of three', input: '12e2', out: '1200' },
    { name: 'negative exponent', input: '1e-3', out: '1e-3' },
    { name: 'large exponent', input: '15e6', out: '15e6' },
    { name: 'negative millis', input: '-100m', out: '-100m' },
    { name: 'negative binary', input: '-1Gi', out: '-1Gi' },
    { name: 'plus sign dropped', input: '+5', out: '5' },
    { name: 'beyond exa keeps the exa suffix', input: '1000E', out: '1000E' },
    { name: 'json number', input: 0.1, out: '100m' },
  ])('$name: $input -> $out', ({ input, out }) => {
    expect(formatQuantity(input)).toBe(out);
  });

  it.each([
    { name: 'cpu', input: '250m' },
    { name: 'memory', input: '1536Mi' },
    { name: 'exponent', input: '3e6' },
    { name: 'negative', input: '-7k' },
  ])('round-trips $name', ({ input }) => {
    expect(parseQuantity(formatQuantity(input))).toEqual(parseQuantity(input));
  });
});

describe('conversions', () => {
  it.each([
    { name: 'millicores', input: '250m', milli: 250n, value: 1n, number: 0.25 },
    { name: 'cores', input: '2', milli: 2000n, value: 2n, number: 2 },
    { name: 'fraction of a milli rounds up', input: '0.5m', milli: 1n, value: 1n, number: 0.0005 },
    { name: 'memory', input: '128Mi', milli: 134217728000n, value: 134217728n, number: 134217728 },
    { name: 'negative rounds towards +inf', input: '-1.5', milli: -1500n, value: -1n, number: -1.5 },
    { name: 'zero', input: '0', milli: 0n, value: 0n, number: 0 },
  ])('$name', ({ input, milli, value, number }) => {
    expect(quantityToMilli(input)).toBe(milli);
    expect(quantityToValue(input)).toBe(value);
    expect(quantityToNumber(input)).toBe(number);
  });

  it('accepts parsed quantities and numbers alike', () => {
    expect(quantityToMilli(parseQuantity('1.2'))).toBe(1200n);
    expect(quantityToMilli(3)).toBe(3000n);
  });

  it.each([
    { name: 'whole units', q: newQuantity(3), out: '3' },
    { name: 'bytes in binary', q: newQuantity(4096, 'BinarySI'), out: '4Ki' },
    { name: 'bigint', q: newQuantity(2n ** 40n, 'BinarySI'), out: '1Ti' },
    { name: 'millis', q: newMilliQuantity(1500), out: '1500m' },
    { name: 'whole millis', q: newMilliQuantity(2000n), out: '2' },
  ])('constructs $name', ({ q, out }) => {
    expect(formatQuantity(q)).toBe(out);
  });

  it('refuses non-integers when constructing', () => {
    expect(() => newQuantity(1.5)).toThrow(/not a safe integer/);
    expect(() => newMilliQuantity(0.5)).toThrow(/not a safe integer/);
  });
});

describe('arithmetic', () => {
  it.each([
    { name: 'equal across formats', a: '1Ki', b: '1024', cmp: 0 },
    { name: 'millis vs cores', a: '500m', b: '1', cmp: -1 },
    { name: 'binary vs decimal', a: '1Gi', b: '1G', cmp: 1 },
    { name: 'exponent vs suffix', a: '1e3', b: '1k', cmp: 0 },
    { name: 'negative', a: '-1', b: '0', cmp: -1 },
  ])('compares $name', ({ a, b, cmp }) => {
    expect(compareQuantities(a, b)).toBe(cmp);
    expect(compareQuantities(b, a)).toBe(-cmp || 0);
  });

  it.each([
    { name: 'millis', a: '250m', b: '750m', sum: '1', diff: '-500m' },
    { name: 'binary keeps first format', a: '1Gi', b: '512Mi', sum: '1536Mi', diff: '512Mi' },
    { name: 'decimal keeps first format', a: '1G', b: '1Gi', sum: '2073741824', diff: '-73741824' },
    { name: 'zero takes the other format', a: '0', b: '1Gi', sum: '1Gi', diff: '-1Gi' },
    { name: 'exact where floats are not', a: '0.1', b: '0.2', sum: '300m', diff: '-100m' },
  ])('adds and subtracts $name', ({ a, b, sum, diff }) => {
    expect(formatQuantity(addQuantities(a, b))).toBe(sum);
    expect(formatQuantity(subtractQuantities(a, b))).toBe(diff);
  });

  it('sums a list exactly starting from zero', () => {
    const total = ['100m', '200m', '0.7'].reduce(addQuantities, parseQuantity('0'));
    expect(formatQuantity(total)).toBe('1');
    expect(quantityToMilli(total)).toBe(1000n);
  });
});
