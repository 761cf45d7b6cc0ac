/**
 * kubectl's JSONPath templates, for `get -o jsonpath=...`: text with
 * `{...}` actions, as client-go's util/jsonpath reads them. An action is a
 * path from the current object: `.field`, `['key.with.dots']`, `[n]`,
 * `[start:end:step]`, `[*]`, `.*`, `[a,b]` (union), `..field` (recursive
 * descent) and filters `[?(@.type=="Ready")]` (`==`, `!=`, `<`, `<=`, `>`,
 * `>=`, or bare `[?(@.field)]` for "has it"); `"text"` is a literal;
 * `{range PATH}...{end}` repeats its body for every value of PATH.
 *
 * Output as kubectl prints it: the values of one action joined by spaces,
 * strings bare, maps and lists as compact JSON with sorted keys. Missing
 * keys print nothing unless `allowMissingKeys` is false (then "x is not
 * found"); an index out of range is always an error, as in kubectl.
 * Numbers compare as numbers whether or not they are whole (Go refuses
 * int against float).
 */

type Literal = string | number | boolean;

type Step =
  | { op: 'field'; name: string }
  | { op: 'wildcard' }
  | { op: 'slice'; start?: number; end?: number; endFromStart: boolean; step?: number }
  | { op: 'union'; branches: Step[][] }
  | { op: 'filter'; left: Step[]; operator: string; right: Step[] }
  | { op: 'recursive' }
  | { op: 'literal'; value: Literal }
  | { op: 'identifier'; name: string };

type TemplateNode = { text: string } | { path: Step[] } | { range: Step[]; body: TemplateNode[] };

const sliceRe = /^(-?\d*)(:-?\d*)?(:-?\d*)?$/;
const filterRe = /^([^!<>=]+)([!<>=]+)(.+?)$/;
const operators = new Set(['==', '!=', '<', '<=', '>', '>=']);

const isTerminator = (c: string | undefined) => c === undefined || ' \t\r\n.,[]$@{}'.includes(c);
const isAlphaNumeric = (c: string) => /^[\p{L}\p{N}_]$/u.test(c);

/** Reads the steps of one action, `{` already consumed, up to and including its `}`. */
class ActionParser {
  pos = 0;
  constructor(readonly input: string) {}

  parse(untilEnd = false): Step[] {
    const steps: Step[] = [];
    for (;;) {
      const rest = this.input.slice(this.pos);
      if (untilEnd && rest === '') return steps;
      if (rest.startsWith('}') && !untilEnd) {
        this.pos++;
        return steps;
      }
      if (rest.startsWith('[?(')) {
        steps.push(this.filter());
        continue;
      }
      if (rest.startsWith('..')) {
        if (steps.at(-1)?.op === 'recursive') throw new Error('invalid multiple recursive descent');
        this.pos += 2;
        steps.push({ op: 'recursive' });
        if (rest[2] !== undefined && isAlphaNumeric(rest[2])) steps.push(this.field());
        continue;
      }
      const c = rest[0];
      if (c === undefined || c === '\r' || c === '\n') throw new Error('unclosed action');
      if (c === ' ' || c === '@' || c === '$') this.pos++;
      else if (c === '[') steps.push(...this.brackets());
      else if (c === '"' || c === "'") steps.push({ op: 'literal', value: this.quoted(c) });
      else if (c === '.') {
        this.pos++;
        steps.push(this.field());
      } else if (c === '+' || c === '-' || /\d/.test(c)) steps.push(this.number());
      else if (isAlphaNumeric(c)) steps.push(this.identifier());
      else
        throw new Error(
          `unrecognized character in action: U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} '${c}'`,
        );
    }
  }

  private field(): Step {
    let name = '';
    for (;;) {
      const c = this.input[this.pos];
      if (c === '\\') {
        name += this.input[this.pos + 1] ?? '';
        this.pos += 2;
      } else if (isTerminator(c)) break;
      else {
        name += c;
        this.pos++;
      }
    }
    return name === '*' ? { op: 'wildcard' } : { op: 'field', name };
  }

  private identifier(): Step {
    const start = this.pos;
    while (!isTerminator(this.input[this.pos])) this.pos++;
    const name = this.input.slice(start, this.pos);
    if (name === 'true' || name === 'false') return { op: 'literal', value: name === 'true' };
    return { op: 'identifier', name };
  }

  private number(): Step {
    const m = /^[+-]?[\d.]*/.exec(this.input.slice(this.pos))![0];
    this.pos += m.length;
    const n = Number(m);
    if (m === '' || !Number.isFinite(n)) throw new Error(`cannot parse number ${m}`);
    return { op: 'literal', value: n };
  }

