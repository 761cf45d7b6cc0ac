/**
 * Label and field selectors, as `?labelSelector=` and `?fieldSelector=` and the
 * `selector` of a Deployment, Service or ReplicaSet spell them.
 *
 * A parsed selector is immutable: `matches` may be called from any cache or
 * controller. Requirements are kept sorted by key (label selectors) or by term
 * (field selectors), as Kubernetes does, so `toString()` is canonical and two
 * equal selectors print the same. Parse errors are BadRequest StatusErrors with
 * Kubernetes' messages.
 */

import { own } from './plain.js';
import type { FieldError } from './status.js';
import { newBadRequest, StatusError } from './status.js';
import {
  formatFieldError,
  invalidError,
  isQualifiedName,
  isValidLabelValue,
  notSupportedError,
} from './validation.js';

// ---- label selectors -------------------------------------------------------------

/** The operators of `selection.Operator`, spelled as Kubernetes spells them. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  /** One value for = == != gt lt; one or more for in/notin; none for exists and !. */
  readonly values: readonly string[];
}

export type Labels = Readonly<Record<string, string>> | null | undefined;

export interface ParsedLabelSelector {
  /** Sorted by key; all must hold. */
  readonly requirements: readonly LabelRequirement[];
  matches(labels: Labels): boolean;
  /** True when the selector does not restrict anything (it matches every object). */
  empty(): boolean;
  /** True for the selector that matches no object (a missing metav1 selector). */
  matchesNothing(): boolean;
  /** The query-string form; parses back to an equal selector. */
  toString(): string;
  /** The value `key` must have for a match, when the selector pins it to one value. */
  requiresExactMatch(key: string): string | undefined;
}

const binaryOperators: LabelOperator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const allOperators: LabelOperator[] = [...binaryOperators, 'exists', '!'];

