/**
 * The compiled node of a CRD schema (structural-compile.ts builds the tree)
 * and validating a value against it: each node holds its checks as ready
 * values (types, bounds, a RegExp, a format function, maps of properties), so
 * validating an object only walks the nodes the object reaches. The checks
 * and their order are kube-openapi's SchemaValidator (type,
 * allOf/anyOf/oneOf/not, string, format, number, array, enum, object), with
 * its error texts, turned into FieldErrors as apiextensions-apiserver's
 * kubeOpenAPIResultToFieldErrors does.
 *
 * Paths: kube-openapi names a value `spec.ports[0].name` and an
 * additionalProperties entry `spec.labels.key`; the embedded-resource and
 * list-type checks use field.Path (`spec.labels[key]`). Both are carried.
 */
import { hasOwn } from '../../api/plain.js';
import type { FieldError } from '../../api/status.js';
import { checkEmbedded, checkListType, hasDuplicates } from './structural-lists.js';
import {
  deepCopy,
  deepEqual,
  goNumber,
  isWhole,
  type JSONKind,
  kindOf,
  runeCount,
} from './structural-values.js';

/** Errors of one validate() call in Kubernetes' order: schema, embedded resources, list types. */
export interface Found {
  /** Prefix of every kube-openapi error's field ('' for a custom resource, as Kubernetes passes nil). */
  base: string;
  schema: FieldError[];
  embedded: FieldError[];
  lists: FieldError[];
}

export interface Bound {
  value: number;
  exclusive: boolean;
  /** IsValueValidAgainstRange's complaint about the bound itself, or ''. */
  badBound: string;
}

/** A compiled `pattern`: whether a string has a match anywhere, as Go's MatchString. */
export interface Pattern {
  test(s: string): boolean;
}

function intRange(format: string): [number, number] {
  return format === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [-(2 ** 63), 2 ** 63 - 1];
}

/** IsValueValidAgainstRange for a number checked against `integer`/`number` with a format. */
export function rangeProblem(v: number, type: string, format: string, prefix: string, path: string): string {
  let ok = true;
  if (type === 'integer') {
    const [lo, hi] = intRange(format);
    ok = Number.isInteger(v) && v >= lo && v < hi + 1;
  } else if (format === 'float' || format === 'float32') {
    ok = Math.abs(v) <= 3.4028234663852886e38;
  }
  if (ok) return '';
  return format
    ? `${prefix} value must be of type ${type} with format ${format} in ${path}`
    : `${prefix} value must be of type ${type} (default format) in ${path}`;
}

/** A Go `%v`/`%q`-style text of the bad value: nil prints as "null". */
const shown = (v: unknown): unknown => (v === null || v === undefined ? 'null' : v);

export class SchemaNode {
  types: string[] = [];
  typeText = '';
  nullable = false;
  /** The format after Kubernetes' strip of unsupported formats. */
  format = '';
  formatFn: ((s: string) => boolean) | undefined;
  maxLength: number | undefined;
  minLength: number | undefined;
  pattern: Pattern | undefined;
  patternText = '';
  patternError = '';
  numberType = '';
  numberFormat = '';
  maximum: Bound | undefined;
  minimum: Bound | undefined;
  multipleOf: Bound | undefined;
  maxItems: number | undefined;
  minItems: number | undefined;
  uniqueItems = false;
  enum: unknown[] | undefined;
  enumTexts: string[] = [];
  maxProperties: number | undefined;
  minProperties: number | undefined;
  required: string[] = [];
  properties: Map<string, SchemaNode> | undefined;
  /** undefined: no additionalProperties; true/false: the bool; a node: the schema. */
  additional: SchemaNode | boolean | undefined;
  items: SchemaNode | undefined;
  allOf: SchemaNode[] | undefined;
  anyOf: SchemaNode[] | undefined;
  oneOf: SchemaNode[] | undefined;
  not: SchemaNode | undefined;
  preserveUnknown = false;
  embedded = false;
  intOrString = false;
  hasDefault = false;
  defaultValue: unknown;
  listType = '';
  listMapKeys: string[] = [];
  /** Whether the object checks have to look at the object's own keys. */
  needsKeys = false;
  /** False for the value-validation schemas under allOf/anyOf/oneOf/not. */
  structural = true;