  private quoted(quote: string): string {
    let value = '';
    for (let i = this.pos + 1; ; i++) {
      const c = this.input[i];
      if (c === undefined || c === '\n') throw new Error('unterminated quoted string');
      if (c === quote) {
        this.pos = i + 1;
        return value;
      }
      if (c === '\\') {
        const e = this.input[++i];
        if (e === 'u') {
          value += String.fromCharCode(Number.parseInt(this.input.slice(i + 1, i + 5), 16));
          i += 4;
        } else value += { n: '\n', t: '\t', r: '\r', '0': '\0' }[e] ?? e ?? '';
      } else value += c;
    }
  }

  private brackets(): Step[] {
    const close = this.input.indexOf(']', this.pos);
    const newline = this.input.indexOf('\n', this.pos);
    if (close < 0 || (newline >= 0 && newline < close)) throw new Error('unterminated array');
    let text = this.input.slice(this.pos + 1, close);
    this.pos = close + 1;
    if (text === '*') text = ':';
    const parts = text.split(',');
    if (parts.length > 1)
      return [{ op: 'union', branches: parts.map((p) => new ActionParser(`[${p.trim()}]`).parse(true)) }];
    const key = /^'([^']*)'$/.exec(text);
    if (key) return new ActionParser(`.${key[1]}`).parse(true);
    const m = sliceRe.exec(text);
    if (!m) throw new Error(`invalid array index ${text}`);
    const num = (s: string | undefined) => (s === undefined || s === '' ? undefined : Number(s));
    const start = num(m[1]);
    if (m[2] === undefined) {
      // [n] is [n:n+1]; an end of 0 that comes from a start of -1 means the end of the list.
      return [{ op: 'slice', start, end: (start ?? 0) + 1, endFromStart: true }];
    }
    return [{ op: 'slice', start, end: num(m[2].slice(1)), endFromStart: false, step: num(m[3]?.slice(1)) }];
  }

  private filter(): Step {
    this.pos += 3;
    const start = this.pos;
    // A `)` inside the one quoted string a filter may have does not end it.
    let quote: string | undefined;
    let closed = false;
    for (;;) {
      const c = this.input[this.pos++];
      if (c === undefined || c === '\n') throw new Error('unterminated filter');
      if (c === '"' || c === "'") {
        if (quote === undefined) quote = c;
        else if (c === quote && this.input[this.pos - 2] !== '\\') closed = true;
      } else if (c === ')' && (quote !== undefined) === closed) break;
    }
    if (this.input[this.pos++] !== ']') throw new Error('unclosed array expect ]');
    const text = this.input.slice(start, this.pos - 2);
    const m = filterRe.exec(text);
    if (!m) return { op: 'filter', left: new ActionParser(text).parse(true), operator: 'exists', right: [] };
    if (!operators.has(m[2])) throw new Error(`unrecognized filter operator ${m[2]}`);
    return {
      op: 'filter',
      left: new ActionParser(m[1]).parse(true),
      operator: m[2],
      right: new ActionParser(m[3]).parse(true),
    };
  }
}

