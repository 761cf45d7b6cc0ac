import { describe, expect, it } from 'vitest';
import {
  checkFieldSelectorFields,
  escapeFieldValue,
  everything,
  fieldSelectorFromSet,
  type LabelSelectorObject,
  type Labels,
  labelSelectorFromObject,
  labelSelectorFromSet,
  nothing,
  parseFieldSelector,
  parseLabelSelector,
  requirementsFor,
  selectorToString,
} from './selectors.js';
import { isBadRequest, StatusError } from './status.js';

function errorOf(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatusError) return e;
    throw e;
  }
  throw new Error('expected a throw');
}

describe('parseLabelSelector', () => {
  it.each([
    { name: 'empty', text: '', str: '' },
    { name: 'only whitespace', text: '   ', str: '' },
    { name: 'equals', text: 'a=b', str: 'a=b' },
    { name: 'double equals', text: 'a==b', str: 'a==b' },
    { name: 'not equals', text: 'a!=b', str: 'a!=b' },
    { name: 'exists', text: 'a', str: 'a' },
    { name: 'does not exist', text: '!a', str: '!a' },
    { name: 'in', text: 'env in (prod,dev)', str: 'env in (dev,prod)' },
    { name: 'notin', text: 'env notin (prod)', str: 'env notin (prod)' },
    { name: 'greater than', text: 'rank>3', str: 'rank>3' },
    { name: 'less than', text: 'rank<3', str: 'rank<3' },
    { name: 'sorted by key', text: 'z=1,a=2,m', str: 'a=2,m,z=1' },
    { name: 'whitespace tolerant', text: ' a = b ,  c in ( x , y ) , ! d ', str: 'a=b,c in (x,y),!d' },
    { name: 'tabs and newlines', text: 'a\t=\nb', str: 'a=b' },
    { name: 'prefixed key', text: 'app.kubernetes.io/name=web', str: 'app.kubernetes.io/name=web' },
    { name: 'empty exact value', text: 'a=', str: 'a=' },
    { name: 'empty exact value before comma', text: 'a=,b', str: 'a=,b' },
    { name: 'empty set', text: 'a in ()', str: 'a in ()' },
    {
      name: 'empty members in set',
      text: 'x in (foo,,baz),y,z notin ()',
      str: 'x in (,baz,foo),y,z notin ()',
    },
    { name: 'leading empty member', text: 'a in (,b)', str: 'a in (,b)' },
    { name: 'trailing empty member', text: 'a in (b,)', str: 'a in (,b)' },
    { name: 'duplicate values collapse', text: 'a in (b,b,c)', str: 'a in (b,c)' },
    { name: 'keyword as key', text: 'in in (notin)', str: 'in in (notin)' },
    { name: 'keyword as value', text: 'a=in', str: 'a=in' },
  ])('$name: "$text"', ({ text, str }) => {
    const sel = parseLabelSelector(text);
    expect(sel.toString()).toBe(str);
    expect(parseLabelSelector(sel.toString()).toString()).toBe(str);
  });

  it.each([
    {
      name: 'missing value list',
      text: 'a in b',
      message: "unable to parse requirement: found 'b' expected: '('",
    },
    {
      name: 'unknown operator after key',
      text: 'a b',
      message: "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt",
    },
    {
      name: 'trailing comma',
      text: 'a=b,',
      message: "found '', expected: identifier after ','",
    },
    {
      name: 'leading comma',
      text: ',a',
      message: "found ',', expected: !, identifier, or 'end of string'",
    },
    {
      name: 'double comma',
      text: 'a,,b',
      message: "found ',', expected: identifier after ','",
    },
    {
      name: 'missing key',
      text: '=b',
      message: "found '=', expected: !, identifier, or 'end of string'",
    },
    {
      name: 'bang without key',
      text: '!',
      message: "unable to parse requirement: found '', expected: identifier",
    },
    {
      name: 'bang with operator',
      text: '!a=b',
      message: "found '=', expected: ',' or 'end of string'",
    },
    {
      name: 'unclosed set',
      text: 'a in (b',
      message: "unable to parse requirement: found '', expected: ',' or ')'",
    },
    {
      name: 'operator inside set',
      text: 'a in (=)',
      message: "unable to parse requirement: found '=', expected: ',', ')' or identifier",
    },
    {
      name: 'parenthesis as value',
      text: 'a=(b)',
      message: "unable to parse requirement: found '(', expected: identifier",
    },
    {
      name: 'two values',
      text: 'a=b c',
      message: "found 'c', expected: ',' or 'end of string'",
    },
    {
      name: 'invalid key',
      text: 'a@b=c',
      message:
        "unable to parse requirement: <nil>: Invalid value: \"a@b\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    },
    {
      name: 'invalid value',
      text: 'a=b@c',
      message:
        "unable to parse requirement: values[0][a]: Invalid value: \"b@c\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    },
    {
      name: 'negative integer for gt is not a label value',
      text: 'a>-5',
      message: /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "-5": a valid label must be/,
    },
    {
      name: 'non-integer for gt',
      text: 'a>b',
      message: `unable to parse requirement: values[0]: Invalid value: "b": for 'Gt', 'Lt' operators, the value must be an integer`,
    },
  ])('rejects $name: "$text"', ({ text, message }) => {
    const err = errorOf(() => parseLabelSelector(text));
    expect(isBadRequest(err)).toBe(true);
    expect(err.code).toBe(400);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it.each<{ name: string; text: string; labels: Labels; match: boolean }>([
    { name: 'empty matches all', text: '', labels: { a: 'b' }, match: true },
    { name: 'empty matches undefined labels', text: '', labels: undefined, match: true },
    { name: 'equals hit', text: 'a=b', labels: { a: 'b' }, match: true },
    { name: 'equals miss', text: 'a=b', labels: { a: 'c' }, match: false },
    { name: 'equals absent', text: 'a=b', labels: {}, match: false },
    { name: 'equals on undefined labels', text: 'a=b', labels: undefined, match: false },
    { name: 'empty value matches empty label', text: 'a=', labels: { a: '' }, match: true },
    { name: 'empty value needs the label', text: 'a=', labels: {}, match: false },
    { name: 'not equals other value', text: 'a!=b', labels: { a: 'c' }, match: true },
    { name: 'not equals same value', text: 'a!=b', labels: { a: 'b' }, match: false },
    { name: 'not equals absent', text: 'a!=b', labels: {}, match: true },
    { name: 'in hit', text: 'a in (x,y)', labels: { a: 'y' }, match: true },
    { name: 'in miss', text: 'a in (x,y)', labels: { a: 'z' }, match: false },
    { name: 'in absent', text: 'a in (x,y)', labels: {}, match: false },
    { name: 'notin hit', text: 'a notin (x)', labels: { a: 'x' }, match: false },
    { name: 'notin other', text: 'a notin (x)', labels: { a: 'y' }, match: true },
    { name: 'notin absent', text: 'a notin (x)', labels: null, match: true },
    { name: 'exists present', text: 'a', labels: { a: '' }, match: true },
    { name: 'exists absent', text: 'a', labels: { b: 'a' }, match: false },
    { name: 'not exists absent', text: '!a', labels: {}, match: true },
    { name: 'not exists present', text: '!a', labels: { a: 'x' }, match: false },
    { name: 'gt above', text: 'n>5', labels: { n: '6' }, match: true },
    { name: 'gt equal', text: 'n>5', labels: { n: '5' }, match: false },
    { name: 'gt non-number label', text: 'n>5', labels: { n: 'six' }, match: false },
    { name: 'lt below', text: 'n<5', labels: { n: '-1' }, match: true },
    { name: 'lt absent', text: 'n<5', labels: {}, match: false },
    { name: 'and of all', text: 'a=b,c in (d),!e', labels: { a: 'b', c: 'd' }, match: true },
    { name: 'and fails on one', text: 'a=b,c in (d),!e', labels: { a: 'b', c: 'd', e: '1' }, match: false },
    { name: 'inherited properties are not labels', text: 'constructor', labels: {}, match: false },
    { name: 'inherited toString is not a label', text: 'toString', labels: { a: 'b' }, match: false },
    { name: 'inherited constructor is not in a set', text: 'constructor notin (x)', labels: {}, match: true },
    { name: 'inherited hasOwnProperty does not equal', text: 'hasOwnProperty!=x', labels: {}, match: true },
  ])('matches: $name', ({ text, labels, match }) => {
    expect(parseLabelSelector(text).matches(labels)).toBe(match);
  });

  it.each([
    { name: 'equals', text: 'a=b,c', key: 'a', value: 'b' },
    { name: 'double equals', text: 'a==b', key: 'a', value: 'b' },
    { name: 'single-valued in', text: 'a in (b)', key: 'a', value: 'b' },
    { name: 'multi-valued in', text: 'a in (b,c)', key: 'a', value: undefined },
    { name: 'not equals', text: 'a!=b', key: 'a', value: undefined },
    { name: 'other key', text: 'a=b', key: 'c', value: undefined },
  ])('requiresExactMatch: $name', ({ text, key, value }) => {
    expect(parseLabelSelector(text).requiresExactMatch(key)).toBe(value);
  });

  it('reports empty only for a selector without requirements', () => {
    expect(parseLabelSelector('').empty()).toBe(true);
    expect(parseLabelSelector('a').empty()).toBe(false);
    expect(everything().empty()).toBe(true);
    expect(nothing().empty()).toBe(false);
    expect(nothing().matchesNothing()).toBe(true);
    expect(nothing().matches({})).toBe(false);
  });
});

describe('labelSelectorFromObject', () => {
  it.each<{
    name: string;
    sel: LabelSelectorObject | null | undefined;
    labels: Labels;
    match: boolean;
    str: string;
  }>([
    { name: 'missing selects nothing', sel: undefined, labels: {}, match: false, str: '' },
    { name: 'null selects nothing', sel: null, labels: { a: 'b' }, match: false, str: '' },
    { name: 'empty selects everything', sel: {}, labels: { a: 'b' }, match: true, str: '' },
    {
      name: 'empty parts select everything',
      sel: { matchLabels: {}, matchExpressions: [] },
      labels: {},
      match: true,
      str: '',
    },
    {
      name: 'match labels',
      sel: { matchLabels: { app: 'web', tier: 'fe' } },
      labels: { app: 'web', tier: 'fe', x: 'y' },
      match: true,
      str: 'app=web,tier=fe',
    },
    {
      name: 'match labels miss',
      sel: { matchLabels: { app: 'web' } },
      labels: { app: 'db' },
      match: false,
      str: 'app=web',
    },
    {
      name: 'In',
      sel: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }] },
      labels: { env: 'dev' },
      match: true,
      str: 'env in (dev,prod)',
    },
    {
      name: 'NotIn',
      sel: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] },
      labels: { env: 'prod' },
      match: false,
      str: 'env notin (prod)',
    },
    {
      name: 'Exists',
      sel: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] },
      labels: { gpu: '' },
      match: true,
      str: 'gpu',
    },
    {
      name: 'DoesNotExist',
      sel: { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist', values: [] }] },
      labels: { gpu: 'x' },
      match: false,
      str: '!gpu',
    },
    {
      name: 'labels and expressions together, sorted by key',
      sel: { matchLabels: { z: '1' }, matchExpressions: [{ key: 'a', operator: 'Exists' }] },
      labels: { z: '1', a: '' },
      match: true,
      str: 'a,z=1',
    },
  ])('$name', ({ sel, labels, match, str }) => {
    const s = labelSelectorFromObject(sel);
    expect(s.matches(labels)).toBe(match);
    expect(s.toString()).toBe(str);
  });

  it.each([
    {
      name: 'unknown operator',
      sel: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
      message: '"Gt" is not a valid label selector operator',
    },
    {
      name: 'missing operator',
      sel: { matchExpressions: [{ key: 'a' }] },
      message: '"" is not a valid label selector operator',
    },
    {
      name: 'In without values',
      sel: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
      message: `values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty`,
    },
    {
      name: 'Exists with values',
      sel: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
      message: 'values: Invalid value: ["x"]: values set must be empty for exists and does not exist',
    },
    {
      name: 'invalid key',
      sel: { matchLabels: { '-a': 'b' } },
      message: /^key: Invalid value: "-a": name part must consist of/,
    },
    {
      name: 'several problems are bracketed',
      sel: { matchExpressions: [{ key: '', operator: 'NotIn', values: [] }] },
      message:
        /^\[key: Invalid value: "": name part must be non-empty; .*, values: Invalid value: \[\]: .*\]$/,
    },
  ])('rejects $name', ({ sel, message }) => {
    const err = errorOf(() => labelSelectorFromObject(sel));
    expect(isBadRequest(err)).toBe(true);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])(
    'an operator named %s is not an inherited property but an invalid operator',
    (operator) => {
      const err = errorOf(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator }] }));
      expect(isBadRequest(err)).toBe(true);
      expect(err.message).toBe(`${JSON.stringify(operator)} is not a valid label selector operator`);
    },
  );

  it('keeps the given values unsorted while printing them sorted', () => {
    const s = labelSelectorFromObject({
      matchExpressions: [{ key: 'a', operator: 'In', values: ['z', 'b'] }],
    });
    expect(s.requirements[0].values).toEqual(['z', 'b']);
    expect(s.toString()).toBe('a in (b,z)');
  });
});