  /** A copy of the default, never shared with a stored object. */
  defaultCopy(): unknown {
    return deepCopy(this.defaultValue);
  }

  validate(v: unknown, name: string, fpath: string, f: Found): void {
    if (v === null || v === undefined) {
      if (this.types.length > 0 && !this.nullable) this.typeError(f, name, this.typeText, 'null');
      if (this.enum) this.enumError(f, name, v);
      return;
    }
    const kind = kindOf(v);
    if (this.types.length > 0 || this.format) this.checkType(kind, name, f);
    if (this.allOf || this.anyOf || this.oneOf || this.not) this.checkCombinators(v, name, fpath, f);
    if (kind === 'string') this.checkString(v as string, name, f);
    else if (kind === 'integer' || kind === 'number') this.checkNumber(v as number, name, f);
    else if (kind === 'array') this.checkArray(v as unknown[], name, fpath, f);
    if (this.enum && !this.inEnum(v)) this.enumError(f, name, v);
    if (kind === 'object') this.checkObject(v as Record<string, unknown>, name, fpath, f);
    if (!this.structural) return;
    if (this.embedded && kind === 'object') checkEmbedded(v as Record<string, unknown>, fpath, f);
    if (this.listType && kind === 'array') checkListType(this, v as unknown[], fpath, f);
  }

  private field(f: Found, name: string): string {
    const n = name.startsWith('.') ? name.slice(1) : name;
    if (!n) return f.base || '<nil>';
    return f.base ? `${f.base}.${n}` : n;
  }

  /** An error kube-openapi returns as a plain error, not a Validation: Kubernetes gives it the nil path. */
  private plainError(f: Found, detail: string): void {
    f.schema.push({ type: 'FieldValueInvalid', field: f.base || '<nil>', value: '', detail });
  }

  private invalid(f: Found, name: string, value: unknown, detail: string): void {
    f.schema.push({ type: 'FieldValueInvalid', field: this.field(f, name), value: shown(value), detail });
  }

  private typeError(f: Found, name: string, typeName: string, value: string): void {
    f.schema.push({
      type: 'FieldValueTypeInvalid',
      field: this.field(f, name),
      value,
      detail: `${name} in body must be of type ${typeName}: ${JSON.stringify(value)}`,
    });
  }

  private enumError(f: Found, name: string, v: unknown): void {
    const supported = this.enumTexts.map((s) => JSON.stringify(s)).join(', ');
    f.schema.push({
      type: 'FieldValueNotSupported',
      field: this.field(f, name),
      value: shown(v),
      detail: supported ? `supported values: ${supported}` : '',
    });
  }

  private checkType(kind: JSONKind, name: string, f: Found): void {
    const T = this.types;
    const valueFormat = kind === 'integer' ? 'int64' : kind === 'number' ? 'double' : '';
    const isIntFloat = kind === 'integer' && T.includes('number');
    if (kind !== 'string' && kind !== 'array' && this.format) {
      const fits = T.includes(kind) || valueFormat === this.format || isIntFloat;
      if (!fits) {
        this.typeError(f, name, this.format, valueFormat);
        return;
      }
    }
    if (
      !(T.includes('number') || T.includes('integer')) &&
      this.format &&
      (kind === 'string' || kind === 'array')
    )
      return;
    if (!(T.includes(kind) || isIntFloat)) this.typeError(f, name, this.typeText, kind);
  }