function requirementMatches(r: LabelRequirement, labels: Labels): boolean {
  const value = labels && Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return value !== undefined && r.values.includes(value);
    case 'notin':
    case '!=':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!':
      return value === undefined;
    case 'gt':
    case 'lt': {
      const have = value === undefined ? undefined : parseInteger(value);
      const want = r.values.length === 1 ? parseInteger(r.values[0]) : undefined;
      if (have === undefined || want === undefined) return false;
      return r.operator === 'gt' ? have > want : have < want;
    }
  }
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range. */
function parseInteger(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

function requirementString(r: LabelRequirement): string {
  const prefix = r.operator === '!' ? '!' : '';
  if (r.operator === 'exists' || r.operator === '!') return `${prefix}${r.key}`;
  const op = { '=': '=', '==': '==', '!=': '!=', in: ' in ', notin: ' notin ', gt: '>', lt: '<' }[r.operator];
  // Values print sorted without changing the requirement itself.
  const values = r.values.length > 1 ? [...r.values].sort().join(',') : (r.values[0] ?? '');
  return r.operator === 'in' || r.operator === 'notin'
    ? `${r.key}${op}(${values})`
    : `${r.key}${op}${values}`;
}

class LabelSelectorImpl implements ParsedLabelSelector {
  constructor(
    readonly requirements: readonly LabelRequirement[],
    private readonly nothing = false,
  ) {}

  matches(labels: Labels): boolean {
    if (this.nothing) return false;
    return this.requirements.every((r) => requirementMatches(r, labels));
  }

  empty(): boolean {
    return !this.nothing && this.requirements.length === 0;
  }

  matchesNothing(): boolean {
    return this.nothing;
  }

  toString(): string {
    return this.requirements.map(requirementString).join(',');
  }

  requiresExactMatch(key: string): string | undefined {
    const r = this.requirements.find((x) => x.key === key);
    if (!r || !['=', '==', 'in'].includes(r.operator) || r.values.length !== 1) return undefined;
    return r.values[0];
  }
}

const byKey = (a: LabelRequirement, b: LabelRequirement) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The selector that matches every object. */
export function everything(): ParsedLabelSelector {
  return new LabelSelectorImpl([]);
}

/** The selector that matches no object. */
export function nothing(): ParsedLabelSelector {
  return new LabelSelectorImpl([], true);
}

/** Joins field errors as Kubernetes' error aggregate does: one alone, several in brackets. */
function aggregate(errs: FieldError[]): string {
  const msgs = [...new Set(errs.map(formatFieldError))];
  return msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
}

/**
 * Checks a requirement as `labels.NewRequirement` does (the query-string
 * parser has checked the key already, with its own wording).
 */
function requirementErrors(key: string, operator: string, values: readonly string[]): FieldError[] {
  const errs: FieldError[] = [];
  const keyMsgs = isQualifiedName(key);
  if (keyMsgs.length) errs.push(invalidError('key', key, keyMsgs.join('; ')));
  switch (operator) {
    case 'in':
    case 'notin':
      if (values.length === 0)
        errs.push(invalidError('values', values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (values.length !== 1)
        errs.push(invalidError('values', values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (values.length !== 0)
        errs.push(invalidError('values', values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (values.length !== 1)
        errs.push(invalidError('values', values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      values.forEach((v, i) => {
        if (parseInteger(v) === undefined)
          errs.push(
            invalidError(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"),
          );
      });
      break;
    default:
      errs.push(notSupportedError('operator', operator, allOperators));
  }
  values.forEach((v, i) => {
    const msgs = isValidLabelValue(v);
    if (msgs.length) errs.push(invalidError(`values[${i}][${key}]`, v, msgs.join('; ')));
  });
  return errs;
}

function newRequirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const errs = requirementErrors(key, operator, values);
  if (errs.length) throw new Error(aggregate(errs));
  return { key, operator, values };
}

// -- the query-string lexer and parser (labels.Parse) --

type Tok = 'ident' | 'eos' | '(' | ')' | ',' | '!' | '=' | '==' | '!=' | '>' | '<' | 'in' | 'notin';
interface Token {
  tok: Tok;
  lit: string;
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSpecial = (c: string) => '=!()<>,'.includes(c);

function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && isSpace(text[i])) i++;
    if (i >= text.length) {
      out.push({ tok: 'eos', lit: '' });
      return out;
    }
    const two = text.slice(i, i + 2);
    if (two === '!=' || two === '==') {
      out.push({ tok: two, lit: two });
      i += 2;
    } else if (isSpecial(text[i])) {
      out.push({ tok: text[i] as Tok, lit: text[i] });
      i++;
    } else {
      let j = i;
      while (j < text.length && !isSpecial(text[j]) && !isSpace(text[j])) j++;
      const lit = text.slice(i, j);
      out.push({ tok: lit === 'in' || lit === 'notin' ? lit : 'ident', lit });
      i = j;
    }
  }
}

class Parser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  /** `in` and `notin` are keywords only where an operator may stand; elsewhere they are names. */
  private peek(operatorContext = false): Token {
    return this.asContext(this.tokens[this.pos], operatorContext);
  }

  private next(operatorContext = false): Token {
    return this.asContext(this.tokens[this.pos++], operatorContext);
  }

  private asContext(t: Token, operatorContext: boolean): Token {
    return !operatorContext && (t.tok === 'in' || t.tok === 'notin') ? { tok: 'ident', lit: t.lit } : t;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const t = this.peek();
      if (t.tok === 'eos') return reqs;
      if (t.tok !== 'ident' && t.tok !== '!')
        throw new Error(`found '${t.lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        throw new Error(`unable to parse requirement: ${(e as Error).message}`);
      }
      const after = this.next();
      if (after.tok === 'eos') return reqs;
      if (after.tok !== ',') throw new Error(`found '${after.lit}', expected: ',' or 'end of string'`);
      const following = this.peek();
      if (following.tok !== 'ident' && following.tok !== '!')
        throw new Error(`found '${following.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    const negated = t.tok === '!';
    if (negated) t = this.next();
    if (t.tok !== 'ident') throw new Error(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyMsgs = isQualifiedName(key);
    // Kubernetes reports this one without a field path, hence its "<nil>".
    if (keyMsgs.length)
      throw new Error(`<nil>: Invalid value: ${JSON.stringify(key)}: ${keyMsgs.join('; ')}`);
    const ahead = this.peek().tok;
    if (negated) return newRequirement(key, '!', []);
    if (ahead === 'eos' || ahead === ',') return newRequirement(key, 'exists', []);
    const operator = this.operator();
    const values = operator === 'in' || operator === 'notin' ? this.valueSet() : this.exactValue();
    return newRequirement(key, operator, [...new Set(values)].sort());
  }

  private operator(): LabelOperator {
    const t = this.next(true);
    const ops: Partial<Record<Tok, LabelOperator>> = {
      in: 'in',
      notin: 'notin',
      '=': '=',
      '==': '==',
      '!=': '!=',
      '>': 'gt',
      '<': 'lt',
    };
    const op = ops[t.tok];
    if (!op) throw new Error(`found '${t.lit}', expected: ${binaryOperators.join(', ')}`);
    return op;
  }

  /** `(a,b)`, where empty entries are the empty value: `()`, `(,a)`, `(a,)`. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new Error(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'ident' && first.tok !== ',')
      throw new Error(`found '${first.lit}', expected: ',', ')' or identifier`);
    const values = this.identifierList();
    if (this.next().tok !== ')') throw new Error(`found '${first.lit}', expected: ')'`);
    return values;
  }

  private identifierList(): string[] {
    const values: string[] = [];
    for (;;) {
      const t = this.next();
      if (t.tok === 'ident') {
        values.push(t.lit);
        const ahead = this.peek();
        if (ahead.tok === ')') return values;
        if (ahead.tok !== ',') throw new Error(`found '${ahead.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (values.length === 0) values.push('');
        const ahead = this.peek().tok;
        if (ahead === ')') {
          values.push('');
          return values;
        }
        if (ahead === ',') values.push('');
      } else {
        throw new Error(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
  }

  private exactValue(): string[] {
    const ahead = this.peek().tok;
    if (ahead === 'eos' || ahead === ',') return [''];
    const t = this.next();
    if (t.tok !== 'ident') throw new Error(`found '${t.lit}', expected: identifier`);
    return [t.lit];
  }
}

/**
 * Parses the query-string form: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x)`, `a`, `!a`, `a>1`, `a<1`, joined by commas (AND). Whitespace
 * around tokens is ignored. The empty string selects everything.
 */
export function parseLabelSelector(text: string): ParsedLabelSelector {
  try {
    const reqs = new Parser(lex(text)).parse();
    return new LabelSelectorImpl(reqs.sort(byKey));
  } catch (e) {
    throw newBadRequest((e as Error).message);
  }
}

/** A metav1.LabelSelector as it appears in a spec. */
export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key?: string; operator?: string; values?: string[] }[];
}

const objectOperators: Record<string, LabelOperator> = {
  In: 'in',
  NotIn: 'notin',
  Exists: 'exists',
  DoesNotExist: '!',
};

/**
 * Compiles a metav1.LabelSelector: a missing selector (undefined or null)
 * matches nothing, an empty one `{}` matches everything, as
 * `LabelSelectorAsSelector` does.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): ParsedLabelSelector {
  if (!sel) return nothing();
  const reqs: LabelRequirement[] = [];
  try {
    for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push(newRequirement(k, '=', [v]));
    for (const expr of sel.matchExpressions ?? []) {
      // Own keys only: `constructor` or `toString` is not an operator.
      const op = own<LabelOperator>(objectOperators, expr.operator ?? '');
      if (!op)
        throw new Error(`${JSON.stringify(expr.operator ?? '')} is not a valid label selector operator`);
      reqs.push(newRequirement(expr.key ?? '', op, [...(expr.values ?? [])]));
    }
  } catch (e) {
    throw newBadRequest((e as Error).message);
  }
  return new LabelSelectorImpl(reqs.sort(byKey));
}

/** A selector that matches exactly these labels (a Service's `spec.selector`); none or `{}` match everything. */
export function labelSelectorFromSet(set: Labels): ParsedLabelSelector {
  const reqs = Object.entries(set ?? {}).map(
    ([key, v]): LabelRequirement => ({ key, operator: '=', values: [v] }),
  );
  return new LabelSelectorImpl(reqs.sort(byKey));
}

/** metav1.FormatLabelSelector: the query form, `<none>` when empty or missing, `<error>` when invalid. */
export function selectorToString(sel: LabelSelectorObject | null | undefined): string {
  try {
    return labelSelectorFromObject(sel).toString() || '<none>';
  } catch {
    return '<error>';
  }
}

// ---- field selectors -------------------------------------------------------------

export interface FieldRequirement {
  readonly field: string;
  /** `==` is read as `=`. */
  readonly operator: '=' | '!=';
  /** Unescaped. */
  readonly value: string;
}

export interface ParsedFieldSelector {
  /** In the order of their terms' text, sorted. */
  readonly requirements: readonly FieldRequirement[];
  /** A field missing from `fields` reads as the empty string, as in Kubernetes. */
  matches(fields: Readonly<Record<string, string>>): boolean;
  empty(): boolean;
  toString(): string;
  requiresExactMatch(field: string): string | undefined;
}

/** Escapes `\`, `,` and `=` in a field selector value. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

function unescapeFieldValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') {
      const n = s[++i];
      if (n === undefined) throw new Error('invalid field selector: invalid escape sequence: \\');
      if (n !== '\\' && n !== ',' && n !== '=')
        throw new Error(`invalid field selector: invalid escape sequence: \\${n}`);
      out += n;
    } else if (c === ',' || c === '=') {
      // Kubernetes prints the rune's code here ("61" for '='); we keep its words.
      throw new Error(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else {
      out += c;
    }
  }
  return out;
}

/** Splits on commas that are not escaped. */
function splitTerms(text: string): string[] {
  if (text === '') return [];
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ',') {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  return terms;
}

/** The first operator in the term, trying `!=` and `==` before `=` at each position. */
function splitTerm(term: string): [string, '=' | '==' | '!=', string] | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '='] as const) {
      if (term.startsWith(op, i)) return [term.slice(0, i), op, term.slice(i + op.length)];
    }
  }
  return undefined;
}

class FieldSelectorImpl implements ParsedFieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every((r) => {
      const have = Object.hasOwn(fields, r.field) ? fields[r.field] : '';
      return r.operator === '=' ? have === r.value : have !== r.value;
    });
  }

  empty(): boolean {
    return this.requirements.length === 0;
  }

  toString(): string {
    return this.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
  }

  requiresExactMatch(field: string): string | undefined {
    return this.requirements.find((r) => r.field === field && r.operator === '=')?.value;
  }
}

/**
 * Parses `?fieldSelector=`: terms `field=value`, `field==value` or
 * `field!=value` joined by commas (AND); `\`, `,` and `=` in a value are
 * escaped with a backslash. Field names are not checked here; see
 * checkFieldSelectorFields.
 */
export function parseFieldSelector(text: string): ParsedFieldSelector {
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(text).sort()) {
    if (term === '') continue;
    const parts = splitTerm(term);
    if (!parts) throw newBadRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const [field, op, raw] = parts;
    let value: string;
    try {
      value = unescapeFieldValue(raw);
    } catch (e) {
      throw newBadRequest((e as Error).message);
    }
    reqs.push({ field, operator: op === '!=' ? '!=' : '=', value });
  }
  return new FieldSelectorImpl(reqs);
}

/** A field selector that requires exactly these values. */
export function fieldSelectorFromSet(set: Readonly<Record<string, string>>): ParsedFieldSelector {
  const reqs = Object.entries(set).map(
    ([field, value]): FieldRequirement => ({ field, operator: '=', value }),
  );
  return new FieldSelectorImpl(reqs);
}

/**
 * The one value `field` must have for the selector to match, if any: lets a
 * store answer `spec.nodeName=n1` from an index instead of a scan.
 */
export function requirementsFor(selector: ParsedFieldSelector, field: string): string | undefined {
  return selector.requiresExactMatch(field);
}

/**
 * Rejects a selector naming a field the kind does not support. `kind` (e.g.
 * `pods`) goes in the Status details; the message is Kubernetes' own.
 */
export function checkFieldSelectorFields(
  selector: ParsedFieldSelector,
  allowed: ReadonlySet<string>,
  kind: string,
): void {
  for (const r of selector.requirements) {
    if (allowed.has(r.field)) continue;
    const message = `field label not supported: ${r.field}`;
    throw new StatusError(400, 'BadRequest', message, {
      kind,
      causes: [{ reason: 'FieldValueNotSupported', message, field: 'fieldSelector' }],
    });
  }
}