describe('labelSelectorFromSet', () => {
  it('a __proto__ label is data: required only where an object really has it', () => {
    const sel = labelSelectorFromSet(JSON.parse('{"__proto__":"x"}'));
    expect(sel.matches({})).toBe(false);
    expect(sel.matches({ a: 'x' })).toBe(false);
    expect(sel.matches(JSON.parse('{"__proto__":"x"}'))).toBe(true);
  });

  it.each<{ name: string; set: Labels; labels: Labels; match: boolean }>([
    { name: 'undefined matches all', set: undefined, labels: {}, match: true },
    { name: 'empty matches all', set: {}, labels: { a: 'b' }, match: true },
    { name: 'subset matches', set: { app: 'web' }, labels: { app: 'web', pod: 'x' }, match: true },
    { name: 'different value', set: { app: 'web' }, labels: { app: 'db' }, match: false },
  ])('$name', ({ set, labels, match }) => {
    expect(labelSelectorFromSet(set).matches(labels)).toBe(match);
  });
});

describe('selectorToString', () => {
  it.each([
    { name: 'missing', sel: undefined, out: '<none>' },
    { name: 'empty', sel: {}, out: '<none>' },
    { name: 'labels', sel: { matchLabels: { b: '2', a: '1' } }, out: 'a=1,b=2' },
    {
      name: 'expressions',
      sel: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['x', 'a'] }] },
      out: 'env notin (a,x)',
    },
    { name: 'invalid', sel: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] }, out: '<error>' },
  ])('$name', ({ sel, out }) => {
    expect(selectorToString(sel)).toBe(out);
  });
});