  private checkCombinators(v: unknown, name: string, fpath: string, f: Found): void {
    const trial = (n: SchemaNode): FieldError[] => {
      const sub: Found = { base: f.base, schema: [], embedded: [], lists: [] };
      n.validate(v, name, fpath, sub);
      return sub.schema;
    };
    if (this.anyOf) {
      let best: FieldError[] | undefined;
      let ok = false;
      for (const n of this.anyOf) {
        const errs = trial(n);
        if (errs.length === 0) {
          ok = true;
          break;
        }
        best ??= errs;
      }
      if (!ok) {
        this.plainError(f, `${JSON.stringify(name)} must validate at least one schema (anyOf)`);
        if (best) f.schema.push(...best);
      }
    }
    if (this.oneOf) {
      let valid = 0;
      let best: FieldError[] | undefined;
      for (const n of this.oneOf) {
        const errs = trial(n);
        if (errs.length === 0) valid++;
        else if (valid === 0) best ??= errs;
      }
      if (valid !== 1) {
        const more = valid === 0 ? 'Found none valid' : `Found ${valid} valid alternatives`;
        this.plainError(f, `${JSON.stringify(name)} must validate one and only one schema (oneOf). ${more}`);
        if (valid === 0 && best) f.schema.push(...best);
      }
    }
    if (this.allOf) {
      let valid = 0;
      for (const n of this.allOf) {
        const errs = trial(n);
        if (errs.length === 0) valid++;
        else f.schema.push(...errs);
      }
      if (valid !== this.allOf.length)
        this.plainError(
          f,
          `${JSON.stringify(name)} must validate all the schemas (allOf)${valid === 0 ? '. None validated' : ''}`,
        );
    }
    if (this.not && trial(this.not).length === 0)
      this.plainError(f, `${JSON.stringify(name)} must not validate the schema (not)`);
  }

  private checkString(s: string, name: string, f: Found): void {
    // As stringValidator: the first failing check is the only one reported.
    if (this.maxLength !== undefined && s.length > this.maxLength && runeCount(s) > this.maxLength) {
      const max = this.maxLength;
      f.schema.push({
        type: 'FieldValueTooLong',
        field: this.field(f, name),
        detail: `may not be more than ${max} ${max === 1 ? 'byte' : 'bytes'}`,
      });
    } else if (this.minLength !== undefined && runeCount(s) < this.minLength) {
      this.invalid(f, name, s, `${name} in body should be at least ${this.minLength} chars long`);
    } else if (this.patternError) {
      this.invalid(
        f,
        name,
        s,
        `${name} in body should match '${this.patternText}, but pattern is invalid: ${this.patternError}'`,
      );
    } else if (this.pattern && !this.pattern.test(s)) {
      this.invalid(f, name, s, `${name} in body should match '${this.patternText}'`);
    }
    if (this.formatFn && !this.formatFn(s)) {
      f.schema.push({
        type: 'FieldValueTypeInvalid',
        field: this.field(f, name),
        value: s,
        detail: `${name} in body must be of type ${this.format}: ${JSON.stringify(s)}`,
      });
    }
  }

  private checkNumber(n: number, name: string, f: Found): void {
    if (this.numberType) {
      const p = rangeProblem(n, this.numberType, this.numberFormat, 'Checked', name);
      if (p) this.plainError(f, p);
    }
    const isInt = Number.isInteger(n);
    const m = this.multipleOf;
    if (m) {
      if (m.badBound) this.plainError(f, m.badBound.replace('%PATH%', name));
      const factor = !m.badBound && isInt ? Math.trunc(m.value) : m.value;
      if (factor <= 0) {
        this.invalid(
          f,
          name,
          factor,
          `factor MultipleOf declared for ${name} must be positive: ${goNumber(factor)}`,
        );
      } else if (!m.badBound && isInt ? n % factor !== 0 : !isWholeMultiple(n, factor)) {
        this.invalid(f, name, n, `${name} in body should be a multiple of ${goNumber(factor)}`);
      }
    }
    const lo = this.minimum;
    if (lo) {
      if (lo.badBound) this.plainError(f, lo.badBound.replace('%PATH%', name));
      const b = !lo.badBound && isInt ? Math.trunc(lo.value) : lo.value;
      if (lo.exclusive ? n <= b : n < b) {
        const words = lo.exclusive ? 'greater than' : 'greater than or equal to';
        this.invalid(f, name, n, `${name} in body should be ${words} ${goNumber(b)}`);
      }
    }
    const hi = this.maximum;
    if (hi) {
      if (hi.badBound) this.plainError(f, hi.badBound.replace('%PATH%', name));
      const b = !hi.badBound && isInt ? Math.trunc(hi.value) : hi.value;
      if (hi.exclusive ? n >= b : n > b) {
        const words = hi.exclusive ? 'less than' : 'less than or equal to';
        this.invalid(f, name, n, `${name} in body should be ${words} ${goNumber(b)}`);
      }
    }
  }

