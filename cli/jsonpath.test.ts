import { describe, expect, it } from 'vitest';
import { compileJsonPath } from './jsonpath.js';

const pods = {
  kind: 'List',
  items: [
    {
      metadata: { name: 'a', labels: { app: 'web', 'app.kubernetes.io/name': 'x' } },
      spec: { containers: [{ name: 'c1', image: 'busybox' }], replicas: 2 },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Scheduled', status: 'True' },
        ],
        restarts: 3,
      },
    },
    {
      metadata: { name: 'b', labels: { app: 'db' } },
      spec: {
        containers: [
          { name: 'c2', image: 'pg' },
          { name: 'c3', image: 'sidecar<&>' },
        ],
      },
      status: { conditions: [{ type: 'Ready', status: 'False' }], restarts: 0 },
    },
  ],
};

const jp = (template: string, data: unknown = pods, allowMissingKeys = true) =>
  compileJsonPath(template, { allowMissingKeys })(data);

describe('compileJsonPath', () => {
  it.each([
    ['{.items[*].metadata.name}', 'a b'],
    ['{.items[0].metadata.name}', 'a'],
    ['{.items[-1].metadata.name}', 'b'],
    ['{.items[0:1].metadata.name}', 'a'],
    ['{.items[::2].metadata.name}', 'a'],
    ['{.items[1:].metadata.name}', 'b'],
    ['{.items[0,1].metadata.name}', 'a b'],
    ["{.items[0].metadata.labels['app\\.kubernetes\\.io/name']}", 'x'],
    // As in kubectl, dots in a bracketed key split it unless escaped.
    ["{.items[0].metadata.labels['app.kubernetes.io/name']}", ''],
    ['{.items[0].metadata.labels.app\\.kubernetes\\.io/name}', 'x'],
    ["{.items[*]['metadata.name', 'status.restarts']}", 'a b 3 0'],
    ['{.items[*].spec.containers[*].image}', 'busybox pg sidecar<&>'],
    ['{.items[*].metadata.*}', 'a {"app":"web","app.kubernetes.io/name":"x"} b {"app":"db"}'],
    ['{..image}', 'busybox pg sidecar<&>'],
    ['{$.items[0].spec.replicas}', '2'],
    ['{@.kind}', 'List'],
  ])('%s → %s', (template, out) => {
    expect(jp(template)).toBe(out);
  });

  it('prints maps and lists as compact JSON with sorted keys, escaping <, > and &', () => {
    expect(jp('{.items[1].spec.containers[1]}')).toBe('{"image":"sidecar\\u003c\\u0026\\u003e","name":"c3"}');
    expect(jp('{.items[0].status.conditions[*].type}')).toBe('Ready Scheduled');
    expect(jp('{.items[1].status.conditions}')).toBe('[{"status":"False","type":"Ready"}]');
    expect(jp('{.a}', { a: null, b: true })).toBe('null');
    expect(jp('{.b} {.c}', { b: true, c: 1.5 })).toBe('true 1.5');
  });

  it('repeats a range body for every value, with text and quoted literals', () => {
    expect(jp('{range .items[*]}{.metadata.name}{"\\t"}{.status.restarts}{"\\n"}{end}')).toBe('a\t3\nb\t0\n');
    expect(jp("{range .items[*]}[{.metadata.name}{'!'}]{end} done")).toBe('[a!][b!] done');
    expect(jp('{range .items[*]}{.metadata.name}:{range .spec.containers[*]} {.name}{end};{end}')).toBe(
      'a: c1;b: c2 c3;',
    );
    expect(jp('{range .nothing[*]}x{end}after')).toBe('after');
    expect(jp('plain text')).toBe('plain text');
  });

  it('filters by comparison and by presence', () => {
    expect(jp('{.items[*].status.conditions[?(@.type=="Ready")].status}')).toBe('True False');
    expect(jp(`{.items[?(@.metadata.labels.app=='db')].metadata.name}`)).toBe('b');
    expect(jp('{.items[?(@.status.restarts > 1)].metadata.name}')).toBe('a');
    expect(jp('{.items[?(@.status.restarts<=0)].metadata.name}')).toBe('b');
    expect(jp('{.items[?(@.status.restarts != 3)].metadata.name}')).toBe('b');
    expect(jp('{.items[?(@.spec.replicas)].metadata.name}')).toBe('a');
    expect(jp('{.xs[?(@.n=="a)b")].n}', { xs: [{ n: 'a)b' }, { n: 'a' }] })).toBe('a)b');
    expect(
      jp('{.xs[?(@.on==true)].n}', {
        xs: [
          { on: true, n: 1 },
          { on: false, n: 2 },
        ],
      }),
    ).toBe('1');
  });

  it('prints nothing for missing keys, unless they are not allowed', () => {
    expect(jp('{.items[0].nope}{.nope.deeper}')).toBe('');
    expect(() => jp('{.items[0].nope}', pods, false)).toThrow(
      'error executing jsonpath "{.items[0].nope}": nope is not found',
    );
  });

  it.each([
    ['{.items[5]}', 'array index out of bounds: index 5, length 2'],
    ['{.items[0].metadata[0]}', 'map[string]interface {} is not array or slice'],
    ['{.kind[?(@.x)]}', 'string is not array or slice and cannot be filtered'],
    ['{.items[?(@.status.restarts=="3")]}', 'incompatible types for comparison'],
    ['{.items[?(@.spec.containers[*].name=="c2")]}', 'can only compare one element at a time'],
    ['{.items[::0]}', 'step must be > 0'],
  ])('an execution error: %s', (template, message) => {
    expect(() => jp(template)).toThrow(`error executing jsonpath ${JSON.stringify(template)}: ${message}`);
  });

  it.each([
    ['{.items[*', 'unterminated array'],
    ['{.items', 'unclosed action'],
    ['{.a}{end}', 'not in range, nothing to end'],
    ['{"abc}', 'unterminated quoted string'],
    ['{.items[?(@.a=="b"}', 'unterminated filter'],
    ['{.items[x]}', 'invalid array index x'],
    ['{.a ! }', "unrecognized character in action: U+0021 '!'"],
    ['{foo}', 'unrecognized identifier foo'],
    ['{....a}', 'invalid multiple recursive descent'],
  ])('a parse error: %s', (template, message) => {
    expect(() => compileJsonPath(template)).toThrow(`error parsing jsonpath ${template}, ${message}`);
  });
});