describe('parseFieldSelector', () => {
  it.each([
    { name: 'empty', text: '', str: '' },
    { name: 'equals', text: 'spec.nodeName=n1', str: 'spec.nodeName=n1' },
    { name: 'double equals reads as equals', text: 'metadata.name==x', str: 'metadata.name=x' },
    { name: 'not equals', text: 'status.phase!=Running', str: 'status.phase!=Running' },
    { name: 'terms sorted', text: 'b=2,a=1', str: 'a=1,b=2' },
    { name: 'empty terms skipped', text: 'a=1,,b=2,', str: 'a=1,b=2' },
    { name: 'empty value', text: 'spec.nodeName=', str: 'spec.nodeName=' },
    { name: 'escaped comma', text: 'a=x\\,y', str: 'a=x\\,y' },
    { name: 'escaped equals and backslash', text: 'a=x\\=y\\\\z', str: 'a=x\\=y\\\\z' },
    { name: 'spaces are kept', text: 'a= b', str: 'a= b' },
  ])('$name: "$text"', ({ text, str }) => {
    expect(parseFieldSelector(text).toString()).toBe(str);
  });

  it.each([
    { name: 'escaped comma', text: 'a=x\\,y', field: 'a', value: 'x,y' },
    { name: 'escaped equals', text: 'a=x\\=y', field: 'a', value: 'x=y' },
    { name: 'escaped backslash', text: 'a=x\\\\', field: 'a', value: 'x\\' },
  ])('unescapes $name', ({ text, field, value }) => {
    expect(parseFieldSelector(text).requirements).toEqual([{ field, operator: '=', value }]);
  });

  it.each([
    { name: 'no operator', text: 'a', message: "invalid selector: 'a'; can't understand 'a'" },
    { name: 'one bad term', text: 'a=1,b', message: "invalid selector: 'a=1,b'; can't understand 'b'" },
    { name: 'bad escape', text: 'a=x\\y', message: 'invalid field selector: invalid escape sequence: \\y' },
    {
      name: 'trailing backslash',
      text: 'a=x\\',
      message: 'invalid field selector: invalid escape sequence: \\',
    },
    {
      name: 'unescaped equals',
      text: 'a=b=c',
      message: 'invalid field selector: unescaped character in value: 61',
    },
  ])('rejects $name', ({ text, message }) => {
    const err = errorOf(() => parseFieldSelector(text));
    expect(isBadRequest(err)).toBe(true);
    expect(err.message).toBe(message);
  });

  it.each<{ name: string; text: string; fields: Record<string, string>; match: boolean }>([
    { name: 'empty matches all', text: '', fields: { a: 'x' }, match: true },
    { name: 'equals hit', text: 'a=x', fields: { a: 'x' }, match: true },
    { name: 'equals miss', text: 'a=x', fields: { a: 'y' }, match: false },
    { name: 'missing field is empty', text: 'a=', fields: {}, match: true },
    { name: 'not equals missing field', text: 'a!=x', fields: {}, match: true },
    { name: 'not equals same', text: 'a!=x', fields: { a: 'x' }, match: false },
    { name: 'and', text: 'a=x,b!=y', fields: { a: 'x', b: 'z' }, match: true },
    { name: 'and fails', text: 'a=x,b!=y', fields: { a: 'x', b: 'y' }, match: false },
    { name: 'escaped value', text: 'a=1\\,2', fields: { a: '1,2' }, match: true },
  ])('matches: $name', ({ text, fields, match }) => {
    expect(parseFieldSelector(text).matches(fields)).toBe(match);
  });

  it.each([
    { name: 'pinned', text: 'spec.nodeName=n1,status.phase!=Failed', field: 'spec.nodeName', value: 'n1' },
    { name: 'pinned empty', text: 'spec.nodeName=', field: 'spec.nodeName', value: '' },
    { name: 'only excluded', text: 'spec.nodeName!=n1', field: 'spec.nodeName', value: undefined },
    { name: 'absent', text: 'metadata.name=a', field: 'spec.nodeName', value: undefined },
  ])('requirementsFor: $name', ({ text, field, value }) => {
    expect(requirementsFor(parseFieldSelector(text), field)).toBe(value);
  });

  it('escapes values so they parse back', () => {
    const value = 'a,b=c\\d';
    const sel = fieldSelectorFromSet({ 'metadata.name': value });
    expect(sel.toString()).toBe(`metadata.name=${escapeFieldValue(value)}`);
    expect(parseFieldSelector(sel.toString()).requiresExactMatch('metadata.name')).toBe(value);
  });
});

describe('checkFieldSelectorFields', () => {
  const allowed = new Set(['metadata.name', 'metadata.namespace', 'spec.nodeName']);
  it.each([
    { name: 'all allowed', text: 'metadata.name=a,spec.nodeName!=b', bad: undefined },
    { name: 'empty', text: '', bad: undefined },
    { name: 'unknown field', text: 'metadata.name=a,spec.foo=b', bad: 'spec.foo' },
  ])('$name', ({ text, bad }) => {
    const sel = parseFieldSelector(text);
    if (!bad) {
      expect(() => checkFieldSelectorFields(sel, allowed, 'pods')).not.toThrow();
      return;
    }
    const err = errorOf(() => checkFieldSelectorFields(sel, allowed, 'pods'));
    expect(isBadRequest(err)).toBe(true);
    expect(err.message).toBe(`field label not supported: ${bad}`);
    expect(err.details?.kind).toBe('pods');
  });
});