function parseTemplate(template: string): TemplateNode[] {
  const root: TemplateNode[] = [];
  const open: TemplateNode[][] = [root];
  let pos = 0;
  while (pos < template.length) {
    const brace = template.indexOf('{', pos);
    const current = open.at(-1)!;
    if (brace < 0) {
      current.push({ text: template.slice(pos) });
      break;
    }
    if (brace > pos) current.push({ text: template.slice(pos, brace) });
    const action = new ActionParser(template.slice(brace + 1));
    const steps = action.parse();
    pos = brace + 1 + action.pos;
    const first = steps[0];
    if (first?.op === 'identifier' && first.name === 'range') {
      const body: TemplateNode[] = [];
      current.push({ range: steps.slice(1), body });
      open.push(body);
    } else if (first?.op === 'identifier' && first.name === 'end' && steps.length === 1) {
      if (open.length === 1) throw new Error('not in range, nothing to end');
      open.pop();
    } else {
      const ident = steps.find((s) => s.op === 'identifier');
      if (ident) throw new Error(`unrecognized identifier ${(ident as { name: string }).name}`);
      current.push({ path: steps });
    }
  }
  return root;
}

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The type name Go would print for a decoded JSON value, for kubectl's error wording. */
function goType(v: unknown): string {
  if (Array.isArray(v)) return '[]interface {}';
  if (isMap(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'string' || typeof v === 'boolean') return typeof v === 'string' ? 'string' : 'bool';
  return '<invalid reflect.Value>';
}

function compare(left: unknown, right: unknown, operator: string): boolean {
  const kind = (v: unknown) => (['string', 'number', 'boolean'].includes(typeof v) ? typeof v : undefined);
  if (kind(left) === undefined || kind(right) === undefined) throw new Error('invalid type for comparison');
  if (kind(left) !== kind(right)) throw new Error('incompatible types for comparison');
  if (operator === '==') return left === right;
  if (operator === '!=') return left !== right;
  if (typeof left === 'boolean') throw new Error('invalid type for comparison');
  const [l, r] = [left as string | number, right as string | number];
  return { '<': l < r, '<=': l <= r, '>': l > r, '>=': l >= r }[operator]!;
}

class Evaluator {
  constructor(readonly allowMissingKeys: boolean) {}

  steps(input: unknown[], steps: Step[]): unknown[] {
    return steps.reduce((values, step) => this.step(values, step), input);
  }

  private step(input: unknown[], s: Step): unknown[] {
    switch (s.op) {
      case 'field': {
        if (s.name === '') return input;
        const out = input.filter(isMap).flatMap((v) => (s.name in v ? [v[s.name]] : []));
        if (out.length === 0 && input.length > 0 && !this.allowMissingKeys)
          throw new Error(`${s.name} is not found`);
        return out;
      }
      case 'wildcard':
        return input.flatMap((v) => (Array.isArray(v) ? v : isMap(v) ? Object.values(v) : []));
      case 'slice':
        return input.flatMap((v) => (v === null || v === undefined ? [] : this.slice(v, s)));
      case 'union':
        return s.branches.flatMap((b) => this.steps(input, b));
      case 'filter':
        return input.flatMap((v) => this.filter(v, s));
      case 'recursive':
        return input.flatMap((v) => this.descend(v));
      case 'literal':
        return [s.value];
      case 'identifier':
        throw new Error(`unrecognized identifier ${s.name}`);
    }
  }

  private slice(v: unknown, s: Extract<Step, { op: 'slice' }>): unknown[] {
    if (!Array.isArray(v)) throw new Error(`${goType(v)} is not array or slice`);
    const len = v.length;
    let start = s.start ?? 0;
    if (start < 0) start += len;
    let end = s.end ?? len;
    if (end < 0 || (end === 0 && s.endFromStart)) end += len;
    if (start === end) return [];
    if (start < 0 || start >= len)
      throw new Error(`array index out of bounds: index ${start}, length ${len}`);
    if (end < 0 || end > len) throw new Error(`array index out of bounds: index ${end - 1}, length ${len}`);
    if (start > end) throw new Error(`starting index ${start} is greater than ending index ${end}`);
    const step = s.step ?? 1;
    if (step <= 0) throw new Error('step must be > 0');
    return v.slice(start, end).filter((_, i) => i % step === 0);
  }

  private filter(v: unknown, s: Extract<Step, { op: 'filter' }>): unknown[] {
    if (!Array.isArray(v)) throw new Error(`${goType(v)} is not array or slice and cannot be filtered`);
    return v.filter((item) => {
      if (s.operator === 'exists') {
        try {
          return this.steps([item], s.left).length > 0;
        } catch {
          return false;
        }
      }
      const lefts = this.steps([item], s.left);
      const rights = lefts.length === 1 ? this.steps([item], s.right) : [];
      if (lefts.length > 1 || rights.length > 1) throw new Error('can only compare one element at a time');
      return lefts.length === 1 && rights.length === 1 && compare(lefts[0], rights[0], s.operator);
    });
  }

  /** The value and everything inside it that has children, depth first. */
  private descend(v: unknown): unknown[] {
    const children = Array.isArray(v) ? v : isMap(v) ? Object.values(v) : [];
    return children.length ? [v, ...children.flatMap((c) => this.descend(c))] : [];
  }
}

/** JSON as Go's encoding/json writes it: compact, map keys sorted, <, > and & escaped. */
function goJson(v: unknown): string {
  const sorted = (x: unknown): unknown =>
    Array.isArray(x)
      ? x.map(sorted)
      : isMap(x)
        ? Object.fromEntries(
            Object.keys(x)
              .sort()
              .map((k) => [k, sorted(x[k])]),
          )
        : x;
  return JSON.stringify(sorted(v)).replace(
    /[<>&]/g,
    (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function printValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === null || v === undefined) return 'null';
  return typeof v === 'object' ? goJson(v) : String(v);
}

function render(nodes: TemplateNode[], data: unknown, ev: Evaluator): string {
  let out = '';
  for (const n of nodes) {
    if ('text' in n) out += n.text;
    else if ('path' in n) out += ev.steps([data], n.path).map(printValue).join(' ');
    else for (const item of ev.steps([data], n.range)) out += render(n.body, item, ev);
  }
  return out;
}

/**
 * Parses a template once and returns its printer. A bad template throws
 * kubectl's `error parsing jsonpath ...`; the printer throws `error
 * executing jsonpath ...` for an index out of range, a comparison of
 * different types and the like.
 */
export function compileJsonPath(
  template: string,
  { allowMissingKeys = true }: { allowMissingKeys?: boolean } = {},
): (data: unknown) => string {
  let nodes: TemplateNode[];
  try {
    nodes = parseTemplate(template);
  } catch (err) {
    throw new Error(`error parsing jsonpath ${template}, ${(err as Error).message}`);
  }
  const ev = new Evaluator(allowMissingKeys);
  return (data) => {
    try {
      return render(nodes, data, ev);
    } catch (err) {
      throw new Error(`error executing jsonpath ${JSON.stringify(template)}: ${(err as Error).message}`);
    }
  };
}