  private checkArray(a: unknown[], name: string, fpath: string, f: Found): void {
    const items = this.items;
    if (items) {
      for (let i = 0; i < a.length; i++) items.validate(a[i], `${name}[${i}]`, `${fpath}[${i}]`, f);
    }
    if (this.minItems !== undefined && a.length < this.minItems)
      this.invalid(f, name, a.length, `${name} in body should have at least ${this.minItems} items`);
    if (this.maxItems !== undefined && a.length > this.maxItems) {
      const max = this.maxItems;
      f.schema.push({
        type: 'FieldValueTooMany',
        field: this.field(f, name),
        value: a.length,
        detail: `must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
      });
    }
    if (this.uniqueItems && hasDuplicates(a))
      this.invalid(f, name, '', `${name} in body shouldn't contain duplicates`);
  }

  private inEnum(v: unknown): boolean {
    for (const e of this.enum ?? []) {
      if (deepEqual(v, e)) return true;
      // Go converts an int64 to a string as a rune (reflect Convert), so 97 matches "a".
      if (typeof e === 'string' && Number.isInteger(v) && runeOf(v as number) === e) return true;
    }
    return false;
  }

  private checkObject(o: Record<string, unknown>, name: string, fpath: string, f: Found): void {
    if (this.needsKeys) {
      const keys = Object.keys(o);
      const size = keys.length;
      if (this.minProperties !== undefined && size < this.minProperties)
        this.invalid(f, name, size, `${name} in body should have at least ${this.minProperties} properties`);
      if (this.maxProperties !== undefined && size > this.maxProperties) {
        const max = this.maxProperties;
        f.schema.push({
          type: 'FieldValueTooMany',
          field: this.field(f, name),
          value: size,
          detail: `must have at most ${max} ${max === 1 ? 'item' : 'items'}`,
        });
      }
      const add = this.additional;
      if (add === false) {
        for (const k of keys)
          if (!this.properties?.has(k))
            this.invalid(f, name, k, `${name}.${k} in body is a forbidden property`);
      } else if (add instanceof SchemaNode) {
        for (const k of keys)
          if (!this.properties?.has(k)) add.validate(o[k], `${name}.${k}`, `${fpath}[${k}]`, f);
      }
    }
    if (this.properties) {
      for (const [k, node] of this.properties) {
        if (hasOwn(o, k)) node.validate(o[k], name ? `${name}.${k}` : k, fpath ? `${fpath}.${k}` : k, f);
      }
    }
    for (const k of this.required) {
      if (!hasOwn(o, k))
        f.schema.push({ type: 'FieldValueRequired', field: this.field(f, `${name}.${k}`), detail: '' });
    }
  }
}

function runeOf(n: number): string {
  return n >= 0 && n <= 0x10ffff && !(n >= 0xd800 && n <= 0xdfff) ? String.fromCodePoint(n) : '\ufffd';
}

function isWholeMultiple(n: number, factor: number): boolean {
  const mult = factor < 1 ? (1 / factor) * n : n / factor;
  return isWhole(mult);
}
